"""Kaplan-Meier medians for many bootstrap replicates at once."""

from __future__ import annotations

import numpy as np

from .sums import summed_per_group


def km_median(time, event, weights=None) -> np.ndarray:
    """The Kaplan-Meier median of `time` (`event` False: censored then), once per row of `weights`
    (replicates x cases; one unweighted estimate without). NaN where survival never falls to one half.

    Survival falls only at the distinct event times, by the share of those still at risk who had the event
    then, so each replicate's weights are summed per distinct time first (a few hundred days, not every case)."""
    time, event = np.asarray(time, dtype=float), np.asarray(event, dtype=bool)
    w = np.ones((1, len(time))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    if not len(time):
        return np.full(len(w), np.nan)
    times, at = np.unique(time, return_inverse=True)
    ended = summed_per_group(w, at, len(times))  # per replicate and distinct time: everyone
    events = summed_per_group(w * event, at, len(times))  # of whom had the event then
    at_risk = np.cumsum(ended[:, ::-1], axis=1)[:, ::-1]
    with np.errstate(invalid="ignore", divide="ignore"):
        hazard = np.where(at_risk > 0, events / at_risk, 0.0)
    survival = np.cumprod(1 - hazard, axis=1)
    below = survival <= 0.5 + 1e-12
    return np.where(below.any(axis=1), times[below.argmax(axis=1)], np.nan)
