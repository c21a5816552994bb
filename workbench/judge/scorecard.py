"""A proposed health score: learned from the earlier decisions, proven on the later ones, typed into a CS platform.

Every candidate is measured at the observation date. Each is put on a 0-100 scale by its percentile
among the earlier decisions (a rank, so a skewed count needs no log or asinh, and an admin can rebuild
the scale from the percentiles listed), flipped where it runs against renewal, and components that move
together (|correlation| > 0.7 on the earlier decisions) are grouped so their weight is shared rather
than flipping between twins. An L1-regularized logistic model on the groups, its penalty chosen by
cross-validation by account inside the earlier period only, gives the weights, turned into whole points
summing to 100. Thresholds are set on the earlier period for a stated share of churned ARR caught. The
later decisions then judge the score beside the team's own: AUCs, the paired gain with an interval
clustered by account, the churned ARR each flagged red and the watermelon table under both. A score is
proposed only where the gain's interval lies above zero.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold

from ..stats.auc import auc_interval
from ..stats.groups import correlated_groups
from ..stats.lasso import l1_logistic
from .signals import validity, versus_reference
from .watermelon import watermelon

CANDIDATES = (
    "health_decision_maker",
    "health_champion",
    "health_end_user",
    "health_min",
    "health_mean",
    "health_spread",
    "nps",
    "csat",
    "ces",
    "usage",
    "goal_attainment",
    "health_score",
)
REFERENCE = "health_score"
SCORE = "proposed_score"
TWINS = 0.7  # |correlation| above which two components count as one
PENALTIES = np.logspace(-2, 1, 7)
PERCENTILES = (10, 25, 50, 75, 90)


@dataclass
class Scorecard:
    """The proposal and its out-of-time test; `proposed` says whether the later decisions showed a gain."""

    proposed: bool
    reason: str
    components: pd.DataFrame = field(default_factory=pd.DataFrame)
    red_below: float | None = None
    green_from: float | None = None
    split_date: pd.Timestamp | None = None
    fit: dict = field(default_factory=dict)  # decisions, accounts, churned, first and last date
    tested: dict = field(default_factory=dict)
    test: pd.DataFrame = field(default_factory=pd.DataFrame)  # later decisions with the proposed score
    comparison: dict = field(default_factory=dict)  # auc, reference_auc and the gain, with intervals
    flagged: pd.DataFrame = field(default_factory=pd.DataFrame)  # churned ARR flagged red, by score
    melons: dict = field(default_factory=dict)  # watermelon table under each score

    def to_results(self) -> dict | None:
        """results.json `scorecard` as the contract says, or None where no score is proposed."""
        if not self.proposed:
            return None
        chosen = self.components.loc[self.components["points"] > 0]
        return {
            "components": [
                {"name": r["component"], "weight": int(r["points"]), "direction": r["direction"]}
                for r in chosen.to_dict(orient="records")
            ],
            "red_below": self.red_below,
            "green_from": self.green_from,
            "decisions_fit": self.fit["decisions"],
            "decisions_tested": self.tested["decisions"],
            "split_date": f"{self.split_date:%Y-%m-%d}",
            **{k: self.comparison.get(k) for k in ("auc_out_of_time", "reference_auc_out_of_time")},
            "gain_ci_low": self.comparison.get("gain_ci_low"),
            "gain_ci_high": self.comparison.get("gain_ci_high"),
        }

    def summary(self) -> dict:
        """The test's figures whether or not a score is proposed (results.json `scorecard_test`)."""
        return {
            "proposed": self.proposed,
            "reason": self.reason,
            "fit": self.fit,
            "tested": self.tested,
            "split_date": None if self.split_date is None else f"{self.split_date:%Y-%m-%d}",
            **self.comparison,
        }

    def to_yaml(self, window: str = "") -> str:
        """The scorecard as a CS ops admin types it in: each component's points, direction and scale."""
        lines = [
            "# Proposed health scorecard, learned by the Customer Success workbench"
            + (f" ({window})" if window else ""),
            f"# fitted on {self.fit.get('decisions', 0)} renewal decisions up to {self.split_date:%Y-%m-%d}, tested on "
            f"{self.tested.get('decisions', 0)} later ones",
            f"# out-of-time AUC {self.comparison.get('auc_out_of_time', float('nan')):.2f}; the team's score "
            f"{_number(self.comparison.get('reference_auc_out_of_time'))}; gain {_number(self.comparison.get('gain'))} "
            f"[{_number(self.comparison.get('gain_ci_low'))}, {_number(self.comparison.get('gain_ci_high'))}]",
            "# Each component scores 0-100 by its percentile among the fitted decisions (the values at the listed",
            "# percentiles), reversed where it says 'lower is better'; the health score is the points-weighted sum.",
            f"proposed: {'true' if self.proposed else 'false'}",
            f"red_below: {_number(self.red_below)}",
            f"green_from: {_number(self.green_from)}",
            "components:",
        ]
        for row in self.components.loc[self.components["points"] > 0].to_dict(orient="records"):
            lines += [
                f"  - name: {row['component']}",
                f"    points: {int(row['points'])}",
                f"    direction: {row['direction']}",
                "    percentiles: {" + ", ".join(f"p{p}: {_number(row[f'p{p}'])}" for p in PERCENTILES) + "}",
            ]
        return "\n".join(lines) + "\n"

    def _repr_html_(self) -> str:
        from ..tables import html_table

        head = f"<p><b>{'Proposed' if self.proposed else 'No scorecard proposed'}</b>: {html.escape(self.reason)}</p>"
        return head + (html_table(self.components) if len(self.components) else "")


