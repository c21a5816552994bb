"""A renewal forecast with its own track record: the ARR renewing in the three months after a date.

The quarter forecast is the three months after the forecast's date (as `renewals_due` counts the next quarter):
the terms running on that date and ending in those months, each with its probability of renewing from a
logistic model fitted on the decisions made up to the date (the report's signals, each measured at the study's
horizon before its decision, or on the forecast's date where that is earlier; missing values as the fitted
decisions' median with a flag), standardized and lightly shrunk. Renewing ARR is Σ min(renewal ARR, ARR) of the
terms that renew, as the contract's dollar renewal rate counts it. Its 90% prediction interval is simulated:
coefficients drawn from the fit's account-clustered covariance, one uniform draw per account (an account's
terms renew or churn together), and each renewing term's kept share of ARR drawn from the fitted renewals'.

The same forecast is made again from every earlier three-month origin the data allows, fitted only on what
was decided by then, and compared with what happened, beside last year's dollar renewal rate applied to the
quarter's ARR and, where the data has a health score, the renewal rate of each health colour. The forecast
is exploratory: it is outside the report's family of tests, and its pages make no finding of it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..stats.logistic import fit_logistic, predict
from ..stats.sums import summed_per_group
from . import watermelon
from .calibration import binned

PERIOD_MONTHS = 3
MIN_QUARTERS = 4  # decided quarters the contract asks for before a forecast is published
LEVEL = 0.90
DRAWS = 2000
CELLS_AT_A_TIME = 5_000_000  # draws x terms simulated at a time: a block's few arrays of that size stay near 40 MB
SHRINKAGE = 1.0  # ridge on standardized slopes: a standard normal prior on each, enough to tame twins
COLOURS = ("red", "yellow", "green", "no score")


@dataclass
class Forecast:
    """The next quarter's forecast (`quarter`, `expected`, `ci_low`, `ci_high`, the terms and accounts behind it),
    its `backtest` (one row per earlier quarter), `reliability` of the backtested probabilities, the `movers` (the
    accounts whose expected loss is largest) and, where no forecast is made, the `reason`."""

    reason: str = ""
    quarter: pd.Timestamp | None = None
    next: dict = field(default_factory=dict)
    backtest: pd.DataFrame = field(default_factory=pd.DataFrame)
    reliability: pd.DataFrame = field(default_factory=pd.DataFrame)
    movers: pd.DataFrame = field(default_factory=pd.DataFrame)
    decided_quarters: int = 0
    signals: list = field(default_factory=list)

    @property
    def made(self) -> bool:
        return not self.reason

    def track_record(self) -> dict:
        """Mean absolute percentage errors of the forecast and the baselines, coverage and Brier scores."""
        tested = self.backtest
        if not len(tested):
            return {"quarters": 0}
        return {
            "quarters": len(tested),
            "mape": float(tested["abs_pct_error"].mean()),
            "baseline_mape": _mean(tested["baseline_abs_pct_error"]),
            "colour_mape": _mean(tested["colour_abs_pct_error"]) if "colour_abs_pct_error" in tested else None,
            "coverage": float(tested["covered"].mean()),
            "brier": _mean(tested["brier"]),
            "baseline_brier": _mean(tested["baseline_brier"]),
        }

    def to_results(self) -> dict | None:
        """results.json `forecast` as the contract says, or None where the data allows no backtest."""
        if not self.made:
            return None
        record = self.track_record()
        columns = ["quarter", "forecast", "renewed_arr", "abs_pct_error", "covered"]
        return {
            "quarter": f"{self.quarter:%Y-%m-%d}",
            "expected_renewing_arr": self.next["expected"],
            "ci_low": self.next["ci_low"],
            "ci_high": self.next["ci_high"],
            "arr_up_for_renewal": self.next["arr"],
            "contracts": self.next["contracts"],
            "accounts": self.next["accounts"],
            "backtest": [
                {
                    "quarter": f"{row['quarter']:%Y-%m-%d}",
                    "forecast": row["forecast"],
                    "actual": row["renewed_arr"],
                    "abs_pct_error": row["abs_pct_error"],
                    "covered": bool(row["covered"]),
                }
                for row in self.backtest[columns].to_dict(orient="records")
            ],
            "mape": record.get("mape"),
            "baseline_mape": record.get("baseline_mape"),
            "coverage": record.get("coverage"),
        }

    def _repr_html_(self) -> str:
        from ..tables import html_table

        if not self.made:
            return f"<p><b>No renewal forecast</b>: {html.escape(self.reason)}</p>"
        head = (
            f"<p><b>Renewal forecast for the quarter from {self.quarter:%Y-%m-%d}</b>: "
            f"{self.next['expected']:,.0f} of {self.next['arr']:,.0f} ARR renewing "
            f"[{self.next['ci_low']:,.0f}, {self.next['ci_high']:,.0f}], 90% prediction interval</p>"
        )
        return head + (html_table(self.backtest) if len(self.backtest) else "")


def _mean(values: pd.Series):
    values = values.dropna()
    return float(values.mean()) if len(values) else None


def quarter_ends(as_of: pd.Timestamp, first_decision: pd.Timestamp) -> list[pd.Timestamp]:
    """The forecast origins: as_of, then every three months back (counted from as_of, so that month ends stay
    month ends) while the quarter after one can hold the first decision."""
    origins = []
    for back in range(0, 100 * PERIOD_MONTHS, PERIOD_MONTHS):
        origin = pd.Timestamp(as_of) - pd.DateOffset(months=back)
        if origin + pd.DateOffset(months=PERIOD_MONTHS) <= first_decision:
            break
        origins.append(origin)
    return origins


def decided_quarters(decisions: pd.DataFrame, as_of: pd.Timestamp) -> int:
    """Three-month periods back from as_of (each from the day after one origin to the next) holding a decision."""
    decided = decisions.loc[decisions["end_date"] <= as_of, "end_date"]
    if not len(decided):
        return 0
    bounds = sorted(quarter_ends(as_of, decided.min()))
    bounds = [bounds[0] - pd.DateOffset(months=PERIOD_MONTHS), *bounds]
    return int(pd.cut(decided, bins=pd.DatetimeIndex(bounds), right=True).nunique())


def due(terms: pd.DataFrame, origins: list[pd.Timestamp], horizon_days: int) -> pd.DataFrame:
    """Per origin, the terms running on it (started on or before it) that end in the three months after it, with
    `origin` and the observation date at which their signals are measured: the study's horizon before the end,
    or the origin where that is earlier. The forecast origin's terms are to be scored, never judged."""
    parts = []
    for origin in origins:
        until = origin + pd.DateOffset(months=PERIOD_MONTHS)
        chosen = (terms["start_date"] <= origin) & (terms["end_date"] > origin) & (terms["end_date"] <= until)
        part = terms.loc[chosen].assign(origin=origin)
        part["observation_date"] = (part["end_date"] - pd.Timedelta(days=horizon_days)).clip(upper=origin)
        parts.append(part)
    return pd.concat(parts, ignore_index=True) if parts else terms.iloc[:0].assign(origin=pd.NaT)


