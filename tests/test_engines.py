"""The usage queries are written once (Ibis): Spark must give exactly DuckDB's answers, and the SQL a
warehouse would run compiles from the same expressions."""

import os

import ibis
import numpy as np
import pandas as pd
import pytest
from warehouses import spark_missing, without_usage

from workbench.errors import UsageError
from workbench.inputs import queries
from workbench.inputs.config import load_config
from workbench.inputs.engines import check_engine
from workbench.inputs.usage import from_frame
from workbench.inputs.warehouse import contract_columns, load_warehouse_usage

START = pd.Timestamp("2026-01-01")


@pytest.fixture(scope="module")
def events():
    """An export's traits: empty contacts and features, zero-event rows, halves (exact in binary, so sums
    in any order agree), days before the first point and after the last."""
    rng = np.random.default_rng(11)
    n = 4000
    frame = pd.DataFrame(
        {
            "account_id": rng.choice([f"acct-{i}" for i in range(12)], n),
            "date": START + pd.to_timedelta(rng.integers(0, 400, n), unit="D"),
            "feature": rng.choice(["reports", "alerts", "export", None], n),
            "events": rng.integers(0, 8, n) / 2,
        }
    )
    frame["contact_id"] = np.where(
        rng.random(n) < 0.7, frame["account_id"] + "/" + rng.integers(0, 4, n).astype(str), None
    )
    return frame


@pytest.fixture(scope="module")
def points(events):
    rng = np.random.default_rng(12)
    contacts = events["contact_id"].dropna().unique()
    return pd.DataFrame(
        {
            "account_id": rng.choice([*events["account_id"].unique(), "acct-none"], 300),
            "contact_id": rng.choice([*contacts, "nobody"], 300),
            "day": (START - pd.Timestamp("1970-01-01")).days + rng.integers(-20, 430, 300),
        }
    )


def answers(usage, points) -> dict:
    account, contact, day = points["account_id"], points["contact_id"], points["day"].to_numpy()
    events, last_day = usage.activity(contact, day, 30)
    return {
        "window_sums": usage.window_sums(account, day, 90),
        "behaviour": usage.behaviour(account, day, 60),
        "feature_sums": usage.feature_sums(account, day, 45),
        "activity_events": events,
        "activity_last_day": last_day,
        "first_days": usage.first_days().sort_index(),
    }


@pytest.mark.skipif(bool(spark_missing()), reason=spark_missing() or "-")
def test_spark_gives_duckdbs_answers(events, points):
    on_duckdb = answers(from_frame(events), points)
    on_spark = answers(from_frame(events, engine="spark"), points)
    assert np.nansum(on_duckdb["window_sums"]) > 0 and on_duckdb["behaviour"]["active_users"].max() > 1
    for name, expected in on_duckdb.items():
        if isinstance(expected, np.ndarray):
            np.testing.assert_array_equal(on_spark[name], expected, err_msg=name)
        elif isinstance(expected, pd.Series):
            pd.testing.assert_series_equal(on_spark[name], expected, check_names=False, check_index_type=False)
        else:
            pd.testing.assert_frame_equal(on_spark[name], expected, check_names=False)


@pytest.mark.parametrize("dialect", ["snowflake", "bigquery", "databricks"])
def test_warehouse_sql_compiles_readably(dialect):
    """No credentials needed: the SQL each query sends to a warehouse, compiled from the same expressions."""
    for name, sql in queries.compiled(dialect).items():
        assert "usage" in sql and "GROUP BY" in sql, (name, sql)
        assert "SELECT *" not in sql, (name, sql)
        if name not in ("first_days", "account_first_days"):  # per entity, no points
            assert "points" in sql and "JOIN" in sql, (name, sql)
            assert "90" in sql, (name, sql)
    # a warehouse's usage table in the contract's columns, its dates turned into the queries' day numbers
    for date_type in ("date", "timestamp"):
        table = ibis.table(
            {"account_id": "string", "contact_id": "string", "date": date_type, "events": "int64"}, name="usage"
        )
        sql = ibis.to_sql(contract_columns(table), dialect=dialect)
        assert "usage" in sql and "day" in sql and "month" in sql, sql


def test_engine_is_checked_where_it_is_given(tmp_path):
    with pytest.raises(UsageError, match="engine 'postgres' is not known; use one of: duckdb, spark"):
        check_engine("postgres")
    config = tmp_path / "config.yml"
    config.write_text("engine: snowflake\n")
    with pytest.raises(UsageError, match="engine"):
        load_config(config)
    config.write_text("engine: spark\n")
    assert load_config(config)["engine"] == "spark"


@pytest.fixture()
def warehouse(events, tmp_path, monkeypatch):
    """A warehouse Ibis reaches by URL (a DuckDB file stands in for Snowflake): usage in a schema's table with a
    DATE column, as a warehouse holds it."""
    import duckdb

    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.register("events_frame", events)
        connection.execute("CREATE SCHEMA analytics")
        connection.execute(
            "CREATE TABLE analytics.product_usage AS SELECT account_id, contact_id, feature, "
            "CAST(date AS DATE) AS date, CAST(events AS DOUBLE) AS events FROM events_frame"
        )
    monkeypatch.setenv("TEST_WAREHOUSE_URL", f"duckdb://{path}")
    return {"url_from": "TEST_WAREHOUSE_URL", "usage": "analytics.product_usage"}


