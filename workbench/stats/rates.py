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
    grouped = frame.groupby(keys, observed=True)
    sizes = grouped.size()
    group, cluster_code = grouped.ngroup().to_numpy(), pd.factorize(frame[cluster])[0]
    kept = (group >= 0) & (cluster_code >= 0)  # a row whose key or cluster is missing counts nowhere
    group, cluster_code = group[kept].astype(np.int64), cluster_code[kept].astype(np.int64)
    events = frame[event].to_numpy(dtype=float)[kept]
    # Cases per (group, cluster) and their events, in flat arrays: grouping frames here cost 20 ms a table.
    pair, case_pair = np.unique(group * (cluster_code.max(initial=0) + 1) + cluster_code, return_inverse=True)
    pair_group = group[np.unique(case_pair, return_index=True)[1]]
    pair_size = np.bincount(case_pair, minlength=len(pair)).astype(float)
    pair_events = np.bincount(case_pair, weights=events, minlength=len(pair))

    def per_group(values=None):
        return np.bincount(pair_group, weights=values, minlength=len(sizes))

    n, units = per_group(pair_size), per_group()
    p = per_group(pair_events) / n
    deviation = per_group((pair_events - p[pair_group] * pair_size) ** 2)
    clustered = deviation * units / np.clip(units - 1, 1, None) / n**2
    simple = p * (1 - p) / n
    with np.errstate(invalid="ignore", divide="ignore"):
        design_effect = np.where(simple > 0, clustered / simple, 1.0).clip(min=1.0)
    return pd.Series(n / design_effect, index=sizes.index)[n > 0]


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
