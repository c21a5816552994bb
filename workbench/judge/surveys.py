"""What surveys say and who answers them: NPS intention vs referral action, and non-response."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs.contract import ROLES
from ..stats.rates import rate_table

NPS_CATEGORIES = ("detractor", "passive", "promoter", "no response")


def nps_category(mean_score: pd.Series) -> pd.Series:
    """An account's NPS category from the mean score of its responses (no responses: its own category)."""
    labels = np.select([mean_score >= 9, mean_score >= 7, mean_score < 7], ["promoter", "passive", "detractor"], "")
    return pd.Series(
        pd.Categorical(np.where(mean_score.isna(), "no response", labels), categories=NPS_CATEGORIES),
        index=mean_score.index,
    )


def intention_vs_action(decisions: pd.DataFrame, referrals: pd.DataFrame, start, end) -> pd.DataFrame:
    """Do promoters refer? Per NPS category at observation: accounts, share that referred in the window,
    and referral ARR per account."""
    dated = referrals.loc[(referrals["date"] > pd.Timestamp(start)) & (referrals["date"] <= pd.Timestamp(end))]
    per_account = dated.groupby("account_id")["arr"].sum()
    frame = decisions.assign(
        category=nps_category(decisions["nps_score_mean"]),
        referral_arr=decisions["account_id"].map(per_account).fillna(0.0),
    )
    frame = frame.assign(referred=frame["referral_arr"] > 0)
    table = rate_table(frame, "category", "referred").rename(columns={"events": "referred", "rate": "referral_rate"})
    arr = frame.groupby("category", observed=True)["referral_arr"].agg(["sum", "mean"])
    table["referral_arr"] = table["category"].map(arr["sum"]).astype(float)
    table["referral_arr_per_account"] = table["category"].map(arr["mean"]).astype(float)
    return table


def nonresponse(decisions: pd.DataFrame) -> pd.DataFrame:
    """Churn rate of decisions by who answered NPS in the year before observation."""
    churned = ~decisions["renewed"]
    groups = {"no one answered": decisions["nps_responses"] == 0, "someone answered": decisions["nps_responses"] > 0}
    for role in ROLES:
        column = f"nps_responses_{role}"
        if column in decisions:
            groups[f"{role.replace('_', ' ')} answered"] = decisions[column] > 0
    rows = []
    for name, mask in groups.items():
        part = pd.DataFrame({"group": name, "churned": churned[mask], "account_id": decisions["account_id"][mask]})
        rows.append(part)
    frame = pd.concat(rows, ignore_index=True)
    table = rate_table(frame, "group", "churned").rename(columns={"events": "churned", "rate": "churn_rate"})
    order = {name: i for i, name in enumerate(groups)}
    table["share_of_decisions"] = table["n"] / len(decisions)
    return table.sort_values("group", key=lambda s: s.map(order)).reset_index(drop=True)


def retest_reliability(surveys: pd.DataFrame) -> dict:
    """How much of an NPS answer is the person and how much the day: for contacts who answered more than once,
    the correlation of their first two answers (Fisher's interval; one pair per person, so pairs are
    independent) and the intraclass correlation over all their answers (one-way ANOVA, ICC(1)): the share of
    answer variance that is stable to the person. Its square root is how closely one answer tracks the
    person's stance."""
    answers = (
        surveys.loc[(surveys["survey"] == "nps") & surveys["contact_id"].notna()] if "contact_id" in surveys else None
    )
    if answers is None or answers.empty:
        return {"contacts": 0}
    answers = answers.sort_values("date")
    counts = answers.groupby("contact_id")["score"].transform("size")
    repeated = answers.loc[counts >= 2]
    people = repeated["contact_id"].nunique()
    if people < 10:
        return {"contacts": int(people)}
    order = repeated.groupby("contact_id").cumcount()
    first = repeated.loc[order == 0].set_index("contact_id")["score"]
    second = repeated.loc[order == 1].set_index("contact_id")["score"].reindex(first.index)
    r = float(np.corrcoef(first, second)[0, 1])
    z, se = np.arctanh(np.clip(r, -0.999999, 0.999999)), 1 / np.sqrt(max(people - 3, 1))
    grouped = repeated.groupby("contact_id")["score"]
    k = grouped.size()
    grand = repeated["score"].mean()
    between = float((k * (grouped.mean() - grand) ** 2).sum() / (people - 1))
    within = float(((repeated["score"] - grouped.transform("mean")) ** 2).sum() / (len(repeated) - people))
    k0 = float((len(repeated) - (k**2).sum() / len(repeated)) / (people - 1))
    icc = (between - within) / (between + (k0 - 1) * within) if between + (k0 - 1) * within > 0 else np.nan
    return {
        "contacts": int(people),
        "answers": int(len(repeated)),
        "retest_correlation": r,
        "ci_low": float(np.tanh(z - 1.96 * se)),
        "ci_high": float(np.tanh(z + 1.96 * se)),
        "stable_share": float(icc),
        "single_answer_tracks": float(np.sqrt(max(icc, 0.0))),
    }
