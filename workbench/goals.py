"""Customers' own goals: progress curves, landmarks, projections to renewal, and what they predict."""
from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from .attainment import band
from .growth import GrowthModel, fit_growth
from .pointintime import Timeline, days
from .rates import rate_table, wilson
from .signals import validity

DAYS_PER_MONTH = 365.25 / 12
LANDMARKS = (3, 6, 9)
REACH_BINS = (-np.inf, 0.2, 0.4, 0.6, 0.8, 1.0, np.inf)
REACH_LABELS = ("<20%", "20-40%", "40-60%", "60-80%", "80-100%", ">=100%")


def curves(goals: pd.DataFrame, progress: pd.DataFrame) -> pd.DataFrame:
    """Every progress measurement as attainment (fraction of the way from baseline to target; lower-is-better
    targets handled by the sign of target - baseline) and months since the goal's start."""
    frame = progress.merge(goals[["goal_id", "account_id", "baseline", "target", "start_date", "target_date"]],
                           on="goal_id")
    frame["attainment"] = (frame["value"] - frame["baseline"]) / (frame["target"] - frame["baseline"])
    frame["month"] = (frame["date"] - frame["start_date"]).dt.days / DAYS_PER_MONTH
    return frame


def term_goals(decisions: pd.DataFrame, goals: pd.DataFrame) -> pd.DataFrame:
    """Each decision's goals for its term (started by the observation date, due after the term began)."""
    pairs = (decisions[["contract_id", "account_id", "start_date", "end_date", "observation_date"]]
             .merge(goals, on="account_id", suffixes=("", "_goal")))
    keep = (pairs["start_date_goal"] <= pairs["observation_date"]) & (pairs["target_date"] > pairs["start_date"])
    return pairs.loc[keep].reset_index(drop=True)


def attainment_on(pairs: pd.DataFrame, progress: pd.DataFrame, day: pd.Series) -> np.ndarray:
    """Attainment of each (decision, goal) pair from its latest measurement on or before `day`."""
    value = Timeline(progress["goal_id"], progress["date"], {"value": progress["value"]}).latest(
        "value", pairs["goal_id"], days(day))
    return (value - pairs["baseline"].to_numpy()) / (pairs["target"].to_numpy() - pairs["baseline"].to_numpy())


def per_decision(pairs: pd.DataFrame, values: np.ndarray, decisions: pd.DataFrame) -> np.ndarray:
    """Mean over each decision's goals, aligned with `decisions`."""
    mean = pd.Series(values, index=pairs.index).groupby(pairs["contract_id"]).mean()
    return decisions["contract_id"].map(mean).to_numpy()


def landmarks(decisions: pd.DataFrame, goals: pd.DataFrame, progress: pd.DataFrame, months=LANDMARKS
              ) -> pd.DataFrame:
    """Attainment at months 3, 6, 9 of the goal (columns attainment_m3 ...) and at the term's end (final)."""
    pairs = term_goals(decisions, goals)
    out = decisions.copy()
    for month in months:
        day = pairs["start_date_goal"] + pd.to_timedelta(round(month * DAYS_PER_MONTH), unit="D")
        # A landmark after the observation date would use data the team did not have yet.
        values = np.where(day <= pairs["observation_date"], attainment_on(pairs, progress, day), np.nan)
        out[f"attainment_m{month}"] = per_decision(pairs, values, decisions)
    out["attainment_final"] = per_decision(pairs, attainment_on(pairs, progress, pairs["end_date"]), decisions)
    return out


def early_warning(frame: pd.DataFrame, months=LANDMARKS, min_events: int = 10) -> pd.DataFrame:
    """AUC for renewal of attainment at each landmark month, with its 95% interval, clustered by account.

    Exploratory: the landmarks are one question asked at several times, outside the report's family
    of tests, so their intervals are not adjusted and a page must not state them as findings."""
    columns = [f"attainment_m{month}" for month in months]
    judged = validity(frame, columns, min_events=min_events, family_size=1)
    return pd.DataFrame({"landmark_month": list(months), "n": judged["n"], "accounts": judged["accounts"],
                         "churned": judged["churned"], "auc": judged["auc"].where(judged["warning"].isna()),
                         "ci_low": judged["auc_ci_low"], "ci_high": judged["auc_ci_high"]})


