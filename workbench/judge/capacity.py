"""How quickly the CS team acts on risk, and from what book size it slows: detection lag, the human-touch effect
and CSM capacity, from the team's own activities (not a ratio heuristic)."""

from __future__ import annotations

import html
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ..inputs.activities import Activities
from ..lookup import mapped, positions
from ..measure.detection import FLAGS, OFF_PACE, PLACEBO_DAYS, SENSITIVITY_DAYS, TIMELY_DAYS
from ..measure.pointintime import days
from ..stats.auc import poisson_weights
from ..stats.metaregression import knapp_hartung
from ..stats.rates import rate_table
from ..stats.survival import km_median
from ..tables import Result
from .touches import touch_effect

REPLICATES = 300
CHECK_REPLICATES = 100  # the sensitivity, any-touch and placebo estimates: a standard error, not a verdict
AUTOMATION = ("automated_touch_effect", "human_after_automated", "human_minus_automated")
# Replicates x decisions weighted at a time: a large book's replicates are weighted a block at a time, not all
# at once.
CELLS_AT_A_TIME = 20_000_000
LAG_BANDS = ("within 14 days", "15-30 days", "31-60 days", "over 60 days", "no touch before renewal")
HEURISTIC_ARR_PER_CSM = 2_000_000  # "one CSM per $2M ARR", a ratio quoted in the trade, shown for comparison only
MIN_CSMS = 4  # fewer owners than this and a curve by book size says nothing about capacity


