"""Customers' own goals measured in time: progress curves, attainment at landmarks, projections to renewal."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs.goal_inputs import GoalInputs
from ..lookup import contained, kept, mapped, positions
from ..stats.growth import FORMS, Basis, GrowthModel, fit_growth, population_shape
from .pointintime import Timeline, days

DAYS_PER_MONTH = 365.25 / 12
LANDMARKS = (3, 6, 9)
BANDS = ("<50%", "50-80%", "80-100%", ">=100%")
EDGES = (-np.inf, 0.5, 0.8, 1.0, np.inf)


def band(attainment: pd.Series) -> pd.Series:
    """The contract's attainment band of each value (lower edges inclusive)."""
    return pd.cut(attainment, EDGES, labels=BANDS, right=False)


def curves(goals: pd.DataFrame, progress: pd.DataFrame) -> pd.DataFrame:
    """Every progress measurement as attainment (fraction of the way from baseline to target; lower-is-better
    targets handled by the sign of target - baseline) and months since the goal's start."""
    measured, at, attainment, month = _measurements(goals, progress)
    frame = progress.loc[measured].reset_index(drop=True)
    for column in ("account_id", "baseline", "target", "start_date", "target_date"):
        frame[column] = goals[column].take(at).array
    frame["attainment"], frame["month"] = attainment, month
    return frame


def sample_curves(goals: pd.DataFrame, progress: pd.DataFrame, count: int = 60) -> pd.DataFrame:
    """`curves` of the first `count` goals measured (in the progress table's order), for a chart: only their
    measurements are looked up, not every goal's curve."""
    measured = contained(progress["goal_id"], goals["goal_id"])
    sampled = progress["goal_id"].loc[measured].drop_duplicates().head(count)
    return curves(goals, progress.loc[contained(progress["goal_id"], sampled)])


def _measurements(goals: pd.DataFrame, progress: pd.DataFrame, until=None) -> tuple[np.ndarray, ...]:
    """Which progress rows belong to a goal (and are dated on or before `until`), each one's goal (its row in
    `goals`), attainment and months since the goal's start."""
    # A lookup by position, not a merge: goal ids are unique, and a merge would sort every measurement.
    position = positions(pd.Index(goals["goal_id"]), progress["goal_id"])
    measured = position >= 0
    if until is not None:
        measured &= (progress["date"] <= pd.Timestamp(until)).to_numpy()
    at = position[measured]
    baseline, target = goals["baseline"].to_numpy()[at], goals["target"].to_numpy()[at]
    attainment = (progress["value"].to_numpy()[measured] - baseline) / (target - baseline)
    elapsed = pd.Series(progress["date"].to_numpy()[measured] - goals["start_date"].to_numpy()[at])
    return measured, at, attainment, elapsed.dt.days.to_numpy() / DAYS_PER_MONTH


def since_start(goals: pd.DataFrame, progress: pd.DataFrame) -> pd.DataFrame:
    """`curves` from each goal's start on: what the growth models fit."""
    observed = curves(goals, progress)
    return observed.loc[observed["month"] >= 0]


def term_goals(decisions: pd.DataFrame, goals: pd.DataFrame) -> pd.DataFrame:
    """Each decision's goals for its term (started by the observation date, due after the term began), with the
    decision's position in `decisions` (`decision_row`: a contract measured at several dates is several rows)."""
    columns = ["contract_id", "account_id", "start_date", "end_date", "observation_date"]
    pairs = (
        decisions[columns]
        .assign(decision_row=np.arange(len(decisions)))
        .merge(goals, on="account_id", suffixes=("", "_goal"))
    )
    keep = (pairs["start_date_goal"] <= pairs["observation_date"]) & (pairs["target_date"] > pairs["start_date"])
    return pairs.loc[keep].reset_index(drop=True)


def attainment_on(pairs: pd.DataFrame, progress: pd.DataFrame, day: pd.Series) -> np.ndarray:
    """Attainment of each (decision, goal) pair from its latest measurement on or before `day`."""
    value = _timeline(progress).latest("value", pairs["goal_id"], days(day))
    return (value - pairs["baseline"].to_numpy()) / (pairs["target"].to_numpy() - pairs["baseline"].to_numpy())