def kept_arr(frame: pd.DataFrame) -> np.ndarray:
    """Renewing ARR of each decided term: min(renewal ARR, ARR) where renewed (ARR where no renewal ARR is
    known), 0 where churned."""
    arr = frame["arr"].to_numpy(dtype=float)
    renewal = frame["renewal_arr"].to_numpy(dtype=float) if "renewal_arr" in frame else arr
    renewal = np.where(np.isnan(renewal), arr, renewal)
    return np.where(frame["renewed"].to_numpy(dtype=bool), np.minimum(renewal, arr), 0.0)


@dataclass
class _Model:
    """A fitted renewal model: how to turn a frame into its design, the coefficients and their covariance."""

    signals: list
    medians: dict
    flagged: list
    centre: np.ndarray
    spread: np.ndarray
    beta: np.ndarray
    covariance: np.ndarray

    def values(self, frame: pd.DataFrame) -> np.ndarray:
        """The signals, missing ones at the median, and a flag per signal that was missing in some fitted case."""
        columns = [frame[s].astype(float).fillna(self.medians[s]).to_numpy() for s in self.signals]
        columns += [frame[s].isna().to_numpy(dtype=float) for s in self.flagged]
        return np.column_stack(columns) if columns else np.empty((len(frame), 0))

    def design(self, frame: pd.DataFrame) -> np.ndarray:
        return (self.values(frame) - self.centre) / self.spread

    def probability(self, frame: pd.DataFrame) -> np.ndarray:
        return predict(self.beta[None, :], self.design(frame))[0]


