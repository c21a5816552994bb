"""Every rule family of the contract, broken one at a time, gives a clear error and loses nothing."""

import pandas as pd
import pytest
from conftest import folder_digest

from workbench.cli import main
from workbench.errors import DataError
from workbench.inputs.contract import TABLES
from workbench.inputs.loader import load
from workbench.measure import snapshot


def test_generated_world_meets_the_contract(small_world):
    data = load(small_world)
    assert set(data.tables) >= {
        "accounts",
        "contracts",
        "contacts",
        "surveys",
        "goals",
        "goal_progress",
        "referrals",
    }
    assert data.usage.rows == len(pd.read_csv(small_world / "usage.csv"))
    scores = pd.read_csv(small_world / "health_scores.csv")
    assert data.health_scores.rows == len(scores) and data.health_scores.people == scores["contact_id"].notna().sum()
    assert data.health_scores.components == [c for c in scores if c.startswith("component_")]
    contracts = data["contracts"]
    assert pd.api.types.is_datetime64_any_dtype(contracts["end_date"])
    assert contracts["arr"].dtype == "float64"
    assert data.missing == []


def edit(folder, table, change):
    path = folder / f"{table}.csv"
    frame = change(pd.read_csv(path, dtype=str, keep_default_na=False))
    frame.to_csv(path, index=False)


def set_cell(column, row, value):
    def change(frame):
        frame.loc[row, column] = value
        return frame

    return change


BROKEN = [  # (table, change, column named in the error, words in the message)
    ("contracts", set_cell("end_date", 3, "31/12/2025"), "end_date", "not a date"),
    ("contracts", set_cell("arr", 4, "$12,000"), "arr", "not a number"),
    ("contracts", set_cell("arr", 4, "-5"), "arr", "out of range"),
    ("contracts", set_cell("outcome", 2, "Closed Lost"), "outcome", "outside the allowed set"),
    ("contracts", set_cell("contract_id", 5, "K0000001"), "contract_id", "share an ID"),
    ("contracts", set_cell("account_id", 6, "NOPE"), "account_id", "not in the accounts table"),
    ("contracts", set_cell("account_id", 6, ""), "account_id", "no value"),
    ("contracts", set_cell("start_date", 1, "2030-01-01"), "end_date", "end on or before their start"),
    ("contacts", set_cell("role", 0, "VP Sales"), "role", "outside the allowed set"),
    ("surveys", set_cell("score", 0, "11"), "score", "out of range"),
    ("surveys", set_cell("score", 0, "7.5"), "score", "out of range"),
    ("surveys", set_cell("survey", 0, "promoter"), "survey", "outside the allowed set"),
    ("usage", set_cell("events", 0, "-1"), "events", "out of range"),
    ("usage", set_cell("contact_id", 0, "C9999999"), "contact_id", "not in the contacts table"),
    ("health_scores", set_cell("score", 0, "140"), "score", "out of range"),
    ("goals", lambda f: f.assign(target=f["baseline"]), "target", "equal to their baseline"),
    ("goal_progress", set_cell("goal_id", 0, "G-missing"), "goal_id", "not in the goals table"),
    ("referrals", set_cell("date", 0, "yesterday"), "date", "not a date"),
    ("activities", set_cell("kind", 0, "phone call"), "kind", "outside the allowed set"),
    ("activities", set_cell("date", 0, "next week"), "date", "not a date"),
]


@pytest.mark.parametrize("table, change, column, words", BROKEN, ids=[f"{b[0]}.{b[2]}:{b[3]}" for b in BROKEN])
def test_broken_rule_names_file_column_and_row(world_copy, table, change, column, words):
    edit(world_copy, table, change)
    with pytest.raises(DataError) as caught:
        load(world_copy)
    problems = [p for p in caught.value.problems if p.column == column and words in p.message]
    assert problems, str(caught.value)
    problem = problems[0]
    assert problem.file.endswith(f"{table}.csv")
    assert problem.rows and problem.rows[0][0].startswith("line ")
    assert problem.expected and problem.fix


def test_error_points_at_the_line_in_the_file(world_copy):
    edit(world_copy, "contracts", set_cell("outcome", 9, "lost"))
    with pytest.raises(DataError) as caught:
        load(world_copy)
    (problem,) = caught.value.problems
    assert problem.rows == (("line 11", "lost"),)  # row 9 of the data is line 11 (header is line 1)
    assert "renewed, churned, open" in problem.expected


def test_missing_required_table_and_column(world_copy):
    (world_copy / "accounts.csv").unlink()
    edit(world_copy, "contracts", lambda f: f.rename(columns={"arr": "ARR"}))
    with pytest.raises(DataError) as caught:
        load(world_copy)
    text = str(caught.value)
    assert "required table 'accounts' is missing" in text
    assert "rename column 'ARR' to 'arr'" in text


def test_empty_file_and_duplicate_formats(world_copy):
    (world_copy / "referrals.csv").write_text("")
    pd.read_csv(world_copy / "goals.csv").to_parquet(world_copy / "goals.parquet")
    with pytest.raises(DataError) as caught:
        load(world_copy)
    text = str(caught.value)
    assert "referrals.csv: the file is empty" in text
    assert "both goals.csv and goals.parquet exist" in text


