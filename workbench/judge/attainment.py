"""Goal attainment against renewal: bands taken at the observation date (a landmark), early warning,
survival, and what exceeding a goal does to expansion."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.duration.survfunc import SurvfuncRight, survdiff

from ..inputs.goal_inputs import GoalInputs
from ..measure.goals import BANDS, LANDMARKS, band
from ..stats.rates import clustered_wilson, rate_table, wilson
from .signals import validity


def attainment_bands(decisions: pd.DataFrame, column: str = "goal_attainment") -> pd.DataFrame:
    """Churn and expansion rate per band of attainment on the observation date, with intervals."""
    known = decisions.loc[decisions[column].notna()]
    known = known.assign(
        band=band(known[column]),
        churned=~known["renewed"],
        expanded=known.get("expanded", False),
    )
    grouped = known.groupby("band", observed=False)
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "churned": grouped["churned"].sum().astype(int),
            "expanded": grouped["expanded"].sum().astype(int),
        }
    ).reindex(list(BANDS), fill_value=0)
    table.index.name = "band"
    with np.errstate(invalid="ignore", divide="ignore"):
        table["churn_rate"] = np.where(table["n"] > 0, table["churned"] / table["n"], np.nan)
        table["expansion_rate"] = np.where(table["n"] > 0, table["expanded"] / table["n"], np.nan)
    for event, name in (("churned", "churn"), ("expanded", "expansion")):
        low, high = clustered_wilson(known.assign(**{event: known[event].astype(bool)}), "band", event)
        table[f"{name}_ci_low"], table[f"{name}_ci_high"] = low.reindex(table.index), high.reindex(table.index)
    if "account_id" in known:
        table["accounts"] = known.groupby("band", observed=False)["account_id"].nunique().reindex(table.index).fillna(0)
    return table.reset_index()


REACH_BINS = (-np.inf, 0.2, 0.4, 0.6, 0.8, 1.0, np.inf)
REACH_LABELS = ("<20%", "20-40%", "40-60%", "60-80%", "80-100%", ">=100%")


def early_warning(frame: pd.DataFrame, months=LANDMARKS, min_events: int = 10) -> pd.DataFrame:
    """AUC for renewal of attainment at each landmark month, with its 95% interval, clustered by account.

    Exploratory: the landmarks are one question asked at several times, outside the report's family
    of tests, so their intervals are not adjusted and a page must not state them as findings."""
    columns = [f"attainment_m{month}" for month in months]
    judged = validity(frame, columns, min_events=min_events, family_size=1)
    return pd.DataFrame(
        {
            "landmark_month": list(months),
            "n": judged["n"],
            "accounts": judged["accounts"],
            "churned": judged["churned"],
            "auc": judged["auc"].where(judged["warning"].isna()),
            "ci_low": judged["auc_ci_low"],
            "ci_high": judged["auc_ci_high"],
        }
    )


def landmark_sentence(warning: pd.DataFrame, month: int = 6) -> str:
    """What attainment at `month` of the goal said about renewal, in words from its (exploratory) interval."""
    row = warning.set_index("landmark_month").loc[month] if month in set(warning["landmark_month"]) else None
    if row is None or pd.isna(row["ci_low"]):
        return f"Attainment at month {month} of the goal could not be judged (too few goals measured by then)."
    return (
        f"Attainment at month {month} of the goal, for comparison: AUC {row['auc']:.2f} "
        f"[{row['ci_low']:.2f}, {row['ci_high']:.2f}] (exploratory: outside the report's family, not a finding)."
    )


def reach_probability(frame: pd.DataFrame, months=LANDMARKS) -> pd.DataFrame:
    """P(final attainment >= 100% | attainment band at a landmark month), with counts and intervals."""
    parts = []
    for month in months:
        known = frame.dropna(subset=[f"attainment_m{month}", "attainment_final"])
        part = pd.DataFrame(
            {
                "landmark_month": month,
                "band": pd.cut(known[f"attainment_m{month}"], REACH_BINS, labels=REACH_LABELS, right=False),
                "reached": known["attainment_final"] >= 1,
                "account_id": known["account_id"],
            }
        )
        parts.append(rate_table(part, ["landmark_month", "band"], "reached"))
    return pd.concat(parts, ignore_index=True).rename(columns={"events": "reached", "rate": "probability"})


def churn_times_vary(frame: pd.DataFrame, min_distinct: int = 3) -> bool:
    """True when churn falls at several distances from the observation date, so that a survival curve shows a
    time course; with fixed terms every churn sits at the term's end and the curve would be a single step."""
    churned = frame.loc[~frame["renewed"]]
    return (churned["end_date"] - churned["observation_date"]).dt.days.nunique() >= min_distinct


