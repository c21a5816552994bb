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
