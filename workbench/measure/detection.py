"""When each decision's account turned at risk, signal by signal, and what the CS team did about it.

Each early signal the workbench reads (a red decision maker, a goal behind the pace its elapsed time asks for,
a red overall score) starts its own episode. Its time zero is the first day the data show the signal: found
first on checkpoints (every CHECK_EVERY_DAYS, counted back from the renewal), then to the day by bisection
between the flagged checkpoint and the clean one before it. A CSM may hear of the risk before the data show it
(a call, a drop between readings), so the answer window opens at the last clean reading: the day the reading
still in force the day before time zero was taken. Every day reads only data dated on or before it, as every
signal does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .. import lookup
from . import goals, stakeholders
from .pointintime import days
from .snapshot import overall_health

CHECK_EVERY_DAYS = 30
TIMELY_DAYS = 45  # an answer from the last clean reading to this many days after time zero is timely
SENSITIVITY_DAYS = (30, 60)  # the same effect with a shorter and a longer window, shown beside
PLACEBO_DAYS = (75, 30)  # a touch this many to this many days before the last clean reading cannot answer the risk
CLEAN_LOOKBACK_DAYS = 90  # a reading older than this is not looked for
# Decisions whose checkpoints are measured at a time: each checkpoint is paired with its account's goals and
# people, too many pairs to hold at once in a large book. Where people's scores are exported, a checkpoint's risk
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
MEASURES = {"decision_maker_red": "health_decision_maker", "goal_behind": "goal_pace", "score_red": "health_score"}
# Signals read from scores that hold until the next reading: their last clean reading is looked for. A goal's
# pace moves every day (its expected attainment grows), so its last clean day is the day before time zero.
READ_FROM_SCORES = ("decision_maker_red", "score_red")
EPISODE_COLUMNS = {"row": int, "signal": object, "time_zero": int, "clean_from": int, "end_day": int}


def possible_signals(data) -> list[str]:
    """The episode signals the data's tables allow (a red overall score wherever health scores are exported)."""
    have = {
        "decision_maker_red": data.has("contacts"),
        "goal_behind": data.has("goals") and data.has("goal_progress"),
        "score_red": data.health_scores is not None,
    }
    return [flag for flag in FLAGS if have[flag]]


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


def points_on(decisions: pd.DataFrame, row: np.ndarray, day: np.ndarray, tag: str) -> pd.DataFrame:
    """One point per (decision `row`, `day` since the epoch), named uniquely by `tag` and position."""
    points = decisions.iloc[row][["contract_id", "account_id", "start_date", "end_date"]].reset_index(drop=True)
    points["observation_date"] = pd.to_datetime(np.asarray(day, dtype="int64"), unit="D")
    points["row"] = row
    points["contract_id"] = points["contract_id"].astype(str) + f"@{tag}" + np.arange(len(row)).astype(str)
    return points


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
    data, points: pd.DataFrame, red_below: float, weights: dict, score: bool = False, growth=None, signals=None
) -> pd.DataFrame:
    """The early signals at each point and which of them flag risk; only `signals` (flag names) where given."""
    out = points.copy(deep=False)  # copy-on-write: `points` stays as it is
    flags = []

    def wanted(flag):
        return signals is None or flag in signals

    if data.has("contacts") and wanted("decision_maker_red"):
        people = stakeholders.person_health(data, out, weights, roles=["decision_maker"])
        out["health_decision_maker"] = stakeholders.rollups(people, len(out))["health_decision_maker"]
        out["decision_maker_red"] = out["health_decision_maker"] < red_below
        flags.append("decision_maker_red")
    if data.has("goals") and data.has("goal_progress") and wanted("goal_behind"):
        out["goal_pace"] = goal_pace(data["goals"], data["goal_progress"], out, growth)
        out["goal_behind"] = out["goal_pace"] < OFF_PACE
        flags.append("goal_behind")
    if score and data.health_scores is not None and wanted("score_red"):
        out["health_score"] = overall_health(data.health_scores, out)
        out["score_red"] = out["health_score"] < red_below
        flags.append("score_red")
    out["at_risk"] = out[flags].any(axis=1) if flags else False
    return out


