"""When each decision's account turned at risk, and when the CS team next touched it by hand.

An account turns at risk at the first checkpoint of its term (every CHECK_EVERY_DAYS, counted back from the
renewal) where the workbench's own early signals show it: a red decision maker, a goal behind the pace its
elapsed time asks for, and, where the study found it predictive, a red overall score. Each checkpoint reads
only data dated on or before it, as every signal does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import goals, stakeholders
from .pointintime import days
from .snapshot import overall_health

CHECK_EVERY_DAYS = 30
TIMELY_DAYS = 30
# Decisions whose checkpoints are measured at a time: a million accounts' 9M checkpoints, each paired with its
# account's goals and people, held 4.5 GB at once. Where people's scores are exported, a checkpoint's risk
# depends on its own decision only (stakeholders.rows_apart).
DECISIONS_AT_A_TIME = 100_000
# A goal is behind pace below 80% of the attainment its elapsed share of time asks for, judged once a quarter
# of its time has passed (earlier, one slow month reads as a miss).
OFF_PACE, MIN_ELAPSED = 0.8, 0.25
FLAGS = {
    "decision_maker_red": "a red decision maker",
    "goal_behind": "a goal behind pace",
    "score_red": "a red overall score",
}


def checkpoints(decisions: pd.DataFrame, every_days: int = CHECK_EVERY_DAYS) -> pd.DataFrame:
    """Each decision's checkpoints: end_date - every_days, - 2 * every_days, ... back to its start_date.
    `row` is the decision's position; `contract_id` names the checkpoint (unique, as goal attainment keys by it)."""
    term_days = (decisions["end_date"] - decisions["start_date"]).dt.days.to_numpy()
    count = np.maximum(term_days // every_days, 1) if len(decisions) else np.array([], dtype=int)
    row = np.repeat(np.arange(len(decisions)), count)
    step = np.arange(len(row)) - np.repeat(np.cumsum(count) - count, count) + 1
    points = decisions.iloc[row][["contract_id", "account_id", "start_date", "end_date"]].reset_index(drop=True)
    points["observation_date"] = points["end_date"] - pd.to_timedelta(step * every_days, unit="D")
    points["row"] = row
    points["contract_id"] = points["contract_id"].astype(str) + "@" + step.astype(str)
    return points.loc[points["observation_date"] >= points["start_date"]].reset_index(drop=True)


def goal_pace(goal_table: pd.DataFrame, progress: pd.DataFrame, points: pd.DataFrame, growth=None) -> np.ndarray:
    """Per checkpoint: attainment over the attainment expected by now of a goal that will just reach its target
    (mean over its goals past MIN_ELAPSED of their time; NaN before). The expected share follows the population's
    growth curve (`growth`, a GrowthModel) where there is one, so a goal on the usual slow start is not called
    behind; without one, the elapsed share of time."""
    pairs = goals.term_goals(points, goal_table)
    attained = goals.attainment_on(pairs, progress, pairs["observation_date"])
    span = np.maximum((pairs["target_date"] - pairs["start_date_goal"]).dt.days.to_numpy(), 1)
    age = (pairs["observation_date"] - pairs["start_date_goal"]).dt.days.to_numpy()
    expected = age / span
    if growth is not None:

        def curve(day):
            return growth.intercept + growth.slope * growth.basis(day / goals.DAYS_PER_MONTH)

        whole = curve(span)
        expected = np.where(whole > 0, np.clip(curve(age) / np.where(whole > 0, whole, 1), 0.05, 1), expected)
    pace = np.where(age / span >= MIN_ELAPSED, attained / np.maximum(expected, 1e-9), np.nan)
    return goals.per_decision(pairs, pace, points)


def risk_at(
    data, points: pd.DataFrame, red_below: float, weights: dict, score: bool = False, growth=None
) -> pd.DataFrame:
    """The early signals at each checkpoint and which of them flag risk."""
    out = points.copy(deep=False)  # copy-on-write: `points` stays as it is
    flags = []
    if data.has("contacts"):
        people = stakeholders.person_health(data, out, weights, roles=["decision_maker"])
        out["health_decision_maker"] = stakeholders.rollups(people, len(out))["health_decision_maker"]
        out["decision_maker_red"] = out["health_decision_maker"] < red_below
        flags.append("decision_maker_red")
    if data.has("goals") and data.has("goal_progress"):
        out["goal_pace"] = goal_pace(data["goals"], data["goal_progress"], out, growth)
        out["goal_behind"] = out["goal_pace"] < OFF_PACE
        flags.append("goal_behind")
    if score and data.health_scores is not None:
        out["health_score"] = overall_health(data.health_scores, out)
        out["score_red"] = out["health_score"] < red_below
        flags.append("score_red")
    out["at_risk"] = out[flags].any(axis=1) if flags else False
    return out


def onsets(decisions: pd.DataFrame, risk: pd.DataFrame) -> pd.DataFrame:
    """Per decision: the first checkpoint at risk (`onset`, NaT when never), the flags and signals there."""
    first = risk.loc[risk["at_risk"]].sort_values("observation_date").drop_duplicates("row")
    measured = [c for c in ("health_decision_maker", "goal_pace", "health_score", *FLAGS) if c in first]
    found = first.set_index("row")[["observation_date", *measured]].rename(
        columns={"observation_date": "onset", **{c: f"{c}_at_onset" for c in measured if c not in FLAGS}}
    )
    return found.reindex(range(len(decisions))).reset_index(drop=True)


def detection(
    data,
    decisions: pd.DataFrame,
    red_below: float,
    weights: dict,
    score: bool = False,
    growth=None,
    every_days: int = CHECK_EVERY_DAYS,
    timely_days: int = TIMELY_DAYS,
) -> pd.DataFrame:
    """Per decision: when its account turned at risk, why, and its next human touch.

    Columns: at_risk, onset, the flags and signals at onset, touch_date (the first human touch on or after
    onset, before the decision; NaT when none), lag_days (to it, or to the decision when none: censored),
    touched (a touch came before the decision) and timely (within `timely_days`)."""
    parts, block = [], DECISIONS_AT_A_TIME if stakeholders.rows_apart(data) else max(len(decisions), 1)
    for start in range(0, max(len(decisions), 1), block):
        part = decisions.iloc[start : start + block]
        parts.append(onsets(part, risk_at(data, checkpoints(part, every_days), red_below, weights, score, growth)))
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    out.insert(0, "at_risk", out["onset"].notna())
    onset_day = days(out["onset"]).astype(float)
    onset_day[~out["at_risk"].to_numpy()] = np.nan
    end_day = days(decisions["end_date"]).astype(float)
    if data.activities is not None:
        next_day = data.activities.following(decisions["account_id"], np.nan_to_num(onset_day))
    else:
        next_day = np.full(len(decisions), np.nan)
    touched = out["at_risk"].to_numpy() & (next_day < end_day)
    out["touched"] = touched
    out["touch_date"] = pd.to_datetime(np.where(touched, next_day, np.nan), unit="D")
    out["lag_days"] = np.where(touched, next_day, end_day) - onset_day
    out["timely"] = touched & (out["lag_days"] <= timely_days)
    return out