def lag_summary(frame: pd.DataFrame, decisions: pd.DataFrame, replicates: int = REPLICATES, seed: int = 0) -> dict:
    """The Kaplan-Meier median days from turning at risk to the next human touch (a renewal that came first
    censors it), with a 95% interval from a bootstrap over accounts; the share touched in time; and the share
    of churned ARR that was at risk with no human touch before its decision."""
    codes, accounts = pd.factorize(frame["account_id"])
    lag, touched = frame["lag_days"].to_numpy(dtype=float), frame["touched"].to_numpy(dtype=bool)
    timely = frame["timely"].to_numpy(dtype=float)
    rng, medians, timely_share = np.random.default_rng(seed), [], []
    block = max(1, CELLS_AT_A_TIME // max(len(frame), 1))
    for start in range(0, replicates, block):
        weights = poisson_weights(rng, min(block, replicates - start), len(accounts))[:, codes]
        medians.append(km_median(lag, touched, weights))
        with np.errstate(invalid="ignore"):  # no episode at all: no share, and None below
            timely_share.append(weights @ timely / weights.sum(axis=1))
    medians, timely_share = np.concatenate(medians), np.concatenate(timely_share)
    churned = decisions.loc[~decisions["renewed"]]
    missed = churned["at_risk"] & ~churned["touched"]
    churned_arr = float(churned["arr"].sum())
    return {
        "detection_lag_days": float(km_median(lag, touched)[0]),
        "detection_lag_ci_low": float(np.nanpercentile(medians, 2.5)) if np.isfinite(medians).any() else None,
        "detection_lag_ci_high": float(np.nanpercentile(medians, 97.5)) if np.isfinite(medians).any() else None,
        "timely_share": float(timely.mean()) if len(timely) else None,
        "timely_share_ci_low": float(np.percentile(timely_share, 2.5)) if len(timely) else None,
        "timely_share_ci_high": float(np.percentile(timely_share, 97.5)) if len(timely) else None,
        "timely_days": TIMELY_DAYS,
        "at_risk_decisions": int(len(frame)),
        "at_risk_accounts": int(len(accounts)),
        "decisions": int(len(decisions)),
        "churned_decisions": int(len(churned)),
        "untouched_churned_arr_share": float(churned.loc[missed, "arr"].sum() / churned_arr) if churned_arr else None,
        "untouched_churned_decisions": int(missed.sum()),
    }


def lag_bands(frame: pd.DataFrame) -> pd.DataFrame:
    """Churn rate by how soon the first human touch came (an association: CSMs answer the riskiest first)."""
    lag = frame["lag_days"].where(frame["touched"])
    band = pd.cut(lag, [-np.inf, 14, 30, 60, np.inf], labels=LAG_BANDS[:-1]).astype("object")
    band = band.where(frame["touched"], LAG_BANDS[-1])
    table = rate_table(
        frame.assign(lag_band=pd.Categorical(band, LAG_BANDS, ordered=True), churned=~frame["renewed"]),
        "lag_band",
        "churned",
    )
    return table.rename(columns={"events": "churned", "rate": "churn_rate"})


def month_code(dates: pd.Series) -> np.ndarray:
    """Calendar months as whole numbers (year * 12 + month - 1), for counting and joining by month."""
    return (dates.dt.year * 12 + dates.dt.month - 1).to_numpy(dtype=int)


def _spread(owner: np.ndarray, first: np.ndarray, last: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(row, month) for every month from each row's first to its last month, inclusive."""
    months = np.maximum(last - first + 1, 0)
    row = np.repeat(owner, months)
    step = np.arange(len(row)) - np.repeat(np.cumsum(months) - months, months)
    return row, np.repeat(first, months) + step


def _held(csm: np.ndarray, month: np.ndarray, account: np.ndarray, arr=None) -> pd.DataFrame:
    """Per (csm, month), indexed so: distinct accounts, and the summed `arr`. CSMs and accounts as numbers (a CSM
    below 0: none): every account-month paired with its CSM's name would be a string per row."""
    owned = csm >= 0
    csm, month, account = csm[owned], month[owned], account[owned]
    first, span = (int(month.min()), int(month.max() - month.min() + 1)) if len(month) else (0, 1)
    cell, cells = pd.factorize(csm.astype(np.int64) * span + (month - first), sort=True)  # hashed: np.unique sorts
    many = np.int64(account.max(initial=0) + 1)
    accounts = np.bincount(pd.unique(cell * many + account) // many, minlength=len(cells))
    index = pd.MultiIndex.from_arrays([cells // span, cells % span + first], names=["csm", "month"])
    table = pd.DataFrame({"accounts": accounts}, index=index)
    if arr is not None:
        table["arr"] = pd.Series(np.asarray(arr)[owned]).groupby(cell).sum().to_numpy()
    return table


def books(contracts: pd.DataFrame, at_risk: pd.DataFrame, as_of) -> pd.DataFrame:
    """Per CSM and calendar month (`month_code`): the accounts and ARR under contract with them, and how many of
    those were at risk (turned at risk and not yet decided)."""
    owned = contracts.dropna(subset=["csm"])
    csm, names = pd.factorize(owned["csm"], sort=True)
    first = month_code(owned["start_date"])
    last = month_code((owned["end_date"] - pd.Timedelta(days=1)).clip(upper=pd.Timestamp(as_of)))
    row, month = _spread(np.arange(len(owned)), first, last)
    account = pd.factorize(owned["account_id"])[0]
    table = _held(csm[row], month, account[row], owned["arr"].to_numpy(dtype=float)[row])
    if len(at_risk):
        row, month = _spread(np.arange(len(at_risk)), month_code(at_risk["onset"]), month_code(at_risk["end_date"]) - 1)
        account = pd.factorize(at_risk["account_id"])[0]
        table["at_risk"] = _held(positions(names, at_risk["csm"])[row], month, account[row])["accounts"]
    table["at_risk"] = table.get("at_risk", pd.Series(dtype=float)).reindex(table.index).fillna(0).astype(int)
    table = table.reset_index()
    table["csm"] = names.take(table["csm"].to_numpy())
    return table


def book_at_onset(frame: pd.DataFrame, book_table: pd.DataFrame) -> pd.DataFrame:
    """Each at-risk decision with its CSM's book (accounts, ARR, at-risk accounts) in the month it turned at risk."""
    keyed = frame.assign(month=month_code(frame["onset"]))
    found = keyed.merge(
        book_table.rename(columns={"accounts": "book_accounts", "arr": "book_arr", "at_risk": "book_at_risk"}),
        on=["csm", "month"],
        how="left",
    )
    return found.drop(columns="month").set_axis(frame.index)


def slowdown(frame: pd.DataFrame, by: str = "book_accounts", level: float = 0.95) -> dict | None:
    """How the share of late answers (no human touch within TIMELY_DAYS of turning at risk) grows with `by`,
    CSM by CSM: a book belongs to one CSM, so the CSMs are the units. Each CSM's late share is regressed on their
    mean `by` (random-effects meta-regression, `knapp_hartung`), with a `level` interval on CSMs - 2 degrees of
    freedom.

    Returns the change per 10 accounts in the late share, its interval, and the book at which half the answers
    come late with its interval (the books where the line's band holds a half), where that lies within the books
    observed; None with fewer than MIN_CSMS CSMs or too little spread between their books."""
    data = frame.dropna(subset=[by, "csm"])
    late = ~data["timely"].to_numpy(dtype=bool)
    per = pd.DataFrame({"csm": data["csm"].to_numpy(), "book": data[by].to_numpy(dtype=float), "late": late})
    per = per.groupby("csm", sort=False).agg(book=("book", "mean"), late=("late", "mean"), n=("late", "size"))
    if len(per) < MIN_CSMS or per["book"].nunique() < 3 or late.all() or not late.any():
        return None
    pooled = late.mean()
    line = knapp_hartung(per["book"], per["late"], pooled * (1 - pooled) / per["n"])
    if line is None:
        return None
    t, slope_se = line.t(level), float(np.sqrt(line.covariance[1, 1]))
    observed = (float(per["book"].min()), float(per["book"].max()))
    grid = np.linspace(*observed, 401)
    holds_half = np.abs(line.fitted(grid) - 0.5) <= t * line.fitted_se(grid)
    crossing = 0.5 - line.intercept
    within = line.slope > 0 and observed[0] <= crossing / line.slope <= observed[1]
    return {
        "by": by,
        "csms": int(len(per)),
        "decisions": int(len(data)),
        "late_share_per_10_accounts": 10 * line.slope,
        "ci_low": 10 * (line.slope - t * slope_se),
        "ci_high": 10 * (line.slope + t * slope_se),
        "ci_level": level,
        "detectable_per_10_accounts": 10 * (t + float(stats.norm.ppf(0.8))) * slope_se,
        "threshold_days": TIMELY_DAYS,
        "book_at_threshold": crossing / line.slope if within else None,
        "book_at_threshold_ci_low": float(grid[holds_half].min()) if within and not holds_half[0] else None,
        "book_at_threshold_ci_high": float(grid[holds_half].max()) if within and not holds_half[-1] else None,
        "books_observed": list(observed),
        "method": (
            f"each CSM's late share against their mean {'book' if by == 'book_accounts' else 'at-risk load'}, "
            f"weighted by its precision (random-effects meta-regression); {level:.1%} interval from a t "
            f"distribution on {line.df} degrees of freedom (Knapp-Hartung)"
        ),
    }


def curve(frame: pd.DataFrame, by: str = "book_accounts", bins: int = 4) -> pd.DataFrame:
    """At-risk decisions in `bins` groups of `by` (equal counts): the median lag, the timely share and the churn
    rate, each with an interval clustered by CSM (whose book it is)."""
    data = frame.dropna(subset=[by])
    if data[by].nunique() < 2:
        return pd.DataFrame()
    group = pd.qcut(data[by], bins, duplicates="drop")
    labels = group.cat.categories
    names = [f"{interval.left:,.0f}-{interval.right:,.0f}" for interval in labels]
    data = data.assign(book=group.cat.rename_categories(names), churned=~data["renewed"])
    timely = rate_table(data, "book", "timely", cluster="csm")
    churn = rate_table(data, "book", "churned", cluster="csm")
    medians = data.groupby("book", observed=True).apply(
        lambda part: km_median(part["lag_days"], part["touched"])[0], include_groups=False
    )
    return pd.DataFrame(
        {
            "book": timely["book"].astype(str).to_numpy(),
            "decisions": timely["n"].to_numpy(),
            "csms": timely["accounts"].to_numpy(),
            "median_lag_days": medians.to_numpy(),
            "timely_rate": timely["rate"].to_numpy(),
            "timely_ci_low": timely["ci_low"].to_numpy(),
            "timely_ci_high": timely["ci_high"].to_numpy(),
            "churn_rate": churn["rate"].to_numpy(),
            "churn_ci_low": churn["ci_low"].to_numpy(),
            "churn_ci_high": churn["ci_high"].to_numpy(),
        }
    )


def heuristics(open_contracts: pd.DataFrame, csms_now: int, book_at_threshold: float | None) -> pd.DataFrame:
    """Headcount for today's book by ratio heuristics beside the one this team's own detection lag implies."""
    arr = float(open_contracts["arr"].sum())
    accounts = int(open_contracts["account_id"].nunique())
    rows = [
        {
            "rule": "today's team",
            "csms": csms_now,
            "accounts_per_csm": accounts / max(csms_now, 1),
            "arr_per_csm": arr / max(csms_now, 1),
        },
        {
            "rule": "one CSM per $2M ARR (a trade ratio)",
            "csms": int(np.ceil(arr / HEURISTIC_ARR_PER_CSM)),
            "accounts_per_csm": accounts / max(np.ceil(arr / HEURISTIC_ARR_PER_CSM), 1),
            "arr_per_csm": HEURISTIC_ARR_PER_CSM,
        },
    ]
    if book_at_threshold:
        needed = int(np.ceil(accounts / book_at_threshold))
        rows.append(
            {
                "rule": f"books small enough to answer risk within {TIMELY_DAYS} days (this team's data)",
                "csms": needed,
                "accounts_per_csm": accounts / needed,
                "arr_per_csm": arr / needed,
            }
        )
    return pd.DataFrame(rows)


@dataclass
class Capacity:
    """The team's detection, the effect of a timely human touch and its capacity, from its activities."""

    detection: pd.DataFrame  # per decision: at_risk, onset, flags, touch_date, lag_days, touched, timely, book_*
    episodes: pd.DataFrame  # per decision and signal that showed: time zero, the last clean reading, touches
    lag: dict
    bands: pd.DataFrame
    effects: dict  # per episode signal (FLAGS) estimated: its touch effect, with its checks
    automation: dict | None  # over the headline's episodes: automated, human after automated, the difference
    routine_channels: list  # the channels counted as routines, not answers
    curve: pd.DataFrame
    slowdown: dict | None
    load_curve: pd.DataFrame  # the same by the at-risk accounts the CSM held
    load_slowdown: dict | None
    touches: pd.DataFrame  # touch_mix
    heuristics: pd.DataFrame
    team: pd.DataFrame  # per CSM: today's book, and over the window the timely share and median lag

    @property
    def effect(self) -> dict | None:
        """The headline touch effect: after the first episode signal (in FLAGS' order) that has one."""
        return next((self.effects[flag] for flag in FLAGS if self.effects.get(flag)), None)

    def to_results(self) -> dict:
        def plain(effect):
            return None if effect is None else {k: v for k, v in effect.items() if k not in ("balance", "draws")}

        automation = self.automation or {}

        return {
            **self.lag,
            "human_touch_effect": plain(self.effect),
            "touch_effect_by_signal": [plain(e) for e in self.effects.values() if e is not None],
            "automated_touch_effect": plain(automation.get("automated_touch_effect")),
            "human_minus_automated": automation.get("human_minus_automated"),
            "human_after_automated": plain(automation.get("human_after_automated")),
            "reach": automation.get("reach"),
            "slowdown": self.slowdown,
            "slowdown_by_at_risk_load": self.load_slowdown and {**self.load_slowdown, "conclusion": "exploratory"},
            "by_book": self.curve,
        }

    def _repr_html_(self) -> str:
        sentences = "".join(f"<p>{sentence}</p>" for sentence in findings(self))
        return sentences + Result(self.curve, "By the CSM's book size when the account turned at risk.")._repr_html_()


RISK_MEASURES = {
    "below_red": "points the decision maker's health sat below red",
    "behind_by": "how far the goals were behind pace",
    "health_decision_maker_at_clean": "the decision maker's health",
    "goal_pace_at_clean": "the goals' pace",
    "health_score_at_clean": "the overall health score",
    **{f"{flag}_at_clean": words for flag, words in FLAGS.items()},
    "log_arr": "the contract's ARR (log)",
    "days_left": "days left to renewal",
    "tenure_days": "the account's days as a customer",
    "first_term": "a first term",
    "routine_in_window": "a routine review in the window",
}


def _by(day: np.ndarray, last: np.ndarray, end_day: np.ndarray) -> np.ndarray:
    """A touch on `day` came by `last` and before the decision (NaN: none)."""
    return (day <= last) & (day < end_day)


def adjustment(
    episodes: pd.DataFrame, frame: pd.DataFrame, signal: str, red_below: float, customer_since: pd.Series | None = None
) -> tuple[pd.DataFrame, dict[str, str]]:
    """The episodes of `signal` that began by their decision's observation date, with the decision's outcome,
    the treatments (`timely`: a human answer, not a routine, from the last clean reading to TIMELY_DAYS after
    time zero; `timely_<days>` for SENSITIVITY_DAYS; `any_touch`: any human touch so; `automated`: an
    automated touch so; `placebo`: an answer
    PLACEBO_DAYS before the clean reading) and the risk measured at the last clean reading that the estimate
    accounts for: how far below red the decision maker was, how far behind pace the goals were, the other
    flags, the contract's size, the days left to renewal, the account's tenure (from `customer_since`, its first
    start date by account: a new customer has no history of touches) and whether a routine review fell in the
    window."""
    own = episodes.loc[episodes["signal"] == signal]
    judged = frame.iloc[own["row"].to_numpy()].reset_index(drop=True)
    for column in own.columns.drop(["row", "signal"]):
        judged[column] = own[column].to_numpy()
    judged = judged.loc[judged["time_zero"] <= days(judged["observation_date"])].reset_index(drop=True)
    zero, clean, end = (judged[c].to_numpy(dtype=float) for c in ("time_zero", "clean_from", "end_day"))
    if "answer_day" in judged:
        judged["timely"] = _by(judged["answer_day"].to_numpy(dtype=float), zero + TIMELY_DAYS, end)
        for window in SENSITIVITY_DAYS:
            judged[f"timely_{window}"] = _by(judged["answer_day"].to_numpy(dtype=float), zero + window, end)
        judged["any_touch"] = _by(judged["any_day"].to_numpy(dtype=float), zero + TIMELY_DAYS, end)
        judged["automated"] = _by(judged["automated_day"].to_numpy(dtype=float), zero + TIMELY_DAYS, end)
        judged["placebo"] = _by(judged["placebo_day"].to_numpy(dtype=float), clean - PLACEBO_DAYS[1], end)
        judged["automated_placebo"] = _by(
            judged["automated_placebo_day"].to_numpy(dtype=float), clean - PLACEBO_DAYS[1], end
        )
        judged["routine_in_window"] = _by(judged["routine_day"].to_numpy(dtype=float), zero + TIMELY_DAYS, end)
    if "health_decision_maker_at_clean" in judged:
        judged["below_red"] = np.maximum(red_below - judged["health_decision_maker_at_clean"], 0)
    if "goal_pace_at_clean" in judged:
        judged["behind_by"] = np.maximum(OFF_PACE - judged["goal_pace_at_clean"], 0)
    judged["log_arr"] = np.log1p(judged["arr"].astype(float))
    judged["days_left"] = judged["end_day"] - judged["time_zero"]
    if customer_since is not None:
        since = mapped(judged["account_id"], customer_since)
        judged["tenure_days"] = clean - days(since).astype(float)
        judged["first_term"] = (judged["start_date"] <= since).astype(float).to_numpy()
    return judged, {name: words for name, words in RISK_MEASURES.items() if name in judged}


def placebo_episodes(judged: pd.DataFrame) -> pd.DataFrame:
    """The episodes whose placebo window the account was a customer for: before it no touch could come, and an
    early episode's risk is not a later one's."""
    return judged.loc[judged["tenure_days"] >= PLACEBO_DAYS[0]] if "tenure_days" in judged else judged


def _interval(effect: dict | None) -> dict | None:
    """A check's estimate and interval: outside the report's family, so exploratory."""
    if effect is None:
        return None
    return {**{k: effect[k] for k in ("estimate", "ci_low", "ci_high", "n", "touched")}, "conclusion": "exploratory"}


def estimated(
    frame: pd.DataFrame, covariates: dict, treatment: str, min_decisions: int, level: float, replicates=REPLICATES
) -> dict | None:
    """The effect of `treatment` over `frame`'s episodes (`touch_effect`); None with fewer than `min_decisions`
    of them, fewer than half that many on either side (touched or not), or where the outcome does not vary."""
    touched = int(frame[treatment].sum())
    sides = min(touched, len(frame) - touched)
    if frame["renewed"].nunique() < 2 or len(frame) < min_decisions or sides < min_decisions // 2:
        return None
    return touch_effect(frame, covariates, treatment=treatment, replicates=replicates, level=level)


def episode_effect(judged: pd.DataFrame, covariates: dict, min_decisions: int, level: float) -> dict | None:
    """The effect of a timely human touch over one signal's episodes (`adjustment`), with its checks: the same
    with the SENSITIVITY_DAYS windows, with any human touch (routines too) as the treatment, and the placebo
    (an answer before the risk could be known: an effect there is risk the data do not show)."""

    def check(treatment, among=judged):
        return _interval(estimated(among, covariates, treatment, min_decisions, level, CHECK_REPLICATES))

    main = estimated(judged, covariates, "timely", min_decisions, level)
    if main is None:
        return None
    return {
        **main,
        "timely_days": TIMELY_DAYS,
        "sensitivity": {str(window): check(f"timely_{window}") for window in SENSITIVITY_DAYS},
        "any_human_touch": check("any_touch"),
        "placebo": check("placebo", placebo_episodes(judged)),
        "placebo_days": list(PLACEBO_DAYS),
    }


def _reach(judged: pd.DataFrame, treatment: str, day: str) -> tuple[float, float | None]:
    """The share of episodes a `treatment` touch answered, and the median days from time zero to it (0: on the
    day the data showed the risk, or before)."""
    answered = judged[treatment].to_numpy(dtype=bool)
    lag = np.maximum(judged[day].to_numpy(dtype=float) - judged["time_zero"].to_numpy(dtype=float), 0)[answered]
    return float(answered.mean()), float(np.median(lag)) if len(lag) else None


def automation(judged: pd.DataFrame, covariates: dict, human: dict, min_decisions: int, level: float) -> dict:
    """Human or automated, over one signal's episodes (`adjustment`) whose human effect is `human`: the effect
    of a timely automated touch, of a human answer among the episodes an automated one already reached, and the
    human effect minus the automated one (from the same resamples of accounts, so their covariance counts);
    each None where too few episodes differ. Beside them, the share each kind reached and how fast."""
    found = dict.fromkeys(AUTOMATION)
    found["automated_touch_effect"] = estimated(judged, covariates, "automated", min_decisions, level)
    reached = judged.loc[judged["automated"]]
    found["human_after_automated"] = estimated(reached, covariates, "timely", min_decisions, level)
    automated = found["automated_touch_effect"]
    if automated is not None:
        se = float(np.nanstd(human["draws"] - automated["draws"]))
        z = float(stats.norm.ppf(1 - (1 - level) / 2))
        difference = human["estimate"] - automated["estimate"]
        found["human_minus_automated"] = {
            "estimate": difference,
            "ci_low": difference - z * se,
            "ci_high": difference + z * se,
            "ci_level": level,
            "method": (
                "the human effect minus the automated one, each by inverse-probability weighting over the same "
                f"episodes; {level:.1%} interval from the standard error over the same bootstrap resamples of "
                "accounts, so their covariance counts. Observational"
            ),
        }
        placebo = estimated(
            placebo_episodes(judged), covariates, "automated_placebo", min_decisions, level, CHECK_REPLICATES
        )
        automated.update(placebo=_interval(placebo), placebo_days=list(PLACEBO_DAYS))
    for name in AUTOMATION:
        if found[name] is not None:
            found[name]["signal"] = human["signal"]
    share, median = _reach(judged, "automated", "automated_day")
    human_share, human_median = _reach(judged, "timely", "answer_day")
    found["reach"] = {
        "automated_share": share,
        "automated_median_days": median,
        "human_share": human_share,
        "human_median_days": human_median,
        "episodes": int(len(judged)),
        "signal": human["signal"],
    }
    return found


def assess(
    decisions: pd.DataFrame,
    found: pd.DataFrame,
    episodes: pd.DataFrame,
    activities: Activities,
    contracts: pd.DataFrame,
    open_contracts: pd.DataFrame,
    owner: pd.Series,
    as_of,
    red_below: float,
    min_decisions: int = 20,
    level: float = 0.95,
    routine_channels=(),
) -> Capacity:
    """Everything the capacity page shows, from the decisions, their `found` detection and its `episodes`
    (measure.detection); the touch effect after each signal and the slowdown by book size are tested at `level`
    (each a test of the report's family), the slowdown by at-risk load is exploratory."""
    kept = ["contract_id", "account_id", "arr", "renewed", "start_date", "end_date", "observation_date"]
    frame = pd.concat([decisions[kept], found], axis=1)
    frame["csm"] = mapped(frame["account_id"], owner)
    at_risk = frame.loc[frame["at_risk"]]
    book = books(contracts.assign(csm=mapped(contracts["account_id"], owner)), at_risk, as_of)
    at_risk = book_at_onset(at_risk, book)
    frame = frame.join(at_risk[["book_accounts", "book_arr", "book_at_risk"]])
    effects, since, automated = {}, contracts.groupby("account_id")["start_date"].min(), None
    for signal in [flag for flag in FLAGS if flag in set(episodes["signal"])] if "answer_day" in episodes else ():
        judged, covariates = adjustment(episodes, frame, signal, red_below, since)
        effects[signal] = episode_effect(judged, covariates, min_decisions, level)
        if effects[signal] is not None:
            effects[signal]["signal"] = signal
            if automated is None:  # the headline's episodes: human or automated
                automated = automation(judged, covariates, effects[signal], min_decisions, level)
    slow = slowdown(at_risk, level=level)
    now = open_contracts.assign(csm=mapped(open_contracts["account_id"], owner))
    return Capacity(
        detection=frame,
        episodes=episodes,
        lag=lag_summary(at_risk, frame),
        bands=lag_bands(at_risk),
        effects=effects,
        automation=automated,
        routine_channels=list(routine_channels),
        curve=curve(at_risk),
        slowdown=slow,
        load_curve=curve(at_risk, "book_at_risk"),
        load_slowdown=slowdown(at_risk, "book_at_risk"),
        touches=touch_mix(activities, decisions),
        heuristics=heuristics(now, int(now["csm"].nunique()), slow and slow["book_at_threshold"]),
        team=per_csm(frame, open_contracts, owner),
    )


def touch_mix(activities: Activities, decisions: pd.DataFrame, months: int = 12) -> pd.DataFrame:
    """Touches per decision by kind and channel in each of the `months` months (30 days) before renewal,
    renewed and churned apart: what the team did ahead of each outcome."""
    columns = ["kind", "channel", "month_before", "outcome", "touches_per_decision"]
    outcome = np.where(decisions["renewed"], "renewed", "churned")
    decided = pd.Series(outcome).value_counts()
    if activities.kinds.empty or decided.empty:
        return pd.DataFrame(columns=columns)
    counted = activities.touches_before(decisions["account_id"], days(decisions["end_date"]), outcome, months)
    every = activities.kinds.merge(pd.DataFrame({"month_before": range(1, months + 1)}), how="cross").merge(
        pd.DataFrame({"outcome": decided.index}), how="cross"
    )
    table = every.merge(counted.rename(columns={"group": "outcome"}), on=columns[:4], how="left")
    table["touches_per_decision"] = table["n"].fillna(0).to_numpy() / table["outcome"].map(decided).to_numpy()
    return table.sort_values(columns[:4], ignore_index=True)[columns]


def per_csm(detection: pd.DataFrame, open_contracts: pd.DataFrame, owner: pd.Series) -> pd.DataFrame:
    """Per CSM: today's book (accounts, ARR) and, over the window's at-risk decisions, the share answered in
    time and the median lag."""
    now = open_contracts.assign(csm=mapped(open_contracts["account_id"], owner)).dropna(subset=["csm"])
    book = now.groupby("csm").agg(accounts=("account_id", "nunique"), arr=("arr", "sum"))
    risk = detection.loc[detection["at_risk"]].dropna(subset=["csm"])
    answered = risk.groupby("csm").agg(at_risk_decisions=("at_risk", "size"), timely_rate=("timely", "mean"))
    answered["median_lag_days"] = (
        risk.groupby("csm").apply(lambda part: km_median(part["lag_days"], part["touched"])[0], include_groups=False)
        if len(risk)
        else np.nan  # no decision turned at risk: no lag to take a median of
    )
    table = book.join(answered, how="outer").reset_index().rename(columns={"index": "csm"})
    return table.sort_values("accounts", ascending=False, na_position="last")


def _points(value: float) -> str:
    return f"{abs(100 * value):.1f}"


def findings(capacity: Capacity, part: str | None = None) -> list[str]:
    """Sentences of escaped HTML, each saying only what its interval says: how fast risk is answered, what a
    timely human touch is worth once risk is accounted for, and from what book size answers slow. `part`
    "answer" keeps the page's answer (the lag, the first signal's effect, automation's, the slowdowns),
    "checks" the rest (what an answer is, the plain comparisons, sensitivity, placebos, other signals)."""
    lag = capacity.lag
    timely = lag["timely_days"]
    said = []  # (sentence, part)

    def add(sentences, part="answer"):
        said.extend((sentence, part) for sentence in sentences)

    def answer(sentence):
        add([sentence])

    def check(sentence):
        add([sentence], "checks")

    if not lag["at_risk_decisions"]:
        return (
            []
            if part == "checks"
            else ["No renewal decision turned at risk by the workbench's early signals, so there is no lag to measure."]
        )
    share = (
        f"{lag['timely_share']:.0%} [{lag['timely_share_ci_low']:.0%}, {lag['timely_share_ci_high']:.0%}] within "
        f"{timely} days"
    )
    counts = f"{lag['at_risk_decisions']:,} of {lag['decisions']:,} decisions ({lag['at_risk_accounts']:,} accounts)"
    if np.isnan(lag["detection_lag_days"]):
        answer(
            f"Fewer than half the accounts that turned at risk got a human touch before their renewal: {share}; "
            f"{counts} turned at risk."
        )
    else:
        answer(
            f"When an account turned at risk, a person from the CS team reached it after a median of "
            f"<b>{lag['detection_lag_days']:.0f} days</b> [{lag['detection_lag_ci_low']:.0f}, "
            f"{lag['detection_lag_ci_high']:.0f}]; {share}. {counts} turned at risk."
        )
    if lag["untouched_churned_arr_share"] is not None:
        answer(
            f"{lag['untouched_churned_arr_share']:.0%} of churned ARR ({lag['untouched_churned_decisions']:,} of "
            f"{lag['churned_decisions']:,} churned decisions) had been at risk with no human touch before its renewal."
        )
    if not any(capacity.effects.values()):
        answer(
            f"Too few at-risk decisions with and without a human answer within {timely} days of the risk showing "
            "to estimate what one is worth."
        )
    else:
        routines = html.escape(", ".join(capacity.routine_channels)) or "none named"
        check(
            f"Each early signal is its own episode, from the first day the data show it. An answer is a human "
            f"touch, not a routine review ({routines}), from the last reading before the risk showed (a CSM may "
            f"hear of it first) to {timely} days after."
        )
    estimated = [effect for effect in capacity.effects.values() if effect is not None]
    for number, effect in enumerate(estimated):
        sentences = effect_findings(effect, timely, first=number == 0)
        add(sentences[:1], "answer" if number == 0 else "checks")
        add(sentences[1:], "checks")
    if capacity.automation is not None:
        add(automation_findings(capacity.automation, timely))
    slow = capacity.slowdown
    if slow is None:
        answer(
            f"Too few CSMs with at-risk accounts (at least {MIN_CSMS} needed), or too little spread between their "
            "books, to relate detection to book size."
        )
    elif slow["ci_low"] > 0:
        reach = (
            f"half the answers come later than {timely} days from a book of about <b>{slow['book_at_threshold']:.0f} "
            f"accounts</b> [{_bound(slow['book_at_threshold_ci_low'])}, {_bound(slow['book_at_threshold_ci_high'])}]"
            if slow["book_at_threshold"] is not None
            else f"within the books observed ({slow['books_observed'][0]:.0f}-{slow['books_observed'][1]:.0f} "
            f"accounts) the median answer does not cross {timely} days"
        )
        answer(
            f"Bigger books answer later: every 10 accounts more add {_points(slow['late_share_per_10_accounts'])} "
            f"points [{_points(slow['ci_low'])}, {_points(slow['ci_high'])}] to the share answered late "
            f"({slow['csms']} CSMs); {reach}."
        )
    else:
        answer(
            f"No evidence that book size slows the answer here: {100 * slow['late_share_per_10_accounts']:+.1f} "
            f"points per 10 accounts [{100 * slow['ci_low']:+.1f}, {100 * slow['ci_high']:+.1f}] across "
            f"{slow['csms']} CSMs, whose books ran from {slow['books_observed'][0]:.0f} to "
            f"{slow['books_observed'][1]:.0f} accounts; these data could have detected about "
            f"{_points(slow['detectable_per_10_accounts'])} points per 10 accounts."
        )
    load = capacity.load_slowdown
    if load is not None:
        answer(
            f"Counted by the accounts at risk a CSM held at once rather than the whole book (exploratory, outside "
            f"the report's family of tests): {100 * load['late_share_per_10_accounts']:+.1f} points per 10 "
            f"[{100 * load['ci_low']:+.1f}, {100 * load['ci_high']:+.1f}] in the share answered late."
        )
    return [sentence for sentence, kind in said if part is None or kind == part]


def _per_100(effect: dict) -> str:
    return f"{100 * effect['estimate']:+.1f} per 100 [{100 * effect['ci_low']:+.1f}, {100 * effect['ci_high']:+.1f}]"


def effect_findings(effect: dict, timely: int, first: bool = True) -> list[str]:
    """What a timely human touch was worth after one signal, and its checks, each saying only what its interval
    says."""
    after = FLAGS[effect["signal"]]
    answer = f"a human answer within {timely} days"
    counts = f"({effect['n']:,} episodes of {effect['accounts']:,} accounts, {effect['touched']:,} answered in time)"
    if effect["ci_high"] < 0 or effect["ci_low"] > 0:
        said = [
            f"After {after}, once the risk measured before it is accounted for, {answer} went with "
            f"{_change(effect)} {counts}" + (": look at what those touches were." if effect["ci_low"] > 0 else ".")
        ]
    else:
        said = [
            f"After {after}, no evidence here that {answer} changes churn once the risk measured before it is "
            f"accounted for: {_per_100(effect)} {counts}; these data could have detected an effect of about "
            f"{_points(effect['detectable'])} per 100."
        ]
    said.append(
        f"The plain comparison, answered against not, says {100 * effect['naive']:+.1f} per 100 "
        f"[{100 * effect['naive_ci_low']:+.1f}, {100 * effect['naive_ci_high']:+.1f}]"
        + (
            ": CSMs reach the riskiest accounts first, so it mixes the touch with the risk that prompted it. Both "
            "are observational; a randomized or threshold design would make the answer causal (below)."
            if first
            else "."
        )
    )
    checks = [
        f"within {window} days {_per_100(other)}"
        for window, other in effect["sensitivity"].items()
        if other is not None
    ]
    if effect["any_human_touch"] is not None:
        checks.append(f"counting routine reviews as answers {_per_100(effect['any_human_touch'])}")
    if checks:
        said.append(f"The same estimate {'; '.join(checks)} (checks, not findings).")
    placebo = effect["placebo"]
    if placebo is not None:
        start, end = effect["placebo_days"]
        if placebo["ci_low"] <= 0 <= placebo["ci_high"]:
            said.append(
                f"A touch {start}-{end} days before the risk showed, which cannot answer it, goes with no "
                f"detectable change ({_per_100(placebo)}), as it should."
            )
        else:
            said.append(
                f"A touch {start}-{end} days before the risk showed, which cannot answer it, already goes with a "
                f"change in churn ({_per_100(placebo)}): the team acts on something the data do not show (or an "
                "earlier answer still works), and the estimate above carries it too."
            )
    return said


def _change(effect: dict) -> str:
    """What an effect's interval says, in churns per 100."""
    if effect["ci_high"] < 0:
        return (
            f"<b>{_points(effect['estimate'])} fewer churns per 100</b> [{_points(effect['ci_high'])}, "
            f"{_points(effect['ci_low'])}]"
        )
    if effect["ci_low"] > 0:
        return (
            f"<b>{_points(effect['estimate'])} more churns per 100</b> [{_points(effect['ci_low'])}, "
            f"{_points(effect['ci_high'])}]"
        )
    return f"no detectable change in churn ({_per_100(effect)})"


def _placebo_words(placebo: dict | None, days: list) -> str:
    if placebo is None:
        return ""
    if placebo["ci_low"] <= 0 <= placebo["ci_high"]:
        return (
            f" One {days[0]}-{days[1]} days before the risk showed goes with none ({_per_100(placebo)}), as it should."
        )
    return (
        f" But one {days[0]}-{days[1]} days before the risk showed already goes with a change ({_per_100(placebo)}): "
        "something the data do not show comes with these touches."
    )


def automation_findings(automation: dict, timely: int) -> list[str]:
    """Human or automated, over the headline's episodes, in a leader's words: what each reached and how fast,
    what each went with, and whether a person adds to the playbook."""
    reach = automation["reach"]
    automated, after = automation["automated_touch_effect"], automation["human_after_automated"]
    difference = automation["human_minus_automated"]
    if not reach["automated_share"]:
        return ["No automated touch reached these episodes, so automation's worth cannot be measured here."]

    def fast(share, median, who):
        when = "" if median is None else f", a median {median:.0f} days after the risk showed"
        return f"{who} reached {share:.0%} of {reach['episodes']:,} episodes within {timely} days{when}"

    automated_reach = fast(reach["automated_share"], reach["automated_median_days"], "automated outreach")
    said = [
        f"After {FLAGS[reach['signal']]}, {automated_reach}; "
        f"{fast(reach['human_share'], reach['human_median_days'], 'a person')}."
    ]
    if automated is None:
        said.append("Too few episodes with and without an automated touch to estimate what one is worth.")
        return said
    sentence = f"Once risk is accounted for, an automated touch went with {_change(automated)}."
    if after is not None:
        sentence += f" After an automated touch, a person's answer went with {_change(after)}."
    said.append(sentence + _placebo_words(automated.get("placebo"), automated["placebo_days"]))
    if difference is not None:
        if difference["ci_high"] < 0 or difference["ci_low"] > 0:
            more = "more" if difference["ci_high"] < 0 else "less"
            said.append(
                f"A person's answer did {more} than an automated one: {_per_100(difference)} churns, human minus "
                "automated. Observational, as above."
            )
        else:
            said.append(
                f"No evidence here that a person's answer does more or less than an automated one "
                f"({_per_100(difference)}, human minus automated). Observational, as above."
            )
    return said


def _bound(value) -> str:
    return "beyond the books observed" if value is None else f"{value:.0f}"
