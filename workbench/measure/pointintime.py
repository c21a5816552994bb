"""Point-in-time lookups: what a table said about an entity on or before a given day.

Events are sorted once by (entity, day) into one int64 key; every query is then a binary
search, so a lookup for all decisions at once costs O((events + queries) log events) with no
Python loop over entities. A value dated after the query day is never reached.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..lookup import positions

_DAY_SPAN = np.int64(1 << 22)  # days per entity in the key: ~11,000 years


def days(dates) -> np.ndarray:
    """Days since the epoch of a date-like array or Series (NaT stays a large negative number)."""
    values = pd.to_datetime(pd.Series(dates)).to_numpy().astype("datetime64[D]")
    return values.astype(np.int64)


class Timeline:
    """Events of one table, indexed for point-in-time queries by an entity key."""

    def __init__(
        self,
        entity: pd.Series,
        date: pd.Series,
        values: dict[str, np.ndarray] | None = None,
        categories: pd.Index | None = None,
    ):
        if categories is None:
            code, uniques = pd.factorize(entity)  # one hashing pass; missing entities get -1
            self.categories = pd.Index(uniques)
        else:
            self.categories, code = categories, positions(categories, entity)
        day = days(date)
        keep = code >= 0
        key = code[keep].astype(np.int64) * _DAY_SPAN + (day[keep] + _DAY_SPAN // 2)
        order = np.argsort(key, kind="stable")
        self.key = key[order]
        self.values = {name: np.asarray(v, dtype=float)[keep][order] for name, v in (values or {}).items()}
        self._cumulative: dict[str, np.ndarray] = {}
        self._asked: tuple | None = None

    def _query(self, entity, day) -> tuple[np.ndarray, np.ndarray]:
        # Callers ask several questions of the same entities (NPS: seven sums per decision); look them up once.
        if self._asked is None or self._asked[0] is not entity:
            self._asked = (entity, positions(self.categories, entity))
        code = self._asked[1]
        return code, code * _DAY_SPAN + (np.asarray(day, dtype=np.int64) + _DAY_SPAN // 2)

    def window_sum(self, name: str, entity, day, window_days: int) -> np.ndarray:
        """Sum of `name` over events dated in (day - window_days, day], per query."""
        if name not in self._cumulative:
            self._cumulative[name] = np.concatenate([[0.0], np.cumsum(np.nan_to_num(self.values[name]))])
        cumulative = self._cumulative[name]
        code, key = self._query(entity, day)
        high = np.searchsorted(self.key, key, side="right")
        low = np.searchsorted(self.key, key - window_days, side="right")
        total = cumulative[high] - cumulative[low]
        return np.where(code >= 0, total, 0.0)

    def count(self, entity, day, window_days: int) -> np.ndarray:
        """Number of events dated in (day - window_days, day], per query."""
        code, key = self._query(entity, day)
        high = np.searchsorted(self.key, key, side="right")
        low = np.searchsorted(self.key, key - window_days, side="right")
        return np.where(code >= 0, high - low, 0)

    def latest(self, name: str, entity, day, max_age_days: int | None = None) -> np.ndarray:
        """Value of the latest event dated on or before `day` (NaN when none, or older than max_age_days)."""
        code, key = self._query(entity, day)
        position = np.searchsorted(self.key, key, side="right") - 1
        safe = np.maximum(position, 0)
        found = (code >= 0) & (position >= 0) & (self.key[safe] // _DAY_SPAN == code)
        if max_age_days is not None:
            found &= key - self.key[safe] <= max_age_days
        return np.where(found, self.values[name][safe] if len(self.key) else np.nan, np.nan)

    def following(self, entity, day) -> np.ndarray:
        """Day (since the epoch) of the first event dated on or after `day`, per query (NaN when none)."""
        code, key = self._query(entity, day)
        if not len(self.key):
            return np.full(len(code), np.nan)
        position = np.searchsorted(self.key, key, side="left")
        safe = np.minimum(position, len(self.key) - 1)
        found = (code >= 0) & (position < len(self.key)) & (self.key[safe] // _DAY_SPAN == code)
        return np.where(found, self.key[safe] - code * _DAY_SPAN - _DAY_SPAN // 2, np.nan)