def fit(history: pd.DataFrame, signals: list[str]) -> _Model:
    """The renewal model of `history` (decided terms with `renewed`, `account_id` and the signals): signals with
    a value in at least one decision and some variation, missing ones filled with the median and flagged."""
    usable = [s for s in signals if s in history and history[s].notna().any() and history[s].nunique() > 1]
    medians = {s: float(history[s].median()) for s in usable}
    flagged = [s for s in usable if history[s].isna().any() and history[s].notna().any()]
    model = _Model(usable, medians, flagged, np.zeros(0), np.ones(0), np.zeros(1), np.zeros((1, 1)))
    raw = model.values(history)
    model.centre, spread = raw.mean(axis=0), raw.std(axis=0)
    model.spread = np.where(spread > 0, spread, 1.0)
    x = (raw - model.centre) / model.spread
    y = history["renewed"].to_numpy(dtype=float)
    model.beta = fit_logistic(x, y, ridge=SHRINKAGE)[0]
    if np.isnan(model.beta).any():  # no convergence: the overall rate alone
        model.beta = np.r_[np.log(y.mean() / (1 - y.mean())), np.zeros(x.shape[1])]
    model.covariance = _clustered_covariance(x, y, model.beta, history["account_id"])
    return model


def _clustered_covariance(x: np.ndarray, y: np.ndarray, beta: np.ndarray, account: pd.Series) -> np.ndarray:
    """The penalized fit's sandwich covariance, its scores summed per account: an account's decisions are one
    unit of evidence, not several."""
    design = np.column_stack([np.ones(len(x)), x])
    p = predict(beta[None, :], x)[0]
    penalty = np.full(design.shape[1], SHRINKAGE)
    penalty[0] = 0.0
    curvature = design.T @ (design * (p * (1 - p))[:, None]) + np.diag(penalty + 1e-9)
    groups, count = pd.factorize(account)[0], account.nunique()
    scores = summed_per_group((design * (y - p)[:, None]).T, groups, count)  # predictors x accounts
    bread = np.linalg.pinv(curvature)
    return bread @ (scores @ scores.T) @ bread


