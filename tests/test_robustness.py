"""Malformed tables give a clean error or a clean load: never a traceback, never a modified input."""

import tempfile
from pathlib import Path

import pandas as pd
from conftest import folder_digest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from workbench.errors import DataError
from workbench.inputs.loader import load

CELLS = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        [
            "",
            "NA",
            "null",
            "2026-02-30",
            "31-12-2025",
            "2026-01-01T10:00",
            "1e308",
            "-0",
            "inf",
            "renewed",
            "churned",
            "open",
            "Renewed",
            "9999999999999999999999",
            "A1",
            "\u00e9\u00e8",
            "\ufeff",
            "1,5",
            "12.0",
            "nan",
        ]
    ),
    st.integers(-(10**12), 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(str),
)
ACCOUNT_COLUMNS = ["account_id", "account_name", "segment"]
CONTRACT_COLUMNS = [
    "contract_id",
    "account_id",
    "start_date",
    "end_date",
    "arr",
    "outcome",
    "renewal_arr",
    "churn_reason",
]


def table(columns):
    chosen = st.lists(st.sampled_from(columns), min_size=0, max_size=len(columns), unique=True)
    return chosen.flatmap(
        lambda cols: st.lists(st.fixed_dictionaries(dict.fromkeys(cols, CELLS)), max_size=6).map(
            lambda rows, cols=cols: pd.DataFrame(rows, columns=cols, dtype=object)
        )
    )


def check(write) -> None:
    with tempfile.TemporaryDirectory() as folder:
        folder = Path(folder)
        write(folder)
        before = folder_digest(folder)
        try:
            load(folder)
        except DataError as error:
            assert str(error).startswith("The data was rejected")
            assert all(p.file and p.expected and p.fix for p in error.problems)
        assert folder_digest(folder) == before


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(accounts=table(ACCOUNT_COLUMNS), contracts=table(CONTRACT_COLUMNS))
def test_random_tables_load_or_fail_cleanly(accounts, contracts):
    def write(folder):
        accounts.to_csv(folder / "accounts.csv", index=False)
        contracts.to_csv(folder / "contracts.csv", index=False)

    check(write)


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_fail_cleanly(raw):
    def write(folder):
        (folder / "accounts.csv").write_bytes(raw)
        (folder / "contracts.csv").write_bytes(raw)

    check(write)


@settings(max_examples=30, deadline=None)
@given(
    ids=st.lists(st.sampled_from(["A1", "A2", "A3", "a1", " A1 "]), min_size=1, max_size=8),
    dates=st.lists(st.sampled_from(["2026-01-01", "01/02/2026", "2026-13-01", "20260101", ""]), min_size=1, max_size=8),
)
def test_duplicate_ids_and_mixed_dates(ids, dates):
    def write(folder):
        pd.DataFrame({"account_id": ids}).to_csv(folder / "accounts.csv", index=False)
        n = min(len(ids), len(dates))
        pd.DataFrame(
            {
                "contract_id": [f"K{i}" for i in range(n)],
                "account_id": ids[:n],
                "start_date": dates[:n],
                "end_date": "2027-01-01",
                "arr": "100",
                "outcome": "open",
            }
        ).to_csv(folder / "contracts.csv", index=False)

    check(write)


USAGE_COLUMNS = ["account_id", "contact_id", "date", "feature", "events"]


def with_accounts(folder: Path) -> None:
    pd.DataFrame({"account_id": ["A1", "A2"]}).to_csv(folder / "accounts.csv", index=False)
    pd.DataFrame(
        {
            "contract_id": ["K1"],
            "account_id": ["A1"],
            "start_date": ["2025-01-01"],
            "end_date": ["2026-01-01"],
            "arr": ["100"],
            "outcome": ["renewed"],
            "renewal_arr": ["100"],
        }
    ).to_csv(folder / "contracts.csv", index=False)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(usage=table(USAGE_COLUMNS), parquet=st.booleans())
def test_random_usage_checked_in_duckdb_loads_or_fails_cleanly(usage, parquet):
    def write(folder):
        with_accounts(folder)
        if parquet:
            usage.astype("str").to_parquet(folder / "usage.parquet")
        else:
            usage.to_csv(folder / "usage.csv", index=False)

    check(write)


@settings(max_examples=40, deadline=None)
@given(raw=st.binary(max_size=300))
def test_arbitrary_bytes_as_usage_fail_cleanly(raw):
    def write(folder):
        with_accounts(folder)
        (folder / "usage.csv").write_bytes(raw)

    check(write)
