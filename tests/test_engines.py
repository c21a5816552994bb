"""The usage queries are written once (Ibis): Spark must give exactly DuckDB's answers, and the SQL a
warehouse would run compiles from the same expressions."""

import shutil

import ibis
import numpy as np
import pandas as pd
import pytest

from workbench.errors import UsageError
from workbench.inputs import queries
from workbench.inputs.config import load_config
from workbench.inputs.engines import check_engine
from workbench.inputs.usage import from_frame

START = pd.Timestamp("2026-01-01")
USAGE = ibis.table(
    {"account_id": "string", "contact_id": "string", "feature": "string", "day": "int64", "events": "float64"},
    name="usage",
)
POINTS = ibis.table({"position": "int64", "entity": "string", "day": "int64"}, name="points")


def spark_available() -> str:
    """Why Spark cannot run here ('' when it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -e '.[spark]')"
    return "" if shutil.which("java") else "Spark needs Java (17 or later) on the PATH"


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


@pytest.mark.skipif(bool(spark_available()), reason=spark_available() or "-")
def test_spark_gives_duckdbs_answers(events, points):
    on_duckdb = answers(from_frame(events), points)
    on_spark = answers(from_frame(events, engine="spark"), points)
    assert on_duckdb["window_sums"].sum() > 0 and on_duckdb["behaviour"]["active_users"].max() > 1
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
    expressions = {
        "window_sums": queries.window_sums(USAGE, POINTS, 90),
        "behaviour": queries.behaviour(USAGE, POINTS, 90, contacts=True, features=True),
        "feature_sums": queries.feature_sums(USAGE, POINTS, 90),
        "activity": queries.activity(USAGE, POINTS, 30),
        "first_days": queries.first_days(USAGE),
    }
    for name, expression in expressions.items():
        sql = ibis.to_sql(expression, dialect=dialect)
        assert "usage" in sql and "GROUP BY" in sql, (name, sql)
        assert "SELECT *" not in sql, (name, sql)
        if name != "first_days":
            assert "points" in sql and "JOIN" in sql, (name, sql)


def test_engine_is_checked_where_it_is_given(tmp_path):
    with pytest.raises(UsageError, match="engine 'postgres' is not known; use one of: duckdb, spark"):
        check_engine("postgres")
    config = tmp_path / "config.yml"
    config.write_text("engine: snowflake\n")
    with pytest.raises(UsageError, match="engine"):
        load_config(config)
    config.write_text("engine: spark\n")
    assert load_config(config)["engine"] == "spark"
