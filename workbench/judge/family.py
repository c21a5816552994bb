"""One report, one family of tests.

Every statement a page can make as a finding draws on one error budget: each signal of the scoreboard (and,
through the lead-time page's fixed sequence, the same signal at earlier horizons), the proposed scorecard, and
where the data has activities, the effect of a timely human touch after each early signal the data can show
(each its own episodes), the slowdown of bigger books and, with automated touches, automation's effect, a
person's after it and the difference. Each is
tested at the report's level Bonferroni-divided by their number, so that in a book where nothing drives renewal
the report as a whole states no finding with at least the report's confidence. Everything else a page shows is
exploratory: numbers and intervals, no verdict.
"""

from __future__ import annotations

LEVEL = 0.95
SCORECARD = "the proposed scorecard"
SLOWDOWN = "the slowdown of bigger books"


def touch_test(episode: str) -> str:
    """The name of the test of a timely human touch's effect after `episode` (in words: "a red decision maker")."""
    return f"the effect of a timely human touch after {episode}"


AUTOMATED = (
    "the effect of a timely automated touch",
    "a person's answer after an automated one",
    "human minus automated",
)


def tests(signals: list[str], episodes: list[str], automated: bool = False) -> list[str]:
    """The report's tests by name: its signals, the scorecard, and where the data has activities, the touch
    effect after each of the `episodes` (in words), the slowdown and, where some touches are `automated`,
    automation's three (over the first episodes')."""
    capacity = [*(touch_test(e) for e in episodes), SLOWDOWN, *(AUTOMATED if automated else ())] if episodes else []
    return [*signals, SCORECARD, *capacity]


def _signal(test: str) -> bool:
    return test not in (SCORECARD, SLOWDOWN, *AUTOMATED) and not test.startswith(touch_test(""))


def level_per_test(count: int, level: float = LEVEL) -> float:
    """The confidence each of `count` tests takes so that all of them hold together at `level`."""
    return 1 - (1 - level) / max(count, 1)


def words(tests: list[str], level: float = LEVEL) -> str:
    """How a page says which family its intervals hold over."""
    signals = [t for t in tests if _signal(t)]
    touches = [t.removeprefix(touch_test("")) for t in tests if t.startswith(touch_test(""))]
    others = [t for t in tests if not _signal(t) and not t.startswith(touch_test(""))]
    if touches:
        each = ", ".join(touches[:-1]) + f" or {touches[-1]} (each apart)" if len(touches) > 1 else touches[0]
        others.insert(1, touch_test(each))
    parts = [f"its {len(signals)} signal{'s' if len(signals) != 1 else ''}", *others]
    listed = ", ".join(parts[:-1]) + f" and {parts[-1]}" if len(parts) > 1 else parts[0]
    return (
        f"simultaneous at {level:.0%} over the report's {len(tests)} tests ({listed}; each at "
        f"{level_per_test(len(tests), level):.1%})"
    )
