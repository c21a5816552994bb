"""Area under the ROC curve with DeLong standard errors, for one signal or several on the same cases.

DeLong, DeLong & Clarke-Pearson (1988), in the O(n log n) midrank form of Sun & Xu (2014).
`positive` is the outcome the signal is expected to rise with (here: renewed).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


def _midranks(x: np.ndarray) -> np.ndarray:
    """Ranks 1..n along the last axis, ties sharing their mean rank."""
    return stats.rankdata(x, axis=-1)


@dataclass(frozen=True)
class Delong:
    auc: np.ndarray  # one per signal
    covariance: np.ndarray  # signals x signals
    positives: int
    negatives: int


def delong(scores: np.ndarray, positive: np.ndarray) -> Delong:
    """AUCs and their covariance for `scores` (signals x cases, or one row) against a boolean outcome."""
    scores = np.atleast_2d(np.asarray(scores, dtype=float))
    positive = np.asarray(positive, dtype=bool)
    x, y = scores[:, positive], scores[:, ~positive]
    m, n = x.shape[1], y.shape[1]
    tx, ty = _midranks(x), _midranks(y)
    tz = _midranks(np.concatenate([x, y], axis=1))
    auc = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2) / n
    v01 = (tz[:, :m] - tx) / n  # per positive case: share of negatives it outranks
    v10 = 1 - (tz[:, m:] - ty) / m  # per negative case: share of positives that outrank it
    sx = np.atleast_2d(np.cov(v01)) if m > 1 else np.zeros((len(auc), len(auc)))
    sy = np.atleast_2d(np.cov(v10)) if n > 1 else np.zeros((len(auc), len(auc)))
    return Delong(auc, sx / m + sy / n, m, n)


def auc_interval(score, positive, level: float = 0.95) -> tuple[float, float, float]:
    """(auc, low, high): DeLong interval at `level`, clipped to [0, 1]."""
    result = delong(score, positive)
    auc = float(result.auc[0])
    half = stats.norm.ppf(0.5 + level / 2) * np.sqrt(max(result.covariance[0, 0], 0.0))
    return auc, max(auc - half, 0.0), min(auc + half, 1.0)


def paired_difference(first, second, positive, level: float = 0.95) -> dict[str, float]:
    """AUC(first) - AUC(second) on the same cases, with its DeLong interval and two-sided p-value."""
    result = delong(np.vstack([first, second]), positive)
    difference = float(result.auc[0] - result.auc[1])
    c = result.covariance
    se = float(np.sqrt(max(c[0, 0] + c[1, 1] - 2 * c[0, 1], 0.0)))
    half = stats.norm.ppf(0.5 + level / 2) * se
    p = float(2 * stats.norm.sf(abs(difference) / se)) if se > 0 else float("nan")
    return {"difference": difference, "ci_low": difference - half, "ci_high": difference + half, "p_value": p}


def bootstrap_auc(score, positive, resamples: int = 2000, seed: int = 0, chunk: int = 64) -> np.ndarray:
    """AUCs of `resamples` case-resampled replicates, without re-sorting per replicate.

    Cases are ranked once; each replicate's AUC is the weighted Mann-Whitney statistic with
    multinomial weights, using cumulative negative weight below each distinct score.
    """
    score = np.asarray(score, dtype=float)
    positive = np.asarray(positive, dtype=bool)
    order = np.argsort(score, kind="stable")
    score, positive = score[order], positive[order]
    _, group = np.unique(score, return_inverse=True)
    groups = group.max() + 1
    rng = np.random.default_rng(seed)
    out = np.empty(resamples)
    n = len(score)
    for begin in range(0, resamples, chunk):
        k = min(chunk, resamples - begin)
        weights = rng.multinomial(n, np.full(n, 1 / n), size=k)[:, order].astype(float)
        negative_weight = np.where(positive, 0.0, weights)
        per_group = _group_sums(negative_weight, group, groups)
        below = np.cumsum(per_group, axis=1) - per_group  # negatives strictly below each group
        positive_weight = np.where(positive, weights, 0.0)
        wins = (positive_weight * (below[:, group] + 0.5 * per_group[:, group])).sum(axis=1)
        out[begin:begin + k] = wins / (positive_weight.sum(axis=1) * negative_weight.sum(axis=1))
    return out


def _group_sums(weights: np.ndarray, group: np.ndarray, groups: int) -> np.ndarray:
    """Row-wise sums of `weights` by `group` (cases are sorted, so groups are contiguous)."""
    boundaries = np.flatnonzero(np.r_[True, np.diff(group) != 0])
    return np.add.reduceat(weights, boundaries, axis=1)[:, :groups]
