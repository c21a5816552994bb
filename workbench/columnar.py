"""A pickle whose large frames are Arrow files beside it, which every process that reads it maps rather than copies.

A study's kernels each read the prepared study. Unpickled, every kernel would hold its own copy of the same
tables; mapped, the operating system keeps one copy of their columns in its page
cache and every kernel reads that (strings as Arrow arrays, numbers and dates as NumPy views on the file, mapped
copy-on-write). A frame with a column of any other type (object, categorical, nullable) stays in the pickle.
"""

from __future__ import annotations

import mmap
import pickle
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
from pandas.arrays import ArrowStringArray

MIN_ROWS = 50_000  # smaller frames are read faster from the pickle than mapped from a file of their own
INDEX = "__index__"


def dump(study, path: Path) -> Path:
    """Pickle `study` to `path`, its frames of `MIN_ROWS` rows or more written beside it as `<stem>.<n>.arrow`."""
    with open(path, "wb") as file:
        _Pickler(file, path).dump(study)
    return path


def size(path: Path) -> int:
    """Bytes of what `dump` wrote to `path`: the pickle and its frames' files."""
    return path.stat().st_size + sum(p.stat().st_size for p in path.parent.glob(f"{path.stem}.*.arrow"))


def load(path: Path):
    """What `dump` wrote to `path`, its large frames mapped from their Arrow files."""
    with open(path, "rb") as file:
        return _Unpickler(file, path.parent).load()


class _Pickler(pickle.Pickler):
    def __init__(self, file, path: Path):
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        self.path, self.written = path, {}

    def persistent_id(self, obj):
        if not isinstance(obj, pd.DataFrame) or len(obj) < MIN_ROWS or not _mappable(obj):
            return None
        if id(obj) not in self.written:  # a frame referred to twice is written once and read back as one
            name = f"{self.path.stem}.{len(self.written)}.arrow"
            _write(obj, self.path.parent / name)
            self.written[id(obj)] = (name, obj)  # holding the frame keeps its id from being reused
        # the column labels, the index (or, when it is stored as a column, its empty self) and the types
        index = obj.index if isinstance(obj.index, pd.RangeIndex) else obj.index[:0]
        return ("frame", self.written[id(obj)][0], obj.columns, index, tuple(_kind(t) for t in obj.dtypes))


class _Unpickler(pickle.Unpickler):
    def __init__(self, file, folder: Path):
        super().__init__(file)
        self.folder, self.read = folder, {}

    def persistent_load(self, pid):
        _, name, columns, index, dtypes = pid
        if name not in self.read:
            self.read[name] = _read(self.folder / name, columns, index, dtypes)
        return self.read[name]


def _mappable(frame: pd.DataFrame) -> bool:
    index = frame.index
    index_ok = isinstance(index, pd.RangeIndex) or (
        index.nlevels == 1 and _kind(index.dtype) is not None and index.name != INDEX
    )
    names = list(frame.columns)
    return (
        index_ok
        and not frame.attrs
        and all(isinstance(n, str) and n != INDEX for n in names)
        and len(set(names)) == len(names)
        and all(_kind(t) is not None for t in frame.dtypes)
    )


def _kind(dtype) -> str | None:
    if isinstance(dtype, pd.StringDtype) and dtype == pd.StringDtype("pyarrow", np.nan):
        return "str"
    return str(dtype) if isinstance(dtype, np.dtype) and dtype.kind in "biufM" else None


def _stored(kind: str) -> np.dtype:
    """How a column of NumPy type `kind` is kept: as itself, booleans as bytes (Arrow packs its own booleans into
    bits) and dates as their integer count of units."""
    dtype = np.dtype(kind)
    return np.dtype({"b": "uint8", "M": "int64"}.get(dtype.kind, dtype))


def _write(frame: pd.DataFrame, path: Path) -> None:
    arrays = {name: _array(frame[name]) for name in frame.columns}
    if not isinstance(frame.index, pd.RangeIndex):
        arrays[INDEX] = _array(frame.index.to_series())
    table = pa.table(arrays).combine_chunks()  # one record batch: each number column one buffer to view
    with pa.OSFile(str(path), "wb") as sink, ipc.new_file(sink, table.schema) as writer:
        writer.write_table(table)


def _array(values: pd.Series) -> pa.Array | pa.ChunkedArray:
    kind = _kind(values.dtype)
    if kind == "str":
        return values.array._pa_array
    # the raw values, NaN and NaT included, so that reading them back is a view, not a conversion
    return pa.array(np.ascontiguousarray(values.to_numpy()).view(_stored(kind)))


def _read(path: Path, columns: pd.Index, index, dtypes: tuple[str, ...]) -> pd.DataFrame:
    # Mapped copy-on-write: a page stays the one the operating system shares until this process writes to it
    # (pandas writes into a column in place), and the file never changes.
    with open(path, "rb") as file:
        mapped = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_COPY)
    whole = pa.py_buffer(mapped)
    table = ipc.open_file(pa.BufferReader(whole)).read_all()

    def _values(column: pa.ChunkedArray, dtype: str):
        if dtype == "str":
            return ArrowStringArray(column, dtype=pd.StringDtype("pyarrow", np.nan))
        if len(column) == 0:
            return np.empty(0, dtype=dtype)
        chunk, stored = column.chunk(0), _stored(dtype)
        start = chunk.buffers()[1].address - whole.address + chunk.offset * stored.itemsize
        return np.frombuffer(mapped, dtype=stored, count=len(chunk), offset=start).view(np.dtype(dtype))

    values = {name: _values(table.column(name), dtype) for name, dtype in zip(columns, dtypes)}
    frame = pd.DataFrame(values, copy=False)  # one block per column: consolidating would copy them all
    frame.columns = columns
    if isinstance(index, pd.RangeIndex):
        frame.index = index
    else:
        frame.index = pd.Index(_values(table.column(INDEX), _kind(index.dtype)), name=index.name, copy=False)
    return frame
