"""Multi-signal models: does a signal add anything beyond the others, and does it hold up later in time?"""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import cross_val_predict
from statsmodels.stats.multitest import multipletests
from statsmodels.tools.sm_exceptions import PerfectSeparationError

from ..stats.auc import auc_interval


def design(frame: pd.DataFrame, signals: list[str], min_missing: int = 10) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Standardized signals, missing values set to the mean with an indicator column (one per missing
    pattern, and only where at least `min_missing` cases are missing: a rarer indicator would separate
    the outcome perfectly), and which columns belong to each signal. Only predictors are scaled, never
    with the outcome, so scaling over all rows leaks nothing into an out-of-time test."""
    columns, owner, patterns = {}, {}, {}
    for signal in signals:
        values = frame[signal].astype(float)
        spread = values.std()
        columns[signal] = ((values - values.mean()) / (spread if spread > 0 else 1)).fillna(0.0)
        owner[signal] = [signal]
        missing = values.isna()
        if min_missing <= missing.sum() < len(missing):
            key = missing.to_numpy().tobytes()
            if key not in patterns:
                patterns[key] = f"{signal}_missing"
                columns[patterns[key]] = missing.astype(float)
            owner[signal].append(patterns[key])
    return pd.DataFrame(columns, index=frame.index), owner


def modelled(frame: pd.DataFrame, signals: list[str], min_values: int = 10) -> list[str]:
    """The signals a model can use: measured for at least `min_values` decisions and not constant. A signal
    with no values is "not measured" and never enters a model matrix."""
    chosen = []
    for signal in signals:
        values = frame[signal] if signal in frame else pd.Series(dtype=float)
        if values.notna().sum() >= min_values and values.std() > 0:
            chosen.append(signal)
    return chosen


def contribution_tests(frame: pd.DataFrame, signals: list[str], cluster: str = "account_id") -> pd.DataFrame:
    """For each signal: does it add information to the model with all? A Wald test of its coefficient (and
    its missing indicator) in one logistic model, with cluster-robust covariance (an account's decisions
    are not independent), Holm-adjusted over signals. Empty when the model cannot be fitted."""
    columns = ["signal", "coefficient_per_sd", "wald_statistic", "df", "p_value", "p_holm", "adds_information"]
    signals = modelled(frame, signals)
    if not signals or frame["renewed"].nunique() < 2:
        return pd.DataFrame(columns=columns)
    x, owner = design(frame, signals)
    x = sm.add_constant(x, has_constant="add")
    y = frame["renewed"].astype(float)
    groups = pd.factorize(frame[cluster])[0] if cluster in frame else np.arange(len(frame))
    if groups.max() < 1:  # one account: no between-account variation to estimate from
        return pd.DataFrame(columns=columns)
    try:
        fit = sm.Logit(y, x).fit(disp=0, maxiter=200, cov_type="cluster", cov_kwds={"groups": groups})
        covariance = fit.cov_params()
    except (np.linalg.LinAlgError, ValueError, PerfectSeparationError):
        return pd.DataFrame(columns=columns)
    rows = []
    for signal in signals:
        shared = [c for c in owner[signal][1:] if any(c in owner[s] for s in signals if s != signal)]
        tested = [c for c in owner[signal] if c not in shared]
        beta = fit.params[tested].to_numpy()
        try:
            statistic = float(beta @ np.linalg.solve(covariance.loc[tested, tested].to_numpy(), beta))
        except np.linalg.LinAlgError:
            statistic = np.nan
        rows.append(
            {
                "signal": signal,
                "coefficient_per_sd": fit.params[signal],
                "wald_statistic": statistic,
                "df": len(tested),
                "p_value": stats.chi2.sf(statistic, len(tested)),
            }
        )
    table = pd.DataFrame(rows)
    table["p_holm"] = multipletests(table["p_value"].fillna(1.0).to_numpy(), method="holm")[1]
    table["adds_information"] = table["p_holm"] < 0.05
    return table[columns]


def candidate_models(usable: list[str]) -> dict[str, list[str]]:
    """The models a CS team would compare: its health score, the everyday metrics, the decision maker with
    goals, and every signal; each kept only where all its signals can be modelled (see `modelled`)."""
    candidates = {
        "health score (today)": ["health_score"],
        "NPS and usage": ["nps", "usage"],
        "decision maker and goals": ["health_decision_maker", "goal_attainment"],
        "all signals": list(usable),
    }
    return {name: signals for name, signals in candidates.items() if signals and set(signals) <= set(usable)}


def cross_validated_auc(
    frame: pd.DataFrame, models: dict[str, list[str]], folds: int = 5, seed: int = 0
) -> pd.DataFrame:
    """Out-of-fold AUC (with its 95% interval, clustered by account) of logistic models over named sets of
    signals. The folds keep an account's decisions together, so no account is both fitted and scored."""
    y = frame["renewed"].to_numpy(dtype=bool)
    accounts = frame["account_id"].to_numpy() if "account_id" in frame else np.arange(len(frame))
    splits = account_folds(accounts, y, folds, seed)
    rows = []
    for name, signals in models.items():
        x, _ = design(frame, signals)
        predicted = cross_val_predict(LogisticRegression(max_iter=1000), x, y, cv=splits, method="predict_proba")
        auc, low, high = auc_interval(predicted[:, 1], y, cluster=accounts)
        rows.append({"model": name, "signals": ", ".join(signals), "cv_auc": auc, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


def account_folds(accounts: np.ndarray, y: np.ndarray, folds: int = 5, seed: int = 0) -> list[tuple]:
    """(train, test) row positions for `folds` folds that keep each account's decisions together and give
    every fold a like share of churn: accounts ranked by their churned share (ties in random order) are
    dealt to the folds in turn. scikit-learn's StratifiedGroupKFold balances more finely, but its search
    takes a Python loop per account."""
    unique, code = np.unique(accounts, return_inverse=True)
    churned_share = np.bincount(code, weights=~y) / np.bincount(code)
    rng = np.random.default_rng(seed)
    order = np.lexsort((rng.random(len(unique)), churned_share))
    fold_of_account = np.empty(len(unique), dtype=int)
    fold_of_account[order] = np.arange(len(unique)) % folds
    fold = fold_of_account[code]
    return [(np.flatnonzero(fold != k), np.flatnonzero(fold == k)) for k in range(folds)]


def out_of_time(frame: pd.DataFrame, models: dict[str, list[str]], train_share: float = 0.6) -> pd.DataFrame:
    """Fit on the earlier decisions (by end_date), score the later ones: does the finding hold up?"""
    ordered = frame.sort_values("end_date")
    cut = int(len(ordered) * train_share)
    train, test = ordered.iloc[:cut], ordered.iloc[cut:]
    rows = []
    for name, signals in models.items():
        x, _ = design(pd.concat([train, test]), signals)
        model = LogisticRegression(max_iter=1000).fit(x.loc[train.index], train["renewed"].to_numpy(dtype=bool))
        scores = model.predict_proba(x.loc[test.index])[:, 1]
        y = test["renewed"].to_numpy(dtype=bool)
        units = test["account_id"].to_numpy() if "account_id" in test else None
        auc, low, high = auc_interval(scores, y, cluster=units) if 0 < y.sum() < len(y) else (np.nan, np.nan, np.nan)
        rows.append(
            {
                "model": name,
                "train_n": len(train),
                "test_n": len(test),
                "test_churned": int((~y).sum()),
                "train_until": train["end_date"].max(),
                "test_from": test["end_date"].min(),
                "test_auc": auc,
                "ci_low": low,
                "ci_high": high,
            }
        )
    return pd.DataFrame(rows)
