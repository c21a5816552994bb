"""Usage checked and queried where it lies (DuckDB): the same answers as brute force, the same errors as
every other table, from CSV, Parquet or a mapped frame."""

import numpy as np
import pandas as pd
import pytest
from conftest import folder_digest

from workbench.errors import DataError
from workbench.inputs.loader import load
from workbench.inputs.usage import from_frame
from workbench.measure.pointintime import days

START = pd.Timestamp("2026-01-01")


@pytest.fixture(scope="module")
def events():
    rng = np.random.default_rng(5)
    n = 3000
    frame = pd.DataFrame(
        {
            "account_id": rng.choice(list("abcde"), n),
            "day": rng.integers(0, 200, n),
            "feature": rng.choice(["reports", "alerts", None], n),
            "events": rng.integers(0, 10, n).astype(float),
        }
    )
    frame["contact_id"] = np.where(rng.random(n) < 0.8, frame["account_id"] + rng.integers(0, 3, n).astype(str), None)
    frame["date"] = START + pd.to_timedelta(frame["day"], unit="D")
    return frame


@pytest.fixture(scope="module")
def queries():
    rng = np.random.default_rng(6)
    return pd.DataFrame(
        {
            "account_id": rng.choice(list("abcdefz"), 400),
            "day": rng.integers(-5, 220, 400),
            "contact_id": rng.choice(["a0", "a1", "b2", "c1", "e0", "zz"], 400),
        }
    )


def in_window(events, column, entity, day, window):
    return events.loc[(events[column] == entity) & (events["day"] <= day) & (events["day"] > day - window)]


def test_window_and_feature_sums_match_brute_force(events, queries):
    usage = from_frame(events.drop(columns="day"))
    query_days = days(START + pd.to_timedelta(queries["day"], unit="D"))
    sums = usage.window_sums(queries["account_id"], query_days, 30)
    by_feature = usage.feature_sums(queries["account_id"], query_days, 30)
    assert list(by_feature.columns) == ["alerts", "reports"]
    for i, (account, day) in enumerate(zip(queries["account_id"], queries["day"])):
        rows = in_window(events, "account_id", account, day, 30)
        if not (events.loc[events["account_id"] == account, "day"] <= day).any():  # before its first row
            assert np.isnan(sums[i]) and by_feature.loc[i].isna().all()
            continue
        assert sums[i] == rows["events"].sum()  # account usage counts rows without a feature or contact too
        for feature in ("alerts", "reports"):
            assert by_feature.loc[i, feature] == rows.loc[rows["feature"] == feature, "events"].sum()


def test_contact_activity_matches_brute_force(events, queries):
    usage = from_frame(events.drop(columns="day"))
    query_days = days(START + pd.to_timedelta(queries["day"], unit="D"))
    recent, last_seen = usage.activity(queries["contact_id"], query_days, 90)
    for i, (contact, day) in enumerate(zip(queries["contact_id"], queries["day"])):
        assert recent[i] == in_window(events, "contact_id", contact, day, 90)["events"].sum()
        seen = events.loc[(events["contact_id"] == contact) & (events["day"] <= day), "date"]
        assert np.isnan(last_seen[i]) if seen.empty else last_seen[i] == days(pd.Series([seen.max()]))[0]


def test_repeated_rows_are_summed_and_counted(events):
    frame = pd.DataFrame({"account_id": ["a", "a", "a"], "date": ["2026-01-05"] * 3, "events": [2.0, 2.0, 3.0]})
    usage = from_frame(frame)
    assert usage.rows == 3 and usage.repeated == 1
    mixed = events.drop(columns="day")
    assert from_frame(mixed).repeated == mixed.duplicated().sum() > 10  # missing contacts and features match too
    assert usage.window_sums(pd.Series(["a"]), days(pd.Series([pd.Timestamp("2026-01-05")])), 1)[0] == 7.0


def write_usage(folder, frame, fmt):
    (folder / "usage.csv").unlink()
    if fmt == "csv":
        frame.to_csv(folder / "usage.csv", index=False)
    else:
        frame.to_parquet(folder / "usage.parquet")