def per_decision(pairs: pd.DataFrame, values: np.ndarray, decisions: pd.DataFrame) -> np.ndarray:
    """Mean over each decision's goals, aligned with `decisions`."""
    mean = pd.Series(values).groupby(pairs["decision_row"].to_numpy()).mean()
    return mean.reindex(range(len(decisions))).to_numpy()


def _timeline(progress: pd.DataFrame) -> Timeline:
    """The progress table indexed for point-in-time lookups, kept while it is the same object: a study asks
    attainment of one table a dozen times (decisions, landmarks, horizons, detection)."""
    return kept("timeline", progress, lambda p: Timeline(p["goal_id"], p["date"], {"value": p["value"]}))


def landmarks(decisions: pd.DataFrame, goals: pd.DataFrame, progress: pd.DataFrame, months=LANDMARKS) -> pd.DataFrame:
    """Attainment at months 3, 6, 9 of the goal (columns attainment_m3 ...) and at the term's end (final)."""
    pairs = term_goals(decisions, goals)
    out = decisions.copy(deep=False)  # its own columns added; copy-on-write keeps the decisions as they are
    for month in months:
        day = pairs["start_date_goal"] + pd.to_timedelta(round(month * DAYS_PER_MONTH), unit="D")
        # A landmark after the observation date would use data the team did not have yet.
        values = np.where(day <= pairs["observation_date"], attainment_on(pairs, progress, day), np.nan)
        out[f"attainment_m{month}"] = per_decision(pairs, values, decisions)
    out["attainment_final"] = per_decision(pairs, attainment_on(pairs, progress, pairs["end_date"]), decisions)
    return out


def growth_model(goals: pd.DataFrame, progress: pd.DataFrame, until=None) -> GrowthModel:
    """The growth-curve model fitted on measurements dated on or before `until` (all when None), on the form
    whose projection from month 6 missed month 12 least out of sample (`choose_form`); its check is kept."""
    observed, ids = _numbered_since_start(goals, progress, until)
    form, check = choose_form(observed)
    basis = (population_shape(observed) if form == "population shape" else None) or Basis(form)
    model = fit_growth(observed, basis)
    model.goals["goal_id"] = ids.take(model.goals["goal_id"].to_numpy())
    model.check = check
    return model


def _numbered_since_start(goals: pd.DataFrame, progress: pd.DataFrame, until=None) -> tuple[pd.DataFrame, pd.Index]:
    """`since_start` of the measurements dated on or before `until`, as the growth models read it: each goal as
    its number in the order of the goal ids (the order `choose_form` splits them in), month and attainment; and
    the ids by number: the columns the fits read, not the whole curves."""
    number, ids = pd.factorize(goals["goal_id"], sort=True)
    _, at, attainment, month = _measurements(goals, progress, until)
    started = month >= 0
    frame = pd.DataFrame({"goal_id": number[at][started], "month": month[started], "attainment": attainment[started]})
    return frame, pd.Index(ids)


def projection_check(
    observed: pd.DataFrame, from_month: float = 6, to_month: float = 12, form: str = "linear"
) -> pd.DataFrame:
    """Out of sample, over the curves `since_start` gives: the goals measured for `to_month` months, in two
    halves; each half projected from its own first `from_month` months by a model fitted on that and on
    everything else (the other half's whole curves, as completed goals inform open ones), against its measured
    attainment at the end."""
    return _projected(observed, _halves(observed, from_month, to_month), form, to_month)


def _halves(observed: pd.DataFrame, from_month: float, to_month: float) -> list[tuple]:
    """Per half of the complete goals: the rows its model is fitted on, which rows are its own, and its goals'
    last measurement. The same for every form, so made once."""
    reached = observed.groupby("goal_id")["month"].max()
    complete = reached.index[reached >= to_month - 0.5]
    halves = []
    for half in (0, 1):
        tested = complete[np.arange(len(complete)) % 2 == half]
        if not len(tested):
            continue
        is_tested = observed["goal_id"].isin(tested)
        fitted_on = observed.loc[~is_tested | (observed["month"] <= from_month)]
        last = observed.loc[is_tested].sort_values("month").groupby("goal_id").last()[["attainment", "month"]]
        halves.append((fitted_on, is_tested, last))
    return halves


