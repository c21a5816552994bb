"""Multi-signal models: does a signal add anything beyond the others, and does it hold up later in time?"""
from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from .auc import auc_interval


def design(frame: pd.DataFrame, signals: list[str], min_missing: int = 10
           ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
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


def likelihood_ratio_tests(frame: pd.DataFrame, signals: list[str]) -> pd.DataFrame:
    """For each signal: the LR test of dropping it (and its missing indicator) from the model with all."""
    x, owner = design(frame, signals)
    y = frame["renewed"].astype(float)
    full = sm.Logit(y, sm.add_constant(x)).fit(disp=0, maxiter=200)
    rows = []
    for signal in signals:
        shared = [c for c in owner[signal][1:] if any(c in owner[s] for s in signals if s != signal)]
        dropped = [c for c in owner[signal] if c not in shared]
        reduced = sm.Logit(y, sm.add_constant(x.drop(columns=dropped))).fit(disp=0, maxiter=200)
        statistic = 2 * (full.llf - reduced.llf)
        rows.append({"signal": signal, "lr_statistic": statistic, "df": len(dropped),
                     "p_value": stats.chi2.sf(statistic, len(dropped)),
                     "coefficient_per_sd": full.params[signal]})
    table = pd.DataFrame(rows)
    table["p_holm"] = holm(table["p_value"].to_numpy())
    table["adds_information"] = table["p_holm"] < 0.05
    return table


def holm(p: np.ndarray) -> np.ndarray:
    """Holm-adjusted p-values (family-wise error control over the tests given)."""
    order = np.argsort(p)
    adjusted = np.maximum.accumulate((len(p) - np.arange(len(p))) * p[order])
    out = np.empty_like(adjusted)
    out[order] = np.minimum(adjusted, 1.0)
    return out


def cross_validated_auc(frame: pd.DataFrame, models: dict[str, list[str]], folds: int = 5, seed: int = 0
                        ) -> pd.DataFrame:
    """Out-of-fold AUC (with DeLong 95% CI) of logistic models over named sets of signals."""
    y = frame["renewed"].to_numpy(dtype=bool)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=seed)
    rows = []
    for name, signals in models.items():
        x, _ = design(frame, signals)
        predicted = cross_val_predict(LogisticRegression(max_iter=1000), x, y, cv=splitter, method="predict_proba")
        auc, low, high = auc_interval(predicted[:, 1], y)
        rows.append({"model": name, "signals": ", ".join(signals), "cv_auc": auc, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)


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
        auc, low, high = auc_interval(scores, y) if 0 < y.sum() < len(y) else (np.nan, np.nan, np.nan)
        rows.append({"model": name, "train_n": len(train), "test_n": len(test), "test_churned": int((~y).sum()),
                     "train_until": train["end_date"].max(), "test_from": test["end_date"].min(),
                     "test_auc": auc, "ci_low": low, "ci_high": high})
    return pd.DataFrame(rows)
