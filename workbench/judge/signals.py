"""Does a signal predict renewal? AUC with simultaneous intervals, verdicts in words, churn by band."""

from __future__ import annotations

import html
import re

import numpy as np
import pandas as pd

from ..inputs.config import DEFAULTS
from ..measure.columns import COLUMNS
from ..stats.auc import auc_interval, degrees_of_freedom, delong, interval, paired_difference
from ..stats.power import decisions_needed, decisions_to_settle, min_detectable_auc
from ..stats.rates import rate_table
from ..words import join_words

MIN_EVENTS = DEFAULTS["min_events"]  # the config's defaults, set in one place
MIN_USEFUL_AUC = DEFAULTS["min_useful_auc"]
# What every table of judged signals shows first: the signal, its sample sizes, its AUC and interval.
JUDGED = ["signal", "n", "accounts", "churned", "auc", "auc_ci_low", "auc_ci_high"]
# Decisions on each outcome whose value differs from the signal's most common one: below this many (the
# smaller of 30 and a tenth of that outcome's decisions, and never under 3) an AUC's variance rests on a
# handful of tied values and its interval is narrower than the data allow, so the signal is not judged.
MIN_VARIED, MIN_VARIED_SHARE, MIN_VARIED_FLOOR = 30, 0.10, 3
CONCLUSIONS = ("predictive", "inverse", "ruled_out", "inconclusive", "not_judged")
EXPLORATORY = "exploratory"  # a view outside the report's family: numbers, no verdict


def label(signal: str) -> str:
    """A signal's name as a reader says it (`Column.said`; its name in words for a signal the registry does not
    say, as an added one)."""
    column = COLUMNS.get(signal)
    return column.said if column is not None and column.said else signal.replace("_", " ")


def capital(text: str) -> str:
    """`text` with its first letter capitalized and the rest as it was ('CSAT' stays CSAT)."""
    return text[:1].upper() + text[1:]


