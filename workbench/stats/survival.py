"""Kaplan-Meier medians for many bootstrap replicates at once."""

from __future__ import annotations

import numpy as np


def km_median(time, event, weights=None) -> np.ndarray:
    """The Kaplan-Meier median of `time` (`event` False: censored then), once per row of `weights`
    (replicates x cases; one unweighted estimate without). NaN where survival never falls to one half."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    w = np.ones((1, len(time))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    if not len(time):
        return np.full(len(w), np.nan)
    order = np.lexsort((~event, time))  # at a tie, events before censorings, as the product-limit counts them
    t, e, w = time[order], event[order], w[:, order]
    at_risk = np.cumsum(w[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(e & (at_risk > 0), w / at_risk, 0.0)
    survival = np.cumprod(1 - hazard, axis=1)
    below = survival <= 0.5 + 1e-12
    return np.where(below.any(axis=1), t[below.argmax(axis=1)], np.nan)
