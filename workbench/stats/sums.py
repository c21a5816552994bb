"""Rows of per-case weights (bootstrap replicates, or each signal's DeLong components) summed per group of cases,
for estimators that need only each group's total: cases that repeat, the days of a survival curve, the strata
of a propensity score, an account's decisions."""

from __future__ import annotations

import numpy as np


def summed_per_group(weights: np.ndarray, groups: np.ndarray, count: int) -> np.ndarray:
    """Each row of `weights` (rows x cases) summed per group: `groups` numbers each case's group from 0 to
    `count` - 1, the same for every row (one per case) or its own (rows x cases). Shape (rows, count); a group's
    cases are added in their order, so the sums do not depend on how the groups are numbered."""
    weights = np.atleast_2d(weights)
    cells = (np.arange(len(weights))[:, None] * count + groups).ravel()
    return np.bincount(cells, weights.ravel(), len(weights) * count).reshape(len(weights), count)