def validity(
    frame: pd.DataFrame,
    signals: list[str],
    level: float = 0.95,
    min_events: int = MIN_EVENTS,
    family_size: int | None = None,
    min_useful_auc: float = MIN_USEFUL_AUC,
    undated=(),
    cluster: str = "account_id",
) -> pd.DataFrame:
    """One row per signal: decisions, accounts and churned, AUC for renewal with its interval, and the verdict.

    The account is the unit of inference: intervals are clustered by `cluster` (an account's several
    decisions are not independent; Obuchowski's variance). Testing many signals at once would flag some
    by chance, so the intervals are simultaneous: Bonferroni-adjusted over `family_size` signals (the
    report's whole family; by default the signals judged here), so that at `level` confidence *every*
    interval covers its true AUC. A signal with fewer than `min_events` churned (or renewed) decisions
    gets no interval and a warning instead of a verdict. Each row also says what this data could detect
    (`min_detectable_auc`, 80% power) and how many decisions would detect an AUC of `min_useful_auc`.
    `undated` names signals that were not measured point-in-time (attributes as they are now).
    """
    rows = []
    # The clusters as numbers, once: each signal's intervals group by them several times.
    numbered = pd.Series(pd.factorize(frame[cluster])[0], index=frame.index) if cluster in frame else None
    for signal in signals:
        known = frame[signal].notna() if signal in frame else pd.Series(False, index=frame.index)
        renewed = frame.loc[known, "renewed"].to_numpy(dtype=bool)
        units = numbered[known] if numbered is not None else pd.Series(np.arange(int(known.sum())))
        rows.append(
            {
                "signal": signal,
                "n": int(known.sum()),
                "accounts": int(units.nunique()),
                "churned": int((~renewed).sum()),
                "renewed": int(renewed.sum()),
                "churned_accounts": int(units[~renewed].nunique()),
                **_variation(frame[signal][known] if signal in frame else pd.Series(dtype=float), renewed),
            }
        )
    columns = ["signal", "n", "accounts", "churned", "renewed", "churned_accounts", *VARIATION]
    table = pd.DataFrame(rows, columns=columns)
    enough = (table["churned"] >= min_events) & (table["renewed"] >= min_events)
    varied = _varied_enough(table)
    enough &= varied
    family = family_size if family_size is not None else int(enough.sum())
    adjusted = 1 - (1 - level) / max(family, 1)
    measures = {key: [] for key in ("auc", "auc_ci_low", "auc_ci_high", "design_effect")}
    for row, ok in zip(table.itertuples(), enough):
        auc = low = high = effect = np.nan
        if row.churned and row.renewed:
            known = frame[row.signal].notna()
            score, renewed = frame.loc[known, row.signal].to_numpy(float), frame.loc[known, "renewed"].to_numpy(bool)
            units = numbered[known].to_numpy() if numbered is not None else None
            clustered = delong(score, renewed, units if units is not None else np.arange(len(score)))
            auc, variance = float(clustered.auc[0]), float(clustered.covariance[0, 0])
            independent = float(clustered.independent[0, 0])
            effect = variance / independent if independent > 0 and np.isfinite(variance) else 1.0
            if ok and np.isfinite(variance):
                low, high = interval(auc, variance, adjusted, degrees_of_freedom(renewed, units))
        for key, value in zip(measures, (auc, low, high, effect)):
            measures[key].append(value)
    for key, values in measures.items():
        table[key] = values
    table["predictive"] = table["auc_ci_low"] > 0.5
    table["inverse"] = table["auc_ci_high"] < 0.5
    useless = (table["auc_ci_low"] >= 1 - min_useful_auc) & (table["auc_ci_high"] <= min_useful_auc)
    table["conclusion"] = np.select(
        [table["auc_ci_low"].isna(), table["predictive"], table["inverse"], useless],
        ["not_judged", "predictive", "inverse", "ruled_out"],
        "inconclusive",
    )
    alpha = 1 - adjusted
    effect = table["design_effect"].fillna(1.0).clip(lower=1.0)
    table["min_detectable_auc"] = [
        min_detectable_auc(r, c, alpha, design_effect=e) for r, c, e in zip(table["renewed"], table["churned"], effect)
    ]
    table["decisions_needed"] = pd.array(
        [
            decisions_needed(r, c, min_useful_auc, alpha, design_effect=e)
            for r, c, e in zip(table["renewed"], table["churned"], effect)
        ],
        dtype="Int64",
    )
    settle = decisions_to_settle(table["auc"], table["auc_ci_low"], table["auc_ci_high"], table["n"], min_useful_auc)
    table["decisions_to_settle"] = (
        pd.array(np.where(table["conclusion"] == "inconclusive", settle, np.nan), dtype="Float64")
        .round()
        .astype("Int64")
    )
    table["ci_level"] = adjusted
    table["min_useful_auc"] = min_useful_auc
    table["point_in_time"] = ~table["signal"].isin(list(undated))
    table["warning"] = [
        None
        if ok and pd.notna(r.auc_ci_low)
        else "not measured: no decision has this signal at its observation date"
        if r.n == 0
        else f"too few events to judge: {r.churned} churned and {r.renewed} renewed decisions "
        f"(need {min_events} of each)"
        if r.churned < min_events or r.renewed < min_events
        else _too_little_variation(r)
        if not v
        else f"too few accounts to judge: its {r.n:,} decisions come from {r.accounts} account(s)"
        for r, ok, v in zip(table.itertuples(), enough, varied)
    ]
    table["reason"] = table["warning"].where(table["conclusion"] == "not_judged")
    table["verdict"] = [verdict(row) for row in table.itertuples()]
    return table.drop(columns=list(VARIATION))


VARIATION = ("distinct", "varied_churned", "varied_renewed")


