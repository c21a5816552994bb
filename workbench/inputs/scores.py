"""Health scores where they lie: a CS platform's score history, checked and kept in DuckDB (stored.py).

It is the largest table after usage (a score per person per week), too large to hold in pandas in every
notebook. Every question a study asks of it is "the latest score on or before each (entity, day)". An as-of
join would answer it by sorting the whole table each time. So the rows of each
level are sorted once, when the table is checked, into arrays memory-mapped by every process: a key of
(entity number, day) in order, with the file's order within a day, and the values (the day a score was given is
the key's low bits). A question then numbers its entities in DuckDB (a hash join) and finds each row by binary
search.
"""

from __future__ import annotations

from contextlib import ExitStack
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .contract import TABLES
from .stored import Stored, StoredSource, configure, points, quote, store

LEVELS = {"account": ("account_id", "contact_id IS NULL"), "contact": ("contact_id", "contact_id IS NOT NULL")}
# A sorted key holds (entity number, day): the day, offset to be positive, in its low bits (years -3771 to 7711).
DAY_BITS, DAY_OFFSET = 22, 1 << 21
DAY_MASK = (1 << DAY_BITS) - 1
QUESTION_BLOCK = 1_000_000  # points looked up per mapping of the arrays
BATCH_ROWS = 1_000_000  # rows written to the arrays at a time: a million-account book's 100M+ never at once


class HealthScores(Stored):
    """The checked health scores: rows without a contact are the account's overall score, with its exported
    parts (`components`); rows with one are that person's score."""

    def __init__(self, database, label, columns, summary, per_month, components: list[str], people: int):
        super().__init__(database, label, columns, summary, per_month)
        self.components, self.people = components, people  # people: rows scoring a person

    def latest(self, level: str, entity: pd.Series, day: np.ndarray, max_age_days: int) -> pd.DataFrame:
        """Per (entity, day): the score (and, for accounts, its components) of the latest row dated on or before
        `day` (of a day's rows, the last in the file), NaN when there is none or it is more than `max_age_days`
        old. `level`: "account" or "contact"."""
        values = self.values(level)
        day = np.asarray(day, dtype=np.int64)
        numbered = self.ask(
            f"SELECT p.position, e.code FROM points p JOIN entities_{level} e ON e.entity = p.entity",
            points=points(entity, day),
        )
        position = numbered["position"].to_numpy()
        code = numbered["code"].to_numpy(dtype=np.int64)
        sought = (code << DAY_BITS) | (day[position] + DAY_OFFSET)
        out = {name: np.full(len(entity), np.nan) for name in values}
        # In order of their keys, a block at a time, each block with the arrays mapped afresh: a block reads
        # only its part of the files, and only that part is in this process's memory at once (the people of a
        # large book's open contracts would otherwise read all of them in one question).
        order = np.argsort(sought, kind="stable")
        for first in range(0, len(order), QUESTION_BLOCK):
            rows = order[first : first + QUESTION_BLOCK]
            arrays = self._arrays(level)
            at = np.searchsorted(arrays["key"], sought[rows], side="right") - 1  # the last row at or before the day
            rows, at = rows[at >= 0], at[at >= 0]
            key = arrays["key"][at]
            scored_day = (key & DAY_MASK) - DAY_OFFSET
            fresh = ((key >> DAY_BITS) == code[rows]) & (day[position[rows]] - scored_day <= max_age_days)
            rows, at = rows[fresh], at[fresh]
            for name in values:
                out[name][position[rows]] = arrays[name][at]
            del arrays  # unmapped
        return pd.DataFrame(out)

    def values(self, level: str) -> list[str]:
        return ["score", *(self.components if level == "account" else [])]

    def files(self) -> tuple[str, ...]:
        return (self.database.name, *(self._array_path(level, name).name for level, name in self._array_names()))

    def _array_names(self) -> list[tuple[str, str]]:
        return [(level, name) for level in LEVELS for name in ("key", *self.values(level))]

    def _array_path(self, level: str, name: str) -> Path:
        return self.database.with_name(f"{self.database.stem}.{level}.{name}.npy")

    def _arrays(self, level: str) -> dict[str, np.ndarray]:
        """The level's sorted arrays, memory-mapped for one question: unmapped after it, their pages stay in the
        system's file cache for the next, and out of every process's resident memory in between."""
        return {
            name: np.load(self._array_path(level, name), mmap_mode="r")
            for lv, name in self._array_names()
            if lv == level
        }

    def first_days(self) -> pd.Series:
        """Per contact: the first day (since the epoch) with a score of theirs."""
        found = (
            self.connection()
            .execute("SELECT contact_id, min(day) AS day FROM health_scores WHERE contact_id IS NOT NULL GROUP BY 1")
            .df()
        )
        return found.set_index("contact_id")["day"].astype(float)


