"""What a study could have detected: the power of an AUC test, so "no evidence" says how much evidence
there could have been.

The AUC's standard error under an alternative follows Hanley & McNeil (1982); clustering (an account's
several decisions) widens it by the design effect measured on the study's own data. A test at
two-sided level `alpha` detects an AUC with probability `power` when
0.5 + z(1 - alpha/2) * SE(0.5) + z(power) * SE(AUC) <= AUC.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

_GRID = np.linspace(0.5005, 0.9995, 1999)


def auc_standard_error(auc, positives, negatives):
    """Hanley & McNeil's standard error of an AUC estimated from `positives` and `negatives` cases."""
    auc = np.asarray(auc, dtype=float)
    q1, q2 = auc / (2 - auc), 2 * auc**2 / (1 + auc)
    variance = (auc * (1 - auc) + (positives - 1) * (q1 - auc**2) + (negatives - 1) * (q2 - auc**2)) / (
        positives * negatives
    )
    return np.sqrt(np.maximum(variance, 0.0))


def min_detectable_auc(
    positives: float, negatives: float, alpha: float, power: float = 0.8, design_effect: float = 1.0
) -> float:
    """The smallest AUC above 0.5 detected with `power` at two-sided level `alpha`; NaN when none is."""
    if positives < 1 or negatives < 1:
        return float("nan")
    inflate = np.sqrt(max(design_effect, 1.0))
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    null_se = auc_standard_error(0.5, positives, negatives) * inflate
    detected = 0.5 + z_alpha * null_se + z_power * auc_standard_error(_GRID, positives, negatives) * inflate <= _GRID
    return float(_GRID[detected.argmax()]) if detected.any() else float("nan")


def decisions_needed(
    positives: float, negatives: float, target_auc: float, alpha: float, power: float = 0.8, design_effect: float = 1.0
) -> int | None:
    """Decisions (at this study's churn share and clustering) at which an AUC of `target_auc` is detected
    with `power`; None when there are no cases of one outcome to scale from."""
    total = positives + negatives
    if positives < 1 or negatives < 1:
        return None
    share = positives / total
    sizes = np.unique(np.round(np.geomspace(20, 1e8, 4000)))
    m, n = sizes * share, sizes * (1 - share)
    inflate = np.sqrt(max(design_effect, 1.0))
    z_alpha, z_power = stats.norm.ppf(1 - alpha / 2), stats.norm.ppf(power)
    enough = (
        (
            0.5 + (z_alpha * auc_standard_error(0.5, m, n) + z_power * auc_standard_error(target_auc, m, n)) * inflate
            <= target_auc
        )
        & (m >= 1)
        & (n >= 1)
    )
    return int(sizes[enough.argmax()]) if enough.any() else None


def decisions_to_settle(auc: np.ndarray, low: np.ndarray, high: np.ndarray, n: np.ndarray, useful: float) -> np.ndarray:
    """Decisions at which an interval like [low, high] around `auc`, from `n` decisions, would settle the question
    if the AUC stayed where it is: narrow enough to lie wholly above (or below) 0.5, or wholly inside the band
    of useless AUCs (1 - useful, useful), whichever comes first. The half-width shrinks as one over the square
    root of the decisions, at this study's churn share and clustering. NaN where there is no interval or the
    AUC sits on a boundary it can never leave."""
    auc, low, high, n = (np.asarray(v, dtype=float) for v in (auc, low, high, n))
    half = (high - low) / 2
    distance = np.abs(auc - 0.5)
    target = np.maximum(distance, (useful - 0.5) - distance)  # the wider of the two ways to settle
    with np.errstate(divide="ignore", invalid="ignore"):
        needed = np.ceil(n * (half / target) ** 2)
    return np.where((target > 0) & np.isfinite(needed), needed, np.nan)
