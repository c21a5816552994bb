"""Large event tables where they lie: checked against the contract in DuckDB and kept in a database file
the study's notebooks share, so only per-decision figures ever reach pandas.

A usage export or a CS platform's score history can run to hundreds of millions of rows. DuckDB scans
the CSV or Parquet file in place (or the frame a mapping file produced: the same SQL either way), checks
every rule of the table's contract in one pass, and keeps the checked rows in the table's own database
file. usage.py and scores.py ask their questions of it.
"""

from __future__ import annotations

import getpass
import os
import re
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
from . import duckdb_memory
from .contract import DATE, NUMBER, TABLES, Table

MEMORY_LIMIT = duckdb_memory.limit()  # DuckDB spills to disk beyond it
# A store's rows keep the file's order (DuckDB preserves insertion order, so a row's rowid is its place in the
# file), and `file_order` orders one entity's rows by day, then by that place: the last row of a day wins, as it
# would in a stable sort. Numbering them in a window instead took half the time of storing health scores.
ROW_SPAN = 1 << 32
CSV_OPTIONS = "all_varchar=true, header=true, delim=',', quote='\"', escape='\"', comment='', null_padding=true"
NUMERIC_TYPES = (
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


@dataclass
class StoredSource:
    """Where a large table lies: a CSV or Parquet file, or a frame made by a mapping file."""

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
        quoted = literal(self.path)
        if self.path.suffix == ".parquet":
            return f"read_parquet('{quoted}')"
        return f"read_csv('{quoted}', {CSV_OPTIONS})"


class Stored:
    """A checked table in its own DuckDB file, with what the data-health page shows about it."""

    def __init__(self, database: Path | None, label: str, columns: list[str], summary: dict, per_month: pd.DataFrame):
        self.database, self.label, self.columns = database, label, columns
        self.kept = False  # True once kept with a prepared study (prepared.py): it stays there
        self.rows, self.first_date, self.last_date = summary["rows"], summary["first_date"], summary["last_date"]
        self.empty_cells, self._repeated_rows = summary["empty_cells"], summary.get("repeated")
        self.per_month = per_month
        self._duckdb = None
        self._cleanup = None

    @property
    def repeated(self) -> int:
        """Rows that repeat an earlier row exactly: counted when first asked (by the data-health page, in a kernel
        of its own), not while the study's other work waits for the check."""
        if self._repeated_rows is None:
            self._repeated_rows = _repeated(self.connection(), self.database.stem)
        return self._repeated_rows

    def files(self) -> tuple[str, ...]:
        """The files of the store a study keeps beside its cache."""
        return (self.database.name,)

    def own(self, folder: Path) -> None:
        """Delete `folder` (holding the database) when this object goes away."""
        self._cleanup = weakref.finalize(self, shutil.rmtree, folder, True)

    def move_to(self, folder: Path) -> None:
        """Move the store into `folder` (a study's cache, read by every notebook); one kept for later loads
        (prepared.py) stays where it is kept."""
        self.close()
        if self.database is None or self.kept:  # it stays in the warehouse, or in the prepared studies' cache
            return
        folder.mkdir(parents=True, exist_ok=True)
        for name in self.files():
            shutil.move(self.database.parent / name, folder / name)
        self.database = folder / self.database.name

    def copy_to(self, folder: Path) -> Path | None:
        """Its files also in `folder` (linked where the file system allows, copied otherwise), leaving this store
        where it is; the database's path there (None for a warehouse's)."""
        if self.database is None:
            return None
        for name in self.files():
            try:
                os.link(self.database.parent / name, folder / name)
            except OSError:
                shutil.copy2(self.database.parent / name, folder / name)
        return folder / self.database.name

    def connection(self):
        """A read-only DuckDB connection to the store, opened once per process."""
        if self._duckdb is None:
            self._duckdb = duckdb.connect(str(self.database), read_only=True)
            configure(self._duckdb)
        return self._duckdb

    def ask(self, sql: str, **tables: pa.Table) -> pd.DataFrame:
        """The answer to `sql`, with `tables` registered under their names on a cursor of its own (so a
        question asked while another is open never sees the other's tables)."""
        cursor = self.connection().cursor()
        try:
            for name, table in tables.items():
                cursor.register(name, table)
            return cursor.sql(sql).df()
        finally:
            cursor.close()

    def to_frame(self) -> pd.DataFrame:
        """The whole checked table (dates as `day`, days since the epoch), for a table that fits in memory."""
        return self.connection().sql(f"SELECT * FROM {self.database.stem}").df()

    def close(self) -> None:
        if self._duckdb is not None:
            self._duckdb.close()
            self._duckdb = None

    def __getstate__(self):
        return {k: v for k, v in self.__dict__.items() if k not in ("_duckdb", "_connection", "_table", "_cleanup")}

    def __setstate__(self, state):
        self.__dict__.update({"kept": False, **state}, _duckdb=None, _connection=None, _table=None, _cleanup=None)


def points(entity: pd.Series, day: np.ndarray) -> pa.Table:
    """The (position, entity, day) points a question is asked for: one row back per point at most."""
    return pa.table(
        {
            "position": np.arange(len(entity), dtype=np.int64),
            "entity": pa.array(pd.Series(entity).astype("str"), type=pa.string()),
            "day": np.asarray(day, dtype=np.int64),
        }
    )


def file_order(alias: str) -> str:
    """SQL for the key that orders a store's rows (`alias`) by day, then by their place in the file."""
    return f"{alias}.day * {ROW_SPAN} + {alias}.rowid"


def store(
    source: StoredSource, table: Table, known: dict[str, pd.DataFrame | None]
) -> tuple[Path | None, dict | None, list[Problem]]:
    """Check every contract rule of `table` in DuckDB (its references against the `known` tables, by name) and,
    when it passes, keep the typed rows (dates as `day`, days since the epoch), in the file's order, as table
    `table.name` of a database in a temporary folder. Returns the database, what describes it (columns,
    summary, per_month, extra numbers) and the problems."""
    folder = new_folder(table.name)
    database = folder / f"{table.name}.duckdb"
    connection = duckdb.connect(str(database))
    try:
        configure(connection)
        described, problems = _check_and_store(connection, source, table, known)
    except duckdb.Error as error:
        described, problems = None, [_not_utf8(source.label, error) or unreadable(source.label, duckdb_reason(error))]
    finally:
        connection.close()
    if described is None:
        shutil.rmtree(folder, ignore_errors=True)
        return None, None, problems
    return database, described, problems


def stores() -> Path:
    """Where this user's stores wait until a study takes them (`Stored.move_to`)."""
    return Path(tempfile.gettempdir()) / f"workbench-stores-{getpass.getuser()}"


def new_folder(name: str) -> Path:
    """A temporary folder for one store, named after this process, after sweeping away the folders of processes
    that ended without deleting theirs (a kernel its client shuts down never runs its exit handlers)."""
    parent = stores()
    parent.mkdir(exist_ok=True)
    for folder in parent.iterdir():
        owner = folder.name.split("-", 1)[0]
        if owner.isdigit() and not _alive(int(owner)):
            shutil.rmtree(folder, ignore_errors=True)
    return Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-{name}-", dir=parent))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # another user's process, or a platform that cannot tell: keep its folder
        return True
    return True


def _not_utf8(label: str, error: Exception) -> Problem | None:
    """DuckDB's complaint about a file in another encoding, in the words `read_file` uses for one."""
    if "Invalid unicode" not in str(error):
        return None
    line = re.search(r"CSV Error on Line: (\d+)", str(error))
    return Problem(
        label,
        None,
        "the file is not UTF-8 text" + (f" (first on line {line.group(1)})" if line else ""),
        "UTF-8 encoded CSV",
        "save the file as UTF-8, or name its encoding in a mapping file (`encoding: latin-1`, docs/mapping.md)",
    )


def duckdb_reason(error: Exception, limit: int = 2000) -> str:
    """DuckDB's whole reason (its first line alone is often just 'CSV Error on Line: 2'), kept readable."""
    text = " ".join(line.strip() for line in str(error).splitlines() if line.strip())
    return text if len(text) <= limit else text[:limit] + " ..."


def configure(connection) -> None:
    connection.execute(f"SET memory_limit = '{MEMORY_LIMIT}'")
    connection.execute("SET preserve_insertion_order = true")  # the default, which `file_order` relies on
    # a progress bar would print into study logs; in Jupyter it is already off (and changing it there fails)
    if connection.execute("SELECT current_setting('enable_progress_bar')").fetchall()[0][0]:
        connection.execute("SET enable_progress_bar = false")


def _check_and_store(connection, source: StoredSource, table: Table, known: dict):
    if source.path is not None and source.path.stat().st_size == 0:
        return None, [unreadable(source.label, "the file is empty")]
    relation = source.relation(connection)
    types = dict(
        connection.execute(f"SELECT column_name, column_type FROM (DESCRIBE SELECT * FROM {relation})").fetchall()
    )
    absent = [c for c in table.required_columns if c not in types]
    if absent:
        return None, [missing_column(source.label, name, list(types)) for name in absent]
    extra = [c for c in types if str(c).startswith("component_")]  # an exported scorecard's parts
    columns = [*table.columns, *(table.column(c) or _Extra(c) for c in extra)]
    connection.execute(
        f"CREATE TEMP VIEW typed AS SELECT {_typed_columns(columns, types, source.date_format)} FROM {relation}"
    )
    references = _reference_tables(connection, table, known, types)
    rules = _rules(source, columns, types, references)
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
    stored = ["day" if c.kind == DATE else c.name for c in columns]
    # Kept as rows, in the file's order: aggregating 30M+ string keys costs more than summing at query time,
    # and exports grouped by account or contact keep the joins' lookups local.
    connection.execute(f"CREATE TABLE {table.name} AS SELECT {', '.join(stored)} FROM typed")
    known = ["day" if c.kind == DATE else c.name for c in table.columns if c.name in types]
    empty = " + ".join(f"count(*) FILTER (WHERE {c} IS NULL)" for c in known)
    rows, first, last, empty_count = connection.execute(
        f"SELECT count(*), min(day), max(day), {empty} FROM {table.name}"
    ).fetchone()
    per_month = connection.execute(f"""
        SELECT date_trunc('month', DATE '1970-01-01' + CAST(day AS INTEGER)) AS month, count(*) AS rows
        FROM {table.name} GROUP BY month ORDER BY month""").df()
    per_month["month"] = pd.to_datetime(per_month["month"]).astype("datetime64[ns]")
    summary = {
        "rows": int(rows),
        "first_date": to_date(first),
        "last_date": to_date(last),
        "empty_cells": float(empty_count) / (rows * len(known)) if rows else 0.0,
    }
    if source.frame is not None:  # a mapping's rows: repeated only where every column of the export repeats,
        # so two visitors' events on one day (their ids beside the contract's columns) are not one exported twice
        summary["repeated"] = _repeated(connection, relation)
    return {"columns": list(types), "summary": summary, "per_month": per_month, "extra": extra}, []


@dataclass(frozen=True)
class _Extra:
    """A number column beyond the contract's (component_*)."""

    name: str
    kind: str = NUMBER
    required: bool = False
    allowed: tuple | None = None
    minimum: float | None = None
    maximum: float | None = None


def _repeated(connection, name: str) -> int:
    """Rows of table or relation `name` that repeat an earlier row exactly: rows sharing a hash are the only
    candidates, then compared in full."""
    listed = ", ".join(quote(column) for column, *_ in connection.execute(f"SELECT * FROM {name} LIMIT 0").description)
    return int(
        connection.execute(f"""
        WITH candidates AS (SELECT hash({listed}) AS key FROM {name} GROUP BY key HAVING count(*) > 1)
        SELECT coalesce(sum(copies - 1), 0) FROM (
            SELECT count(*) AS copies FROM {name} WHERE hash({listed}) IN (SELECT key FROM candidates)
            GROUP BY {listed})""").fetchall()[0][0]
    )


def to_date(day) -> pd.Timestamp:
    return pd.NaT if day is None else pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(day))


