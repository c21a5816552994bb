"""Logistic regressions for many bootstrap replicates at once: Newton steps on stacked weights, no loop over fits."""

from __future__ import annotations

import numpy as np

from .sums import summed_per_group

RIDGE = 1e-3  # a whisker of shrinkage on the slopes: separated data keep finite coefficients
# Replicates x cases per block of fits: each Newton step holds a few matrices this size, so a large book's
# replicates are fitted a block at a time rather than all at once.
CELLS_AT_A_TIME = 5_000_000


def blocks(replicates: int, cases: int) -> list[slice]:
    """The replicates to fit at a time, so that a block holds at most CELLS_AT_A_TIME weights."""
    rows = max(1, CELLS_AT_A_TIME // max(1, cases))
    return [slice(i, i + rows) for i in range(0, replicates, rows)]


def fit_logistic(x, y, weights=None, iterations: int = 50, ridge: float = RIDGE, start=None) -> np.ndarray:
    """Coefficients (intercept first) of a logistic regression of `y` on `x` (cases x predictors, or their
    `Design`, whose cases are then fitted as they are), once per row of `weights` (replicates x cases; one
    unweighted fit without): shape (replicates, 1 + predictors). Newton's steps start from `start` (coefficients,
    such as the fit to the whole sample that bootstrap replicates vary around: half the steps) or from the
    overall rate.

    Each Newton step forms every replicate's curvature as one matrix product with the cases' pairwise column
    products (each pair once), so the work is a few BLAS calls however many replicates there are. Cases that
    repeat (a CSM's book size and whether the answer was late, say) are fitted once, weighted by their copies.
    A fit that does not converge within `iterations` steps (step-halved, see `_newton`) is a row of NaN."""
    y = np.asarray(y, dtype=float)
    w = np.ones((1, len(y))) if weights is None else np.atleast_2d(np.asarray(weights, dtype=float))
    if not isinstance(x, Design):
        x = _column(x)
        repeated = _repeated(np.column_stack([x, y]))
        if repeated is not None:
            cases, inverse = repeated
            w = np.vstack([summed_per_group(w[b], inverse, len(cases)) for b in blocks(len(w), len(y))])
            x, y = cases[:, :-1], cases[:, -1]
        x = Design(x)
    return np.vstack([_newton(x, y, w[b], iterations, ridge, start) for b in blocks(len(w), len(y))])


class Design:
    """Cases' predictors with the intercept's column and every pair of columns' products, which each Newton step
    needs: formed once for all the fits of one `x` (a bootstrap fitted block by block passes one Design)."""

    def __init__(self, x):
        self.x = _column(x)
        self.matrix = np.asfortranarray(np.column_stack([np.ones(len(self.x)), self.x]))
        self.upper = np.triu_indices(self.matrix.shape[1])  # the curvature is symmetric: half the products
        # Column by column on contiguous columns: gathering them by fancy indexing copies every pair's columns first.
        self.pairs = np.empty((len(self.matrix), len(self.upper[0])), order="F")
        for column, (a, b) in enumerate(zip(*self.upper)):
            np.multiply(self.matrix[:, a], self.matrix[:, b], out=self.pairs[:, column])


def _column(x) -> np.ndarray:
    x = x.x if isinstance(x, Design) else np.asarray(x, dtype=float)
    return x[:, None] if x.ndim == 1 else x


def _repeated(rows: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """The distinct rows and each row's among them, where at most half the rows are distinct (None otherwise).
    Rows' projections on a random direction are counted first: they are no more distinct than the rows, and
    sorting one column is cheap next to sorting rows."""
    if not len(rows):
        return None
    direction = np.random.default_rng(0).standard_normal(rows.shape[1])
    if len(np.unique(rows @ direction)) > len(rows) // 2:
        return None
    cases, inverse = np.unique(rows, axis=0, return_inverse=True)
    return (cases, inverse.ravel()) if len(cases) <= len(rows) // 2 else None


def _newton(x: Design, y, w, iterations: int, ridge: float, start) -> np.ndarray:
    """Newton's method with step-halving: a step that lowers a replicate's penalized likelihood is halved
    until it does not (a batch where nearly every case shares a flag took full steps to coefficients near
    +-130). A replicate that has not converged after `iterations` steps is NaN: no number rather than a wrong one."""
    design, pairs, upper = x.matrix, x.pairs, x.upper
    k = design.shape[1]
    penalty = np.full(k, ridge)
    penalty[0] = 0.0
    if start is None:
        share = np.clip((w @ y) / np.maximum(w.sum(axis=1), 1e-12), 1e-6, 1 - 1e-6)
        beta = np.zeros((len(w), k))
        beta[:, 0] = np.log(share / (1 - share))
    else:
        beta = np.repeat(np.atleast_2d(start).astype(float), len(w), axis=0)
    converged = np.zeros(len(w), dtype=bool)
    fit = _likelihood(beta, design, y, w, penalty)
    for _ in range(iterations):
        p = 1 / (1 + np.exp(-np.clip(beta @ design.T, -30, 30)))
        gradient = (w * (y - p)) @ design - penalty * beta
        curvature = np.empty((len(w), k, k))
        curvature[:, upper[0], upper[1]] = (w * p * (1 - p)) @ pairs
        curvature[:, upper[1], upper[0]] = curvature[:, upper[0], upper[1]]
        curvature += np.diag(penalty + 1e-9)
        step = np.linalg.solve(curvature, gradient[..., None])[..., 0]
        step[converged] = 0.0
        scale = np.ones(len(w))
        for _ in range(MAX_HALVINGS):
            tried = _likelihood(beta + scale[:, None] * step, design, y, w, penalty)
            worse = tried < fit - 1e-10 * (1 + np.abs(fit))
            if not worse.any():
                break
            scale[worse] /= 2
        beta += scale[:, None] * step
        fit = tried if not worse.any() else _likelihood(beta, design, y, w, penalty)
        converged |= np.abs(scale[:, None] * step).max(axis=1) < 1e-8
        if converged.all():
            break
    beta[~converged] = np.nan
    return beta


MAX_HALVINGS = 30


def _likelihood(beta, design, y, w, penalty) -> np.ndarray:
    """Each replicate's penalized log-likelihood."""
    eta = np.clip(beta @ design.T, -30, 30)
    return (w * (y * eta - np.logaddexp(0, eta))).sum(axis=1) - 0.5 * (penalty * beta**2).sum(axis=1)


def predict(beta: np.ndarray, x) -> np.ndarray:
    """Probabilities per replicate (rows of `beta`) and case."""
    x = _column(x)
    return 1 / (1 + np.exp(-np.clip(beta[:, :1] + beta[:, 1:] @ x.T, -30, 30)))