def _variation(values: pd.Series, renewed: np.ndarray) -> dict:
    """How many distinct values a signal takes and, on each outcome, how many decisions differ from the
    signal's most common value."""
    codes, uniques = pd.factorize(values.to_numpy(float))
    away = codes != np.bincount(codes).argmax() if len(codes) else codes.astype(bool)
    return {
        "distinct": len(uniques),
        "varied_churned": int(away[~renewed].sum()),
        "varied_renewed": int(away[renewed].sum()),
    }


def _needed_variation(decisions: pd.Series) -> np.ndarray:
    return np.maximum(MIN_VARIED_FLOOR, np.minimum(MIN_VARIED, np.ceil(MIN_VARIED_SHARE * decisions)))


def _varied_enough(table: pd.DataFrame) -> pd.Series:
    return (
        (table["distinct"] >= 2)
        & (table["varied_churned"] >= _needed_variation(table["churned"]))
        & (table["varied_renewed"] >= _needed_variation(table["renewed"]))
    )


def _too_little_variation(row) -> str:
    if row.distinct < 2:
        return "too little variation to judge: every decision has the same value"
    side, away = min((("churned", row.varied_churned), ("renewed", row.varied_renewed)), key=lambda s: s[1])
    return (
        f"too little variation to judge: only {away:,} of the {getattr(row, side):,} {side} decisions differ "
        f"from the most common value, too few for an interval to be trusted"
    )


def withhold(table: pd.DataFrame, signal: str, reason: str) -> pd.DataFrame:
    """The scoreboard with `signal` not judged, for `reason` (its AUC kept for reference, its interval
    and verdict withdrawn), where the data's shape makes its comparison unfair."""
    table = table.copy()
    row = table["signal"] == signal
    table.loc[row, ["auc_ci_low", "auc_ci_high"]] = np.nan
    table.loc[row, ["predictive", "inverse"]] = False
    table.loc[row, "conclusion"] = "not_judged"
    table.loc[row, ["warning", "reason"]] = reason
    table.loc[row, "verdict"] = [verdict(r) for r in table.loc[row].itertuples()]
    return table


def verdict(row) -> str:
    """The plain-language finding for one row of `validity`, written from its interval."""
    if row.n == 0:
        return "not measured: no decision has this signal at its observation date"
    sizes = f"{row.n:,} decisions from {row.accounts:,} accounts ({row.churned:,} churned)"
    detectable = (
        f"this data could detect an AUC of {row.min_detectable_auc:.2f} or more"
        if pd.notna(row.min_detectable_auc)
        else "this data could not detect even a near-perfect signal"
    )
    needed = (
        f"; about {row.decisions_needed:,} decisions would detect an AUC of {row.min_useful_auc:.2f}"
        if pd.notna(row.decisions_needed)
        else ""
    )
    if pd.notna(row.warning):
        text = f"{row.warning}; no verdict ({sizes}; {detectable}{needed})"
    else:
        figures = f"AUC {row.auc:.2f} [{row.auc_ci_low:.2f}, {row.auc_ci_high:.2f}] in {sizes}"
        text = {
            "predictive": f"predicts renewal: {figures}",
            "inverse": f"runs against expectation (higher values go with more churn): {figures}",
            "ruled_out": f"ruled out as a useful predictor: {figures}; the whole interval lies within "
            f"{1 - row.min_useful_auc:.2f} to {row.min_useful_auc:.2f}, closer to a coin toss than an "
            f"AUC worth acting on",
            "inconclusive": f"inconclusive: {figures}; {detectable}{needed}",
        }[row.conclusion]
    if not row.point_in_time:
        text += " (not measured point-in-time: the value as it is today, not as it was before the decision)"
    return text


