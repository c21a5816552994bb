"""Data problems reported to people, not as tracebacks."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Problem:
    """One broken rule: where it is, what was found, what was expected, how to fix it."""

    file: str
    column: str | None
    message: str
    expected: str
    fix: str
    rows: tuple[tuple[str, str], ...] = field(default=())  # (row label, offending value)
    count: int = 0
    severity: str = "error"

    def __str__(self) -> str:
        where = f"{self.file}, column '{self.column}'" if self.column else self.file
        lines = [f"{self.severity.upper()} {where}: {self.message}"]
        for label, value in self.rows:
            lines.append(f"    {label}: {value!r}")
        if self.count > len(self.rows):
            lines.append(f"    ... and {self.count - len(self.rows)} more")
        lines.append(f"  expected: {self.expected}")
        lines.append(f"  fix: {self.fix}")
        return "\n".join(lines)


class Readable(Exception):
    """An error the workbench explains itself: in JupyterLab it shows as its message alone, not as a
    traceback through the workbench's own source (IPython calls `_render_traceback_`)."""

    def _render_traceback_(self) -> list[str]:
        return [f"{type(self).__name__}: {self}"]


class DataError(Readable):
    """The data breaks the contract; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"The data was rejected: {n} problem{'s' if n != 1 else ''} found."
        return "\n\n".join([head, *map(str, self.problems)])


class UsageError(Readable):
    """A command-line argument, an API argument or a configuration value is wrong."""


# The wording of each broken rule, shared by the pandas checks (loader) and the SQL checks (usage).
SHOWN_ROWS = 5
Rows = tuple[tuple[str, str], ...]


def unreadable(label: str, reason: str) -> Problem:
    if reason == "the file is empty":
        return Problem(
            label, None, reason, "a header line with the column names", "export the table again with its header line"
        )
    return Problem(
        label,
        None,
        f"the file could not be read: {reason}",
        "a well-formed CSV or Parquet file",
        "open the file and check its format",
    )


def missing_column(label: str, name: str, found: list) -> Problem:
    near = [c for c in found if str(c).strip().lower().replace(" ", "_") == name]
    hint = (
        f"rename column '{near[0]}' to '{name}'"
        if near
        else (f"add the column '{name}' (columns found: {', '.join(map(str, found))})")
    )
    return Problem(
        label, name, "a required column is missing", f"a column named '{name}'", hint + ", or map it in a mapping file"
    )


def missing_value(label: str, column: str, rows: Rows, count: int) -> Problem:
    fix = "fill in the missing values or drop those rows"
    if column == "end_date":
        fix += (
            ", or, for subscriptions that are still running, let a mapping file derive their terms from a "
            "billing period (`derive: terms` with `term:` or `term_column:`, see docs/mapping.md)"
        )
    return Problem(label, column, f"{count} rows have no value", "a value in every row", fix, rows, count)


def duplicate_ids(label: str, column: str, rows: Rows, count: int) -> Problem:
    return Problem(
        label,
        column,
        f"{count} rows share an ID with another row",
        f"each {column} once",
        "remove the duplicate rows or give them their own IDs; a mapping file drops rows exported twice "
        f"with `dedupe: exact`, or keeps one per ID with `dedupe: {{key: {column}, latest: DATE}}` (docs/mapping.md)",
        rows,
        count,
    )


def not_allowed(label: str, column: str, allowed, rows: Rows, count: int) -> Problem:
    return Problem(
        label,
        column,
        f"{count} rows have a value outside the allowed set",
        "one of " + ", ".join(allowed),
        "correct the rows, or map your system's values onto these in a mapping file",
        rows,
        count,
    )


def undated(label: str, table: str, dates: list[str], found: list) -> Problem:
    """A table without any of its dates: most often a modelling snapshot, one row per account as it is now."""
    return Problem(
        label,
        None,
        f"the {table} table has none of its dates ({', '.join(dates)}): it looks like a "
        f"snapshot of how things are now (columns found: {', '.join(map(str, found[:12]))})",
        f"dated rows: {', '.join(dates)}",
        "a backtest judges each signal as it stood before the renewal was decided, so it needs dated "
        "contract terms and dated events (usage, surveys, scores), not a table of today's values and a "
        "churned flag. Export the contract or subscription history and the event tables instead; "
        "docs/mapping.md shows how to map a CRM or billing export as it is",
    )


def not_a_date(label: str, column: str, date_format: str, rows: Rows, count: int) -> Problem:
    written = date_format.replace("%Y", "YYYY").replace("%m", "MM").replace("%d", "DD")
    return Problem(
        label,
        column,
        f"{count} rows have a value that is not a date",
        f"a date written {written}",
        "correct the rows, or declare the file's date format in a mapping file",
        rows,
        count,
    )


def not_a_number(label: str, column: str, rows: Rows, count: int) -> Problem:
    return Problem(
        label,
        column,
        f"{count} rows have a value that is not a number",
        "a plain number such as 1250.5 (no currency signs or thousands separators)",
        "correct the rows, or clean the column in a mapping file",
        rows,
        count,
    )


def out_of_range(label: str, column: str, minimum, maximum, rows: Rows, count: int) -> Problem:
    span = f"at least {minimum:g}" if maximum is None else f"between {minimum:g} and {maximum:g}"
    return Problem(
        label,
        column,
        f"{count} rows are out of range",
        f"a number {span}",
        "correct the rows; check the export for sign or scale errors",
        rows,
        count,
    )


def orphans(label: str, column: str, target: str, rows: Rows, count: int) -> Problem:
    return Problem(
        label,
        column,
        f"{count} rows name a {column} that is not in the {target} table",
        f"every {column} to exist in {target}",
        f"add the missing rows to {target}, or drop these rows",
        rows,
        count,
    )


def wrong_owner(label: str, rows: Rows, count: int) -> Problem:
    return Problem(
        label,
        "contact_id",
        f"{count} rows pair a contact with an account it does not belong to",
        "the contact's own account_id (as in contacts)",
        "correct account_id or contact_id in these rows",
        rows,
        count,
    )
