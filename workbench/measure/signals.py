"""How each signal is measured at a frame's observation dates, from rows dated on or before them only.

Each function here is a signal's `measure` in the column registry (columns.py): given what is `Asked` (the
data, the frame of decisions with its accounts and observation days, the scorecard's weights), it returns the
columns it adds, several where one reading gives them (NPS and who answered). `snapshot.measure` runs every
registered one whose tables the data has.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..inputs.contract import ROLES
from ..inputs.loader import Dataset
from ..lookup import mapped
from . import goals, stakeholders
from .pointintime import Timeline, days

NPS_DAYS, USAGE_DAYS = 365, 90


@dataclass
class Asked:
    """What a signal is measured for: `frame` (account_id, observation_date, start_date and the signals measured
    so far), its accounts and observation days (taken once: the signals add columns, never rows), the
    scorecard's `weights` and, where the caller has them, the frame's `people` (stakeholders.person_health)."""

    data: Dataset
    frame: pd.DataFrame
    weights: dict
    people: pd.DataFrame | None = None
    account: pd.Series = field(init=False)
    day: np.ndarray = field(init=False)

    def __post_init__(self):
        self.account, self.day = self.frame["account_id"], days(self.frame["observation_date"])


def surveyed(asked: Asked) -> dict[str, np.ndarray]:
    """NPS, its mean answer and who answered, where the surveys hold NPS answers."""
    surveys = asked.data["surveys"]
    if not (surveys["survey"] == "nps").any():
        return {}
    return nps(surveys, asked.data.tables.get("contacts"), asked.account, asked.day)


def scored(asked: Asked, kind: str) -> dict[str, np.ndarray]:
    """The mean `kind` answer (csat, ces), where the surveys hold any: registered as
    ``partial(scored, kind=...)``, which a saved study pickles."""
    surveys = asked.data["surveys"]
    if not (surveys["survey"] == kind).any():
        return {}
    return {kind: mean_score(surveys, kind, asked.account, asked.day)}


def used(asked: Asked) -> dict[str, np.ndarray]:
    """Events in the USAGE_DAYS up to the observation date."""
    return {"usage": asked.data.usage.window_sums(asked.account, asked.day, USAGE_DAYS)}


def exported_health(asked: Asked) -> dict[str, np.ndarray]:
    """The account's latest exported score and its components, where any score is known by then."""
    scores = asked.data.health_scores
    found = scores.latest("account", asked.account, asked.day, stakeholders.SCORE_MAX_AGE_DAYS)
    if found["score"].isna().all():
        return {}
    return {"health_score": found["score"].to_numpy(), **{c: found[c].to_numpy() for c in scores.components}}


def people_health(asked: Asked) -> dict[str, np.ndarray]:
    """The account's people's health: mean, min, max, spread and each role's."""
    if asked.people is None:
        return stakeholders.health_rollups(asked.data, asked.frame, asked.weights)
    return stakeholders.rollups(asked.people, len(asked.frame))


def attained(asked: Asked) -> dict[str, np.ndarray]:
    """The mean attainment of the term's goals."""
    return {"goal_attainment": goal_attainment(asked.data["goals"], asked.data["goal_progress"], asked.frame)}


def nps(
    surveys: pd.DataFrame, contacts: pd.DataFrame | None, account: pd.Series, day: np.ndarray
) -> dict[str, np.ndarray]:
    """NPS as a fraction (share of promoters minus share of detractors), the mean score, and who answered."""
    answers = surveys.loc[surveys["survey"] == "nps"]
    score = answers["score"].to_numpy()
    values = {"promoter": (score >= 9).astype(float), "detractor": (score <= 6).astype(float), "score": score}
    if contacts is not None and "contact_id" in answers:
        role = mapped(answers["contact_id"], contacts.set_index("contact_id")["role"])
        values.update({f"by_{r}": (role == r).to_numpy(dtype=float) for r in ROLES})
    timeline = Timeline(answers["account_id"], answers["date"], values)
    responses = timeline.count(account, day, NPS_DAYS)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = {
            name: timeline.window_sum(name, account, day, NPS_DAYS) / responses
            for name in ("promoter", "detractor", "score")
        }
    out = {"nps": share["promoter"] - share["detractor"], "nps_score_mean": share["score"], "nps_responses": responses}
    for role in ROLES:
        if f"by_{role}" in values:
            out[f"nps_responses_{role}"] = timeline.window_sum(f"by_{role}", account, day, NPS_DAYS)
    return out


def mean_score(surveys: pd.DataFrame, kind: str, account: pd.Series, day: np.ndarray) -> np.ndarray:
    """The mean score of the account's `kind` answers in the 365 days before each day (NaN without any)."""
    answers = surveys.loc[surveys["survey"] == kind]
    timeline = Timeline(answers["account_id"], answers["date"], {"score": answers["score"]})
    with np.errstate(invalid="ignore", divide="ignore"):
        return timeline.window_sum("score", account, day, NPS_DAYS) / timeline.count(account, day, NPS_DAYS)


def goal_attainment(goal_table: pd.DataFrame, progress: pd.DataFrame, frame: pd.DataFrame) -> np.ndarray:
    """Mean over the account's goals for the term of the fraction of the way to target, as of observation."""
    pairs = goals.term_goals(frame, goal_table)
    return goals.per_decision(pairs, goals.attainment_on(pairs, progress, pairs["observation_date"]), frame)
