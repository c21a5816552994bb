"""Bootstrap replicates' weights summed per group of cases, for estimators that need only each group's total:
cases that repeat, the days of a survival curve, the strata of a propensity score."""

from __future__ import annotations

import numpy as np


def summed_per_group(weights: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """Each row of `weights` (replicates x cases) summed per group: `groups` numbers each case's group from 0 to
    `count` - 1, the same for every replicate (one per case) or its own (replicates x cases). Shape (replicates,
    count); the cases of a group are added in their order, so the sums do not depend on how groups are listed."""
    weights = np.atleast_2d(weights)
    cells = (np.arange(len(weights))[:, None] * count + groups).ravel()
    return np.bincount(cells, weights.ravel(), len(weights) * count).reshape(len(weights), count)
