"""Feature-level usage: which features' use separates renewals from churn, and which go unused."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs.usage import Usage
from ..measure.pointintime import days
from ..measure.signals import USAGE_DAYS
from .signals import validity


def feature_usage(decisions: pd.DataFrame, usage: Usage, min_events: int = 10, level: float = 0.95) -> pd.DataFrame:
    """Per feature: share of decisions with no use in the 90 days before observation, churn rate of users
    and non-users, and the AUC of the feature's events, judged by `signals.validity` (intervals
    Bonferroni-adjusted over features; no AUC where churn or renewal events are too few)."""
    if not usage.features:
        return pd.DataFrame()
    features = usage.features
    events = usage.feature_sums(decisions["account_id"], days(decisions["observation_date"]), USAGE_DAYS)
    events.index = decisions.index
    judged = validity(
        events.assign(renewed=decisions["renewed"], account_id=decisions["account_id"]), features, level, min_events
    )
    churned = ~decisions["renewed"].to_numpy()
    unused = events.to_numpy() == 0
    with np.errstate(invalid="ignore", divide="ignore"):
        table = pd.DataFrame(
            {
                "feature": features,
                "unused_share": unused.mean(axis=0),
                "churn_rate_users": (~unused & churned[:, None]).sum(axis=0) / (~unused).sum(axis=0),
                "churn_rate_non_users": (unused & churned[:, None]).sum(axis=0) / unused.sum(axis=0),
                "auc": judged["auc"].where(judged["warning"].isna()).to_numpy(),
                "auc_ci_low": judged["auc_ci_low"].to_numpy(),
                "auc_ci_high": judged["auc_ci_high"].to_numpy(),
            }
        )
    table["separates"] = (table["auc_ci_low"] > 0.5) | (table["auc_ci_high"] < 0.5)
    return table.sort_values("auc", ascending=False, na_position="last").reset_index(drop=True)
