"""Revenue retention over the decisions of a window: GRR, NRR and Earned Growth Rate."""
from __future__ import annotations

import numpy as np
import pandas as pd


def revenue_metrics(decisions: pd.DataFrame, referrals: pd.DataFrame | None, start, end) -> dict:
    """GRR, NRR and EGR with their parts; referral ARR counts when dated in (start, end]."""
    arr = decisions["arr"].sum()
    renewal = decisions["renewal_arr"].fillna(0) if "renewal_arr" in decisions else None
    referral_arr = 0.0
    if referrals is not None:
        dated = (referrals["date"] > pd.Timestamp(start)) & (referrals["date"] <= pd.Timestamp(end))
        referral_arr = float(referrals.loc[dated, "arr"].sum())
    if renewal is None or arr <= 0:
        return {"grr": None, "nrr": None, "earned_growth_rate": None, "starting_arr": float(arr),
                "referral_arr": referral_arr}
    kept = np.minimum(renewal, decisions["arr"])
    churned = decisions.loc[decisions["outcome"] == "churned", "arr"].sum()
    renewed = decisions["outcome"] == "renewed"
    contraction = (decisions["arr"] - renewal).clip(lower=0)[renewed].sum()
    expansion = (renewal - decisions["arr"]).clip(lower=0)[renewed].sum()
    nrr = renewal.sum() / arr
    return {
        "grr": float(kept.sum() / arr),
        "nrr": float(nrr),
        "earned_growth_rate": float(nrr + referral_arr / arr - 1),
        "starting_arr": float(arr),
        "churned_arr": float(churned),
        "contraction_arr": float(contraction),
        "expansion_arr": float(expansion),
        "referral_arr": referral_arr,
        "logo_churn": float((decisions["outcome"] == "churned").mean()),
    }
