"""What one renewal decision is: a contract term (the default), or an account on a date its contracts came up.

A book where accounts hold many subscriptions at once counts each subscription that ends as a churned term,
even while the account lives on. By account, the terms an account renews on one date are one decision, and
it is churned only when the account keeps no ARR after that date: no term of it renewed, and none of its
other terms runs on past the date. A partial loss is then a contraction (renewal ARR below ARR), as revenue
reports it.
"""

from __future__ import annotations

import pandas as pd

DECIDED = ("renewed", "churned")


def by_account(contracts: pd.DataFrame) -> pd.DataFrame:
    """`contracts` with its decided terms replaced by one decision per account and end date: ARR and renewal
    ARR summed, the earliest start, renewed where any of the terms renewed or another term of the account
    runs on past the date (start on or before it, end after it); open terms stay as they are."""
    decided = contracts["outcome"].isin(DECIDED)
    terms = contracts.loc[decided].assign(renewed_term=lambda t: t["outcome"] == "renewed")
    group = ["account_id", "end_date"]
    summed = [c for c in ("arr", "renewal_arr", "seats") if c in terms]
    firsts = {
        c: (c, "first") for c in terms.columns if c not in (*group, *summed, "start_date", "outcome", "renewed_term")
    }
    grouped = terms.groupby(group, sort=False)
    decisions = grouped.agg(start_date=("start_date", "min"), renewed_term=("renewed_term", "max"), **firsts).join(
        grouped[summed].sum(min_count=1)
    )
    decisions = decisions.reset_index()
    runs_on = (
        decisions[group]
        .reset_index()
        .merge(contracts[["account_id", "start_date", "end_date"]], on="account_id", suffixes=("", "_other"))
    )
    runs_on = runs_on.loc[
        (runs_on["start_date"] <= runs_on["end_date"]) & (runs_on["end_date_other"] > runs_on["end_date"])
    ]
    kept = decisions["renewed_term"] | decisions.index.isin(runs_on["index"])
    decisions["outcome"] = kept.map({True: "renewed", False: "churned"})
    if "churn_reason" in decisions:
        decisions["churn_reason"] = decisions["churn_reason"].where(~kept)
    decisions["contract_id"] = decisions["account_id"].astype(str) + " " + decisions["end_date"].dt.strftime("%Y-%m-%d")
    decisions = decisions[[c for c in contracts.columns if c in decisions]]
    return pd.concat([decisions, contracts.loc[~decided]], ignore_index=True)