def reach_probability(frame: pd.DataFrame, months=LANDMARKS) -> pd.DataFrame:
    """P(final attainment >= 100% | attainment band at a landmark month), with counts and intervals."""
    parts = []
    for month in months:
        known = frame.dropna(subset=[f"attainment_m{month}", "attainment_final"])
        part = pd.DataFrame({
            "landmark_month": month,
            "band": pd.cut(known[f"attainment_m{month}"], REACH_BINS, labels=REACH_LABELS, right=False),
            "reached": known["attainment_final"] >= 1, "account_id": known["account_id"]})
        parts.append(rate_table(part, ["landmark_month", "band"], "reached"))
    return pd.concat(parts, ignore_index=True).rename(columns={"events": "reached", "rate": "probability"})


def growth_model(goals: pd.DataFrame, progress: pd.DataFrame, until=None) -> GrowthModel:
    """The growth-curve model fitted on measurements dated on or before `until` (all when None)."""
    observed = curves(goals, progress)
    if until is not None:
        observed = observed.loc[observed["date"] <= pd.Timestamp(until)]
    return fit_growth(observed.loc[observed["month"] >= 0])


def projection_check(goals: pd.DataFrame, progress: pd.DataFrame, from_month: float = 6, to_month: float = 12
                     ) -> pd.DataFrame:
    """Project each goal from its first `from_month` months and compare with its actual attainment at
    `to_month`, on the goals measured that long."""
    observed = curves(goals, progress)
    reached = observed.groupby("goal_id")["month"].max()
    complete = reached.index[reached >= to_month - 0.5]
    early = observed.loc[observed["goal_id"].isin(complete) & (observed["month"] <= from_month)]
    model = fit_growth(early)
    actual = (observed.loc[observed["goal_id"].isin(complete)].sort_values("month")
              .groupby("goal_id").last()[["attainment", "month"]])
    projected = model.project(actual.index.to_series(), actual["month"])
    return pd.DataFrame({"goal_id": actual.index, "projected": projected, "actual": actual["attainment"].to_numpy()})


def projection_error(check: pd.DataFrame) -> dict:
    error = check["projected"] - check["actual"]
    return {"goals": len(check), "mean_absolute_error": float(error.abs().mean()), "bias": float(error.mean()),
            "correlation": float(check[["projected", "actual"]].corr().iloc[0, 1]) if len(check) > 2 else np.nan,
            "band_agreement": float((band(check["projected"]) == band(check["actual"])).mean())}


def survival_by_band(frame: pd.DataFrame, as_of) -> tuple[pd.DataFrame, dict]:
    """Kaplan-Meier curves of staying a customer after the observation date, by attainment band
    at observation, and the log-rank test across bands. Renewed accounts are censored at as_of."""
    known = frame.dropna(subset=["goal_attainment"])
    churned = ~known["renewed"]
    time = np.where(churned, (known["end_date"] - known["observation_date"]).dt.days,
                    (pd.Timestamp(as_of) - known["observation_date"]).dt.days)
    groups = band(known["goal_attainment"]).astype(str).to_numpy()
    steps = []
    for name in pd.unique(groups):
        mask = groups == name
        fit = SurvfuncRight(time[mask], churned.to_numpy()[mask].astype(int))
        # The curve runs on, flat, to the last follow-up: censored accounts are still customers.
        last = fit.surv_prob[-1] if len(fit.surv_prob) else 1.0
        steps.append(pd.DataFrame({"band": name, "day": np.r_[0, fit.surv_times, time[mask].max()],
                                     "survival": np.r_[1, fit.surv_prob, last], "n": int(mask.sum())}))
    statistic, p_value = survdiff(time, churned.to_numpy().astype(int), groups)
    return pd.concat(steps, ignore_index=True), {"log_rank_statistic": float(statistic), "p_value": float(p_value),
                                                   "groups": len(pd.unique(groups))}


def missed_by(frame: pd.DataFrame) -> pd.DataFrame:
    """Final attainment of churned decisions by churn reason: missed narrowly or by a mile?"""
    churned = frame.loc[~frame["renewed"] & frame["attainment_final"].notna()].copy()
    churned["churn_reason"] = churned["churn_reason"].fillna("unknown") if "churn_reason" in churned else "unknown"
    summary = churned.groupby("churn_reason")["attainment_final"].describe(percentiles=[0.25, 0.5, 0.75])
    return summary.reset_index()


