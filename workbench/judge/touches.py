"""Does a timely human touch change the outcome once risk is accounted for? Observational, and said so.

CSMs touch the accounts they see at risk, so touched accounts churn more even where a touch helps: the plain
comparison runs the wrong way. The adjusted estimate weights each at-risk decision by the inverse of its
chance of a timely touch given the risk measured when it turned at risk (a propensity model), and checks that
the weighting balanced those measures. Only measured risk is accounted for; an experiment (touch a random half
of the accounts that turn at risk) or a threshold rule (touch every account below a score) makes it causal.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from ..stats.auc import as_weights, poisson_levels
from ..stats.logistic import Design, blocks, fit_logistic, predict
from ..stats.sums import summed_per_group

REPLICATES = 300
PROPENSITY_RIDGE = 1.0
CLIP = 0.03  # propensities are kept in [CLIP, 1 - CLIP]: a few near-certain cases must not carry the estimate
STRATA = 5
METHOD = (
    "inverse-probability weighting: each episode of risk weighted by the inverse of its modelled chance of the "
    "touch it got, given the risk measured at the last reading before it showed ({covariates}); {level:.1%} "
    "interval from "
    "the standard error over {replicates} bootstrap resamples of accounts (at least what chance alone would give "
    "with these numbers of accounts). Observational: risk the data do not "
    "measure is not accounted for"
)


def design(frame: pd.DataFrame, covariates: dict[str, str]) -> tuple[np.ndarray, list[str]]:
    """Standardized covariates (column: words) with missing values filled by the mean and flagged by an indicator
    column; the names returned are the words."""
    columns, names = [], []
    for name, words in covariates.items():
        values = frame[name].to_numpy(dtype=float)
        missing = np.isnan(values)
        if missing.all() or (np.nanstd(values) == 0 and not missing.any()):
            continue  # a measure the same for every case accounts for nothing
        mean, sd = np.nanmean(values), np.nanstd(values)
        columns.append((np.where(missing, mean, values) - mean) / (sd if sd > 0 else 1.0))
        names.append(words)
        if missing.any():
            columns.append(missing.astype(float))
            names.append(f"{words}: not measured")
    matrix = np.column_stack(columns) if columns else np.zeros((len(frame), 0))
    return matrix, names


def propensity(x: np.ndarray | Design, treated: np.ndarray, weights: np.ndarray, start=None) -> np.ndarray:
    """Each case's chance of treatment given `x` (the covariates, or their `Design`), per row of `weights`
    (replicates x cases), clipped; the fits start from `start` (coefficients) where given."""
    beta = fit_logistic(x, treated, weights, ridge=PROPENSITY_RIDGE, start=start)
    return np.clip(predict(beta, x), CLIP, 1 - CLIP)


def _difference(y, treated, weights) -> np.ndarray:
    """Weighted churn rate of the treated minus the untreated, per row of `weights`."""
    treated_weight, control_weight = weights * treated, weights * ~treated
    with np.errstate(invalid="ignore", divide="ignore"):
        return treated_weight @ y / treated_weight.sum(axis=1) - control_weight @ y / control_weight.sum(axis=1)


def estimates(x, treated, churned, weights, start=None) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Naive, weighted and stratified differences in churn rate (touched minus not) and the propensities, one
    per row of `weights` (replicates x cases); the propensity fits start from `start` where given."""
    y = churned.astype(float)
    score = propensity(x, treated, weights, start)
    naive = _difference(y, treated, weights)
    weighted = _difference(y, treated, weights * np.where(treated, 1 / score, 1 / (1 - score)))
    order = np.argsort(score, axis=1, kind="stable")
    rank = np.empty_like(order)
    np.put_along_axis(rank, order, np.arange(score.shape[1])[None, :], axis=1)
    stratum = rank * STRATA // score.shape[1]

    def per_stratum(values: np.ndarray) -> np.ndarray:
        return summed_per_group(values, stratum, STRATA)

    touched, untouched = weights * treated, weights * ~treated
    with np.errstate(invalid="ignore", divide="ignore"):
        parts = per_stratum(touched * y) / per_stratum(touched) - per_stratum(untouched * y) / per_stratum(untouched)
    size = np.where(np.isnan(parts), 0, per_stratum(np.broadcast_to(weights, score.shape)))
    with np.errstate(invalid="ignore", divide="ignore"):
        stratified = np.nansum(parts * size, axis=1) / size.sum(axis=1)
    return naive, weighted, stratified, score