def _bisect(shows, low: np.ndarray, high: np.ndarray) -> np.ndarray:
    """Per case, the first day in (low, high] on which `shows(cases, days)` holds, where it holds at `high` and
    from its first day on: whole days, halving every interval at once."""
    low, high = low.copy(), high.copy()
    while True:
        open_ = np.flatnonzero(high - low > 1)
        if not len(open_):
            return high
        middle = low[open_] + (high[open_] - low[open_]) // 2
        holds = np.asarray(shows(open_, middle), dtype=bool)
        high[open_] = np.where(holds, middle, high[open_])
        low[open_] = np.where(holds, low[open_], middle)


def _same(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return np.isclose(a, b, rtol=0, atol=1e-9) | (np.isnan(a) & np.isnan(b))


def _episodes(part: pd.DataFrame, risk: pd.DataFrame, flags, every_days, measured) -> pd.DataFrame:
    """Per decision of `part` and flag that ever shows on a checkpoint: time zero, the last clean reading, and
    every signal measured at that reading (`<measure>_at_clean`, and the other flags)."""
    found = []
    start_day, end_day = days(part["start_date"]).astype(int), days(part["end_date"]).astype(int)
    for flag in flags:
        first = risk.loc[risk[flag].fillna(False).astype(bool)].sort_values("observation_date")
        first = first.drop_duplicates("row")
        row = first["row"].to_numpy()
        flagged = days(first["observation_date"]).astype(int)
        before = np.maximum(flagged - every_days, start_day[row] - 1)

        def shows(cases, day, flag=flag, row=row):
            return measured(points_on(part, row[cases], day, "z"), [flag])[flag].fillna(False).to_numpy()

        zero = _bisect(shows, before, flagged)
        clean = np.maximum(zero - 1, start_day[row])
        if flag in READ_FROM_SCORES:
            measure = MEASURES[flag]
            value = measured(points_on(part, row, clean, "c"), [flag])[measure].to_numpy(dtype=float)
            floor = np.maximum(clean - CLEAN_LOOKBACK_DAYS, start_day[row]) - 1

            def same(cases, day, measure=measure, flag=flag, row=row, value=value):
                read = measured(points_on(part, row[cases], day, "r"), [flag])[measure].to_numpy(dtype=float)
                return _same(read, value[cases])

            # The reading in force the day before time zero holds from the day it was taken: the first day of
            # the look-back with the same value, by bisection (a same value from the look-back's start: its start).
            clean = _bisect(same, floor, clean)
        at_clean = measured(points_on(part, row, clean, "e"), None)
        episode = pd.DataFrame({"row": row, "signal": flag, "time_zero": zero, "clean_from": clean})
        for name in ("health_decision_maker", "goal_pace", "health_score", *FLAGS):
            if name in at_clean:
                episode[f"{name}_at_clean"] = at_clean[name].to_numpy(dtype=float)
        episode["end_day"] = end_day[row]
        found.append(episode)
    if not found:  # no signal the data can show: no episode
        return pd.DataFrame({c: pd.Series(dtype=t) for c, t in EPISODE_COLUMNS.items()})
    return pd.concat(found, ignore_index=True)


def detection(
    data,
    decisions: pd.DataFrame,
    red_below: float,
    weights: dict,
    score: bool = False,
    growth=None,
    every_days: int = CHECK_EVERY_DAYS,
    timely_days: int = TIMELY_DAYS,
    routine_channels=(),
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per decision: when its account turned at risk, why, and how the CS team answered; and per episode.

    The decisions' frame: at_risk, onset (the earliest episode's time zero, NaT when never), the flags whose
    episode began then, clean_from (the window's opening), touch_date (the first human touch, not on a
    `routine_channels` channel, from clean_from to before the decision; NaT when none), lag_days (from onset to
    it, 0 when it came first; to the decision when none: censored), touched and timely (within `timely_days`).

    The episodes' frame, one per decision and signal that showed: row (the decision's position), signal,
    time_zero, clean_from and end_day (days since the epoch), every signal at the last clean reading
    (`<name>_at_clean`), and the first touches from it: answer_day (human, not routine), any_day (human),
    automated_day, routine_day (on a routine channel) and placebo_day (human, not routine, from PLACEBO_DAYS[0]
    days before clean_from) and automated_placebo_day (automated, so), NaN when none."""
    flags = [flag for flag in possible_signals(data) if flag != "score_red" or score]
    parts, block = [], DECISIONS_AT_A_TIME if stakeholders.rows_apart(data) else max(len(decisions), 1)
    for start in range(0, max(len(decisions), 1), block):
        part = decisions.iloc[start : start + block]

        def measured(points, signals, part=part):
            return risk_at(data, points, red_below, weights, score, growth, signals)

        found = _episodes(part, measured(checkpoints(part, every_days), None), flags, every_days, measured)
        parts.append(found.assign(row=found["row"].to_numpy(dtype=int) + start))
    episodes = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    episodes = episodes.sort_values(["row", "signal"], ignore_index=True)
    by_row = episodes.groupby("row")
    out = pd.DataFrame(index=range(len(decisions)))
    zero = by_row["time_zero"].min().reindex(out.index).to_numpy(dtype=float)
    clean = by_row["clean_from"].min().reindex(out.index).to_numpy(dtype=float)
    out["at_risk"] = ~np.isnan(zero)
    out["onset"] = pd.to_datetime(zero, unit="D")
    for flag in flags:
        began = episodes.loc[episodes["signal"] == flag].set_index("row")["time_zero"].reindex(out.index)
        out[flag] = (began.to_numpy(dtype=float) == zero) & out["at_risk"].to_numpy()
    out["clean_from"] = pd.to_datetime(clean, unit="D")
    end_day = days(decisions["end_date"]).astype(float)
    activities = data.activities
    account = decisions["account_id"].reset_index(drop=True)
    routine = [str(channel).lower() for channel in routine_channels]
    if activities is not None:
        episode_account = account.iloc[episodes["row"].to_numpy()]
        from_clean = episodes["clean_from"].to_numpy(dtype=float)
        episodes["answer_day"] = activities.following(episode_account, from_clean, exclude=routine)
        episodes["any_day"] = activities.following(episode_account, from_clean)
        episodes["automated_day"] = activities.following(episode_account, from_clean, kind="automated")
        episodes["routine_day"] = (
            activities.following(episode_account, from_clean, channels=routine) if routine else np.nan
        )
        episodes["placebo_day"] = activities.following(episode_account, from_clean - PLACEBO_DAYS[0], exclude=routine)
        episodes["automated_placebo_day"] = activities.following(
            episode_account, from_clean - PLACEBO_DAYS[0], kind="automated"
        )
        # The decision's answer is its earliest episode's: the first answer on or after the earliest clean reading.
        next_day = episodes.groupby("row")["answer_day"].min().reindex(out.index).to_numpy(dtype=float)
    else:
        next_day = np.full(len(decisions), np.nan)
    touched = out["at_risk"].to_numpy() & (next_day < end_day)
    out["touched"] = touched
    out["touch_date"] = pd.to_datetime(np.where(touched, next_day, np.nan), unit="D")
    out["lag_days"] = np.where(touched, np.maximum(next_day - zero, 0), end_day - zero)
    out["timely"] = touched & (out["lag_days"] <= timely_days)
    # What its questions held (the stores' buffers, the people's and goals' indexes) let go: the touch effect's
    # bootstrap that follows is the capacity analysis's peak.
    data.close_stores()
    lookup.forget()
    return out, episodes
