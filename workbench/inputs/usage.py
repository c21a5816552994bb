"""Usage where it lies: checked and kept in DuckDB (stored.py), and queried on the study's engine, so only
per-decision figures reach pandas.

Every question asked of usage is a query for a set of (entity, observation day) points, answered in one
join where the usage lies: DuckDB by default, Spark or a warehouse (engines.py).
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import DataError, Problem
from ..lookup import mapped
from .contract import TABLES
from .stored import Stored, StoredSource, configure, literal, points, store


class Usage(Stored):
    """The checked usage, with the engine that answers its queries and what the data-health page shows."""

    def __init__(
        self,
        database: Path | None,
        label: str,
        columns: list[str],
        summary: dict,
        per_month: pd.DataFrame,
        features: list[str],
        engine: str = "duckdb",
        warehouse: dict | None = None,
    ):
        super().__init__(database, label, columns, summary, per_month)
        self.features, self.engine = features, engine
        self.warehouse = warehouse  # where the usage lies when it is not in a file (warehouse.py)
        self._connection = self._table = None  # the engine's (Ibis) connection and the usage table there
        self._first_days: pd.Series | None = None  # per account, its first usage row's day (`known`)

    @property
    def has_contacts(self) -> bool:
        return "contact_id" in self.columns

    def files(self) -> tuple[str, ...]:
        from .engines import files

        return files(self.engine)

    def close(self) -> None:
        from .engines import disconnect

        super().close()
        if self._connection is not None:
            disconnect(self.engine, self._connection, self._table)
            self._connection = self._table = None

    def _query(self, name: str, points: pa.Table | None = None, **options) -> pd.DataFrame:
        """Run the Ibis query `name` (queries.py) on this study's engine; only its result comes back."""
        import ibis

        from . import engines, queries

        with engines.unreadable_on_cluster(self.database.parent / engines.PARQUET if self.engine == "spark" else None):
            if self._connection is None:
                self._connection, self._table = engines.connect(self, configure)
            tables = [self._table] if points is None else [self._table, ibis.memtable(points)]
            return engines.execute(self._connection, queries.QUERIES[name](*tables, **options))

    def window_sums(self, account: pd.Series, day: np.ndarray, window_days: int) -> np.ndarray:
        """Events of each account dated in (day - window_days, day] (day in days since the epoch); missing, not
        0, where `day` comes before the account's first usage row (`known`)."""
        found = self._query("window_sums", points(account, day), window_days=int(window_days))
        total = np.zeros(len(account))
        total[found["position"].to_numpy()] = found["events"].to_numpy(dtype=float)
        return np.where(self.known(account, day), total, np.nan)

    def known(self, account: pd.Series, day) -> np.ndarray:
        """Whether usage says anything of each account by `day`: its first row (of any events, 0 included) is
        dated on or before it. Before that, or with no row at all, the account was not yet a customer or the
        export had not begun, so a window sum there is missing, not zero."""
        return np.asarray(day, dtype=float) >= self._first_day(account)  # NaN (no row at all) compares False

    def _first_day(self, account: pd.Series) -> np.ndarray:
        """Each account's first usage day (NaN without a row), the per-account days queried once per study."""
        if self._first_days is None:
            found = self._query("account_first_days")
            self._first_days = found.set_index("account_id")["day"].astype(float)
        return mapped(account.reset_index(drop=True), self._first_days).to_numpy(dtype=float)

    def behaviour(self, account: pd.Series, day: np.ndarray, window_days: int) -> pd.DataFrame:
        """Per (account, day), in one pass where the usage lies: events in (day - window_days, day] and in the
        window before it, distinct active contacts and features in the window, and the last day of any use on
        or before `day` (NaN when never)."""
        found = self._query(
            "behaviour",
            points(account, day),
            window_days=int(window_days),
            contacts=self.has_contacts,
            features=bool(self.features),
        )
        position = found["position"].to_numpy()
        first, day = self._first_day(account), np.asarray(day, dtype=float)
        known, known_before = day >= first, day - window_days >= first
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
            if column != "last_day":  # a window before the account's first row is missing, not zero
                out[column][~(known_before if column == "events_before" else known)] = np.nan
        return pd.DataFrame(out)

    def feature_sums(self, account: pd.Series, day: np.ndarray, window_days: int) -> pd.DataFrame:
        """Like window_sums, one column per feature (0 where a feature was not used)."""
        found = self._query("feature_sums", points(account, day), window_days=int(window_days))
        table = found.pivot(index="position", columns="feature", values="events")
        table = table.reindex(index=range(len(account)), columns=self.features).fillna(0.0).astype(float)
        table.loc[~self.known(account, day)] = np.nan
        return table

    def activity(self, contact: pd.Series, day: np.ndarray, window_days: int) -> tuple[np.ndarray, np.ndarray]:
        """Per (contact, day): their events in (day - window_days, day] and the day they last used the
        product on or before `day` (NaN when never)."""
        found = self._query("activity", points(contact, day), window_days=int(window_days))
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
    source: StoredSource, accounts: pd.DataFrame | None, contacts: pd.DataFrame | None, engine: str = "duckdb"
) -> tuple[Usage | None, list[Problem]]:
    """Check every contract rule of usage in DuckDB and, when it passes, keep it in a database in a temporary
    folder that is deleted with the Usage object (`Usage.move_to` hands it to a study). The `engine` that
    answers the study's questions of usage reads it there (engines.py)."""
    from .engines import PARQUET

    database, described, problems = store(source, TABLES["usage"], {"accounts": accounts, "contacts": contacts})
    if database is None:
        return None, problems
    connection = duckdb.connect(str(database))
    try:
        features = [
            f
            for (f,) in connection.execute(
                "SELECT DISTINCT feature FROM usage WHERE feature IS NOT NULL ORDER BY feature"
            ).fetchall()
        ]
        if engine != "duckdb":
            connection.execute(f"COPY usage TO '{literal(database.parent / PARQUET)}' (FORMAT parquet)")
    finally:
        connection.close()
    usage = Usage(
        database, source.label, described["columns"], described["summary"], described["per_month"], features, engine
    )
    usage.own(database.parent)
    return usage, problems


def from_frame(
    frame: pd.DataFrame,
    accounts: pd.DataFrame | None = None,
    contacts: pd.DataFrame | None = None,
    engine: str = "duckdb",
) -> Usage:
    """Usage from a frame in the contract's columns (built in a notebook, say), checked like a file."""
    usage, problems = load_usage(StoredSource("usage frame", "row", 1, frame=frame), accounts, contacts, engine)
    if problems:
        raise DataError(problems)
    return usage