def explore(board: pd.DataFrame) -> pd.DataFrame:
    """`board` (rows of `validity`) as views outside the report's family: the numbers and intervals stay, the
    verdict goes. `conclusion` becomes exploratory, `predictive`/`inverse` are None and the verdict in words
    gives only the figures; a row that was not judged keeps its reason."""
    out = board.copy()
    shown = out["conclusion"] != "not_judged"
    out.loc[shown, "conclusion"] = EXPLORATORY
    for column in ("predictive", "inverse"):
        if column in out:
            out[column] = out[column].astype(object).where(~shown, None)
    if "verdict" in out and shown.any():
        out.loc[shown, "verdict"] = [
            f"exploratory, not a finding: AUC {row.auc:.2f} [{row.auc_ci_low:.2f}, {row.auc_ci_high:.2f}] in "
            f"{row.n:,} decisions from {row.accounts:,} accounts ({row.churned:,} churned)"
            if pd.notna(row.auc)
            else f"exploratory, not a finding: {row.verdict}"
            for row in out.loc[shown].itertuples()
        ]
    return out


def churn_by_band(frame: pd.DataFrame, signal: str, bands: int = 10) -> pd.DataFrame:
    """Churn rate per quantile band of `signal` (deciles by default), with counts and intervals."""
    known = frame.loc[frame[signal].notna(), [signal, "renewed", *(["account_id"] if "account_id" in frame else [])]]
    if known.empty:
        return pd.DataFrame(columns=["band", "low", "high", "n", "churned", "churn_rate", "ci_low", "ci_high"])
    codes = pd.qcut(known[signal].rank(method="first"), min(bands, len(known)), labels=False)
    known = known.assign(band=codes + 1, churned=~known["renewed"])
    table = rate_table(known, "band", "churned", "account_id").rename(
        columns={"events": "churned", "rate": "churn_rate"}
    )
    edges = known.groupby("band")[signal].agg(["min", "max"]).reset_index(drop=True)
    table.insert(1, "low", edges["min"].to_numpy())
    table.insert(2, "high", edges["max"].to_numpy())
    return table


def conclusion(table: pd.DataFrame, study) -> str:
    """The finding of a scoreboard in a few sentences of escaped HTML, each written from its intervals."""
    decisions = study.decisions
    if len(decisions) == 0:
        return f"There were no renewal decisions to judge in the window{html.escape(study.segment_note)}."
    churned = int((~decisions["renewed"]).sum())

    def names(mask) -> str:
        return join_words([html.escape(label(s)) for s in table.loc[mask, "signal"]])

    period = (
        f"{len(decisions):,} renewal decisions from {study.accounts:,} accounts between "
        f"{study.window_start:%Y-%m-%d} and {study.as_of:%Y-%m-%d} ({churned:,} decisions churned, at "
        f"{study.churned_accounts:,} accounts){html.escape(study.segment_note)}"
    )
    kind = table["conclusion"]
    judged = kind != "not_judged"
    if table.empty:
        return (
            f"In {period}, no signal could be measured: the data has none of the tables signals are measured from "
            f"(surveys, usage, health scores, goals, contacts)."
        )
    if not judged.any():
        return (
            f"In {period}, no signal could be judged: {_not_judged(table)}. Export the tables named on the data "
            f"health page to measure more."
        )
    measured = f"{names(judged)} {'was' if judged.sum() == 1 else 'were'} measured and judged"
    parts = [f"In {period}, {measured}."]
    useful = float(table["min_useful_auc"].iloc[0]) if len(table) else MIN_USEFUL_AUC
    parts.append(
        f"<b>{names(kind == 'predictive')}</b> predicted renewal."
        if (kind == "predictive").any()
        else "<b>not one of them</b> predicted renewal."
    )
    if (kind == "inverse").any():
        parts.append(f"{names(kind == 'inverse')} ran against expectation: higher values went with more churn.")
    if (kind == "ruled_out").any():
        one = (kind == "ruled_out").sum() == 1
        parts.append(
            f"{names(kind == 'ruled_out')} can be ruled out as useful: "
            f"{'its interval excludes' if one else 'their intervals exclude'} "
            f"every AUC of {useful:.2f} or more (and {1 - useful:.2f} or less)."
        )
    open_question = kind == "inconclusive"
    if open_question.any():
        detectable = table.loc[open_question, "min_detectable_auc"].dropna()
        settle = table.loc[open_question, "decisions_to_settle"].dropna()
        reach = f" this data could only detect an AUC of {detectable.min():.2f} or more" if len(detectable) else ""
        more = (
            f"; at the AUCs seen so far, about {int(settle.max()):,} decisions would settle "
            f"{'it' if open_question.sum() == 1 else 'them'}"
            if len(settle)
            else ""
        )
        parts.append(
            f"{names(open_question)} {'is' if open_question.sum() == 1 else 'are'} inconclusive: there is no "
            f"evidence either way, and{reach or ' the data are too few to tell'}{more}."
        )
    if (~judged).any():
        parts.append(f"Not judged: {_not_judged(table)}.")
    return " ".join(re.sub(r"^((?:<[^>]+>)*)(\w)", lambda m: m.group(1) + m.group(2).upper(), part) for part in parts)