def _number(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "null"
    return f"{value:.0f}" if float(value).is_integer() else f"{value:.2f}"


def candidates(decisions: pd.DataFrame, min_share: float = 0.5) -> list[str]:
    """The exported score's components, per-role health, surveys, usage, goals and the score itself, where
    at least `min_share` of the decisions have a value and the values vary."""
    names = [c for c in decisions.columns if str(c).startswith("component_")] + list(CANDIDATES)
    return [
        c
        for c in dict.fromkeys(names)
        if c in decisions and decisions[c].notna().mean() >= min_share and decisions[c].nunique() > 1
    ]


def percentile_scale(fit_values: pd.Series, values: pd.Series) -> np.ndarray:
    """0-1: the share of the earlier decisions' values at or below each value; missing values sit at 0.5."""
    known = np.sort(fit_values.dropna().to_numpy(dtype=float))
    scaled = np.searchsorted(known, values.to_numpy(dtype=float), side="right") / max(len(known), 1)
    return np.where(values.isna(), 0.5, scaled)


def _grouped(scaled: pd.DataFrame, groups: np.ndarray) -> np.ndarray:
    return np.column_stack([scaled.loc[:, groups == g].mean(axis=1) for g in np.unique(groups)])


def _coefficients(x: np.ndarray, y: np.ndarray, penalty: float, weight: np.ndarray | None = None) -> np.ndarray:
    """Non-negative L1 logistic coefficients: a group that comes out against renewal is dropped and the rest refit.
    `weight` counts each row that many times (the same fit as repeated rows)."""
    active = np.ones(x.shape[1], dtype=bool)
    coefficients = np.zeros(x.shape[1])
    while active.any():
        fitted, _ = l1_logistic(x[:, active], y, penalty, weight)
        if (fitted >= 0).all():
            coefficients[active] = fitted
            break
        active[np.flatnonzero(active)[fitted < 0]] = False
    return coefficients


def _choose_penalty(x: np.ndarray, y: np.ndarray, accounts: np.ndarray) -> float:
    folds = GroupKFold(n_splits=min(5, len(np.unique(accounts))))
    best, best_auc = PENALTIES[-1], -np.inf
    for penalty in PENALTIES:
        aucs = []
        for train, held in folds.split(x, y, accounts):
            if len(np.unique(y[train])) < 2 or len(np.unique(y[held])) < 2:
                continue
            weights = _coefficients(x[train], y[train], penalty)
            aucs.append(auc_interval(pd.Series(x[held] @ weights), pd.Series(y[held].astype(bool)))[0])
        mean = np.nanmean(aucs) if aucs else np.nan
        if mean > best_auc + 1e-9:
            best, best_auc = penalty, mean
    return float(best)


def _points(weights: np.ndarray) -> np.ndarray:
    """Whole points summing to 100, by largest remainder."""
    if weights.sum() <= 0:
        return np.zeros_like(weights, dtype=int)
    exact = 100 * weights / weights.sum()
    points = np.floor(exact).astype(int)
    points[np.argsort(-(exact - points))[: 100 - points.sum()]] += 1
    return points


def _threshold(score: np.ndarray, churned_arr: np.ndarray, share: float) -> float:
    """The lowest whole score below which the decisions hold at least `share` of the churned ARR."""
    total = churned_arr.sum()
    for cut in range(101):
        if churned_arr[score < cut].sum() >= share * total:
            return float(cut)
    return 100.0


def propose(
    decisions: pd.DataFrame,
    fit_share: float = 0.6,
    red_catches: float = 0.5,
    green_leaves: float = 0.1,
    reference_red_below: float = 40,
    reference_green_from: float = 70,
    min_events: int = 20,
    resamples: int = 100,
    seed: int = 0,
    level: float = 0.95,
) -> Scorecard:
    """Learn a scorecard on the earliest `fit_share` of the decisions (by renewal date) and test it on the rest.

    Red is set to catch `red_catches` of the earlier period's churned ARR; green where at most `green_leaves`
    of it remains above. The weights' intervals come from `resamples` resamples of the earlier accounts. The
    out-of-time AUCs and the gain over the team's score, which decide whether it is proposed, take `level`
    (the report's level for one of its tests).
    """
    names = candidates(decisions)
    ordered = decisions.sort_values("end_date", kind="stable")
    split_date = ordered["end_date"].iloc[int(len(ordered) * fit_share) - 1] if len(ordered) > 1 else None
    if not names or split_date is None:
        return Scorecard(False, "the data has no signal to build a score from")
    early = ordered.loc[ordered["end_date"] <= split_date]
    later = ordered.loc[ordered["end_date"] > split_date]
    fit, tested = _counts(early), _counts(later)
    if (
        min(fit["churned"], fit["decisions"] - fit["churned"]) < min_events
        or min(tested["churned"], tested["decisions"] - tested["churned"]) < min_events // 2
    ):
        return Scorecard(
            False,
            f"too few decisions to learn a score and prove it on later ones: {fit['churned']} churned before "
            f"{split_date:%Y-%m-%d} and {tested['churned']} after (at least {min_events} and {min_events // 2} needed)",
            split_date=split_date,
            fit=fit,
            tested=tested,
        )
    y = early["renewed"].to_numpy(dtype=int)
    raw = pd.DataFrame({c: percentile_scale(early[c], early[c]) for c in names}, index=early.index)
    direction = {c: auc_interval(early[c].fillna(early[c].median()), early["renewed"])[0] >= 0.5 for c in names}
    scaled = raw.apply(lambda column: column if direction[column.name] else 1 - column)
    groups = correlated_groups(scaled, TWINS)
    x = _grouped(scaled, groups)
    accounts = early["account_id"].to_numpy()
    penalty = _choose_penalty(x, y, accounts)
    weights = _member_weights(_coefficients(x, y, penalty), groups)
    points = _points(weights)
    if not (points > 0).any():
        return Scorecard(
            False,
            f"no component earned any weight on the {fit['decisions']:,} earlier decisions: nothing measured there "
            f"separated renewals from churn, so nothing is proposed and there is no score to colour",
            split_date=split_date,
            fit=fit,
            tested=tested,
        )

    def score_of(frame: pd.DataFrame) -> np.ndarray:
        parts = [percentile_scale(early[c], frame[c]) for c in names]
        parts = [p if direction[c] else 1 - p for p, c in zip(parts, names)]
        return np.column_stack(parts) @ points

    early_score = score_of(early)
    churned_arr = np.where(early["renewed"], 0.0, early["arr"].to_numpy(dtype=float))
    red_below = _threshold(early_score, churned_arr, red_catches)
    green_from = max(_threshold(early_score, churned_arr, 1 - green_leaves), red_below + 1)

    spread = _stability(early, scaled, groups, y, penalty, resamples, seed)
    components = pd.DataFrame(
        {
            "component": names,
            "group": groups,
            "direction": ["higher is better" if direction[c] else "lower is better" for c in names],
            "points": points,
            "ci_low": spread[0],
            "ci_high": spread[1],
            **{f"p{p}": [early[c].quantile(p / 100) for c in names] for p in PERCENTILES},
        }
    ).sort_values("points", ascending=False, kind="stable")

    test = later.assign(**{SCORE: score_of(later)})
    comparison = _compare(test, level)
    proposed = comparison.get("gain_ci_low", np.nan) > 0 if REFERENCE in test else comparison["auc_ci_low"] > 0.5
    reason = _reason(proposed, comparison, tested, REFERENCE in test)
    flagged, melons = _flagged(test, red_below, green_from, reference_red_below, reference_green_from)
    return Scorecard(
        bool(proposed),
        reason,
        components.reset_index(drop=True),
        red_below,
        green_from,
        split_date,
        fit,
        tested,
        test,
        comparison,
        flagged,
        melons,
    )


def _counts(frame: pd.DataFrame) -> dict:
    return {
        "decisions": len(frame),
        "accounts": int(frame["account_id"].nunique()),
        "churned": int((~frame["renewed"]).sum()),
        "first": f"{frame['end_date'].min():%Y-%m-%d}" if len(frame) else None,
        "last": f"{frame['end_date'].max():%Y-%m-%d}" if len(frame) else None,
    }


def _member_weights(group_weights: np.ndarray, groups: np.ndarray) -> np.ndarray:
    """Each group's weight shared equally by its members."""
    labels = np.unique(groups)
    sizes = pd.Series(groups).value_counts()
    return np.array([group_weights[np.searchsorted(labels, g)] / sizes[g] for g in groups])


def _stability(early, scaled, groups, y, penalty, resamples, seed) -> tuple[np.ndarray, np.ndarray]:
    """95% intervals of each component's points over resamples of the earlier period's accounts."""
    rng = np.random.default_rng(seed)
    accounts = early["account_id"].to_numpy()
    unique, code = np.unique(accounts, return_inverse=True)
    x = _grouped(scaled, groups)
    draws = []
    for _ in range(resamples):
        weight = rng.poisson(1.0, len(unique))[code]
        drawn = weight > 0  # rows drawn, each weighted by its copies: 40% faster than repeating them
        if len(np.unique(y[drawn])) < 2:
            continue
        member = _member_weights(_coefficients(x[drawn], y[drawn], penalty, weight[drawn]), groups)
        draws.append(100 * member / member.sum() if member.sum() > 0 else member)
    if not draws:
        return np.full(len(groups), np.nan), np.full(len(groups), np.nan)
    stacked = np.vstack(draws)
    return np.percentile(stacked, 2.5, axis=0), np.percentile(stacked, 97.5, axis=0)


def _compare(test: pd.DataFrame, level: float) -> dict:
    judged = validity(test, [s for s in (SCORE, REFERENCE) if s in test], level=level, family_size=1, min_events=1)
    board = judged.set_index("signal")
    out = {
        "auc_out_of_time": float(board.loc[SCORE, "auc"]),
        "auc_ci_low": float(board.loc[SCORE, "auc_ci_low"]),
        "auc_ci_high": float(board.loc[SCORE, "auc_ci_high"]),
        "reference_auc_out_of_time": None,
    }
    if REFERENCE in board.index:
        gain = versus_reference(test, [SCORE], REFERENCE, level=level).iloc[0]
        out.update(
            reference_auc_out_of_time=float(board.loc[REFERENCE, "auc"]),
            reference_ci_low=float(board.loc[REFERENCE, "auc_ci_low"]),
            reference_ci_high=float(board.loc[REFERENCE, "auc_ci_high"]),
            gain=float(gain["difference"]),
            gain_ci_low=float(gain["ci_low"]),
            gain_ci_high=float(gain["ci_high"]),
            compared=int(gain["n"]),
        )
    return out


def _reason(proposed: bool, comparison: dict, tested: dict, has_reference: bool) -> str:
    where = (
        f"on the {tested['decisions']:,} later decisions ({tested['accounts']:,} accounts, "
        f"{tested['churned']:,} churned)"
    )
    if pd.isna(comparison["auc_ci_low"]):
        return f"the learned score took too few distinct values {where} to be judged, so nothing is proposed"
    if not has_reference:
        verdict = "separated renewals from churn" if proposed else "did not separate renewals from churn clearly"
        return (
            f"the learned score {verdict} {where}: AUC {comparison['auc_out_of_time']:.2f} "
            f"[{comparison['auc_ci_low']:.2f}, {comparison['auc_ci_high']:.2f}]; the data has no exported health "
            f"score to compare with"
        )
    gain = f"gain {comparison['gain']:+.2f} [{comparison['gain_ci_low']:+.2f}, {comparison['gain_ci_high']:+.2f}]"
    if proposed:
        return f"it separated renewals from churn better than the team's health score {where}: {gain} in AUC"
    return (
        f"the learned score did not beat the team's health score clearly {where} ({gain} in AUC; the interval "
        f"includes no gain), so nothing is proposed: keep the current score, or study a longer window"
    )


def _flagged(test, red_below, green_from, reference_red_below, reference_green_from) -> tuple[pd.DataFrame, dict]:
    churned_arr = test["arr"].where(~test["renewed"], 0.0)
    rows, melons = [], {}
    for score, red, green, name in (
        (SCORE, red_below, green_from, "the learned score"),
        (REFERENCE, reference_red_below, reference_green_from, "the team's health score"),
    ):
        if score not in test:
            continue
        red_rows = test[score] < red
        rows.append(
            {
                "score": name,
                "red_below": red,
                "red_decisions": int(red_rows.sum()),
                "churned_arr_flagged": float(churned_arr[red_rows].sum()),
                "share_of_churned_arr": float(churned_arr[red_rows].sum() / max(churned_arr.sum(), 1e-9)),
            }
        )
        melons[name] = watermelon(test, red, green, score=score)
    return pd.DataFrame(rows), melons
