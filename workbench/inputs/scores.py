"""Health scores where they lie: a CS platform's score history, checked and kept in DuckDB (stored.py).

At 100,000 accounts it is 13 million rows, the largest table after usage; held in pandas it took 3.5 GB
to check and every notebook unpickled it. Every question a study asks of it is "the latest score on or
before each (entity, day)", answered by an as-of join in one query.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..errors import DataError, Problem
from .contract import TABLES
from .stored import ROW_SPAN, Stored, StoredSource, file_order, points, quote, store

LEVELS = {"account": ("account_id", "contact_id IS NULL"), "contact": ("contact_id", "contact_id IS NOT NULL")}


class HealthScores(Stored):
    """The checked health scores: rows without a contact are the account's overall score, with its exported
    parts (`components`); rows with one are that person's score."""

    def __init__(self, database, label, columns, summary, per_month, components: list[str], people: int):
        super().__init__(database, label, columns, summary, per_month)
        self.components, self.people = components, people  # people: rows scoring a person

    def latest(self, level: str, entity: pd.Series, day: np.ndarray, max_age_days: int) -> pd.DataFrame:
        """Per (entity, day): the score (and, for accounts, its components) of the latest row dated on or before
        `day`, NaN when there is none or it is more than `max_age_days` old. `level`: "account" or "contact"."""
        key, rows = LEVELS[level]
        values = ["score", *(self.components if level == "account" else [])]
        listed = ", ".join(quote(v) for v in values)
        found = self.ask(
            f"""SELECT p.position, s.scored_day, {listed}
                FROM (SELECT *, day * {ROW_SPAN} + {ROW_SPAN - 1} AS sort_key FROM points) p
                ASOF JOIN (
                    SELECT {key} AS entity, day AS scored_day, {listed}, {file_order("h")} AS sort_key
                    FROM health_scores h WHERE {rows}
                ) s ON p.entity = s.entity AND p.sort_key >= s.sort_key""",
            points=points(entity, day),
        )
        position = found["position"].to_numpy()
        fresh = np.asarray(day, dtype=np.int64)[position] - found["scored_day"].to_numpy() <= max_age_days
        out = {}
        for name in values:
            column = np.full(len(entity), np.nan)
            column[position[fresh]] = found[name].to_numpy(dtype=float)[fresh]
            out[name] = column
        return pd.DataFrame(out)

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

    with duckdb.connect(str(database), read_only=True) as connection:
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
    return scores, problems


def from_frame(
    frame: pd.DataFrame, accounts: pd.DataFrame | None = None, contacts: pd.DataFrame | None = None
) -> HealthScores:
    """Health scores from a frame in the contract's columns (built in a notebook, say), checked like a file."""
    scores, problems = load_scores(StoredSource("health_scores frame", "row", 1, frame=frame), accounts, contacts)
    if problems:
        raise DataError(problems)
    return scores