def _typed_columns(columns, types: dict[str, str], date_format: str) -> str:
    """Each column typed as the contract says, with the text and raw cell behind each date and number, so a
    rule can tell an empty cell from one that is not a date or number and show the cell as written."""

    def text(name):
        return f"nullif(trim(CAST({quote(name)} AS VARCHAR)), '')" if name in types else "CAST(NULL AS VARCHAR)"

    typed = []
    for column in columns:
        name = column.name
        raw = f"CAST({quote(name)} AS VARCHAR)" if name in types else "CAST(NULL AS VARCHAR)"
        if column.kind == DATE:
            if types.get(name, "").upper().startswith(("DATE", "TIMESTAMP")):
                day = f"CAST(CAST({quote(name)} AS DATE) - DATE '1970-01-01' AS BIGINT)"
            else:
                fmt = date_format.replace("'", "''")
                day = f"CAST(CAST(try_strptime({text(name)}, '{fmt}') AS DATE) - DATE '1970-01-01' AS BIGINT)"
            typed += [f"{day} AS day", f"{text(name)} AS {name}_text", f"{raw} AS {name}_raw"]
        elif column.kind == NUMBER:
            # a numeric NaN is an empty cell, as pandas reads it; a NaN written as text is not a number
            if types.get(name, "").upper().startswith(NUMERIC_TYPES):
                value = (
                    f"CASE WHEN isnan(CAST({quote(name)} AS DOUBLE)) THEN NULL ELSE CAST({quote(name)} AS DOUBLE) END"
                )
                written = f"CAST({value} AS VARCHAR)"
            else:
                value, written = f"try_cast({text(name)} AS DOUBLE)", text(name)
            typed += [
                f"{value} AS {quote(name)}",
                f"{written} AS {quote(name + '_text')}",
                f"{raw} AS {quote(name + '_raw')}",
            ]
        else:
            typed.append(f"{text(name)} AS {quote(name)}")
    return ", ".join(typed)


