"""Growth curves of goal attainment: a random intercept and slope per goal on a chosen time basis, fitted fast.

The model is attainment = (b0 + u0) + (b1 + u1) * f(month) + noise, with each goal's deviations
(u0, u1) drawn from a joint normal N(0, T) and f one of `FORMS`: linear, square root, logarithm or
square of the month, or the population's own mean curve (which fits saturating, S-shaped or stalled
progress). statsmodels MixedLM fits it exactly but takes minutes at 100,000 goals; here every goal's
sufficient statistics are accumulated with `np.bincount`, the residual variance and T come from the
goals' own least-squares fits by moments, and then, with batched 2x2 algebra and no loop over goals,
the population means are the generalized least-squares ones (each goal weighted by the inverse of
T + its sampling variance) and each goal's curve is its BLUP, (T^-1 + X'X/s2)^-1 X'(y - Xb)/s2:
intercept and slope shrunk jointly, and a goal measured once still informative about its level with
its slope's uncertainty counted. tests/test_goals.py checks it against MixedLM on a sample.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..lookup import positions

FORMS = ("linear", "square root", "logarithmic", "quadratic", "population shape")


@dataclass
class Basis:
    """f(month) of the growth model; "population shape" interpolates the population's mean curve."""

    form: str = "linear"
    months: np.ndarray | None = None
    values: np.ndarray | None = None

    def __call__(self, month) -> np.ndarray:
        t = np.maximum(np.asarray(month, dtype=float), 0.0)
        if self.form == "linear":
            return t
        if self.form == "square root":
            return np.sqrt(t)
        if self.form == "logarithmic":
            return np.log1p(t)
        if self.form == "quadratic":
            return t**2
        return np.interp(t, self.months, self.values)


def population_shape(curves: pd.DataFrame, until_month: float = 12) -> Basis | None:
    """The mean attainment curve, month by month, of the goals measured for `until_month` months (None where
    there are fewer than 20 such goals)."""
    reached = curves.groupby("goal_id")["month"].transform("max")
    complete = curves.loc[reached >= until_month - 0.5]
    if complete["goal_id"].nunique() < 20:
        return None
    month = complete["month"].round().clip(upper=until_month)
    mean = complete.groupby(month)["attainment"].mean()
    return Basis("population shape", mean.index.to_numpy(dtype=float), mean.to_numpy(dtype=float))


@dataclass
class GrowthModel:
    goals: pd.DataFrame  # goal_id, n, intercept, slope (BLUPs)
    intercept: float  # population (generalized least squares)
    slope: float  # per unit of basis(month)
    intercept_sd: float  # between-goal standard deviations (from T)
    slope_sd: float
    residual_sd: float
    basis: Basis = field(default_factory=Basis)
    check: pd.DataFrame | None = None  # each form's out-of-sample projection error, where it was chosen by one

    def project(self, goal_ids: pd.Series, month) -> np.ndarray:
        """Projected attainment of each goal at `month` (months since the goal's start)."""
        position = positions(pd.Index(self.goals["goal_id"]), goal_ids)
        known = position >= 0
        intercept = np.where(known, self.goals["intercept"].to_numpy()[position], self.intercept)
        slope = np.where(known, self.goals["slope"].to_numpy()[position], self.slope)
        return intercept + slope * self.basis(month)

    def population_band(self, months: np.ndarray, quantiles=(0.1, 0.9)) -> pd.DataFrame:
        """The population curve and the spread of goals' own curves around it, per month."""
        x = self.basis(months)
        curves = self.goals["intercept"].to_numpy()[:, None] + self.goals["slope"].to_numpy()[:, None] * x
        low, high = np.quantile(curves, quantiles, axis=0)
        return pd.DataFrame({"month": months, "attainment": self.intercept + self.slope * x, "low": low, "high": high})


def _inverse(m: np.ndarray) -> np.ndarray:
    """Inverses of a stack of 2x2 matrices."""
    det = m[:, 0, 0] * m[:, 1, 1] - m[:, 0, 1] * m[:, 1, 0]
    out = np.empty_like(m)
    out[:, 0, 0], out[:, 1, 1] = m[:, 1, 1] / det, m[:, 0, 0] / det
    out[:, 0, 1], out[:, 1, 0] = -m[:, 0, 1] / det, -m[:, 1, 0] / det
    return out


def fit_growth(curves: pd.DataFrame, basis: Basis | None = None) -> GrowthModel:
    """Fit the model to tidy observations (goal_id, month, attainment) on `basis` (linear by default)."""
    basis = basis or Basis()
    codes, goal_ids = pd.factorize(curves["goal_id"])
    x = basis(curves["month"].to_numpy(dtype=float))
    y = curves["attainment"].to_numpy(dtype=float)
    g = len(goal_ids)

    def total(weights=None):
        return np.bincount(codes, weights, g)

    n, sx, sxx, sy, sxy, syy = total(), total(x), total(x * x), total(y), total(x * y), total(y * y)
    xtx = np.stack([np.stack([n, sx], -1), np.stack([sx, sxx], -1)], -2)  # (g, 2, 2)
    xty = np.stack([sy, sxy], -1)
    det = n * sxx - sx**2
    own = (n >= 3) & (det > 1e-9 * np.maximum(n * sxx, 1e-12))  # goals with their own least-squares fit
    if own.sum() < 2:
        own = (n >= 2) & (det > 1e-12)
    inverse_own = _inverse(np.where(own[:, None, None], xtx, np.eye(2)))
    beta_own = np.einsum("gij,gj->gi", inverse_own, xty)
    rss = syy - np.einsum("gi,gi->g", beta_own, xty)
    dof = max(float((n[own] - 2).sum()), 1.0)
    sigma2 = max(float(rss[own].sum() / dof), 1e-10)

    # Between-goal covariance by moments: spread of own fits less their average sampling covariance.
    if own.sum() >= 3:
        spread = np.cov(beta_own[own].T)
        tau = spread - sigma2 * inverse_own[own].mean(axis=0)
    else:
        tau = np.diag([1e-6, 1e-6])
    values, vectors = np.linalg.eigh((tau + tau.T) / 2)
    tau = vectors @ np.diag(np.maximum(values, 1e-8)) @ vectors.T

    information = xtx / sigma2
    score = xty / sigma2
    a = _inverse(np.linalg.inv(tau)[None] + information)  # (T^-1 + I_i)^-1
    ia = information @ a  # matmul, not einsum: 6x faster on a stack of 2x2s
    weight = information - ia @ information  # X'V^-1X per goal
    weighted = score - np.einsum("gij,gj->gi", ia, score)  # X'V^-1y per goal
    beta = np.linalg.solve(weight.sum(axis=0), weighted.sum(axis=0))
    deviation = np.einsum("gij,gj->gi", a, score - np.einsum("gij,j->gi", information, beta))
    coefficients = beta[None] + deviation
    goals = pd.DataFrame(
        {
            "goal_id": goal_ids,
            "n": n.astype(int),
            "intercept": coefficients[:, 0],
            "slope": coefficients[:, 1],
        }
    )
    return GrowthModel(
        goals,
        float(beta[0]),
        float(beta[1]),
        float(np.sqrt(tau[0, 0])),
        float(np.sqrt(tau[1, 1])),
        float(np.sqrt(sigma2)),
        basis,
    )
