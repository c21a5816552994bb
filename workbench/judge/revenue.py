"""Revenue retention of an account cohort: GRR, NRR and Earned Growth Rate, for any term length.

The cohort is the accounts that held ARR under contract on the window's first day. `arr_start` is the
ARR of their terms covering that day; `arr_end` the ARR the same accounts hold at the window's end (their
terms covering it; for a term decided renewed whose next term is not in the data, its renewal_arr;
nothing after churn). A term covers the days from its start_date up to, not including, its end_date, so a
renewal that starts the day its predecessor ends is counted once. An account that renews monthly for a
year at the same ARR keeps it whole; one that churns after six months keeps none.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..lookup import contained

SUCCESSOR_DAYS = 31  # a renewal's next term starts within this many days of the end (or the day before)


def held_on(contracts: pd.DataFrame, day: pd.Timestamp) -> pd.Series:
    """Per account: the ARR of its terms covering `day`."""
    covering = (contracts["start_date"] <= day) & (contracts["end_date"] > day)
    return contracts.loc[covering].groupby("account_id")["arr"].sum()


def stale(contracts: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Contracts still marked open on or after their end date: their renewal was never recorded."""
    return contracts.loc[(contracts["outcome"] == "open") & (contracts["end_date"] <= day)]


def _without_successor(contracts: pd.DataFrame, day: pd.Timestamp) -> pd.DataFrame:
    """Terms decided renewed by `day` whose next term is not in the data."""
    renewed = contracts.loc[
        (contracts["outcome"] == "renewed") & (contracts["end_date"] <= day), ["account_id", "end_date"]
    ].reset_index()
    starts = contracts[["account_id", "start_date"]]
    pairs = renewed.merge(starts, on="account_id")
    gap = (pairs["start_date"] - pairs["end_date"]).dt.days
    followed = pairs.loc[(gap >= -1) & (gap <= SUCCESSOR_DAYS), "index"].unique()
    return contracts.loc[renewed.loc[~renewed["index"].isin(followed), "index"]]


def _cohort_arr(contracts: pd.DataFrame, start, end) -> tuple[pd.Series, pd.Series, pd.DataFrame]:
    """Per account holding ARR on `start`: that ARR, the ARR it holds on `end`, and its stale contracts."""
    arr_start = held_on(contracts, start)
    arr_start = arr_start.loc[arr_start > 0]
    cohort = contracts.loc[contained(contracts["account_id"], arr_start.index)]
    carried = _without_successor(cohort, end)
    left_open = stale(cohort, end)
    arr_end = (
        held_on(cohort, end)
        .add(carried.groupby("account_id")["renewal_arr" if "renewal_arr" in carried else "arr"].sum(), fill_value=0)
        .add(left_open.groupby("account_id")["arr"].sum(), fill_value=0)
        .reindex(arr_start.index, fill_value=0.0)
    )
    return arr_start, arr_end, left_open


def movers(contracts: pd.DataFrame, start, end, count: int = 5) -> pd.DataFrame:
    """The `count` accounts of the cohort whose ARR moved most between `start` and `end` (either way): what
    drives a retention figure far from the usual."""
    arr_start, arr_end, _ = _cohort_arr(contracts, pd.Timestamp(start), pd.Timestamp(end))
    moved = pd.DataFrame(
        {"account_id": arr_start.index, "arr_start": arr_start.to_numpy(), "arr_end": arr_end.to_numpy()}
    )
    moved["arr_change"] = moved["arr_end"] - moved["arr_start"]
    order = moved["arr_change"].abs().sort_values(ascending=False, kind="stable").index
    return moved.loc[order].head(count).reset_index(drop=True)


def cohort_revenue(contracts: pd.DataFrame, referrals: pd.DataFrame | None, start, end) -> dict:
    """GRR, NRR and EGR of the accounts holding ARR on `start`, followed to `end`, with their parts."""
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    arr_start, arr_end, left_open = _cohort_arr(contracts, start, end)
    referral_arr = None
    if referrals is not None:
        dated = (referrals["date"] > start) & (referrals["date"] <= end)
        referral_arr = float(referrals.loc[dated, "arr"].sum())
    total = float(arr_start.sum())
    base = {
        "arr_start": total,
        "arr_end": float(arr_end.sum()),
        "accounts": int(len(arr_start)),
        "referral_arr": referral_arr,
        "stale_contracts": int(len(left_open)),
        "stale_arr": float(left_open["arr"].sum()),
        "stale_rule": "contracts still marked open after their end date are counted as held at their ARR",
    }
    if total <= 0 or not np.isfinite(total):
        return {
            **base,
            "grr": None,
            "nrr": None,
            "earned_growth_rate": None,
            "starting_arr": total,
            "churned_arr": 0.0,
            "contraction_arr": 0.0,
            "expansion_arr": 0.0,
            "logo_churn": None,
        }
    lost = arr_end <= 0
    nrr = float(arr_end.sum() / total)
    return {
        **base,
        "grr": float(np.minimum(arr_end, arr_start).sum() / total),
        "nrr": nrr,
        "earned_growth_rate": None if referral_arr is None else nrr + referral_arr / total - 1,
        "starting_arr": total,
        "churned_arr": float(arr_start[lost].sum()),
        "contraction_arr": float((arr_start - arr_end).clip(lower=0)[~lost].sum()),
        "expansion_arr": float((arr_end - arr_start).clip(lower=0).sum()),
        "churned_accounts": int(lost.sum()),
        "logo_churn": float(lost.mean()),
    }


def renewal_rate(decisions: pd.DataFrame) -> float | None:
    """The dollar renewal rate of the ARR up for renewal: sum of min(renewal_arr, arr) over sum of arr."""
    if "renewal_arr" not in decisions or decisions["arr"].sum() <= 0:
        return None
    kept = np.minimum(decisions["renewal_arr"].fillna(0), decisions["arr"])
    return float(kept.sum() / decisions["arr"].sum())
