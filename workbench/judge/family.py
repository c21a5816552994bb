"""One report, one family of tests.

Every statement a page can make as a finding draws on one error budget: each signal of the scoreboard (and,
through the lead-time page's fixed sequence, the same signal at earlier horizons), the proposed scorecard, and
where the data has activities, the effect of a timely human touch and the slowdown of bigger books. Each is
tested at the report's level Bonferroni-divided by their number, so that in a book where nothing drives renewal
the report as a whole states no finding with at least the report's confidence. Everything else a page shows is
exploratory: numbers and intervals, no verdict.
"""

from __future__ import annotations

LEVEL = 0.95
SCORECARD = "the proposed scorecard"
CAPACITY = ("the effect of a timely human touch", "the slowdown of bigger books")


def tests(signals: list[str], activities: bool) -> list[str]:
    """The report's tests by name: its signals, the scorecard, and the capacity page's two where it has one."""
    return [*signals, SCORECARD, *(CAPACITY if activities else ())]


def level_per_test(count: int, level: float = LEVEL) -> float:
    """The confidence each of `count` tests takes so that all of them hold together at `level`."""
    return 1 - (1 - level) / max(count, 1)


def words(tests: list[str], level: float = LEVEL) -> str:
    """How a page says which family its intervals hold over."""
    signals = [t for t in tests if t != SCORECARD and t not in CAPACITY]
    others = [t for t in tests if t == SCORECARD or t in CAPACITY]
    parts = [f"its {len(signals)} signal{'s' if len(signals) != 1 else ''}", *others]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    return (
        f"simultaneous at {level:.0%} over the report's {len(tests)} tests ({listed}; each at "
        f"{level_per_test(len(tests), level):.1%})"
    )
