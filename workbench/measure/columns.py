"""Every column of a study's decision table, declared once: what it means, where it comes from, and
the point-in-time rule that keeps it to what the team knew at the observation date.

Pages take their labels and number formats from here, analyses their list of signals, and a test
checks that `Study.decisions` has no column this registry does not declare.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import pandas as pd

from ..inputs.contract import ROLES
from . import signals

AS_EXPORTED = "as exported (not dated: the value today, not at the observation date)"
OUTCOME = "the outcome: known only after the decision, never a signal"


@dataclass(frozen=True)
class Column:
    """One column of the decision table.

    Attributes
    ----------
    name : str
        The column's name in `Study.decisions`.
    label : str
        How a reader says it, for page headers ("Decision maker's health").
    description : str
        What the value is.
    source : str
        The table it is measured from.
    rule : str
        Which rows it may read: the point-in-time rule.
    format : str
        A format spec for pages, such as "{:.0f}" or "{:.0%}".
    signal : bool
        True for a candidate predictor of renewal.
    said : str
        How a sentence says a signal ("the decision maker's health").
    measure : callable, optional
        How it is measured (measure/signals.py): given what is `Asked`, the columns it adds, several where one
        reading gives them (the people's mean health gives every role's too); None for a column another
        entry's measure adds, or that is not a signal.
    needs : tuple of str
        The tables `measure` reads: it runs only where the data has them all.
    """

    name: str
    label: str
    description: str
    source: str
    rule: str
    format: str = ""
    signal: bool = False
    said: str = ""
    measure: Callable[[signals.Asked], dict] | None = None
    needs: tuple[str, ...] = ()


def _role_columns() -> list[Column]:
    said = {"decision_maker": "Decision maker's", "champion": "Champion's", "end_user": "End users'"}
    health = [
        Column(
            f"health_{role}",
            f"{said[role]} health",
            f"person-level health of the account's {role.replace('_', ' ')}(s), mean over them (0-100)",
            "health_scores, or usage and surveys by contact",
            "each person's latest score on or before the observation date; only people known by then",
            "{:.0f}",
            True,
            said=f"the {said[role].lower()} health",
        )
        for role in ROLES
    ]
    answers = [
        Column(
            f"nps_responses_{role}",
            f"NPS answers from the {role.replace('_', ' ')}",
            f"NPS responses by the account's {role.replace('_', ' ')}(s) in the 365 days before observation",
            "surveys, contacts",
            "answers dated in the 365 days up to the observation date",
            "{:,.0f}",
        )
        for role in ROLES
    ]
    return health + answers


def _behaviour_columns() -> list[Column]:
    window = "usage dated in the 90 days up to the observation date"
    return [
        Column(
            "usage_change",
            "Usage change",
            "log ratio of events in the window to the 90 days before it (-0.69: halved)",
            "usage",
            "usage dated in the 180 days up to the observation date",
            "{:+.2f}",
        ),
        Column("active_users", "Active users", "distinct contacts with events", "usage", window, "{:,.0f}"),
        Column(
            "events_per_active_user", "Events per active user", "events over active users", "usage", window, "{:,.1f}"
        ),
        Column(
            "seat_utilization",
            "Seat utilization",
            "active users over seats under contract",
            "usage, contracts",
            window,
            "{:.0%}",
        ),
        Column(
            "days_since_last_use",
            "Days since last use",
            "days from the last day with events",
            "usage",
            "usage dated on or before the observation date",
            "{:,.0f}",
        ),
        Column("feature_breadth", "Feature breadth", "share of the product's features used", "usage", window, "{:.0%}"),
    ]


COLUMNS: dict[str, Column] = {
    column.name: column
    for column in [
        Column("contract_id", "Contract", "the contract term decided", "contracts", AS_EXPORTED),
        Column("account_id", "Account ID", "the account: the unit of inference", "contracts", AS_EXPORTED),
        Column("start_date", "Term start", "first day of the term", "contracts", AS_EXPORTED),
        Column("end_date", "Renewal date", "last day of the term: the renewal decision", "contracts", AS_EXPORTED),
        Column("arr", "ARR", "annual recurring revenue of the term", "contracts", AS_EXPORTED, "{:,.0f}"),
        Column("seats", "Seats", "seats under contract", "contracts", AS_EXPORTED, "{:,.0f}"),
        Column("outcome", "Outcome", "renewed, churned or open", "contracts", OUTCOME),
        Column("renewal_arr", "ARR after renewal", "ARR of the next term", "contracts", OUTCOME, "{:,.0f}"),
        Column("churn_reason", "Churn reason", "why the account left, as recorded", "contracts", OUTCOME),
        Column("account_name", "Account", "the account's name", "accounts", AS_EXPORTED),
        Column("segment", "Segment", "the account's segment", "accounts", AS_EXPORTED),
        Column("csm", "CSM", "the account's customer success manager", "accounts", AS_EXPORTED),
        Column("region", "Region", "the account's region", "accounts", AS_EXPORTED),
        Column("industry", "Industry", "the account's industry", "accounts", AS_EXPORTED),
        Column(
            "observation_date",
            "Observation date",
            "the day signals are measured: renewal date minus the horizon, when the team had to act",
            "contracts",
            "renewal date - horizon_days",
        ),
        Column("renewed", "Renewed", "True when the term renewed", "contracts", OUTCOME),
        Column("expanded", "Expanded", "True when the renewal's ARR exceeds the term's", "contracts", OUTCOME),
        Column(
            "days_to_renewal",
            "Days to renewal",
            "days from the as-of date to the renewal date (open contracts only)",
            "contracts",
            "as-of date",
            "{:,.0f}",
        ),
        Column(
            "nps",
            "NPS",
            "account NPS: share of promoters minus share of detractors (-1 to 1)",
            "surveys",
            "answers dated in the 365 days up to the observation date",
            "{:+.2f}",
            True,
            said="NPS",
            measure=signals.surveyed,
            needs=("surveys",),
        ),
        Column(
            "nps_score_mean",
            "Mean NPS answer",
            "mean 0-10 answer",
            "surveys",
            "answers dated in the 365 days up to the observation date",
            "{:.1f}",
        ),
        Column(
            "nps_responses",
            "NPS answers",
            "NPS responses from the account",
            "surveys",
            "answers dated in the 365 days up to the observation date",
            "{:,.0f}",
        ),
        Column(
            "csat",
            "CSAT",
            "mean CSAT (1-5) of the account's answers",
            "surveys",
            "answers dated in the 365 days up to the observation date",
            "{:.2f}",
            True,
            said="CSAT",
            measure=partial(signals.scored, kind="csat"),
            needs=("surveys",),
        ),
        Column(
            "ces",
            "CES",
            "mean customer effort score (1-7) of the account's answers",
            "surveys",
            "answers dated in the 365 days up to the observation date",
            "{:.2f}",
            True,
            said="CES",
            measure=partial(signals.scored, kind="ces"),
            needs=("surveys",),
        ),
        Column(
            "usage",
            "Product usage",
            "product events",
            "usage",
            "events dated in the 90 days up to the observation date",
            "{:,.0f}",
            True,
            said="product usage",
            measure=signals.used,
            needs=("usage",),
        ),
        Column(
            "health_score",
            "Health score",
            "the account's overall health score exported by the CS platform (0-100)",
            "health_scores (rows without a contact)",
            "latest score on or before the observation date, at most 365 days old",
            "{:.0f}",
            True,
            said="the health score",
            measure=signals.exported_health,
            needs=("health_scores",),
        ),
        Column(
            "goal_attainment",
            "Goal attainment",
            "fraction of the way from baseline to target, mean over the account's goals for the term",
            "goals, goal_progress",
            "latest measurement on or before the observation date",
            "{:.0%}",
            True,
            said="goal attainment",
            measure=signals.attained,
            needs=("goals", "goal_progress"),
        ),
        Column(
            "health_mean",
            "Account mean health",
            "mean person-level health over the account's people (0-100)",
            "health_scores, or usage and surveys by contact",
            "each person's latest score on or before the observation date; only people known by then",
            "{:.0f}",
            True,
            said="the account's mean person health",
            measure=signals.people_health,
            needs=("contacts",),
        ),
        Column(
            "health_min",
            "Lowest person health",
            "the lowest person-level health among the account's people",
            "health_scores, or usage and surveys by contact",
            "each person's latest score on or before the observation date; only people known by then",
            "{:.0f}",
            True,
            said="the lowest person health",
        ),
        Column(
            "health_max",
            "Highest person health",
            "the highest person-level health among the account's people",
            "health_scores, or usage and surveys by contact",
            "each person's latest score on or before the observation date; only people known by then",
            "{:.0f}",
            said="the highest person health",
        ),
        Column(
            "health_spread",
            "Spread of person health",
            "highest minus lowest person-level health",
            "health_scores, or usage and surveys by contact",
            "each person's latest score on or before the observation date; only people known by then",
            "{:.0f}",
            said="the spread of person health",
        ),
        *_role_columns(),
        *_behaviour_columns(),
    ]
}

# The contract's signals, in the order pages list them: the registry's, in its order.
SIGNALS: tuple[str, ...] = tuple(name for name, column in COLUMNS.items() if column.signal)


def signal_names() -> list[str]:
    """The registry's signals, in its order, as it stands now (SIGNALS as imported, plus any entry added since)."""
    return [name for name, column in COLUMNS.items() if column.signal]