def _projected(observed: pd.DataFrame, halves: list[tuple], form: str, to_month: float) -> pd.DataFrame:
    parts = []
    for fitted_on, is_tested, last in halves:
        basis = population_shape(observed.loc[~is_tested], to_month) if form == "population shape" else Basis(form)
        if basis is None:
            continue
        projected = fit_growth(fitted_on, basis).project(last.index.to_series(), last["month"])
        parts.append(pd.DataFrame({"goal_id": last.index, "projected": projected, "actual": last["attainment"]}))
    return pd.concat(parts, ignore_index=True) if parts else pd.DataFrame(columns=["goal_id", "projected", "actual"])


def projection_error(check: pd.DataFrame) -> dict:
    error = check["projected"] - check["actual"]
    return {
        "goals": len(check),
        "mean_absolute_error": float(error.abs().mean()) if len(check) else np.nan,
        "bias": float(error.mean()) if len(check) else np.nan,
        "correlation": float(check[["projected", "actual"]].corr().iloc[0, 1]) if len(check) > 2 else np.nan,
        "band_agreement": float((band(check["projected"]) == band(check["actual"])).mean()) if len(check) else np.nan,
    }


def choose_form(observed: pd.DataFrame, from_month: float = 6, to_month: float = 12) -> tuple[str, pd.DataFrame]:
    """Each form's out-of-sample projection error (`projection_check`), and the form that erred least
    (linear where no goal has been measured long enough to check)."""
    # Goals numbered in the order of their ids, so the halves are the same: the splits and fits compare numbers,
    # not strings, on the columns they use.
    numbered = observed[["month", "attainment"]].assign(goal_id=pd.factorize(observed["goal_id"], sort=True)[0])
    halves = _halves(numbered, from_month, to_month)
    rows = [{"form": form, **projection_error(_projected(numbered, halves, form, to_month))} for form in FORMS]
    table = pd.DataFrame(rows).assign(from_month=from_month, to_month=to_month)
    judged = table.dropna(subset=["mean_absolute_error"])
    best = judged.loc[judged["mean_absolute_error"].idxmin(), "form"] if len(judged) else "linear"
    return str(best), table.assign(chosen=table["form"] == best)


def off_track(
    open_contracts: pd.DataFrame,
    goals: pd.DataFrame,
    progress: pd.DataFrame,
    model: GrowthModel,
    as_of,
    goal_inputs: GoalInputs | None = None,
) -> pd.DataFrame:
    """Open contracts whose goals project below target at renewal, soonest renewal first."""
    pairs = term_goals(open_contracts, goals)
    if pairs.empty:
        return pd.DataFrame()
    pairs["attainment_now"] = attainment_on(pairs, progress, pd.Series(pd.Timestamp(as_of), index=pairs.index))
    renewal_month = (pairs["end_date"] - pairs["start_date_goal"]).dt.days / DAYS_PER_MONTH
    pairs["projected_at_renewal"] = model.project(pairs["goal_id"], renewal_month)
    pairs["months_left"] = ((pairs["end_date"] - pd.Timestamp(as_of)).dt.days / DAYS_PER_MONTH).round(1)
    lagging = pairs.loc[pairs["projected_at_renewal"] < 1].copy()
    if goal_inputs is not None and len(lagging):
        slowest = goal_inputs.lags(lagging["goal_id"], as_of).groupby("goal_id").first()
        lagging["slowest_input"] = mapped(lagging["goal_id"], slowest["input"])
        lagging["slowest_input_pace"] = mapped(lagging["goal_id"], slowest["pace"])
    names = open_contracts.set_index("contract_id")
    for column in ("account_name", "arr"):
        if column in names:
            lagging[column] = mapped(lagging["contract_id"], names[column])
    columns = [
        c
        for c in (
            "account_id",
            "account_name",
            "arr",
            "end_date",
            "months_left",
            "metric",
            "attainment_now",
            "projected_at_renewal",
            "slowest_input",
            "slowest_input_pace",
        )
        if c in lagging
    ]
    return lagging.sort_values(["end_date", "projected_at_renewal"])[columns].reset_index(drop=True)