def load_scores(
    source: StoredSource, accounts: pd.DataFrame | None, contacts: pd.DataFrame | None
) -> tuple[HealthScores | None, list[Problem]]:
    """Check every contract rule of health_scores in DuckDB and keep them in a database in a temporary folder
    that is deleted with the HealthScores object (`move_to` hands it to a study)."""
    database, described, problems = store(
        source,
        TABLES["health_scores"],
        {"accounts": accounts, "contacts": contacts},
    )
    if database is None:
        return None, problems
    import duckdb

    with duckdb.connect(str(database)) as connection:
        configure(connection)
        (people,) = connection.execute("SELECT count(*) FROM health_scores WHERE contact_id IS NOT NULL").fetchone()
        scores = HealthScores(
            database,
            source.label,
            described["columns"],
            described["summary"],
            described["per_month"],
            described["extra"],
            int(people),
        )
        scores.own(database.parent)
        for level in LEVELS:
            _sort(connection, scores, level)
    return scores, problems


def _sort(connection, scores: HealthScores, level: str) -> None:
    """The level's entities numbered in the order of their ids (table entities_<level>), and its rows sorted by
    (entity number, day, place in the file) into the arrays `HealthScores.latest` searches: key and the level's
    values."""
    key, rows = LEVELS[level]
    values = scores.values(level)
    connection.execute(f"""
        CREATE TABLE entities_{level} AS SELECT entity, CAST(row_number() OVER (ORDER BY entity) - 1 AS BIGINT) AS code
        FROM (SELECT DISTINCT {key} AS entity FROM health_scores WHERE {rows})""")
    (count,) = connection.execute(f"SELECT count(*) FROM health_scores WHERE {rows}").fetchone()
    listed = ", ".join(f"h.{quote(v)}" for v in values)
    reader = connection.cursor()  # read on a cursor of its own, closed when read
    sorted_rows = reader.sql(f"""
        SELECT (e.code << {DAY_BITS}) | (h.day + {DAY_OFFSET}) AS "key", {listed}
        FROM health_scores h JOIN entities_{level} e ON e.entity = h.{key}
        WHERE h.{rows} ORDER BY e.code, h.day, h.rowid""")
    types = {"key": np.int64, **dict.fromkeys(values, np.float64)}
    # Appended batch by batch to plain files (a mapping written in place would hold every page it wrote).
    with ExitStack() as stack:
        stack.callback(reader.close)
        files = {name: stack.enter_context(open(scores._array_path(level, name), "wb")) for name in types}
        for name, file in files.items():
            header = {"descr": np.lib.format.dtype_to_descr(np.dtype(types[name])), "fortran_order": False}
            np.lib.format.write_array_header_1_0(file, {**header, "shape": (count,)})
        for batch in sorted_rows.to_arrow_reader(BATCH_ROWS):
            for name, file in files.items():
                file.write(batch.column(name).to_numpy(zero_copy_only=False).astype(types[name], copy=False).tobytes())


def from_frame(
    frame: pd.DataFrame, accounts: pd.DataFrame | None = None, contacts: pd.DataFrame | None = None
) -> HealthScores:
    """Health scores from a frame in the contract's columns (built in a notebook, say), checked like a file."""
    scores, problems = load_scores(StoredSource("health_scores frame", "row", 1, frame=frame), accounts, contacts)
    if problems:
        raise DataError(problems)
    return scores