def survival_by_band(frame: pd.DataFrame, as_of) -> tuple[pd.DataFrame, dict]:
    """Kaplan-Meier curves of staying a customer after the observation date, by attainment band
    at observation, and the log-rank test across bands. Renewed accounts are censored at as_of."""
    known = frame.dropna(subset=["goal_attainment"])
    churned = ~known["renewed"]
    time = np.where(
        churned,
        (known["end_date"] - known["observation_date"]).dt.days,
        (pd.Timestamp(as_of) - known["observation_date"]).dt.days,
    )
    groups = band(known["goal_attainment"]).astype(str).to_numpy()
    steps = []
    for name in pd.unique(groups):
        mask = groups == name
        fit = SurvfuncRight(time[mask], churned.to_numpy()[mask].astype(int))
        # The curve runs on, flat, to the last follow-up: censored accounts are still customers.
        last = fit.surv_prob[-1] if len(fit.surv_prob) else 1.0
        steps.append(
            pd.DataFrame(
                {
                    "band": name,
                    "day": np.r_[0, fit.surv_times, time[mask].max()],
                    "survival": np.r_[1, fit.surv_prob, last],
                    "n": int(mask.sum()),
                }
            )
        )
    statistic, p_value = survdiff(time, churned.to_numpy().astype(int), groups)
    return pd.concat(steps, ignore_index=True), {
        "log_rank_statistic": float(statistic),
        "p_value": float(p_value),
        "groups": len(pd.unique(groups)),
    }


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
    columns = [
        c for c in ("account_id", "account_name", "segment", "end_date", "arr", "attainment_final") if c in frame
    ]
    return frame.loc[mask, columns].sort_values("arr", ascending=False).reset_index(drop=True)


def expansion_by_exceedance(frame: pd.DataFrame) -> pd.DataFrame:
    """Expansion rate and ARR among renewals by how far goals were exceeded at the term's end."""
    renewed = frame.loc[frame["renewed"] & frame["attainment_final"].notna()]
    renewed = renewed.assign(
        exceeded=pd.cut(
            renewed["attainment_final"],
            [-np.inf, 1.0, 1.5, np.inf],
            right=False,
            labels=["below 100%", "100-150%", "over 150%"],
        ),
        expansion_arr=(renewed["renewal_arr"] - renewed["arr"]).clip(lower=0),
    )
    table = rate_table(renewed, "exceeded", "expanded").rename(columns={"events": "expanded", "rate": "expansion_rate"})
    table["expansion_arr"] = table["exceeded"].map(renewed.groupby("exceeded", observed=True)["expansion_arr"].sum())
    return table


def input_priorities(goal_inputs: GoalInputs, goal_ids: pd.Series, as_of) -> pd.DataFrame:
    """Across off-track goals: how often each input is the slowest, and its median pace."""
    lags = goal_inputs.lags(goal_ids, as_of)
    if lags.empty:
        return pd.DataFrame(columns=["input", "goals", "slowest_in", "slowest_share", "median_pace"])
    slowest = lags.groupby("goal_id").first()["input"].value_counts()
    table = lags.groupby("input").agg(goals=("goal_id", "nunique"), median_pace=("pace", "median")).reset_index()
    table["slowest_in"] = table["input"].map(slowest).fillna(0).astype(int)
    table["slowest_share"] = table["slowest_in"] / max(lags["goal_id"].nunique(), 1)
    low, high = wilson(table["slowest_in"], lags["goal_id"].nunique())
    table["ci_low"], table["ci_high"] = low, high
    return table.sort_values("slowest_in", ascending=False).reset_index(drop=True)
