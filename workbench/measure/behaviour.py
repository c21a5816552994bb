"""How an account uses the product, beyond one sum: the behavioural metrics of Fighting Churn with Data
(change, active users, intensity per user, seat utilization, recency, breadth), each measured at the
observation date where the usage lies (one DuckDB pass, see Usage.behaviour)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs.usage import Usage
from .pointintime import days

METRICS = (
    "usage_change",
    "active_users",
    "events_per_active_user",
    "seat_utilization",
    "days_since_last_use",
    "feature_breadth",
)


def behaviour_metrics(usage: Usage, frame: pd.DataFrame, window_days: int = 90) -> pd.DataFrame:
    """The metrics this usage allows, one row per row of `frame` (account_id, observation_date; seats where
    the contracts have them), aligned with its index."""
    day = days(frame["observation_date"])
    found = usage.behaviour(frame["account_id"], day, window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        metrics = pd.DataFrame(
            {
                # log ratio of this window's events to the previous window's: -0.69 is a halving
                "usage_change": np.log1p(found["events"]) - np.log1p(found["events_before"]),
                "active_users": found["active_users"],
                "events_per_active_user": found["events"] / found["active_users"].where(found["active_users"] > 0),
                "seat_utilization": found["active_users"] / frame["seats"].where(frame["seats"] > 0).to_numpy()
                if "seats" in frame
                else np.nan,
                "days_since_last_use": day - found["last_day"],
                "feature_breadth": found["features_used"] / len(usage.features) if len(usage.features) > 1 else np.nan,
            },
            index=range(len(frame)),
        )
    metrics.index = frame.index
    return metrics.dropna(axis=1, how="all")


def skew_aware(values: pd.Series) -> pd.Series:
    """Standardized, after asinh where the values are skewed (skewness above 1), as counts and ratios often are."""
    shown = np.arcsinh(values) if abs(values.skew()) > 1 else values
    spread = shown.std()
    return (shown - shown.mean()) / spread if spread > 0 else shown * 0.0
