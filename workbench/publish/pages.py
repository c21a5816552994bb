"""The study's pages, declared once: what each needs from the data, read by the notebooks and the index.

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
    notebook: str
    title: str
    needs: tuple[Need, ...] = ()

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
    Page("00_summary", "Summary"),
    Page("01_data_health", "Data health"),
    Page("10_signal_validity", "Signal validity", (SIGNALS,)),
    Page("15_lead_time", "Lead time", (SIGNALS,)),
    Page("20_stakeholder_health", "Stakeholder health", (PEOPLE,)),
    Page("30_goal_attainment", "Goal attainment", (GOALS,)),
    Page("40_scorecard", "Scorecard", (SIGNALS,)),
    Page("50_capacity", "Capacity", (ACTIVITIES,)),
    Page("60_forecast", "Renewal forecast"),
)
BY_NOTEBOOK = {page.notebook: page for page in PAGES}


def page(notebook: str) -> Page:
    """The page of a notebook, by its file name's stem; a notebook not declared here needs nothing."""
    return BY_NOTEBOOK.get(notebook, Page(notebook, notebook.split("_", 1)[-1].replace("_", " ").capitalize()))


def missing(study) -> dict[str, list[Need]]:
    """Per declared page, what the study's data lacks for it (empty where the page can run)."""
    return {p.notebook: p.missing(study) for p in PAGES}
