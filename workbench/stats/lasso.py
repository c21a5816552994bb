"""L1-penalized logistic regression for many cases and few predictors: the scorecard's weights.

It solves liblinear's L1 problem, intercept penalized like any coefficient (scikit-learn's `solver="liblinear"`
with `intercept_scaling=1`): minimize ||w||_1 + C * sum_i weight_i * log(1 + exp(-y_i w.x_i)). liblinear
works through every case for each coefficient it updates; with a dozen predictors it is cheaper to form the
curvature once per Newton step (one matrix product) and solve the penalized step on that small matrix
(proximal Newton, as glmnet does): the scorecard makes over a hundred such fits.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit

CURVATURE_FLOOR = 1e-12  # liblinear's nu: a column that never varies still has a step
TOLERANCE = 1e-8  # on the penalized gradient, relative to its size at zero; liblinear stops at 1e-4


def l1_logistic(x, y, penalty: float, weight=None, max_steps: int = 100) -> tuple[np.ndarray, float]:
    """Coefficients and intercept of the L1 logistic regression of `y` (0/1) on `x` (cases x predictors), with
    liblinear's `C` = `penalty` and each case counted `weight` times."""
    design = np.column_stack([np.asarray(x, dtype=float), np.ones(len(x))])
    y = np.asarray(y, dtype=float)
    scale = penalty * (np.ones(len(y)) if weight is None else np.asarray(weight, dtype=float))
    coefficients = np.zeros(design.shape[1])
    margin = np.zeros(len(y))
    loss = _loss(margin, y, scale)
    start = None
    for _ in range(max_steps):
        probability = expit(margin)
        gradient = design.T @ (scale * (probability - y))
        violation = _violation(gradient, coefficients)
        start = violation if start is None else start
        if violation <= TOLERANCE * max(start, 1.0):
            break
        curvature = (design * (scale * probability * (1 - probability))[:, None]).T @ design
        step = _penalized_step(gradient, curvature, coefficients)
        change = design @ step
        decrease = gradient @ step + np.abs(coefficients + step).sum() - np.abs(coefficients).sum()
        if decrease >= 0:  # no step lowers the objective: as close to the optimum as arithmetic allows
            break
        objective = loss + np.abs(coefficients).sum()
        size = 1.0
        while size > 1e-10:  # backtrack until the penalized loss falls enough (Armijo, as liblinear)
            trial = _loss(margin + size * change, y, scale) + np.abs(coefficients + size * step).sum()
            if trial <= objective + 0.01 * size * decrease:
                break
            size /= 2
        else:
            break
        coefficients += size * step
        margin += size * change
        loss = trial - np.abs(coefficients).sum()
    return coefficients[:-1], float(coefficients[-1])


def _loss(margin: np.ndarray, y: np.ndarray, scale: np.ndarray) -> float:
    return float(scale @ (np.logaddexp(0.0, margin) - y * margin))


def _violation(gradient: np.ndarray, coefficients: np.ndarray) -> float:
    """The largest entry of the penalized objective's minimum-norm subgradient: zero at the optimum."""
    signs = np.sign(coefficients)
    return float(
        np.where(signs != 0, np.abs(gradient + signs), np.maximum(np.abs(gradient) - 1.0, 0.0)).max(initial=0.0)
    )


def _penalized_step(gradient: np.ndarray, curvature: np.ndarray, coefficients: np.ndarray) -> np.ndarray:
    """The step d minimizing gradient.d + d'Hd/2 + ||coefficients + d||_1: the point u = coefficients + d solves
    the small lasso u'Hu/2 + c.u + ||u||_1 with c = gradient - H coefficients, found exactly by feature-sign
    search (Lee, Battle, Raina and Ng, 2006): guess which coefficients are non-zero and their signs, solve
    the linear system for them, and move only as far as the first sign change, until no guess is wrong."""
    curvature = curvature + CURVATURE_FLOOR * np.eye(len(curvature))
    linear = gradient - curvature @ coefficients
    point = coefficients.copy()  # the search may start anywhere; here, Newton's later steps keep their signs
    for _ in range(10 * len(point) + 10):
        slope = curvature @ point + linear
        free = np.where(point == 0, np.abs(slope), 0.0)
        j = int(np.argmax(free))
        if free[j] > 1.0 + SUBPROBLEM_TOLERANCE:
            point = _feature_sign(point, j, -np.sign(slope[j]), curvature, linear)
        elif _settled(point, slope):
            break
        else:
            point = _feature_sign(point, None, 0.0, curvature, linear)
    return point - coefficients


SUBPROBLEM_TOLERANCE = 1e-10


def _settled(point: np.ndarray, slope: np.ndarray) -> bool:
    """Whether the non-zero coefficients are where the penalized slope is zero."""
    moving = point != 0
    return bool(
        (np.abs(slope[moving] + np.sign(point[moving])) <= SUBPROBLEM_TOLERANCE * max(1.0, np.abs(slope).max())).all()
    )


def _feature_sign(point, added, sign, curvature, linear) -> np.ndarray:
    """One feature-sign step: with `added` (if any) joining the non-zero coefficients at `sign`, solve for those
    coefficients with their signs fixed, then take the best point on the way there at which a sign changes."""
    signs = np.sign(point)
    if added is not None:
        signs[added] = sign
    chosen = np.flatnonzero(signs)
    block = curvature[np.ix_(chosen, chosen)]
    try:
        target = np.linalg.solve(block, -(linear[chosen] + signs[chosen]))
    except np.linalg.LinAlgError:  # columns that are copies of each other: any of the solutions
        target = np.linalg.lstsq(block, -(linear[chosen] + signs[chosen]), rcond=None)[0]
    now = point[chosen]
    crossings = [(1.0, None)]  # where to stop, and the coefficient that reaches zero there
    for k in np.flatnonzero((now != 0) & (np.sign(target) != np.sign(now))):
        crossings.append((now[k] / (now[k] - target[k]), k))
    best, best_value = now, np.inf
    for t, k in crossings:
        candidate = now + t * (target - now)
        if k is not None:
            candidate[k] = 0.0
        value = candidate @ block @ candidate / 2 + linear[chosen] @ candidate + np.abs(candidate).sum()
        if value < best_value:
            best, best_value = candidate, value
    moved = np.zeros_like(point)
    moved[chosen] = best
    return moved
