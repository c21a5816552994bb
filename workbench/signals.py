"""Does a signal predict renewal? AUC with simultaneous intervals, verdicts in words, churn by band."""
from __future__ import annotations

import html

import numpy as np
import pandas as pd

from .auc import auc_interval, paired_difference
from .rates import rate_table

MIN_EVENTS = 10


def validity(frame: pd.DataFrame, signals: list[str], level: float = 0.95, min_events: int = MIN_EVENTS
             ) -> pd.DataFrame:
    """One row per signal: n, churned, AUC for renewal with its interval, and the verdict.

    Testing many signals at once would flag some by chance, so the intervals are simultaneous:
    Bonferroni-adjusted over the signals judged, so that at `level` confidence *every* interval
    covers its true AUC. A signal with fewer than `min_events` churned (or renewed) decisions gets
    no interval and a warning instead of a verdict.
    """
    rows = []
    for signal in signals:
        known = frame[signal].notna() if signal in frame else pd.Series(False, index=frame.index)
        renewed = frame.loc[known, "renewed"].to_numpy(dtype=bool)
        rows.append({"signal": signal, "n": int(known.sum()), "churned": int((~renewed).sum()),
                     "renewed": int(renewed.sum())})
    table = pd.DataFrame(rows, columns=["signal", "n", "churned", "renewed"])
    enough = (table["churned"] >= min_events) & (table["renewed"] >= min_events)
    judged = int(enough.sum())
    adjusted = 1 - (1 - level) / max(judged, 1)
    auc, low, high = [], [], []
    for signal, ok in zip(table["signal"], enough):
        if signal not in frame or table.loc[table["signal"] == signal, "n"].item() == 0:
            auc.append(np.nan), low.append(np.nan), high.append(np.nan)
            continue
        known = frame[signal].notna()
        a, lo, hi = auc_interval(frame.loc[known, signal], frame.loc[known, "renewed"], adjusted)
        auc.append(a)
        low.append(lo if ok else np.nan)
        high.append(hi if ok else np.nan)
    table["auc"], table["auc_ci_low"], table["auc_ci_high"] = auc, low, high
    table["predictive"] = table["auc_ci_low"] > 0.5
    table["inverse"] = table["auc_ci_high"] < 0.5
    table["ci_level"] = adjusted
    table["warning"] = np.where(enough, None, [
        f"too few events to judge: {c} churned and {r} renewed (need {min_events} of each)"
        for c, r in zip(table["churned"], table["renewed"])])
    table["verdict"] = [verdict(row) for row in table.itertuples()]
    return table


def verdict(row) -> str:
    """The plain-language finding for one row of `validity`."""
    if row.n == 0:
        return "not measured: no decision has this signal at its observation date"
    if row.warning:
        return f"{row.warning}; no verdict"
    figures = f"AUC {row.auc:.2f} [{row.auc_ci_low:.2f}, {row.auc_ci_high:.2f}] in {row.n:,} decisions ({row.churned:,} churned)"
    if row.predictive:
        return f"predicts renewal: {figures}"
    if row.inverse:
        return f"runs against expectation (higher values go with more churn): {figures}"
    return f"no evidence this predicts renewal: {figures}"


def churn_by_band(frame: pd.DataFrame, signal: str, bands: int = 10) -> pd.DataFrame:
    """Churn rate per quantile band of `signal` (deciles by default), with counts and intervals."""
    known = frame.loc[frame[signal].notna(), [signal, "renewed"]]
    if known.empty:
        return pd.DataFrame(columns=["band", "low", "high", "n", "churned", "churn_rate", "ci_low", "ci_high"])
    codes = pd.qcut(known[signal].rank(method="first"), min(bands, len(known)), labels=False)
    known = known.assign(band=codes + 1, churned=~known["renewed"])
    table = rate_table(known, "band", "churned").rename(columns={"events": "churned", "rate": "churn_rate"})
    edges = known.groupby("band")[signal].agg(["min", "max"]).reset_index(drop=True)
    table.insert(1, "low", edges["min"].to_numpy())
    table.insert(2, "high", edges["max"].to_numpy())
    return table


def conclusion(table: pd.DataFrame, study) -> str:
    """The finding of a scoreboard in two or three sentences of escaped HTML."""
    decisions = study.decisions
    churned = int((~decisions["renewed"]).sum())

    def names(mask) -> str:
        chosen = [html.escape(s) for s in table.loc[mask, "signal"]]
        return ", ".join(chosen[:-1]) + (" and " if len(chosen) > 1 else "") + chosen[-1] if chosen else ""

    period = (f"{len(decisions):,} renewal decisions between {study.window_start:%Y-%m-%d} and "
              f"{study.as_of:%Y-%m-%d} ({churned:,} churned){html.escape(study.segment_note)}")
    if len(decisions) == 0:
        return f"There were no renewal decisions to judge in the window{html.escape(study.segment_note)}."
    parts = [f"In {period}:"]
    predictive, inverse = table["predictive"], table["inverse"]
    warned = table["warning"].notna()
    silent = ~predictive & ~inverse & ~warned & (table["n"] > 0)
    parts.append(f"<b>{names(predictive)}</b> predicted renewal." if predictive.any()
                 else "<b>no signal</b> predicted renewal.")
    if silent.any():
        parts.append(f"There is no evidence that {names(silent)} did.")
    if inverse.any():
        parts.append(f"{names(inverse)} ran against expectation: higher values went with more churn.")
    if warned.any():
        parts.append(f"Too few events to judge {names(warned)}.")
    return " ".join(parts)


def versus_reference(frame: pd.DataFrame, signals: list[str], reference: str = "health_score",
                     level: float = 0.95) -> pd.DataFrame:
    """Paired AUC difference of each signal against the reference on the decisions that have both.

    Intervals are Bonferroni-adjusted over the comparisons, as in `validity`.
    """
    others = [s for s in signals if s != reference and s in frame]
    if reference not in frame or not others:
        return pd.DataFrame(columns=["signal", "n", "auc", "reference_auc", "difference", "ci_low", "ci_high",
                                     "p_value", "better", "worse"])
    adjusted = 1 - (1 - level) / len(others)
    rows = []
    for signal in others:
        both = frame[signal].notna() & frame[reference].notna()
        renewed = frame.loc[both, "renewed"]
        row = {"signal": signal, "n": int(both.sum())}
        if renewed.nunique() == 2:
            auc_signal = auc_interval(frame.loc[both, signal], renewed)[0]
            auc_reference = auc_interval(frame.loc[both, reference], renewed)[0]
            row.update(auc=auc_signal, reference_auc=auc_reference,
                       **paired_difference(frame.loc[both, signal], frame.loc[both, reference], renewed, adjusted))
        rows.append(row)
    table = pd.DataFrame(rows)
    table["better"] = table.get("ci_low", pd.Series(np.nan, index=table.index)) > 0
    table["worse"] = table.get("ci_high", pd.Series(np.nan, index=table.index)) < 0
    return table