def test_contact_must_belong_to_its_account(world_copy):
    contacts = pd.read_csv(world_copy / "contacts.csv", dtype=str)
    other = contacts.loc[contacts["account_id"] != contacts.loc[0, "account_id"], "contact_id"].iloc[0]
    edit(world_copy, "surveys", set_cell("contact_id", 0, other))
    edit(world_copy, "surveys", set_cell("account_id", 0, contacts.loc[0, "account_id"]))
    with pytest.raises(DataError, match="does not belong to"):
        load(world_copy)


def test_optional_tables_may_be_absent(world_copy):
    for name in ("usage", "goal_inputs", "referrals"):
        (world_copy / f"{name}.csv").unlink()
    data = load(world_copy)
    assert set(data.missing) == {"usage", "goal_inputs", "referrals"}


def test_byte_order_mark_and_parquet_load(world_copy):
    path = world_copy / "accounts.csv"
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    from_csv = load(world_copy)
    decisions = snapshot.decisions(from_csv["contracts"], "2026-10-31")
    pd.read_csv(world_copy / "usage.csv").to_parquet(world_copy / "usage.parquet")
    (world_copy / "usage.csv").unlink()
    data = load(world_copy)
    assert "account_id" in data["accounts"].columns
    usage = snapshot.measure(data, decisions)["usage"]
    assert usage.sum() > 0
    pd.testing.assert_series_equal(usage, snapshot.measure(from_csv, decisions)["usage"])


def test_cli_rejects_bad_data_without_traceback_or_writes(world_copy, tmp_path, capsys):
    edit(world_copy, "contracts", set_cell("outcome", 2, "Closed Lost"))
    before = folder_digest(world_copy)
    out = tmp_path / "report"
    code = main(["study", "--data", str(world_copy), "--as-of", "2026-10-31", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err
    assert "contracts.csv, column 'outcome'" in err and "'Closed Lost'" in err and "fix:" in err
    assert not out.exists() and not any(p.name.startswith(".report") for p in tmp_path.iterdir())
    assert folder_digest(world_copy) == before


def test_validate_command_passes_clean_data(small_world, capsys):
    assert main(["validate", "--data", str(small_world)]) == 0
    out = capsys.readouterr().out
    assert "The data meets the contract (0 warnings" in out and "usage" in out


REFERENCES = [(table.name, column, target) for table in TABLES.values() for column, target in table.references.items()]


@pytest.mark.parametrize("table, column, target", REFERENCES, ids=[f"{t}.{c}" for t, c, _ in REFERENCES])
def test_every_declared_reference_rejects_an_orphan(world_copy, table, column, target):
    """Each reference the contract declares is checked: a row naming an ID its table lacks is refused."""
    frame = pd.read_csv(world_copy / f"{table}.csv", dtype=str, keep_default_na=False, na_values=[""])
    row = frame.dropna(subset=[column]).iloc[[0]].copy()
    row[column] = "ORPHAN-1"
    if TABLES[table].unique:
        row[TABLES[table].unique] = "NEW-ID"
    pd.concat([frame, row]).to_csv(world_copy / f"{table}.csv", index=False)
    with pytest.raises(DataError) as caught:
        load(world_copy)
    problems = [p for p in caught.value.problems if p.column == column and p.file.endswith(f"{table}.csv")]
    assert problems and f"not in the {target} table" in problems[0].message
    assert ("line " + str(len(frame) + 2), "ORPHAN-1") in problems[0].rows


def test_a_repeated_contact_id_is_reported_not_a_crash(world_copy):
    contacts = pd.read_csv(world_copy / "contacts.csv", dtype=str, keep_default_na=False, na_values=[""])
    twin = contacts.iloc[[0]].assign(account_id=contacts["account_id"].iloc[-1])
    pd.concat([contacts, twin]).to_csv(world_copy / "contacts.csv", index=False)
    with pytest.raises(DataError, match="rows share an ID with another row"):
        load(world_copy)


def test_a_modelling_snapshot_is_refused_with_why_a_backtest_needs_dates(world_copy, capsys):
    accounts = pd.read_csv(world_copy / "accounts.csv", dtype=str)
    snapshot_table = accounts[["account_id"]].assign(arr="1200", churned="TRUE", nps="8", logins_90d="14")
    snapshot_table.rename(columns={"churned": "outcome"}).to_csv(world_copy / "contracts.csv", index=False)
    assert main(["validate", "--data", str(world_copy)]) == 2
    message = capsys.readouterr().err
    assert "has none of its dates (start_date, end_date)" in message
    assert "as it stood before the renewal was decided" in message and "docs/mapping.md" in message


def test_a_missing_end_date_points_at_deriving_terms(world_copy, capsys):
    contracts = pd.read_csv(world_copy / "contracts.csv", dtype=str, keep_default_na=False, na_values=[""])
    contracts.loc[:2, "end_date"] = ""
    contracts.to_csv(world_copy / "contracts.csv", index=False)
    assert main(["validate", "--data", str(world_copy)]) == 2
    assert "derive: terms" in capsys.readouterr().err
