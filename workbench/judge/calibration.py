"""One-signal logistic models: effect size per standard deviation and calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import statsmodels.api as sm

from ..stats.rates import clustered_wilson


def odds_ratios(
    frame: pd.DataFrame, signals: list[str], min_events: int = 10, level: float = 0.95, cluster: str = "account_id"
) -> pd.DataFrame:
    """Per signal: odds ratio of renewal per standard deviation (statsmodels Logit), its interval at `level`
    (pass the report family's level, so it agrees with the AUC's) with cluster-robust covariance, and p."""
    rows = []
    for signal in signals:
        known = frame.loc[frame[signal].notna(), [signal, "renewed"]] if signal in frame else frame.iloc[:0]
        churned = int((~known["renewed"]).sum()) if len(known) else 0
        row = {
            "signal": signal,
            "n": len(known),
            "odds_ratio": np.nan,
            "or_ci_low": np.nan,
            "or_ci_high": np.nan,
            "p_value": np.nan,
        }
        spread = known[signal].std() if len(known) > 1 else 0
        accounts = frame.loc[known.index, cluster].nunique() if cluster in frame else len(known)
        if churned >= min_events and len(known) - churned >= min_events and spread > 0 and accounts > 1:
            x = sm.add_constant((known[signal] - known[signal].mean()) / spread)
            groups = pd.factorize(frame.loc[known.index, cluster])[0] if cluster in frame else np.arange(len(known))
            fit = sm.Logit(known["renewed"].astype(float), x).fit(
                disp=0, cov_type="cluster", cov_kwds={"groups": groups}
            )
            low, high = fit.conf_int(alpha=1 - level).loc[signal]
            row.update(
                odds_ratio=np.exp(fit.params[signal]),
                or_ci_low=np.exp(low),
                or_ci_high=np.exp(high),
                p_value=fit.pvalues[signal],
            )
        rows.append(row)
    return pd.DataFrame(rows, columns=["signal", "n", "odds_ratio", "or_ci_low", "or_ci_high", "p_value"])


def reliability(frame: pd.DataFrame, signal: str, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed renewal rate per decile of a one-signal logistic model's prediction."""
    known = frame.loc[frame[signal].notna(), [signal, "renewed", *(["account_id"] if "account_id" in frame else [])]]
    # One outcome, or one value (a proposed score with no weight in a null world): no curve to draw.
    if known["renewed"].nunique() < 2 or known[signal].nunique() < 2:
        return pd.DataFrame(columns=["bin", "n", "predicted", "observed", "ci_low", "ci_high"])
    x = sm.add_constant(known[signal].astype(float))
    return binned(known.assign(predicted=sm.Logit(known["renewed"].astype(float), x).fit(disp=0).predict(x)), bins)


def binned(known: pd.DataFrame, bins: int = 10) -> pd.DataFrame:
    """Predicted vs observed renewal rate per equal-count bin of `predicted` (a probability per decision, beside
    `renewed` and, where known, `account_id`), with Wilson intervals widened for accounts with several decisions."""
    known = known.assign(bin=pd.qcut(known["predicted"].rank(method="first"), min(bins, len(known)), labels=False) + 1)
    grouped = known.groupby("bin")
    table = pd.DataFrame(
        {"n": grouped.size(), "predicted": grouped["predicted"].mean(), "observed": grouped["renewed"].mean()}
    )
    table["ci_low"], table["ci_high"] = clustered_wilson(known, "bin", "renewed")
    return table.reset_index()