def null_se(treated: np.ndarray, churned: np.ndarray, score: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """The standard error each difference (naive, weighted, stratified) would have with no effect: the pooled
    churn rate's variance over each side's effective number of accounts (`codes`: each case's), from the
    weights the accounts carry there, as if an account's decisions shared one outcome. The bootstrap's floor:
    where one side has few accounts and none of them churned, its resamples never vary and the bootstrap would
    call a chance difference certain."""
    rate = churned.mean()
    inverse = np.where(treated, 1 / score, 1 / (1 - score))

    def effective(weights: np.ndarray) -> float:
        per_account = np.bincount(codes, weights=weights)
        return weights.sum() ** 2 / (per_account**2).sum() if weights.any() else 0.0

    def se(weights: np.ndarray) -> float:
        touched, untouched = effective(weights * treated), effective(weights * ~treated)
        with np.errstate(divide="ignore"):
            return float(np.sqrt(rate * (1 - rate) * (1 / touched + 1 / untouched)))

    plain = se(np.ones(len(treated)))
    return np.array([plain, se(inverse), plain])


def balance(x: np.ndarray, names: list[str], treated: np.ndarray, score: np.ndarray) -> pd.DataFrame:
    """Standardized mean difference of each covariate, touched against not, before and after weighting
    (|difference| under 0.1 is the usual mark of balance)."""
    inverse = np.where(treated, 1 / score, 1 / (1 - score))

    def difference(weight):
        a, b = weight * treated, weight * ~treated
        mean_a, mean_b = (a @ x) / a.sum(), (b @ x) / b.sum()
        var_a = (a @ (x - mean_a) ** 2) / a.sum()
        var_b = (b @ (x - mean_b) ** 2) / b.sum()
        return (mean_a - mean_b) / np.sqrt(np.maximum((var_a + var_b) / 2, 1e-12))

    plain = difference(np.ones(len(treated)))
    weighted = difference(inverse)
    return pd.DataFrame(
        {
            "covariate": names,
            "difference_before": plain,
            "difference_after": weighted,
            "balanced": np.abs(weighted) < 0.1,
        }
    )


def touch_effect(
    frame: pd.DataFrame,
    covariates: dict[str, str],
    treatment: str = "timely",
    cluster: str = "account_id",
    replicates: int = REPLICATES,
    seed: int = 0,
    level: float = 0.95,
) -> dict | None:
    """The change in churn rate a `treatment` touch makes among `frame`'s decisions (needs `renewed`), naive
    and adjusted for `covariates` (column: words), each with a `level` interval: the estimate plus or minus the
    normal quantile times its standard error over a bootstrap of `cluster` (a report's family asks for levels
    near 99.5%, whose percentiles a few hundred resamples would set by one or two draws).

    Returns a dict: estimate, ci_low, ci_high (inverse-probability weighted), naive and stratified with
    theirs, detectable (the smallest effect the adjusted estimate would tell from none with 80% power),
    n, accounts, touched, churned, balance (a DataFrame) and method (in words); None where the propensity model
    does not converge on the whole sample."""
    treated = frame[treatment].to_numpy(dtype=bool)
    churned = ~frame["renewed"].to_numpy(dtype=bool)
    x, names = design(frame, covariates)
    # Every fit starts from the whole sample's propensity model, which the replicates vary around: half the steps;
    # and every block of replicates is fitted on one Design, whose column products are formed once.
    fitted_on = Design(x)
    start = fit_logistic(fitted_on, treated, ridge=PROPENSITY_RIDGE)
    if not np.isfinite(start).all():  # the propensity model did not converge: no number rather than a wrong one
        return None
    whole = estimates(fitted_on, treated, churned, np.ones((1, len(frame))), start)
    naive, weighted, stratified, score = (v[0] for v in whole)
    codes, accounts = pd.factorize(frame[cluster])
    resampled = poisson_levels(np.random.default_rng(seed), replicates, len(accounts))
    # In blocks of replicates (as fit_logistic fits them): each estimate holds several replicates-by-cases matrices.
    draws = np.vstack(
        [
            np.column_stack(estimates(fitted_on, treated, churned, as_weights(resampled[block][:, codes]), start)[:3])
            for block in blocks(replicates, len(frame))
        ]
    )
    se = np.maximum(np.nanstd(draws, axis=0), null_se(treated, churned, score, codes))
    z = stats.norm.ppf(1 - (1 - level) / 2)
    point = np.array([naive, weighted, stratified])  # as the columns of `draws`
    low, high = point - z * se, point + z * se
    return {
        "estimate": float(weighted),
        "ci_low": float(low[1]),
        "ci_high": float(high[1]),
        "ci_level": level,
        "naive": float(naive),
        "naive_ci_low": float(low[0]),
        "naive_ci_high": float(high[0]),
        "stratified": float(stratified),
        "stratified_ci_low": float(low[2]),
        "stratified_ci_high": float(high[2]),
        "detectable": float((z + stats.norm.ppf(0.8)) * se[1]),
        "n": int(len(frame)),
        "accounts": int(len(accounts)),
        "touched": int(treated.sum()),
        "churned": int(churned.sum()),
        "balance": balance(x, names, treated, score),
        "draws": draws[:, 1],  # the weighted estimate per resample: resamples of one frame pair across treatments
        "method": METHOD.format(
            covariates="; ".join(covariates.values()) or "nothing", replicates=replicates, level=level
        ),
    }