def win_back(frame: pd.DataFrame, low: float = 0.8, high: float = 1.0) -> pd.DataFrame:
    """Churned for value reasons although they nearly reached their goal: the ones worth calling back."""
    mask = (~frame["renewed"]) & frame["attainment_final"].between(low, high, inclusive="left")
    if "churn_reason" in frame:
        mask &= frame["churn_reason"].fillna("unknown") == "value"
    columns = [c for c in ("account_id", "account_name", "segment", "end_date", "arr", "attainment_final") if c in frame]
    return frame.loc[mask, columns].sort_values("arr", ascending=False).reset_index(drop=True)


def expansion_by_exceedance(frame: pd.DataFrame) -> pd.DataFrame:
    """Expansion rate and ARR among renewals by how far goals were exceeded at the term's end."""
    renewed = frame.loc[frame["renewed"] & frame["attainment_final"].notna()]
    renewed = renewed.assign(
        exceeded=pd.cut(renewed["attainment_final"], [-np.inf, 1.0, 1.5, np.inf], right=False,
                        labels=["below 100%", "100-150%", "over 150%"]),
        expansion_arr=(renewed["renewal_arr"] - renewed["arr"]).clip(lower=0))
    table = rate_table(renewed, "exceeded", "expanded").rename(columns={"events": "expanded", "rate": "expansion_rate"})
    table["expansion_arr"] = table["exceeded"].map(renewed.groupby("exceeded", observed=True)["expansion_arr"].sum())
    return table


def input_lags(goal_inputs: pd.DataFrame, goal_ids: pd.Series, day) -> pd.DataFrame:
    """Each goal's inputs at `day`: latest value against its target (pace), slowest first per goal."""
    known = goal_inputs.dropna(subset=["target"])
    known = known.loc[known["goal_id"].isin(goal_ids) & (known["date"] <= pd.Timestamp(day)) & (known["target"] > 0)]
    latest = known.sort_values("date").groupby(["goal_id", "input"]).last().reset_index()
    latest["pace"] = latest["value"] / latest["target"]
    return latest.sort_values(["goal_id", "pace"]).reset_index(drop=True)[["goal_id", "input", "value", "target", "pace"]]


def off_track(open_contracts: pd.DataFrame, goals: pd.DataFrame, progress: pd.DataFrame, model: GrowthModel,
              as_of, goal_inputs: pd.DataFrame | None = None) -> pd.DataFrame:
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
        slowest = input_lags(goal_inputs, lagging["goal_id"], as_of).groupby("goal_id").first()
        lagging["slowest_input"] = lagging["goal_id"].map(slowest["input"])
        lagging["slowest_input_pace"] = lagging["goal_id"].map(slowest["pace"])
    names = open_contracts.set_index("contract_id")
    for column in ("account_name", "arr"):
        if column in names:
            lagging[column] = lagging["contract_id"].map(names[column])
    columns = [c for c in ("account_id", "account_name", "arr", "end_date", "months_left", "metric", "attainment_now",
                           "projected_at_renewal", "slowest_input", "slowest_input_pace") if c in lagging]
    return lagging.sort_values(["end_date", "projected_at_renewal"])[columns].reset_index(drop=True)


def input_priorities(goal_inputs: pd.DataFrame, goal_ids: pd.Series, as_of) -> pd.DataFrame:
    """Across off-track goals: how often each input is the slowest, and its median pace."""
    lags = input_lags(goal_inputs, goal_ids, as_of)
    if lags.empty:
        return pd.DataFrame(columns=["input", "goals", "slowest_in", "slowest_share", "median_pace"])
    slowest = lags.groupby("goal_id").first()["input"].value_counts()
    table = lags.groupby("input").agg(goals=("goal_id", "nunique"), median_pace=("pace", "median")).reset_index()
    table["slowest_in"] = table["input"].map(slowest).fillna(0).astype(int)
    table["slowest_share"] = table["slowest_in"] / max(lags["goal_id"].nunique(), 1)
    low, high = wilson(table["slowest_in"], lags["goal_id"].nunique())
    table["ci_low"], table["ci_high"] = low, high
    return table.sort_values("slowest_in", ascending=False).reset_index(drop=True)
