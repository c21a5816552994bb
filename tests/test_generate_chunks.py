"""Large worlds are written chunk by chunk: each table in one file, IDs unique across chunks, every reference
intact, the same files for the same seed; small worlds are written exactly as before."""

import pandas as pd
from conftest import folder_digest

from workbench.generate import World, generate, write, write_in_chunks
from workbench.inputs.loader import load


def test_a_chunked_world_is_one_consistent_data_folder(tmp_path):
    world = World(accounts=900, seed=5)
    out = write_in_chunks(world, tmp_path / "world", "parquet", chunk_accounts=400)
    data = load(out)  # every rule of the contract, references across tables among them
    accounts, contacts = data["accounts"], data["contacts"]
    assert len(accounts) == 900 and accounts["account_id"].is_unique and contacts["contact_id"].is_unique
    assert accounts["account_id"].str[:4].value_counts().to_dict() == {"000-": 400, "001-": 400, "002-": 100}
    # each chunk keeps its own CSMs: none is shared between chunks
    assert (accounts.groupby("csm")["account_id"].agg(lambda ids: ids.str[:4].nunique()) == 1).all()
    assert data.usage.rows > 50 * 900
    truth = pd.read_csv(out / "_truth.csv")
    assert list(truth["account_id"]) == list(accounts["account_id"])
    again = write_in_chunks(world, tmp_path / "again", "parquet", chunk_accounts=400)
    assert folder_digest(again) == folder_digest(out)


def test_chunks_written_as_csv_match_parquet(tmp_path):
    world = World(accounts=300, seed=6)
    as_parquet = load(write_in_chunks(world, tmp_path / "p", "parquet", chunk_accounts=200))
    as_csv = load(write_in_chunks(world, tmp_path / "c", "csv", chunk_accounts=200))
    for name in ("accounts", "contracts", "contacts", "surveys"):
        pd.testing.assert_frame_equal(as_csv[name], as_parquet[name], check_dtype=False)
    assert as_csv.usage.rows == as_parquet.usage.rows


def test_a_world_within_one_chunk_is_written_as_before(tmp_path):
    world = World(accounts=120, seed=8)
    assert folder_digest(write_in_chunks(world, tmp_path / "a", "csv", chunk_accounts=200)) == folder_digest(
        write(generate(world), tmp_path / "b", "csv")
    )
