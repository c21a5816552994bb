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


class DataError(Exception):
    """The data breaks the contract; carries every problem found, not just the first."""

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__(str(self))

    def __str__(self) -> str:
        n = len(self.problems)
        head = f"The data was rejected: {n} problem{'s' if n != 1 else ''} found."
        return "\n\n".join([head, *map(str, self.problems)])


class UsageError(Exception):
    """A command-line argument or configuration value is wrong."""
