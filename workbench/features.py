"""Feature-level usage: which features' use separates renewals from churn, and which go unused."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .auc import auc_interval
from .pointintime import Timeline, days
from .snapshot import USAGE_DAYS


def feature_usage(decisions: pd.DataFrame, usage: pd.DataFrame, min_events: int = 10, level: float = 0.95
                  ) -> pd.DataFrame:
    """Per feature: share of decisions with no use in the 90 days before observation, churn rate of users
    and non-users, and the AUC of the feature's events (intervals Bonferroni-adjusted over features)."""
    if "feature" not in usage or usage["feature"].isna().all():
        return pd.DataFrame()
    features = sorted(usage["feature"].dropna().unique())
    day = days(decisions["observation_date"])
    churned = ~decisions["renewed"].to_numpy()
    adjusted = 1 - (1 - level) / len(features)
    rows = []
    for feature in features:  # one vectorized pass per feature, never per account
        part = usage.loc[usage["feature"] == feature]
        events = Timeline(part["account_id"], part["date"], {"events": part["events"]}).window_sum(
            "events", decisions["account_id"], day, USAGE_DAYS)
        unused = events == 0
        row = {"feature": feature, "unused_share": unused.mean(),
               "churn_rate_users": churned[~unused].mean() if (~unused).any() else np.nan,
               "churn_rate_non_users": churned[unused].mean() if unused.any() else np.nan,
               "auc": np.nan, "auc_ci_low": np.nan, "auc_ci_high": np.nan}
        if churned.sum() >= min_events and (~churned).sum() >= min_events:
            row["auc"], row["auc_ci_low"], row["auc_ci_high"] = auc_interval(events, ~churned, adjusted)
        rows.append(row)
    table = pd.DataFrame(rows)
    table["separates"] = (table["auc_ci_low"] > 0.5) | (table["auc_ci_high"] < 0.5)
    return table.sort_values("auc", ascending=False, na_position="last").reset_index(drop=True)