@pytest.mark.parametrize("fmt, first_row", [("csv", "line 11"), ("parquet", "row 10")])
def test_every_usage_rule_names_file_column_and_row(world_copy, fmt, first_row):
    frame = pd.read_csv(world_copy / "usage.csv", dtype=str, keep_default_na=False)
    contacts = pd.read_csv(world_copy / "contacts.csv", dtype=str)
    stranger = contacts.loc[contacts["account_id"] != frame.loc[13, "account_id"], "contact_id"].iloc[0]
    frame.loc[9, "date"] = "31/12/2025"
    frame.loc[10, "events"] = "12 events"
    frame.loc[11, "events"] = "-4"
    frame.loc[12, "account_id"] = "NOPE"
    frame.loc[13, "contact_id"] = stranger
    frame.loc[14, "events"] = ""
    write_usage(world_copy, frame, fmt)
    before = folder_digest(world_copy)
    with pytest.raises(DataError) as caught:
        load(world_copy)
    found = {(p.column, p.message.split(" ", 1)[1]): p for p in caught.value.problems}
    assert set(found) == {
        ("date", "rows have a value that is not a date"),
        ("events", "rows have a value that is not a number"),
        ("events", "rows are out of range"),
        ("account_id", "rows name a account_id that is not in the accounts table"),
        ("contact_id", "rows pair a contact with an account it does not belong to"),
        ("events", "rows have no value"),
    }
    assert found[("date", "rows have a value that is not a date")].rows == ((first_row, "31/12/2025"),)
    assert found[("events", "rows are out of range")].rows[0][1] == "-4"
    assert all(p.file.endswith(f"usage.{fmt}") for p in caught.value.problems)
    assert folder_digest(world_copy) == before


def test_parquet_numbers_nan_is_empty_and_infinity_is_not_a_number(world_copy):
    frame = pd.read_csv(world_copy / "usage.csv")
    frame.loc[3, "events"] = np.nan
    frame.loc[4, "events"] = np.inf
    write_usage(world_copy, frame, "parquet")
    with pytest.raises(DataError) as caught:
        load(world_copy)
    messages = {(p.message, p.rows) for p in caught.value.problems}
    assert messages == {
        ("1 rows have no value", (("row 4", ""),)),  # pandas writes NaN as a Parquet null
        ("1 rows have a value that is not a number", (("row 5", "inf"),)),
    }


def test_unreadable_usage_file_is_a_data_error(world_copy):
    (world_copy / "usage.csv").write_bytes(b"account_id,date,events\nA1,2026-01-01,1,2,3\n\xff\xfe")
    with pytest.raises(DataError, match="usage.csv: the file is not UTF-8 text"):
        load(world_copy)
    (world_copy / "usage.csv").write_bytes(b"account_id,date,events\nA1,2026-01-01,1\n\xff\xfe\x00")
    with pytest.raises(DataError, match="usage.csv: the file holds NUL bytes"):
        load(world_copy)
    (world_copy / "usage.csv").write_bytes(b"")
    with pytest.raises(DataError, match="usage.csv: the file is empty"):
        load(world_copy)


def test_a_window_before_an_account_s_first_usage_row_is_missing_not_zero(small_world, tmp_path):
    """An export whose usage begins when each account became a customer: a year before renewal a first-term
    account was not one yet, so its usage there is unknown, not 0 (counted 0, the few with a row on their
    first day would decide the AUC's churned side alone)."""
    import shutil

    from workbench import Study
    from workbench.measure import snapshot

    export = tmp_path / "export"
    shutil.copytree(small_world, export)
    usage = pd.read_csv(export / "usage.csv", parse_dates=["date"])
    contracts = pd.read_csv(export / "contracts.csv", parse_dates=["start_date"])
    customer_since = usage["account_id"].map(contracts.groupby("account_id")["start_date"].min())
    usage = usage.loc[usage["date"] >= customer_since]
    usage.to_csv(export / "usage.csv", index=False, date_format="%Y-%m-%d")

    study = Study.load(export, "2026-10-31")
    year_before = dict(
        snapshot.measure_at_horizons(study.data, study.contracts, study.as_of, study.window_months, [365])
    )[365]
    first = year_before["account_id"].map(usage.groupby("account_id")["date"].min())
    before = ~(first <= year_before["observation_date"])
    assert before.sum() > 10
    assert year_before.loc[before, "usage"].isna().all() and year_before.loc[~before, "usage"].notna().all()