def test_warehouse_usage_is_checked_and_queried_where_it_lies(events, points, warehouse):
    accounts = pd.DataFrame({"account_id": events["account_id"].unique()})
    usage, problems = load_warehouse_usage(warehouse, accounts, None)
    assert problems == []
    local = from_frame(events)
    assert (usage.rows, usage.first_date, usage.last_date, usage.features) == (
        local.rows,
        local.first_date,
        local.last_date,
        local.features,
    )
    pd.testing.assert_frame_equal(usage.per_month, local.per_month)
    expected, found = answers(local, points), answers(usage, points)
    for name in expected:
        if isinstance(expected[name], np.ndarray):
            np.testing.assert_array_equal(found[name], expected[name], err_msg=name)
        elif isinstance(expected[name], pd.Series):
            pd.testing.assert_series_equal(found[name], expected[name], check_names=False, check_index_type=False)
        else:
            pd.testing.assert_frame_equal(found[name], expected[name], check_names=False)


def test_warehouse_rules_broken_are_named_with_rows(events, warehouse, monkeypatch):
    import duckdb

    path = os.environ["TEST_WAREHOUSE_URL"].removeprefix("duckdb://")
    with duckdb.connect(path) as connection:
        connection.execute("UPDATE analytics.product_usage SET events = -3 WHERE account_id = 'acct-2'")
    accounts = pd.DataFrame({"account_id": [a for a in events["account_id"].unique() if a != "acct-5"]})
    usage, problems = load_warehouse_usage(warehouse, accounts, None)
    assert usage is None
    messages = {(p.column, p.message.split(" ", 1)[1]) for p in problems}
    assert messages == {
        ("events", "rows are out of range"),
        ("account_id", "rows name a account_id that is not in the accounts table"),
    }
    orphan = next(p for p in problems if p.column == "account_id")
    assert orphan.count == (events["account_id"] == "acct-5").sum()
    assert orphan.rows[0][0].startswith("row of account acct-5, 20") and orphan.rows[0][1] == "acct-5"
    assert "warehouse table analytics.product_usage" in str(orphan)
    usage, problems = load_warehouse_usage({**warehouse, "usage": "analytics.no_such_table"}, accounts, None)
    assert usage is None and "could not be read" in problems[0].message and "grants" in problems[0].fix
    monkeypatch.delenv("TEST_WAREHOUSE_URL")
    with pytest.raises(UsageError, match="TEST_WAREHOUSE_URL .* is not set"):
        load_warehouse_usage(warehouse, accounts, None)


def test_a_study_with_usage_in_a_warehouse_measures_what_a_file_gives(small_world, tmp_path, monkeypatch):
    import duckdb

    from workbench import Study

    data = without_usage(small_world, tmp_path / "data")
    path = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(path)) as connection:
        connection.execute(
            "CREATE TABLE usage AS SELECT * REPLACE (CAST(date AS DATE) AS date) "
            f"FROM read_csv('{small_world / 'usage.csv'}')"
        )
    monkeypatch.setenv("STUDY_WAREHOUSE", f"duckdb://{path}")
    config = tmp_path / "study.yml"
    config.write_text("engine: warehouse\nwarehouse:\n  url_from: STUDY_WAREHOUSE\n  usage: usage\n")
    in_warehouse = Study.load(data, "2026-10-31", config=config)
    from_file = Study.load(small_world, "2026-10-31")
    assert in_warehouse.data.usage.engine == "warehouse" and in_warehouse.data.usage.rows == from_file.data.usage.rows
    usage_columns = [c for c in from_file.decisions if c.startswith(("usage", "dm_", "champion_", "end_user_"))]
    assert "usage" in usage_columns
    pd.testing.assert_frame_equal(in_warehouse.decisions[usage_columns], from_file.decisions[usage_columns])
    pd.testing.assert_frame_equal(in_warehouse.behaviour().frame, from_file.behaviour().frame)
    with pytest.raises(UsageError, match="engine warehouse needs a `warehouse:` section"):
        Study.load(data, "2026-10-31", engine="warehouse")


@pytest.mark.skipif(bool(spark_missing()), reason=spark_missing() or "-")
def test_a_whole_study_on_spark_gives_the_duckdb_studys_figures(small_world, tmp_path):
    from benchmarks.run import different_figures
    from workbench.cli import main

    for engine in ("duckdb", "spark"):
        out = tmp_path / engine / "2026-10-31"
        assert (
            main(["study", "--data", str(small_world), "--as-of", "2026-10-31", "--out", str(out), "--engine", engine])
            == 0
        )
    found = different_figures(tmp_path / "duckdb/2026-10-31/results.json", tmp_path / "spark/2026-10-31/results.json")
    assert found == []
    assert not list((tmp_path / "spark/2026-10-31").glob("*.parquet")), "the usage store stays out of the report"
