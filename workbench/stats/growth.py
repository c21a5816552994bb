"""Growth curves of goal attainment: a random intercept and slope per goal, fitted fast.

The model is attainment = (b0 + u0) + (b1 + u1) * month + noise, with goal-level deviations u0,
u1 drawn from independent normals. statsmodels MixedLM fits it exactly but takes minutes at
100,000 goals; here it is fitted in two stages with no loop over goals: per-goal least squares
from sums accumulated with `np.bincount`, then each goal's estimates shrunk toward the population
by its precision (empirical Bayes; the BLUP when the variance components are the
method-of-moments ones). tests/test_goals.py checks it agrees with MixedLM on a sample.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class GrowthModel:
    goals: pd.DataFrame  # goal_id, n, intercept, slope (shrunk), last_month
    intercept: float  # population
    slope: float
    intercept_sd: float  # between-goal standard deviations
    slope_sd: float
    residual_sd: float

    def project(self, goal_ids: pd.Series, month) -> np.ndarray:
        """Projected attainment of each goal at `month` (months since the goal's start)."""
        fitted = self.goals.set_index("goal_id").reindex(pd.Index(goal_ids))
        intercept = fitted["intercept"].fillna(self.intercept).to_numpy()
        slope = fitted["slope"].fillna(self.slope).to_numpy()
        return intercept + slope * np.asarray(month, dtype=float)

    def population_band(self, months: np.ndarray, quantiles=(0.1, 0.9)) -> pd.DataFrame:
        """The population curve and the spread of goals' own curves around it, per month."""
        curves = self.goals["intercept"].to_numpy()[:, None] + self.goals["slope"].to_numpy()[:, None] * months
        low, high = np.quantile(curves, quantiles, axis=0)
        return pd.DataFrame(
            {"month": months, "attainment": self.intercept + self.slope * months, "low": low, "high": high}
        )


def fit_growth(curves: pd.DataFrame) -> GrowthModel:
    """Fit the model to tidy observations: goal_id, month, attainment."""
    codes, goal_ids = pd.factorize(curves["goal_id"])
    t = curves["month"].to_numpy(dtype=float)
    y = curves["attainment"].to_numpy(dtype=float)
    g = len(goal_ids)

    def total(weights):
        return np.bincount(codes, weights, g)

    n, st, sy, stt, sty = total(None), total(t), total(y), total(t * t), total(t * y)
    sxx = stt - st**2 / np.maximum(n, 1)
    has_slope = (n >= 2) & (sxx > 1e-9)
    slope = np.where(has_slope, (sty - st * sy / np.maximum(n, 1)) / np.where(has_slope, sxx, 1), np.nan)
    mean_t, mean_y = st / np.maximum(n, 1), sy / np.maximum(n, 1)
    intercept = np.where(has_slope, mean_y - slope * mean_t, np.nan)

    residual = y - (intercept[codes] + slope[codes] * t)
    fitted_rows = has_slope[codes]
    dof = max(fitted_rows.sum() - 2 * has_slope.sum(), 1)
    sigma2 = float(np.nansum(residual[fitted_rows] ** 2) / dof)

    # Sampling variances of each goal's own estimates, then between-goal variances by moments.
    var_slope = sigma2 / np.where(has_slope, sxx, np.inf)
    var_intercept = sigma2 * (1 / np.maximum(n, 1) + mean_t**2 / np.where(has_slope, sxx, np.inf))
    ok = has_slope
    population_slope = float(np.average(slope[ok], weights=1 / (var_slope[ok] + 1e-12))) if ok.any() else 0.0
    population_intercept = (
        float(np.average(intercept[ok], weights=1 / (var_intercept[ok] + 1e-12))) if ok.any() else 0.0
    )
    tau_slope2 = max(float(np.var(slope[ok]) - np.mean(var_slope[ok])), 1e-12) if ok.any() else 1e-12
    tau_intercept2 = max(float(np.var(intercept[ok]) - np.mean(var_intercept[ok])), 1e-12) if ok.any() else 1e-12

    shrink_slope = np.where(ok, tau_slope2 / (tau_slope2 + var_slope), 0.0)
    slope_blup = population_slope + shrink_slope * np.nan_to_num(slope - population_slope)
    # A goal with one observation still tells its level: its intercept given the shrunk slope.
    own_intercept = np.where(ok, intercept, mean_y - slope_blup * mean_t)
    var_own = np.where(ok, var_intercept, sigma2 / np.maximum(n, 1))
    shrink_intercept = tau_intercept2 / (tau_intercept2 + var_own)
    intercept_blup = population_intercept + shrink_intercept * (own_intercept - population_intercept)
    goals = pd.DataFrame(
        {
            "goal_id": goal_ids,
            "n": n.astype(int),
            "intercept": intercept_blup,
            "slope": slope_blup,
            "last_month": pd.Series(t).groupby(codes).max().to_numpy(),
        }
    )
    return GrowthModel(
        goals,
        population_intercept,
        population_slope,
        float(np.sqrt(tau_intercept2)),
        float(np.sqrt(tau_slope2)),
        float(np.sqrt(sigma2)),
    )
