"""Which usage behaviour warns of churn: each behavioural metric judged like a signal (one exploratory family
of its own), with the lift of its riskiest decile and its group among metrics that move together."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..measure.behaviour import skew_aware
from ..stats.groups import correlated_groups
from .signals import JUDGED, explore, validity


def top_decile_lift(frame: pd.DataFrame, metric: str, higher_renews: bool) -> float:
    """Churn rate of the tenth of decisions the metric ranks riskiest, over the churn rate of all with a value."""
    known = frame.loc[frame[metric].notna()]
    if len(known) < 10 or known["renewed"].all():
        return np.nan
    order = known[metric].rank(method="first", ascending=higher_renews)
    riskiest = known.loc[order <= max(len(known) // 10, 1)]
    return float((~riskiest["renewed"]).mean() / (~known["renewed"]).mean())


def judge_behaviour(
    decisions: pd.DataFrame, metrics: list[str], min_events: int = 10, min_useful_auc: float = 0.6
) -> pd.DataFrame:
    """One row per metric, exploratory (`signals.explore`: intervals simultaneous over these metrics, clustered by
    account, and no verdict: the metrics lie outside the report's family), the
    lift of its riskiest decile, and its group (metrics correlated above 0.7 after a skew-aware scale)."""
    board = explore(
        validity(decisions, metrics, min_events=min_events, family_size=len(metrics), min_useful_auc=min_useful_auc)
    )
    board["top_decile_lift"] = [
        top_decile_lift(decisions, m, auc >= 0.5 if pd.notna(auc) else True)
        for m, auc in zip(board["signal"], board["auc"])
    ]
    scaled = pd.DataFrame({m: skew_aware(decisions[m]) for m in metrics})
    board["metric_group"] = correlated_groups(scaled) if len(metrics) else []
    return board[
        [
            *JUDGED,
            "top_decile_lift",
            "metric_group",
            "conclusion",
            "verdict",
        ]
    ]