def measured() -> list[Column]:
    """The registry's entries that measure something (`Column.measure`), in its order."""
    return [column for column in COLUMNS.values() if column.measure is not None]


def component(name: str) -> Column:
    """A part of the exported scorecard (a component_* column of health_scores)."""
    part = name.removeprefix("component_").replace("_", " ")
    return Column(
        name,
        f"Score part: {part}",
        f"the exported scorecard's {part} component (0-100)",
        "health_scores (component columns of the overall rows)",
        "latest on or before the observation date, at most 365 days old",
        "{:.0f}",
    )


def describe(frame: pd.DataFrame, registry: dict[str, Column] | None = None) -> pd.DataFrame:
    """The registry's entry for each column of `frame`, in its order; columns it does not declare are
    described as extra exported columns (the config's extra_signals, or an export's own)."""
    registry = COLUMNS if registry is None else registry
    rows = []
    for name in frame.columns:
        column = (
            registry.get(name)
            or (component(name) if str(name).startswith("component_") else None)
            or Column(name, name, "an extra column of the export", "accounts or contracts", AS_EXPORTED)
        )
        rows.append(
            {
                "column": name,
                "label": column.label,
                "description": column.description,
                "source": column.source,
                "point_in_time_rule": column.rule,
                "signal": column.signal,
            }
        )
    return pd.DataFrame(rows)
