"""Renewals as a CSM works them: one row per account, however many subscriptions it renews."""

from __future__ import annotations

import pandas as pd


def per_account(contracts: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per account of `contracts` (open contract terms): `arr` summed over its contracts, every
    other column as on its soonest-ending contract; account_id first."""
    chosen = [c for c in columns if c != "account_id"]
    return (
        contracts.sort_values("end_date", kind="stable")
        .groupby("account_id", sort=False, as_index=False)
        .agg({c: ("sum" if c == "arr" else "first") for c in chosen})
    )
