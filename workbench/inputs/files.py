"""Reading one file of a data folder as a table: CSV as text (byte-order mark dropped) or Parquet,
refused before any parser sees it when it is not a regular file, holds NUL bytes or over-long lines;
and where each row came from, so an error can quote the line of the user's own file.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..errors import SHOWN_ROWS, Problem, unreadable
from .contract import Table
from .stored import StoredSource

# Tables left where they lie and checked there (stored.py): the ones that run to millions of rows.
STORED = ("usage", "health_scores", "goal_inputs", "activities")


@dataclass
class Source:
    """A raw table as read, with what is needed to point at its rows."""

    label: str  # file name shown to people
    frame: pd.DataFrame
    row_word: str  # "line" for CSV (header is line 1), "row" for Parquet
    row_offset: int
    date_format: str = "%Y-%m-%d"
    origin: Origin | None = None  # for a table a mapping made: where each row came from
    dropped: tuple[tuple[str, int], ...] = ()  # rows a mapping's rules left out: (the rule in words, how many)
    export_date: str | None = None  # the day the export was taken, where a mapping says so
    # values a mapping's `warn_unlisted` default mapped: (column, value as written, rows, what it became)
    unlisted: tuple[tuple[str, str, int, str], ...] = ()

    def rows(self, mask: np.ndarray, values: pd.Series) -> tuple[tuple[tuple[str, str], ...], int]:
        positions = np.flatnonzero(mask)
        if self.origin is not None:
            shown = tuple(self.origin.quoted(p, values.name, values.iloc[p]) for p in positions[:SHOWN_ROWS])
        else:
            shown = tuple(
                (f"{self.row_word} {p + self.row_offset}", str(values.iloc[p])) for p in positions[:SHOWN_ROWS]
            )
        return shown, len(positions)


@dataclass
class Origin:
    """Where each row of a mapped table came from (which file as read, which row of it) and what the
    export's columns are called, so an error quotes the line of its own file and the cell as written."""

    parts: list[Source]
    part: np.ndarray  # per row: index into parts
    position: np.ndarray  # per row: 0-based row in that part
    export_names: dict[str, str]  # contract column -> the export's column it was renamed from

    def where(self, row: int) -> str:
        part = self.parts[self.part[row]]
        line = f"{part.row_word} {self.position[row] + part.row_offset}"
        return f"{Path(part.label).name} {line}" if len(self.parts) > 1 else line

    def quoted(self, row: int, column, value) -> tuple[str, str]:
        """(where the row is, the cell as written), the value the mapping made of it named beside the row
        where the two differ (a value map's `default` that the contract refuses)."""
        written = self.written(row, column, value)
        mapped = "" if pd.isna(value) or str(value) == written else f" (mapped to {str(value)!r})"
        return self.where(row) + mapped, written

    def written(self, row: int, column, value) -> str:
        frame = self.parts[self.part[row]].frame
        name = self.export_names.get(column, column)
        if name in frame:
            cell = frame[name].iloc[self.position[row]]
            return "" if pd.isna(cell) else str(cell)
        return str(value)


def read_table(folder: Path, table: Table) -> Source | StoredSource | Problem | None:
    csv, parquet = folder / f"{table.name}.csv", folder / f"{table.name}.parquet"
    if csv.exists() and parquet.exists():
        return Problem(
            str(csv),
            None,
            f"both {csv.name} and {parquet.name} exist",
            "one file per table",
            "remove or rename one of the two files",
        )
    path = parquet if parquet.exists() else csv if csv.exists() else None
    if path is None:
        return None
    if table.name in STORED:
        problem = unfit_file(path)
        if problem is not None:
            return problem
        return StoredSource(str(path), *(("row", 1) if path.suffix == ".parquet" else ("line", 2)), path=path)
    return read_file(path)


MAX_LINE_BYTES = 1 << 20  # no table of the contract has a row anywhere near 1 MiB
_SCAN_CHUNK = 1 << 24


def unfit_file(path: Path) -> Problem | None:
    """What makes a file unfit to read as a table before any parser sees it: not a regular file (a FIFO
    would hang the load), or, for text, NUL bytes (a binary or padded file) and over-long lines."""
    if not path.is_file():
        return Problem(
            str(path),
            None,
            "this is not a regular file (a folder, pipe or device)",
            "a CSV or Parquet file",
            "export the table to a file of that name",
        )
    if path.suffix == ".parquet":
        return None
    line, carried = 1, 0
    with open(path, "rb") as file:
        while chunk := file.read(_SCAN_CHUNK):
            data = np.frombuffer(chunk, dtype=np.uint8)
            nul = np.flatnonzero(data == 0)
            ends = np.flatnonzero(data == 10)
            if len(nul):
                at = line + int(np.searchsorted(ends, nul[0]))
                return Problem(
                    str(path),
                    None,
                    f"the file holds NUL bytes (first on line {at}): it is binary or padded, not a text table",
                    "CSV text",
                    "export the table again as CSV text (or Parquet)",
                )
            lengths = np.diff(ends, prepend=-1) if len(ends) else np.array([], dtype=np.int64)
            if len(lengths):
                lengths[0] += carried
                worst = int(lengths.argmax())
                if lengths[worst] > MAX_LINE_BYTES:
                    return _long_line(path, line + worst, int(lengths[worst]))
                carried = len(data) - int(ends[-1]) - 1
            else:
                carried += len(data)
            if carried > MAX_LINE_BYTES:
                return _long_line(path, line + len(ends), carried)
            line += len(ends)
    return None


def _long_line(path: Path, line: int, length: int) -> Problem:
    return Problem(
        str(path),
        None,
        f"line {line:,} is {length:,} bytes long",
        f"rows under {MAX_LINE_BYTES:,} bytes",
        "check the export: an unclosed quote or a missing line break joins many rows into one",
    )


def read_file(path: Path, date_format: str = "%Y-%m-%d", encoding: str = "utf-8-sig") -> Source | Problem:
    """Read one CSV (all columns as text, a byte-order mark dropped) or Parquet file."""
    problem = unfit_file(path)
    if problem is not None:
        return problem
    try:
        if path.suffix == ".parquet":
            return Source(str(path), pd.read_parquet(path), "row", 1, date_format)
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding=encoding)
        return Source(str(path), frame, "line", 2, date_format)
    except pd.errors.EmptyDataError:
        return unreadable(str(path), "the file is empty")
    except UnicodeDecodeError as error:
        return Problem(
            str(path),
            None,
            f"the file is not UTF-8 text ({error.reason} at byte {error.start})",
            "UTF-8 encoded CSV",
            "save the file as UTF-8, or name its encoding in a mapping file (`encoding: latin-1`, docs/mapping.md)",
        )
    except (pd.errors.ParserError, ValueError, OSError) as error:
        return unreadable(str(path), str(error))
