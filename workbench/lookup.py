"""Ids looked up in another table's ids, by position: the joins of the study's large tables.

pandas looks Arrow-backed strings up by making Python strings of them first; at a million accounts
that was most of the time spent matching survey answers, people and goals to their contacts and goals.
Arrow hashes them where they lie.
"""

from __future__ import annotations

import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

_KEPT: dict[tuple[str, int], object] = {}  # by what was built and id() of its table, dropped when the table goes


def kept(name: str, table, build):
    """`build(table)`, made once and kept while `table` is the same object: an index over a large table that a
    study asks many questions of."""
    key = (name, id(table))
    if key not in _KEPT:
        _KEPT[key] = build(table)
        weakref.finalize(table, _KEPT.pop, key, None)
    return _KEPT[key]


def forget() -> None:
    """Let every kept index go (each is built again when next asked): for a step that needs the memory more."""
    _KEPT.clear()


def positions(index: pd.Index, values) -> np.ndarray:
    """Position of each of `values` in `index` (unique), -1 where it is absent or missing."""
    values = values if isinstance(values, (pd.Series, pd.Index)) else pd.Series(values)
    arrow = _both_arrow(index, values)
    if arrow is not None:
        # Arrow's hash lookup: pandas' get_indexer makes Python strings of Arrow's first.
        found = pc.index_in(arrow[1], value_set=arrow[0], skip_nulls=True)
        return found.fill_null(-1).to_numpy().astype(np.int64)
    return index.get_indexer(values).astype(np.int64)


def mapped(values: pd.Series, table: pd.Series) -> pd.Series:
    """`values.map(table)` for a table with a unique index, looked up by `positions`."""
    found = pd.api.extensions.take(table.array, positions(table.index, values), allow_fill=True)
    return pd.Series(found, index=values.index, name=table.name)


def contained(values: pd.Series, among) -> np.ndarray:
    """`values.isin(among)`, for strings by Arrow's hash (pandas makes Python strings of them first)."""
    among = among if isinstance(among, (pd.Series, pd.Index)) else pd.Series(among)
    arrow = _both_arrow(among, values)
    if arrow is not None:
        return pc.is_in(arrow[1], value_set=arrow[0]).to_numpy(zero_copy_only=False)
    return values.isin(among).to_numpy()


def _both_arrow(keys, values) -> tuple[pa.Array, pa.Array] | None:
    """`keys` and `values` as Arrow strings, where either is Arrow-backed and both are strings (None otherwise)."""
    if not (_arrow_strings(keys) or _arrow_strings(values)):
        return None
    keys, values = _strings(keys), _strings(values)
    return None if keys is None or values is None else (keys, values)


def _arrow_strings(values) -> bool:
    return isinstance(values.dtype, pd.StringDtype) and values.dtype.storage == "pyarrow"


def _strings(values) -> pa.Array | None:
    """Arrow's large strings of `values` (None when they are not all strings or missing)."""
    if _arrow_strings(values):
        return pa.array(values.array).cast(pa.large_string())
    if values.dtype != object:
        return None
    try:
        return pa.array(np.asarray(values, dtype=object), type=pa.large_string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None


class Groups:
    """The rows of a table grouped by a key column, for pairing rows of another table with each row of theirs
    that shares their key: a merge on the key, by position (pandas' merge makes Python strings of every
    account id first)."""

    def __init__(self, keys: pd.Series):
        codes, uniques = pd.factorize(keys)
        self.index = pd.Index(uniques)
        named = np.flatnonzero(codes >= 0)
        self.order = named[np.argsort(codes[named], kind="stable")]  # each group's rows in the table's order
        self.counts = np.bincount(codes[named], minlength=len(uniques))
        self.starts = np.cumsum(self.counts) - self.counts

    def pairs(self, values) -> tuple[np.ndarray, np.ndarray]:
        """(position in `values`, position of a row of this table with that key) for every such pair, in the
        order of `values`, then of this table's rows."""
        found = positions(self.index, values)
        group = np.maximum(found, 0)  # an absent value pairs with nothing: its count is set to 0
        count = np.where(found >= 0, self.counts[group], 0)
        left = np.repeat(np.arange(len(found)), count)
        within = np.arange(len(left)) - np.repeat(np.cumsum(count) - count, count)
        return left, self.order[np.repeat(self.starts[group], count) + within]