def literal(path: Path) -> str:
    return str(path).replace("'", "''")


def quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _reference_tables(connection, table: Table, known: dict, types: dict) -> dict:
    """A temporary table of the keys each reference may name (with a contact's account, for the contract's rule
    that a contact belongs to the account it is used for), and the joins that look them up."""
    joins, checked = [], []
    for column, target in table.references.items():
        frame = known.get(target)
        if frame is None or column not in types:
            continue
        key, name = TABLES[target].unique, f"known_{column}"
        connection.register(f"{name}_frame", frame)
        owner = ", min(account_id) AS owner" if column == "contact_id" and "account_id" in frame else ""
        connection.execute(
            f"CREATE TEMP TABLE {name} AS SELECT {quote(key)} AS key{owner} FROM {name}_frame GROUP BY {quote(key)}"
        )
        joins.append(f"LEFT JOIN {name} ON {name}.key = typed.{quote(column)}")
        checked.append((column, target, name, bool(owner)))
    return {"checked": checked, "joins": " ".join(joins)}


def _rules(source: StoredSource, columns, types: dict, references: dict) -> list[dict]:
    """Each contract rule as the rows that break it, the value shown for them, and the problem it makes."""
    label = source.label
    rules = []

    def rule(where, value, problem):
        rules.append({"where": where, "value": value, "problem": problem})

    for column in columns:
        name, q = column.name, quote(column.name)
        if column.kind == DATE:
            if column.required:
                rule(f"{name}_text IS NULL", f"{name}_raw", lambda r, n, c=name: missing_value(label, c, r, n))
            rule(
                f"{name}_text IS NOT NULL AND day IS NULL",
                f"{name}_raw",
                lambda r, n, c=name: not_a_date(label, c, source.date_format, r, n),
            )
        elif column.kind == NUMBER:
            written, raw = quote(name + "_text"), quote(name + "_raw")
            if column.required:
                rule(f"{written} IS NULL", raw, lambda r, n, c=name: missing_value(label, c, r, n))
            rule(
                f"{written} IS NOT NULL AND ({q} IS NULL OR isnan({q}) OR isinf({q}))",
                raw,
                lambda r, n, c=name: not_a_number(label, c, r, n),
            )
            bounds = [f"{q} < {column.minimum}"] * (column.minimum is not None)
            bounds += [f"{q} > {column.maximum}"] * (column.maximum is not None)
            if bounds:
                rule(
                    f"({' OR '.join(bounds)}) AND isfinite({q})",
                    raw,
                    lambda r, n, c=column: out_of_range(label, c.name, c.minimum, c.maximum, r, n),
                )
        elif column.required:
            rule(f"typed.{q} IS NULL", "CAST(NULL AS VARCHAR)", lambda r, n, c=name: missing_value(label, c, r, n))
        if column.allowed is not None:
            listed = ", ".join("'" + a.replace("'", "''") + "'" for a in column.allowed)
            rule(
                f"typed.{q} IS NOT NULL AND typed.{q} NOT IN ({listed})",
                f"typed.{q}",
                lambda r, n, c=column: Problem(
                    label,
                    c.name,
                    f"{n} rows have a value outside the allowed set",
                    "one of " + ", ".join(c.allowed),
                    "correct the rows, or map your system's values onto these in a mapping file",
                    r,
                    n,
                ),
            )
    for column, target, name, owned in references["checked"]:
        rule(
            f"typed.{quote(column)} IS NOT NULL AND {name}.key IS NULL",
            f"typed.{quote(column)}",
            lambda r, n, c=column, t=target: orphans(label, c, t, r, n),
        )
        if owned:
            rule(f"{name}.owner <> typed.account_id", f"typed.{quote(column)}", lambda r, n: wrong_owner(label, r, n))
    return rules


def _shown(connection, source: StoredSource, rule: dict, joins: str) -> tuple[tuple[str, str], ...]:
    """The first offending rows, numbered as people see them (a numbered scan keeps the file's order)."""
    found = connection.execute(f"""
        SELECT position, {rule["value"]} FROM (SELECT row_number() OVER () AS position, * FROM typed) typed {joins}
        WHERE {rule["where"]} ORDER BY position LIMIT {SHOWN_ROWS}""").fetchall()
    return tuple(
        (f"{source.row_word} {position - 1 + source.row_offset}", "" if value is None else str(value))
        for position, value in found
    )
