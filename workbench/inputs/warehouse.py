"""Usage that lies in a warehouse (Snowflake, BigQuery, Databricks, Postgres: whatever Ibis connects to),
checked and queried there: only counts, the first offending rows and per-decision results come back.

The config names an environment variable that holds the connection URL (so no secret is written in a
file) and the table, which has the contract's usage columns: account_id, contact_id, feature, date (a
DATE or TIMESTAMP column) and events.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import (
    SHOWN_ROWS,
    Problem,
    missing_column,
    missing_value,
    orphans,
    out_of_range,
    wrong_owner,
)
from .engines import connect_warehouse, contract_columns
from .stored import to_date
from .usage import Usage


def load_warehouse_usage(
    settings: dict, accounts: pd.DataFrame | None, contacts: pd.DataFrame | None
) -> tuple[Usage | None, list[Problem]]:
    """Check the contract's rules of usage in the warehouse and describe it, as load_usage does for a file."""

    connection, table, problems = connect_warehouse(settings)
    try:
        return _check(connection, table, problems, f"warehouse table {settings['usage']}", settings, accounts, contacts)
    finally:
        connection.disconnect()


def _check(connection, table, problems, label, settings, accounts, contacts):
    import ibis

    if table is None:
        return None, problems
    absent = [c for c in ("account_id", "date", "events") if c not in table.columns]
    if absent:
        return None, [missing_column(label, name, list(table.columns)) for name in absent]
    usage = contract_columns(table)
    checked = usage
    # (the rows that break a rule, the column whose value is shown, the problem)
    rules = [
        (lambda t: t.account_id.isnull(), "account_id", lambda r, n: missing_value(label, "account_id", r, n)),
        (lambda t: t.day.isnull(), "day", lambda r, n: missing_value(label, "date", r, n)),
        (lambda t: t.events.isnull(), "events", lambda r, n: missing_value(label, "events", r, n)),
        (lambda t: t.events < 0, "events", lambda r, n: out_of_range(label, "events", 0, None, r, n)),
    ]
    if accounts is not None:
        known = ibis.memtable(pa.table({"known_account": pa.array(accounts["account_id"].unique(), pa.string())}))
        checked = checked.left_join(known, checked.account_id == known.known_account).select(
            *usage.columns, "known_account"
        )
        rules.append(
            (
                lambda t: t.account_id.notnull() & t.known_account.isnull(),
                "account_id",
                lambda r, n: orphans(label, "account_id", "accounts", r, n),
            )
        )
    if contacts is not None and "contact_id" in table.columns:
        owners = contacts.groupby("contact_id", sort=False)["account_id"].min()
        known = ibis.memtable(
            pa.table({"known_contact": pa.array(owners.index, pa.string()), "owner": pa.array(owners, pa.string())})
        )
        columns = checked.columns
        checked = checked.left_join(known, checked.contact_id == known.known_contact).select(
            *columns, "known_contact", "owner"
        )
        rules += [
            (
                lambda t: t.contact_id.notnull() & t.known_contact.isnull(),
                "contact_id",
                lambda r, n: orphans(label, "contact_id", "contacts", r, n),
            ),
            (
                lambda t: t.owner.notnull() & (t.owner != t.account_id),
                "contact_id",
                lambda r, n: wrong_owner(label, r, n),
            ),
        ]
    counts = connection.to_pyarrow(
        checked.aggregate(**{f"rule_{i}": broken(checked).ifelse(1, 0).sum() for i, (broken, _, _) in enumerate(rules)})
    ).to_pylist()[0]
    for i, (broken, column, problem) in enumerate(rules):
        count = int(counts[f"rule_{i}"] or 0)
        if count:
            shown = connection.to_pyarrow(
                checked.filter(broken(checked)).select("account_id", "day", value=checked[column]).limit(SHOWN_ROWS)
            ).to_pylist()
            rows = tuple((_where(row), "" if row["value"] is None else str(row["value"])) for row in shown)
            problems.append(problem(rows, count))
    if problems:
        return None, problems
    summary = _summary(connection, usage, table.columns)
    per_month, features = _per_month(connection, usage), _features(connection, usage)
    return Usage(None, label, list(table.columns), summary, per_month, features, "warehouse", settings), []


def _where(row: dict) -> str:
    day = "no date" if row["day"] is None else str(to_date(row["day"]).date())
    return f"row of account {row['account_id']}, {day}"


def _summary(connection, usage, columns) -> dict:
    known = [c for c in ("account_id", "contact_id", "day", "feature", "events") if c in columns or c == "day"]
    found = connection.to_pyarrow(
        usage.aggregate(
            rows=usage.count(),
            first=usage.day.min(),
            last=usage.day.max(),
            empty=sum(usage[c].isnull().ifelse(1, 0).sum() for c in known),
        )
    ).to_pylist()[0]
    columns_key = ["account_id", "contact_id", "feature", "day", "events"]
    repeats = usage.group_by(columns_key).aggregate(copies=usage.count()).filter(lambda t: t.copies > 1)
    repeated = connection.to_pyarrow(repeats.aggregate(extra=(repeats.copies - 1).sum())).to_pylist()[0]["extra"]
    rows = int(found["rows"])
    return {
        "rows": rows,
        "repeated": int(repeated or 0),
        "first_date": to_date(found["first"]),
        "last_date": to_date(found["last"]),
        "empty_cells": float(found["empty"] or 0) / (rows * len(known)) if rows else 0.0,
    }


def _per_month(connection, usage) -> pd.DataFrame:
    found = connection.to_pyarrow(usage.group_by("month").aggregate(rows=usage.count()).order_by("month")).to_pandas()
    found["month"] = pd.to_datetime(found["month"]).astype("datetime64[ns]")
    found["rows"] = found["rows"].astype(np.int64)
    return found


def _features(connection, usage) -> list[str]:
    found = connection.to_pyarrow(
        usage.filter(usage.feature.notnull()).select("feature").distinct().order_by("feature")
    )
    return found.column("feature").to_pylist()