def simulate(
    model: _Model, terms: pd.DataFrame, kept_shares: np.ndarray, rng: np.random.Generator, draws: int = DRAWS
) -> np.ndarray:
    """Simulated renewing ARR of `terms`, one total per draw: coefficients from the fit's covariance, one uniform
    per account and draw, each renewing term's kept share drawn from `kept_shares`."""
    x, arr = model.design(terms), terms["arr"].to_numpy(dtype=float)
    account = pd.factorize(terms["account_id"])[0]
    accounts = int(account.max(initial=-1)) + 1
    shares = kept_shares if len(kept_shares) else np.ones(1)
    totals, per_block = [], max(1, CELLS_AT_A_TIME // max(len(arr), 1))
    for first in range(0, draws, per_block):
        block = min(per_block, draws - first)
        beta = rng.multivariate_normal(model.beta, model.covariance, size=block, method="eigh")
        renews = rng.random((block, accounts))[:, account] < predict(beta, x)
        kept = shares[rng.integers(0, len(shares), size=(block, len(arr)))]
        totals.append((renews * kept * arr).sum(axis=1))
    return np.concatenate(totals)


def _kept_shares(history: pd.DataFrame) -> np.ndarray:
    renewed = history.loc[history["renewed"].astype(bool)]
    if not len(renewed):
        return np.ones(1)
    return kept_arr(renewed) / renewed["arr"].to_numpy(dtype=float)


def last_year_rate(history: pd.DataFrame, origin: pd.Timestamp) -> float:
    """The dollar renewal rate of the decisions in the twelve months up to `origin`: Σ kept ARR / Σ ARR."""
    year = history.loc[history["end_date"] > origin - pd.DateOffset(months=12)]
    arr = year["arr"].sum()
    return float(kept_arr(year).sum() / arr) if arr > 0 else np.nan


def colour(scores: pd.Series, red_below: float, green_from: float) -> pd.Series:
    """The team's colour of each score (watermelon.colour), "no score" where it is missing."""
    return watermelon.colour(scores, red_below, green_from).astype(object).fillna(COLOURS[3])


def colour_rates(history: pd.DataFrame, red_below: float, green_from: float) -> pd.Series:
    """The dollar renewal rate of each health colour among `history`: the exported score's own calibration."""
    colours = colour(history["health_score"], red_below, green_from)
    kept = pd.Series(kept_arr(history), index=history.index)
    rates = kept.groupby(colours).sum() / history["arr"].groupby(colours).sum()
    return rates.reindex(list(COLOURS)).fillna(last_year_rate(history, history["end_date"].max()))


def forecast(
    history: pd.DataFrame,
    terms_due: pd.DataFrame,
    signals: list[str],
    as_of: pd.Timestamp,
    *,
    min_events: int = 10,
    thresholds: tuple[float, float] = (40, 70),
    seed: int = 0,
) -> Forecast:
    """The next quarter's renewal forecast and its backtest.

    Parameters
    ----------
    history : DataFrame
        Every decided term up to `as_of`: `account_id`, `end_date`, `arr`, `renewed` (and `renewal_arr`) with the
        signals measured at the study's horizon before each decision.
    terms_due : DataFrame
        `due` of the origins, measured at their observation dates: `origin` as_of holds the terms to forecast.
    signals : list of str
        The model's inputs.
    min_events : int
        Churned and renewed decisions a fit needs before an origin is forecast.
    thresholds : (red_below, green_from)
        The team's health colours, for the colour baseline.
    """
    as_of = pd.Timestamp(as_of)
    quarters = decided_quarters(history, as_of)
    quarter = as_of + pd.Timedelta(days=1)
    if quarters < MIN_QUARTERS:
        return Forecast(
            f"the data holds {quarters} quarter{'s' if quarters != 1 else ''} of decided renewals; a forecast needs "
            f"{MIN_QUARTERS}, so that earlier quarters can test it. Export the renewals of at least a year",
            decided_quarters=quarters,
        )
    rng = np.random.default_rng(seed)
    rows, probabilities = [], []
    for origin, terms in terms_due.groupby("origin", sort=True):
        known = history.loc[history["end_date"] <= origin]
        churned = int((~known["renewed"].astype(bool)).sum())
        if origin == as_of or churned < min_events or len(known) - churned < min_events:
            continue
        model = fit(known, signals)
        totals = simulate(model, terms, _kept_shares(known), rng)
        p = model.probability(terms)
        rate = last_year_rate(known, origin)
        actual = float(kept_arr(terms).sum())
        arr = float(terms["arr"].sum())
        row = {
            "quarter": origin + pd.Timedelta(days=1),
            "contracts": len(terms),
            "accounts": int(terms["account_id"].nunique()),
            "arr": arr,
            **_interval(totals, "forecast"),
            "renewed_arr": actual,
            "last_year_forecast": rate * arr,
        }
        renewed = terms["renewed"].to_numpy(dtype=float)
        row["brier"] = float(np.mean((p - renewed) ** 2))
        renewal_rate = float(known["renewed"].astype(bool).mean())
        row["baseline_brier"] = float(np.mean((renewal_rate - renewed) ** 2))
        if "health_score" in known and known["health_score"].notna().any():
            rates = colour_rates(known, *thresholds)
            row["colour_forecast"] = float((colour(terms["health_score"], *thresholds).map(rates) * terms["arr"]).sum())
        rows.append(row)
        probabilities.append(pd.DataFrame({"predicted": p, "renewed": renewed, "account_id": terms["account_id"]}))
    backtest = _errors(pd.DataFrame(rows))
    upcoming = terms_due.loc[terms_due["origin"] == as_of]
    if not len(backtest):
        return Forecast(
            f"no earlier quarter had {min_events} churned and {min_events} renewed decisions before it to fit on",
            decided_quarters=quarters,
        )
    if not len(upcoming):
        return Forecast(
            f"no term running on {as_of:%Y-%m-%d} ends in the three months after it", decided_quarters=quarters
        )
    model = fit(history, signals)
    totals = simulate(model, upcoming, _kept_shares(history), rng)
    p = model.probability(upcoming)
    arr = upcoming["arr"].to_numpy(dtype=float)
    nxt = {
        **_interval(totals, "expected"),
        "arr": float(arr.sum()),
        "contracts": len(upcoming),
        "accounts": int(upcoming["account_id"].nunique()),
        "baseline": last_year_rate(history, as_of) * float(arr.sum()),
        "grr": float(totals.mean() / arr.sum()) if arr.sum() > 0 else None,
    }
    return Forecast(
        quarter=quarter,
        next=nxt,
        backtest=backtest,
        reliability=_reliability(pd.concat(probabilities, ignore_index=True)),
        movers=_movers(upcoming.assign(probability=p), model),
        decided_quarters=quarters,
        signals=model.signals,
    )


def _interval(totals: np.ndarray, name: str) -> dict:
    """The simulated totals' mean as `name`, and their central LEVEL interval."""
    low, high = np.quantile(totals, [(1 - LEVEL) / 2, (1 + LEVEL) / 2])
    return {name: float(totals.mean()), "ci_low": float(low), "ci_high": float(high)}


def _errors(backtest: pd.DataFrame) -> pd.DataFrame:
    if not len(backtest):
        return backtest
    actual = backtest["renewed_arr"].where(backtest["renewed_arr"] > 0)
    backtest["abs_error"] = (backtest["forecast"] - backtest["renewed_arr"]).abs()
    backtest["abs_pct_error"] = backtest["abs_error"] / actual
    renewed = backtest["renewed_arr"]
    backtest["covered"] = (backtest["ci_low"] <= renewed) & (renewed <= backtest["ci_high"])
    backtest["baseline_abs_pct_error"] = (backtest["last_year_forecast"] - backtest["renewed_arr"]).abs() / actual
    if "colour_forecast" in backtest:
        backtest["colour_abs_pct_error"] = (backtest["colour_forecast"] - backtest["renewed_arr"]).abs() / actual
    return backtest


def _reliability(pooled: pd.DataFrame, bins: int = 5) -> pd.DataFrame:
    """Predicted against observed renewal over the backtested terms, by fifth of the predicted probability."""
    if pooled["predicted"].nunique() < 2:
        return pd.DataFrame(columns=["bin", "n", "predicted", "observed", "ci_low", "ci_high"])
    return binned(pooled, bins)


def _movers(upcoming: pd.DataFrame, model: _Model, count: int = 10) -> pd.DataFrame:
    """The accounts whose expected loss of ARR is largest, with their probability and the signal that pulls it
    down most (its standardized value times its coefficient)."""
    loss = upcoming["arr"] * (1 - upcoming["probability"])
    account = upcoming.assign(expected_loss=loss)
    x = model.design(account)
    pull = x[:, : len(model.signals)] * model.beta[1 : 1 + len(model.signals)]
    if len(model.signals):
        worst = np.argmin(pull, axis=1)
        account["pulled_down_by"] = np.where(pull.min(axis=1) < 0, np.asarray(model.signals, dtype=object)[worst], "")
    else:
        account["pulled_down_by"] = ""
    firsts = [c for c in ("account_name", "end_date") if c in account]
    table = (
        account.groupby("account_id", sort=False)
        .agg(
            **{c: (c, "first") for c in firsts},
            arr=("arr", "sum"),
            probability=("probability", "mean"),
            expected_loss=("expected_loss", "sum"),
            pulled_down_by=("pulled_down_by", "first"),
        )
        .reset_index()
    )
    return table.nlargest(count, "expected_loss").reset_index(drop=True)
