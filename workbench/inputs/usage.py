"""Usage where it lies: checked, aggregated and queried in DuckDB, so only per-decision figures reach pandas.

A usage export can run to hundreds of millions of rows. DuckDB scans the CSV or Parquet file in
place (or the frame a mapping file produced: the same queries either way), checks the contract's
rules in SQL, and keeps the checked rows in a database file that the study's notebooks share.
Every question asked of usage afterwards is a query for a set of (entity, observation day) points,
answered in one join.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from dataclasses import dataclass
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import (
    SHOWN_ROWS,
    DataError,
    Problem,
    missing_column,
    missing_value,
    not_a_date,
    not_a_number,
    orphans,
    out_of_range,
    unreadable,
    wrong_owner,
)

MEMORY_LIMIT = "4GB"  # DuckDB spills to disk beyond this; pandas needs the rest of a laptop's memory
CSV_OPTIONS = "all_varchar=true, header=true, delim=',', quote='\"', escape='\"', comment='', null_padding=true"


@dataclass
class UsageSource:
    """Where usage lies: a CSV or Parquet file, or a frame made by a mapping file."""

    label: str
    row_word: str
    row_offset: int  # added to a 0-based row position to give the number people see
    date_format: str = "%Y-%m-%d"
    path: Path | None = None
    frame: pd.DataFrame | None = None

    def relation(self, connection) -> str:
        if self.frame is not None:
            connection.register("source_frame", self.frame)
            return "source_frame"
        quoted = _literal(self.path)
        if self.path.suffix == ".parquet":
            return f"read_parquet('{quoted}')"
        return f"read_csv('{quoted}', {CSV_OPTIONS})"


class Usage:
    """The checked usage table in a DuckDB file, with what the data-health page shows about it."""

    def __init__(
        self,
        database: Path,
        label: str,
        columns: list[str],
        summary: dict,
        per_month: pd.DataFrame,
        features: list[str],
        engine: str = "duckdb",
        warehouse: dict | None = None,
    ):
        self.database, self.label, self.columns, self.engine = database, label, columns, engine
        self.warehouse = warehouse  # where the usage lies when it is not in a file (warehouse.py)
        self.rows, self.first_date, self.last_date = summary["rows"], summary["first_date"], summary["last_date"]
        self.empty_cells, self.repeated = summary["empty_cells"], summary["repeated"]
        self.per_month, self.features = per_month, features
        self._connection = self._table = None
        self._cleanup = None

    @property
    def has_contacts(self) -> bool:
        return "contact_id" in self.columns

    def own(self, folder: Path) -> None:
        """Delete `folder` (holding the database) when this object goes away."""
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)

    def move_to(self, folder: Path) -> None:
        """Move the database into `folder` (a study's cache, read by every notebook)."""
        from .engines import files

        self.close()
        if self.database is None:  # it stays in the warehouse
            return
        folder.mkdir(parents=True, exist_ok=True)
        for name in files(self.engine):
            shutil.move(self.database.parent / name, folder / name)
        self.database = folder / self.database.name

    def close(self) -> None:
        from .engines import disconnect

        if self._connection is not None:
            disconnect(self.engine, self._connection, self._table)
            self._connection = self._table = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_connection", "_table", "_cleanup")}

    def __setstate__(self, state):
        self.__dict__.update(state, _connection=None, _table=None, _cleanup=None)

    def _query(self, name: str, points: pa.Table | None = None, **options) -> pd.DataFrame:
        """Run the Ibis query `name` (queries.py) on this study's engine; only its result comes back."""
        import ibis

        from . import engines, queries

        if self._connection is None:
            self._connection, self._table = engines.connect(self, _configure)
        tables = [self._table] if points is None else [self._table, ibis.memtable(points)]
        return engines.execute(self._connection, queries.QUERIES[name](*tables, **options))

    @staticmethod
    def _points(entity: pd.Series, day: np.ndarray) -> pa.Table:
        return pa.table(
            {
                "position": np.arange(len(entity), dtype=np.int64),
                "entity": pa.array(pd.Series(entity).astype("str"), type=pa.string()),
                "day": np.asarray(day, dtype=np.int64),
            }
        )

    def window_sums(self, account: pd.Series, day: np.ndarray, window_days: int) -> np.ndarray:
        """Events of each account dated in (day - window_days, day] (day in days since the epoch)."""
        found = self._query("window_sums", self._points(account, day), window_days=int(window_days))
        total = np.zeros(len(account))
        total[found["position"].to_numpy()] = found["events"].to_numpy(dtype=float)
        return total

    def behaviour(self, account: pd.Series, day: np.ndarray, window_days: int) -> pd.DataFrame:
        """Per (account, day), in one pass where the usage lies: events in (day - window_days, day] and in the
        window before it, distinct active contacts and features in the window, and the last day of any use on
        or before `day` (NaN when never)."""
        found = self._query(
            "behaviour",
            self._points(account, day),
            window_days=int(window_days),
            contacts=self.has_contacts,
            features=bool(self.features),
        )
        position = found["position"].to_numpy()
        out = {}
        for column, default in (
            ("events", 0.0),
            ("events_before", 0.0),
            ("active_users", 0.0 if self.has_contacts else np.nan),
            ("features_used", 0.0 if self.features else np.nan),
            ("last_day", np.nan),
        ):
            out[column] = np.full(len(account), default)
            if column in found:
                out[column][position] = found[column].to_numpy(dtype=float)
        return pd.DataFrame(out)

    def feature_sums(self, account: pd.Series, day: np.ndarray, window_days: int) -> pd.DataFrame:
        """Like window_sums, one column per feature (0 where a feature was not used)."""
        found = self._query("feature_sums", self._points(account, day), window_days=int(window_days))
        table = found.pivot(index="position", columns="feature", values="events")
        return table.reindex(index=range(len(account)), columns=self.features).fillna(0.0).astype(float)

    def activity(self, contact: pd.Series, day: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray]:
        """Per (contact, day): their events in (day - window_days, day] and the day they last used the
        product on or before `day` (NaN when never)."""
        found = self._query("activity", self._points(contact, day), window_days=int(window_days))
        events, last_day = np.zeros(len(contact)), np.full(len(contact), np.nan)
        position = found["position"].to_numpy()
        events[position] = found["events"].to_numpy(dtype=float)
        last_day[position] = found["last_day"].to_numpy(dtype=float)
        return events, last_day

    def first_days(self) -> pd.Series:
        """Per contact: the first day (since the epoch) with usage of theirs."""
        found = self._query("first_days")
        return found.set_index("contact_id")["day"].astype(float)


def load_usage(
    source: UsageSource, accounts: pd.DataFrame | None, contacts: pd.DataFrame | None, engine: str = "duckdb"
) -> tuple[Usage | None, list[Problem]]:
    """Check every contract rule of usage in DuckDB and, when it passes, store it in a database in a
    temporary folder that is deleted with the Usage object (`Usage.move_to` hands it to a study). The
    `engine` that answers the study's questions of usage reads it there (engines.py)."""
    from .engines import DATABASE, PARQUET

    folder = Path(tempfile.mkdtemp(prefix="workbench-usage-"))
    database = folder / DATABASE
    connection = duckdb.connect(str(database))
    try:
        _configure(connection)
        usage, problems = _check_and_store(connection, source, accounts, contacts, database)
        if usage is not None and engine != "duckdb":
            connection.execute(f"COPY usage TO '{_literal(folder / PARQUET)}' (FORMAT parquet)")
            usage.engine = engine
    except duckdb.Error as error:
        usage, problems = None, [unreadable(source.label, duckdb_reason(error))]
    finally:
        connection.close()
    if usage is None:
        shutil.rmtree(folder, ignore_errors=True)
    else:
        usage.own(folder)
    return usage, problems


def duckdb_reason(error: Exception, limit: int = 2000) -> str:
    """DuckDB's whole reason (its first line alone is often just 'CSV Error on Line: 2'), kept readable."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit] + " ..."


def _configure(connection) -> None:
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    # a progress bar would print into study logs; in Jupyter it is already off (and changing it there fails)
    if connection.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        connection.execute("SET enable_progress_bar = false")


def _check_and_store(connection, source: UsageSource, accounts, contacts, database: Path):
    if source.path is not None and source.path.stat().st_size == 0:
        return None, [unreadable(source.label, "the file is empty")]
    relation = source.relation(connection)
    types = dict(
        connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    )
    absent = [c for c in ("account_id", "date", "events") if c not in types]
    if absent:
        return None, [missing_column(source.label, name, list(types)) for name in absent]
    connection.execute(f"CREATE TEMP VIEW typed AS SELECT {_typed_columns(types, source.date_format)} FROM {relation}")
    references = _reference_tables(connection, accounts, contacts)
    rules = _rules(source, types, references)
    counts = connection.execute(
        "SELECT "
        + ", ".join(f"count(*) FILTER (WHERE {rule['where']})" for rule in rules)
        + f" FROM typed {references['joins']}"
    ).fetchone()
    problems = [
        rule["problem"](_shown(connection, source, rule, references["joins"]), count)
        for rule, count in zip(rules, counts)
        if count
    ]
    if problems:
        return None, problems
    # Kept as rows, in the file's order: aggregating 30M+ string keys costs more than summing at query time,
    # and exports grouped by account or contact keep the joins' lookups local.
    connection.execute("CREATE TABLE usage AS SELECT account_id, contact_id, feature, day, events FROM typed")
    known = [c for c in ("account_id", "contact_id", "date", "feature", "events") if c in types]
    empty = " + ".join(f"count(*) FILTER (WHERE {'day' if c == 'date' else c} IS NULL)" for c in known)
    rows, first, last, empty_count = connection.execute(
        f"SELECT count(*), min(day), max(day), {empty} FROM usage"
    ).fetchone()
    repeated = _repeated(connection)
    per_month = connection.execute("""
        SELECT date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS month, count(*) AS rows
        FROM usage GROUP BY month ORDER BY month""").df()
    per_month["month"] = pd.to_datetime(per_month["month"]).astype("datetime64[ns]")
    features = [
        f
        for (f,) in connection.execute(
            "SELECT DISTINCT feature FROM usage WHERE feature IS NOT NULL ORDER BY feature"
        ).fetchall()
    ]
    summary = {
        "rows": int(rows),
        "repeated": int(repeated),
        "first_date": _date(first),
        "last_date": _date(last),
        "empty_cells": float(empty_count) / (rows * len(known)) if rows else 0.0,
    }
    return Usage(database, source.label, list(types), summary, per_month, features), []


def _repeated(connection) -> int:
    """Rows that repeat an earlier row exactly: rows sharing a hash are the only candidates, then compared in full."""
    columns = "account_id, contact_id, feature, day, events"
    return int(
        connection.execute(f"""
        WITH candidates AS (SELECT hash({columns}) AS key FROM usage GROUP BY key HAVING count(*) > 1)
        SELECT coalesce(sum(copies - 1), 0) FROM (
            SELECT count(*) AS copies FROM usage WHERE hash({columns}) IN (SELECT key FROM candidates)
            GROUP BY {columns})""").fetchall()[0][0]
    )


def _date(day) -> pd.Timestamp:
    return pd.NaT if day is None else pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day))


def _typed_columns(types: dict[str, str], date_format: str) -> str:
    def text(name):
        return f"nullif(trim(CAST({_quote(name)} AS VARCHAR)), '')" if name in types else "CAST(NULL AS VARCHAR)"

    date_type, events_type = types["date"].upper(), types["events"].upper()
    if date_type.startswith(("DATE", "TIMESTAMP")):
        day = "CAST(CAST(\"date\" AS DATE) - DATE '1970-01-01' AS BIGINT)"
    else:
        fmt = date_format.replace("'", "''")
        day = f"CAST(CAST(try_strptime({text('date')}, '{fmt}') AS DATE) - DATE '1970-01-01' AS BIGINT)"
    numeric = any(
        events_type.startswith(t)
        for t in (
            "DOUBLE",
            "FLOAT",
            "DECIMAL",
            "BIGINT",
            "INTEGER",
            "SMALLINT",
            "TINYINT",
            "HUGEINT",
            "UBIGINT",
            "UINTEGER",
            "USMALLINT",
            "UTINYINT",
            "REAL",
        )
    )
    # a numeric NaN is an empty cell, as pandas reads it; a NaN written as text is not a number
    if numeric:
        events = 'CASE WHEN isnan(CAST("events" AS DOUBLE)) THEN NULL ELSE CAST("events" AS DOUBLE) END'
        events_text = f"CAST({events} AS VARCHAR)"
    else:
        events, events_text = f"try_cast({text('events')} AS DOUBLE)", text("events")
    return ", ".join(
        [
            f"{text('account_id')} AS account_id",
            f"{text('contact_id')} AS contact_id",
            f"{text('feature')} AS feature",
            f"{day} AS day",
            f"{events} AS events",
            f"{text('date')} AS date_text",
            f"{events_text} AS events_text",
            'CAST("date" AS VARCHAR) AS date_raw',
            'CAST("events" AS VARCHAR) AS events_raw',
        ]
    )


def _literal(path: Path) -> str:
    return str(path).replace("'", "''")


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reference_tables(connection, accounts, contacts) -> dict:
    joins = []
    if accounts is not None:
        connection.register("accounts_frame", accounts[["account_id"]])
        connection.execute("CREATE TEMP TABLE known_accounts AS SELECT DISTINCT account_id FROM accounts_frame")
        joins.append("LEFT JOIN known_accounts a ON a.account_id = typed.account_id")
    if contacts is not None:
        connection.register("contacts_frame", contacts[["contact_id", "account_id"]])
        connection.execute(
            "CREATE TEMP TABLE known_contacts AS SELECT contact_id, min(account_id) AS owner "
            "FROM contacts_frame GROUP BY contact_id"
        )
        joins.append("LEFT JOIN known_contacts c ON c.contact_id = typed.contact_id")
    return {"accounts": accounts is not None, "contacts": contacts is not None, "joins": " ".join(joins)}


def _rules(source: UsageSource, types: dict, references: dict) -> list[dict]:
    label = source.label
    rules = [
        {
            "where": "typed.account_id IS NULL",
            "value": "CAST(NULL AS VARCHAR)",
            "problem": lambda rows, count: missing_value(label, "account_id", rows, count),
        },
        {
            "where": "date_text IS NULL",
            "value": "date_raw",
            "problem": lambda rows, count: missing_value(label, "date", rows, count),
        },
        {
            "where": "date_text IS NOT NULL AND day IS NULL",
            "value": "date_raw",
            "problem": lambda rows, count: not_a_date(label, "date", source.date_format, rows, count),
        },
        {
            "where": "events_text IS NULL",
            "value": "events_raw",
            "problem": lambda rows, count: missing_value(label, "events", rows, count),
        },
        {
            "where": "events_text IS NOT NULL AND (events IS NULL OR isnan(events) OR isinf(events))",
            "value": "events_raw",
            "problem": lambda rows, count: not_a_number(label, "events", rows, count),
        },
        {
            "where": "events < 0 AND isfinite(events)",
            "value": "events_raw",
            "problem": lambda rows, count: out_of_range(label, "events", 0, None, rows, count),
        },
    ]
    if references["accounts"]:
        rules.append(
            {
                "where": "typed.account_id IS NOT NULL AND a.account_id IS NULL",
                "value": "typed.account_id",
                "problem": lambda rows, count: orphans(label, "account_id", "accounts", rows, count),
            }
        )
    if references["contacts"] and "contact_id" in types:
        rules.append(
            {
                "where": "typed.contact_id IS NOT NULL AND c.contact_id IS NULL",
                "value": "typed.contact_id",
                "problem": lambda rows, count: orphans(label, "contact_id", "contacts", rows, count),
            }
        )
        rules.append(
            {
                "where": "c.owner IS NOT NULL AND c.owner <> typed.account_id",
                "value": "typed.contact_id",
                "problem": lambda rows, count: wrong_owner(label, rows, count),
            }
        )
    return rules


def _shown(connection, source: UsageSource, rule: dict, joins: str) -> tuple[tuple[str, str], ...]:
    """The first offending rows, numbered as people see them (a numbered scan keeps the file's order)."""
    found = connection.execute(f"""
        SELECT position, {rule["value"]} FROM (SELECT row_number() OVER () AS position, * FROM typed) typed {joins}
        WHERE {rule["where"]} ORDER BY position LIMIT {SHOWN_ROWS}""").fetchall()
    return tuple(
        (f"{source.row_word} {position - 1 + source.row_offset}", "" if value is None else str(value))
        for position, value in found
    )


def from_frame(
    frame: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    engine: str = "duckdb",
) -> Usage:
    """Usage from a frame in the contract's columns (built in a notebook, say), checked like a file."""
    usage, problems = load_usage(UsageSource("usage frame", "row", 1, frame=frame), accounts, contacts, engine)
    if problems:
        raise DataError(problems)
    return usage