NOT_JUDGED_BECAUSE = {
    "not measured": "not measured at any observation date",
    "too few events": "too few churned or renewed decisions",
    "too little variation": "too little variation",
    "too few accounts": "too few accounts",
}


def _not_judged(table: pd.DataFrame) -> str:
    """The signals not judged, grouped by why, in words: 'NPS and CSAT (not measured ...); usage (...)'."""
    rows = table.loc[table["conclusion"] == "not_judged"]
    groups = {}
    for signal, reason in zip(rows["signal"], rows["reason"].fillna("")):
        because = next((words for key, words in NOT_JUDGED_BECAUSE.items() if reason.startswith(key)), "no verdict")
        groups.setdefault(because, []).append(html.escape(label(signal)))
    return "; ".join(f"{join_words(signals)} ({because})" for because, signals in groups.items())


def versus_reference(
    frame: pd.DataFrame,
    signals: list[str],
    reference: str = "health_score",
    level: float = 0.95,
    cluster: str = "account_id",
    oriented: bool = False,
) -> pd.DataFrame:
    """Paired AUC difference of each signal against the reference on the decisions that have both.

    Intervals are clustered by account and Bonferroni-adjusted over the comparisons, as in `validity`. With
    `oriented`, each signal and the reference are taken in their informative direction (a signal whose AUC is
    below 0.5 there, such as support tickets, is compared as its negative; `direction` says which), so a strong
    inverse signal is not ranked below a useless score. The direction is read off the same decisions, which
    favours the signal: such a comparison is exploratory.
    """
    others = [s for s in signals if s != reference and s in frame]
    if reference not in frame or not others:
        return pd.DataFrame(
            columns=[
                "signal",
                "n",
                "auc",
                "reference_auc",
                "difference",
                "ci_low",
                "ci_high",
                "p_value",
                "better",
                "worse",
            ]
        )
    adjusted = 1 - (1 - level) / len(others)
    rows = []
    for signal in others:
        both = frame[signal].notna() & frame[reference].notna()
        renewed = frame.loc[both, "renewed"]
        row = {"signal": signal, "n": int(both.sum())}
        if renewed.nunique() == 2:
            values, baseline = frame.loc[both, signal].astype(float), frame.loc[both, reference].astype(float)
            auc_signal = auc_interval(values, renewed)[0]
            auc_reference = auc_interval(baseline, renewed)[0]
            if oriented:
                values, baseline = np.sign(auc_signal - 0.5 or 1) * values, np.sign(auc_reference - 0.5 or 1) * baseline
                row["direction"] = "higher renews" if auc_signal >= 0.5 else "lower renews"
                auc_signal, auc_reference = max(auc_signal, 1 - auc_signal), max(auc_reference, 1 - auc_reference)
            units = frame.loc[both, cluster] if cluster in frame else None
            row.update(
                auc=auc_signal,
                reference_auc=auc_reference,
                **paired_difference(values, baseline, renewed, adjusted, units),
            )
        rows.append(row)
    table = pd.DataFrame(rows)
    table["better"] = table.get("ci_low", pd.Series(np.nan, index=table.index)) > 0
    table["worse"] = table.get("ci_high", pd.Series(np.nan, index=table.index)) < 0
    return table
