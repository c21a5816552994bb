"""The study's pages, declared once: what each needs from the data, the analyses it shows, its results.json
keys and its place in the run; read by the notebooks, the runner, its kernels and the index.

A page whose needs the data does not meet is still executed (its notebook is the record of the run and
records its part of results.json), but it shows one short note saying what is missing and what to export
to switch it on, and the run's index marks it. What a page can show part-way is decided section by
section in its notebook; `render` drops every section left with nothing under it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Need:
    """Something a page cannot do without: `what` it is, in words, and what to `export` to switch it on."""

    what: str
    export: str
    met: Callable[[object], bool]


@dataclass(frozen=True)
class Page:
    """A page: its `notebook`'s stem and `title`; what it `needs` from the data; the study's analyses it `shows`
    that the run's kernels compute ahead for the pages (`publish/sharing.py`; heaviest first); the results.json
    keys it `records` (a run without one is not published) and may record (`also_records`); and its `run_order`
    (the longest pages first, except that those showing a shared analysis go last: by then the kernels have
    left it for them)."""

    notebook: str
    title: str
    needs: tuple[Need, ...] = ()
    shows: tuple[str, ...] = ()
    records: tuple[str, ...] = ()
    also_records: tuple[str, ...] = ()
    run_order: int = 100

    def missing(self, study) -> list[Need]:
        return [need for need in self.needs if not need.met(study)]


def _measured(study) -> bool:
    return bool(study.family) and len(study.decisions) > 0 and (study.scoreboard["n"] > 0).any()


SIGNALS = Need(
    "a signal measured at the decisions' observation dates",
    "usage, surveys (NPS, CSAT or CES), health scores, goals with their progress, or contacts with their own "
    "usage or answers",
    _measured,
)
PEOPLE = Need(
    "contacts with a person-level signal",
    "contacts with their roles (decision maker, champion, end user) and, per person, health scores, survey "
    "answers or product usage by contact_id",
    lambda study: study.has_people,
)
GOALS = Need(
    "customer goals with their progress",
    "each customer's north-star goal (goals: baseline, target, start and target dates) and its measured values "
    "over time (goal_progress)",
    lambda study: study.has_goals,
)
ACTIVITIES = Need(
    "an activities table",
    "the CS team's touches of each account (activities: account_id, date, kind human or automated, and where "
    "known channel, contact_id and csm), from the CS platform's timeline (Gainsight: Timeline activities; ChurnZero: "
    "Activities) or the CRM's Tasks and Events on the account (Salesforce), with their type mapped onto human or "
    "automated",
    lambda study: study.data.has("activities"),
)

PAGES = (
    Page(
        "00_summary",
        "Summary",
        shows=("scorecard", "capacity", "revenue", "hidden_risk", "off_track", "forecast"),
        records=("revenue",),
        also_records=("renewals_next_quarter",),
        run_order=9,
    ),
    Page("01_data_health", "Data health", also_records=("data_health",), run_order=4),
    Page(
        "10_signal_validity",
        "Signal validity",
        (SIGNALS,),
        records=("decisions", "churned", "accounts", "churned_accounts", "signals"),
        run_order=2,
    ),
    Page("15_lead_time", "Lead time", (SIGNALS,), records=("lead_time",), run_order=1),
    Page(
        "20_stakeholder_health",
        "Stakeholder health",
        (PEOPLE,),
        shows=("hidden_risk",),
        also_records=("stakeholders",),
        run_order=5,
    ),
    Page("30_goal_attainment", "Goal attainment", (GOALS,), shows=("off_track",), records=("attainment",), run_order=3),
    Page(
        "40_scorecard",
        "Scorecard",
        (SIGNALS,),
        shows=("scorecard",),
        records=("scorecard",),
        also_records=("scorecard_test",),
        run_order=7,
    ),
    Page("50_capacity", "Capacity", (ACTIVITIES,), shows=("capacity",), records=("capacity",), run_order=6),
    Page("60_forecast", "Renewal forecast", shows=("forecast",), records=("forecast",), run_order=8),
)
BY_NOTEBOOK = {page.notebook: page for page in PAGES}


def page(notebook: str) -> Page:
    """The page of a notebook, by its file name's stem; a notebook not declared here needs nothing."""
    return BY_NOTEBOOK.get(notebook, Page(notebook, notebook.split("_", 1)[-1].replace("_", " ").capitalize()))


def missing(study) -> dict[str, list[Need]]:
    """Per declared page, what the study's data lacks for it (empty where the page can run)."""
    return {p.notebook: p.missing(study) for p in PAGES}


def run_order() -> tuple[str, ...]:
    """The declared pages' notebooks in the order a run starts them."""
    return tuple(p.notebook for p in sorted(PAGES, key=lambda p: p.run_order))


def shared_analyses() -> tuple[str, ...]:
    """The analyses the pages show that the run's kernels compute ahead, each once, heaviest first."""
    return tuple(dict.fromkeys(name for p in PAGES for name in p.shows))


def recorded_keys() -> tuple[str, ...]:
    """The results.json keys the pages must record, in the pages' order."""
    return tuple(key for p in PAGES for key in p.records)
