"""Proportions with honest intervals: Wilson's, widened for clustering where an account has several decisions."""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint


def wilson(events, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for events/n (NaN where n is 0); n may be an effective, fractional size."""
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        low, high = proportion_confint(events, n, alpha=1 - level, method="wilson")
    return np.asarray(low, dtype=float), np.asarray(high, dtype=float)


def effective_size(frame: pd.DataFrame, by, event: str, cluster: str) -> pd.Series:
    """Per group of `by` (a column or a list of columns): the number of independent cases its clustered
    cases are worth, n / design effect, with the design effect from the cluster-robust variance of the
    group's rate (at least 1)."""
    keys = [by] if isinstance(by, str) else list(by)
    cases = frame[keys].assign(_event=frame[event].astype(float), _cluster=frame[cluster])
    per_cluster = cases.groupby(keys + ["_cluster"], observed=True)["_event"].agg(["sum", "size"]).reset_index()
    groups = per_cluster.groupby(keys, observed=True)
    n = groups["size"].transform("sum")
    rate = groups["sum"].transform("sum") / n
    per_cluster["deviation"] = (per_cluster["sum"] - rate * per_cluster["size"]) ** 2
    summary = per_cluster.groupby(keys, observed=True).agg(
        n=("size", "sum"), events=("sum", "sum"), units=("size", "size"), deviation=("deviation", "sum")
    )
    p = summary["events"] / summary["n"]
    clustered = summary["deviation"] * summary["units"] / (summary["units"] - 1).clip(lower=1) / summary["n"] ** 2
    simple = p * (1 - p) / summary["n"]
    design_effect = (clustered / simple).where(simple > 0, 1.0).clip(lower=1.0)
    return summary["n"] / design_effect


def clustered_wilson(
    frame: pd.DataFrame, by, event: str, cluster: str | None = "account_id", level: float = 0.95
) -> tuple[pd.Series, pd.Series]:
    """Wilson intervals per group of `by`, widened for clustering when `cluster` is a column of `frame`."""
    grouped = frame.groupby(by, observed=True)[event]
    n, rate = grouped.size().astype(float), grouped.mean().astype(float)
    if cluster is not None and cluster in frame and len(frame):
        n = effective_size(frame, by, event, cluster).reindex(n.index).fillna(n)
    low, high = wilson(rate * n, n, level)
    return pd.Series(low, index=n.index), pd.Series(high, index=n.index)


def rate_table(frame: pd.DataFrame, by, event: str, cluster: str | None = "account_id") -> pd.DataFrame:
    """Per group of `by`: n, events, rate of the boolean column `event`, and its Wilson interval; with
    `cluster` (a column of `frame`, by default account_id) the interval is widened for the cases that
    share a cluster, and the table counts the clusters too."""
    grouped = frame.groupby(by, observed=True)[event]
    table = pd.DataFrame({"n": grouped.size(), "events": grouped.sum().astype(int)})
    table["rate"] = table["events"] / table["n"]
    if cluster is not None and cluster in frame:
        table["accounts"] = frame.groupby(by, observed=True)[cluster].nunique()
    table["ci_low"], table["ci_high"] = clustered_wilson(frame, by, event, cluster)
    return table.reset_index()
