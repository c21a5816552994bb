"""The Study: one Python API over a book of renewals, for analysts in JupyterLab and for the study notebooks.

from workbench import Study
study = Study.load("data/sample", as_of="2026-10-31")
study.validity()                                     # do the signals predict renewal?
study.add_signal("tickets", tickets, how="count")    # an analyst's own dated table
study.validity(["tickets"])                          # judged to the same standard
"""

from __future__ import annotations

import difflib
import html
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from . import columnar, lookup, prepared
from .computed import Computed
from .errors import UsageError
from .inputs import privacy
from .inputs.config import load_config
from .inputs.contract import TABLES
from .inputs.engines import check_engine
from .inputs.loader import Dataset, load
from .judge import capacity as capacity_judge
from .judge import family as report_family
from .judge import forecast as forecast_judge
from .judge import lead_time as lead_time_judge
from .judge.behaviour import judge_behaviour
from .judge.revenue import cohort_revenue, held_on, movers, renewal_rate
from .judge.signals import JUDGED, explore, label, validity, versus_reference, withhold
from .measure import decision_units, detection, goals, renewals, snapshot, stakeholders
from .measure.behaviour import behaviour_metrics
from .measure.columns import COLUMNS, Column, component, describe, signal_names
from .measure.pointintime import Timeline, days
from .tables import Figures, Result, use_currency

if TYPE_CHECKING:
    from .judge.scorecard import Scorecard

# Attainment accumulates over a goal's life; a term much shorter than its goal is decided at many goal ages, and
# a churn is a subscription's last decision, so attainment would compare progress at different times (make
# calibrate: 67% of null monthly books called it inverse).
SHORT_TERM_DAYS = 300
SHORT_TERMS = (
    "not judged on this book: its terms last {days:.0f} days (median), shorter than the goals, so each "
    "account is decided at several goal ages and its churn always last; attainment would compare progress "
    "made at different times. Judge it on annual terms"
)

# The outcome and what is derived from it: never a signal (the contract's no-leakage rule).
OUTCOME_COLUMNS = (
    "outcome",
    "renewal_arr",
    "churn_reason",
    "end_date",
    "renewed",
    "expanded",
    "observation_date",
    "days_to_renewal",
)


MEASURES = ("count", "sum", "mean", "latest")
ANALYST = "the analyst's own table"  # the source of a signal added with add_signal
# "Renewing next quarter": 92 days covers any three calendar months.
RENEWALS_DUE_DAYS = 92
HORIZONS = (30, 60, 90, 180, 270, 365)
PEOPLE_VIEWS = (
    "health_mean",
    "health_min",
    "health_max",
    "health_spread",
    "health_decision_maker",
    "health_champion",
    "health_end_user",
)


def measure_timeline(
    timeline: Timeline, how: str, account: pd.Series, day: np.ndarray, window_days: int, first_day: float
):
    """`how` of a timeline's values over the `window_days` up to each day (see `Study.add_signal`). A count or
    sum whose window ends before `first_day`, the table's first row, is missing, not zero: the export had
    not begun."""
    begun = np.asarray(day, dtype=float) >= first_day
    if how == "count":
        return np.where(begun, timeline.count(account, day, window_days).astype(float), np.nan)
    if how == "sum":
        return np.where(begun, timeline.window_sum("value", account, day, window_days), np.nan)
    if how == "latest":
        return timeline.latest("value", account, day, window_days)
    with np.errstate(invalid="ignore", divide="ignore"):
        return timeline.window_sum("value", account, day, window_days) / timeline.count(account, day, window_days)


class Study:
    """A renewal study: the checked data, every decision with its signals measured at its observation
    date, and the analyses over them. Build one with `Study.load`.

    Attributes
    ----------
    data : Dataset
        The checked tables (``study.data["contracts"]``) and the usage store.
    config : dict
        The configuration in force (defaults, the config file, then the `segment` argument).
    as_of, window_start : pandas.Timestamp
        The study judges renewal decisions dated in (window_start, as_of].
    horizon_days : int
        Days before renewal at which signals are measured (the observation date).
    contracts : pandas.DataFrame
        Every contract term of the segment, with its account's columns.
    decisions : pandas.DataFrame
        One row per renewal decision; `describe` says what each column is and when it was measured.
    open_contracts : pandas.DataFrame
        Terms open at `as_of`, with their signals measured that day.
    signals : list of str
        The signals this data allows (the contract's first), and any added with `add_signal`.
    family : list of str
        The signals the report judges together: one family of tests.
    scoreboard : pandas.DataFrame
        `validity` of the family, computed once: one interval per signal wherever it appears.
    analyses : Computed
        The cache every analysis goes through (each computed on first use, then kept; `forget()` lets them go).
    prepared : dict or None
        When this study was prepared for later loads (`at`) and whether it is such a reuse (`reused`); None
        where it was not kept.
    """

    def __init__(
        self,
        data: Dataset,
        config: dict,
        as_of: pd.Timestamp,
        window_months: int,
        horizon_days: int,
        parameters: dict,
    ):
        self.data, self.config, self.as_of = data, config, as_of
        self.window_months, self.horizon_days, self.parameters = window_months, horizon_days, parameters
        self.window_start = snapshot.window_start(as_of, window_months)
        self.columns = dict(COLUMNS)
        self.analyses = Computed()
        self.prepared: dict | None = None  # when kept for later loads (prepared.py), and whether this is one
        weights = config["scorecard_weights"]
        self.contracts = _with_accounts(data, config)
        self.decision_unit = config["decision_unit"]
        # what one decision is: a contract term, or an account on a date its terms came up (decision_units)
        self._decided = (
            decision_units.by_account(self.contracts) if self.decision_unit == "accounts" else self.contracts
        )
        self.decisions = snapshot.measure(
            data, snapshot.decisions(self._decided, as_of, window_months, horizon_days), weights
        )
        open_frame = snapshot.open_contracts(self.contracts, as_of)
        self.open_people = stakeholders.person_health(data, open_frame, weights) if data.has("contacts") else None
        self.open_contracts = snapshot.measure(data, open_frame, weights, self.open_people)
        self.columns.update({c: component(c) for c in self.decisions if str(c).startswith("component_")})
        self.signals = [s for s in signal_names() if s in self.decisions] + list(config["extra_signals"])
        self.family = _family(config, self.signals)
        episodes = detection.possible_signals(data) if data.has("activities") else []
        automated = data.has("activities") and bool((data.activities.kinds["kind"] == "automated").any())
        self.tests = report_family.tests(self.family, [detection.FLAGS[e] for e in episodes], automated)
        self.scoreboard = self._judge(self.family)

    @classmethod
    def load(
        cls,
        data,
        as_of,
        *,
        mapping=None,
        preset="",
        config=None,
        window_months: int = 12,
        horizon_days: int = 90,
        segment: str = "",
        pseudonymize: bool = False,
        allow_outside_data: bool = False,
        cache: bool | str = True,
        engine: str = "",
    ) -> Study:
        """Load and check a data folder, then measure every decision's signals at its observation date.

        Parameters
        ----------
        data : str or Path
            A folder of tables in the contract (or of an export, with `mapping`).
        as_of : str or date
            The study's date: decisions up to it are judged, open contracts scored as of it.
        mapping : str or Path, optional
            A mapping file that turns an export into the contract's tables (docs/mapping.md).
        preset : str or list of str, optional
            Known exports the data folder holds ("salesforce", or "salesforce,pendo"): each a complete
            mapping, which `mapping` may override (docs/presets.md).
        config : str or Path, optional
            A config file (thresholds, scorecard weights, segment, signals).
        window_months : int
            How far back decisions are judged.
        horizon_days : int
            Days before renewal at which signals are measured.
        segment : str
            Judge only this segment's decisions (overrides the config's).
        pseudonymize : bool
            Replace account and contact names with stable aliases.
        allow_outside_data : bool
            Let a mapping read files outside the data folder.
        cache : bool or str
            True: reuse the study prepared from these same files, mapping, config and arguments if one is kept
            (prepared.py: in the user's cache folder, or `WORKBENCH_CACHE`), and keep this one otherwise; False:
            read and measure everything again, keeping nothing. A path: a file `save` wrote, used only when it
            was saved with these same arguments.
        engine : str
            Where the queries over usage run: "duckdb" or "spark" (the figures are the same on either), or
            "warehouse" (usage is the table the config's `warehouse:` names). Overrides the config's.
        Returns
        -------
        Study

        Raises
        ------
        DataError, UsageError
            Naming the file, column, rows and the fix, when the data or the arguments are not usable.
        """
        as_of = _day(as_of, "as_of")
        presets = _presets(preset)
        parameters = {
            "data": str(Path(data).resolve()),
            "as_of": str(as_of.date()),
            "mapping": str(Path(mapping).resolve()) if mapping else "",
            "preset": ",".join(presets),
            "config": str(Path(config).resolve()) if config else "",
            "window_months": int(window_months),
            "horizon_days": int(horizon_days),
            "segment": segment,
            "pseudonymize": bool(pseudonymize),
        }
        if not isinstance(cache, bool) and cache and Path(cache).exists():
            kept = saved(Path(cache))
            if kept.parameters == parameters:
                use_currency(kept.config.get("currency", "USD"))
                return kept
        settings = load_config(config)
        if segment:
            settings["segment"] = segment
        engine = check_engine(engine or settings["engine"], settings["warehouse"])
        entry = prepared.key(parameters, engine, allow_outside_data) if cache is True else None
        kept = prepared.read(entry) if entry else None
        if kept is not None:
            use_currency(kept.config.get("currency", "USD"))
            return kept
        loaded = load(data, mapping or None, allow_outside_data, engine, settings["warehouse"], presets)
        if loaded.export_date is not None and pd.Timestamp(as_of) > loaded.export_date:
            raise UsageError(
                f"as_of {pd.Timestamp(as_of):%Y-%m-%d} is after the export date the mapping gives "
                f"({loaded.export_date:%Y-%m-%d}): nothing after the export is known, so contracts would be judged "
                f"on outcomes the data cannot have. Study as of {loaded.export_date:%Y-%m-%d} or earlier"
            )
        if pseudonymize:
            privacy.pseudonymize(loaded.tables)
        use_currency(settings["currency"])
        study = cls(loaded, settings, pd.Timestamp(as_of), window_months, horizon_days, parameters)
        if entry:
            prepared.keep(study, entry)
        return study

    def save(self, path) -> Path:
        """Keep the prepared study in `path` (the usage and health-score stores moved beside it, its large
        frames as Arrow files that every process reading it maps: columnar.py), for ``Study.load(cache=path)``."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        for stored in self.data.stored.values():
            if stored is not None:
                stored.move_to(path.parent)
        return columnar.dump(self, path)

    @property
    def accounts(self) -> int:
        """Distinct accounts behind the decisions."""
        return int(self.decisions["account_id"].nunique())

    @property
    def churned_accounts(self) -> int:
        """Distinct accounts with at least one churned decision."""
        return int(self.decisions.loc[~self.decisions["renewed"], "account_id"].nunique())

    @property
    def churned_accounts_staying(self) -> int:
        """Accounts with a churned decision that still hold a contract at `as_of`: they let one contract go and
        stayed customers, so logo churn does not count them."""
        churned = pd.Series(self.decisions.loc[~self.decisions["renewed"], "account_id"].unique())
        held = held_on(self.contracts, self.as_of)
        return int(lookup.contained(churned, held.index[held > 0]).sum())

    @property
    def decision_words(self) -> str:
        """What one renewal decision is in this study, as the pages say it (config `decision_unit`)."""
        if self.decision_unit == "accounts":
            return "an account's terms coming up on one date, churned only where the account kept no ARR after it"
        return "contract terms that came up for renewal"

    @property
    def segment_note(self) -> str:
        segment = self.config["segment"]
        return f" (segment: {segment})" if segment else ""

    def __repr__(self) -> str:
        return (
            f"Study as of {self.as_of:%Y-%m-%d}{self.segment_note}: {len(self.decisions):,} renewal decisions "
            f"({self.accounts:,} accounts, {self.churned_accounts:,} churned) since {self.window_start:%Y-%m-%d}; "
            f"signals: {', '.join(self.signals) or 'none'}"
        )

    def _repr_html_(self) -> str:
        """In JupyterLab: what the study holds and what to ask it next, as a card rather than one line."""
        churned = int((~self.decisions["renewed"]).sum())
        rows = [
            ("As of", f"{self.as_of:%Y-%m-%d}{self.segment_note}; decisions since {self.window_start:%Y-%m-%d}"),
            ("Renewal decisions", f"{len(self.decisions):,} ({self.decision_words}), {churned:,} churned"),
            ("Accounts", f"{self.accounts:,}, {self.churned_accounts:,} with a churned decision"),
            ("Observation date", f"{self.horizon_days} days before each renewal"),
            ("Signals", ", ".join(label(s) for s in self.signals) or "none the data allows"),
            ("Tables", ", ".join(name.replace("_", " ") for name in TABLES if self.data.has(name))),
            ("Ask it", "validity(), compare(), renewals_due(), lead_time(), scorecard(), describe()"),
        ]
        body = "".join(f"<tr><th>{html.escape(k)}</th><td>{html.escape(v)}</td></tr>" for k, v in rows)
        return f'<table class="wb-table"><caption>Study</caption>{body}</table>'

    @property
    def family_words(self) -> str:
        """Which family the report's intervals hold over, in words: 'simultaneous at 95% over the report's 12
        tests (...)'."""
        return report_family.words(self.tests)

    def describe(self) -> Result:
        """Every column of `decisions`: its label, meaning, source table and point-in-time rule."""
        return Result(describe(self.decisions, self.columns), "The columns of the decision table.")

    def _judge(self, signals: list[str], decisions: pd.DataFrame | None = None) -> pd.DataFrame:
        settings = self.config
        decisions = self.decisions if decisions is None else decisions
        board = validity(
            decisions,
            signals,
            min_events=settings["min_events"],
            family_size=len(self.tests) if signals == self.family else len(signals),
            min_useful_auc=settings["min_useful_auc"],
            undated=[s for s in settings["extra_signals"] if s in signals],
        )
        terms = decisions["end_date"] - decisions["start_date"]
        term_days = terms.dt.days.median() if len(decisions) else np.nan
        if "goal_attainment" in signals and term_days < SHORT_TERM_DAYS:
            board = withhold(board, "goal_attainment", SHORT_TERMS.format(days=term_days))
        return board

    def validity(self, signals: list[str] | None = None) -> Result:
        """Does each signal predict renewal? AUC with its interval, clustered by account, and a verdict.

        Parameters
        ----------
        signals : list of str, optional
            The signals to judge together. By default the report's family (`family`), whose intervals
            are simultaneous over it; signals you name form a family of their own, judged to the same
            standard as the report's.

        Returns
        -------
        Result
            One row per signal: n (decisions), accounts, churned, auc with auc_ci_low and auc_ci_high,
            conclusion, min_detectable_auc, decisions_needed and the verdict in words.
        """
        caption = (
            "n: renewal decisions; accounts: the distinct accounts behind them. Intervals are "
            f"{self.family_words if signals is None else 'simultaneous over the signals judged together'} and "
            "clustered by account."
        )
        shown = [
            *JUDGED,
            "conclusion",
            "min_detectable_auc",
            "decisions_needed",
            "verdict",
        ]
        if signals is None:
            return Result(self.scoreboard, caption, key="signals", shown=shown)
        self._check_signals(signals)
        return Result(self._judge(list(dict.fromkeys(signals))), caption, shown=shown)

    def compare(self, signals: list[str] | None = None, reference: str = "health_score") -> Result:
        """Is each signal better than `reference` (the exported health score by default)? Paired AUC differences
        on the decisions that have both, clustered by account and adjusted over the comparisons.

        Parameters
        ----------
        signals : list of str, optional
            The signals to compare (default: the report's family, less the reference).
        reference : str
            The signal to compare against.

        Returns
        -------
        Result
            One row per signal: its direction (each signal and the reference are taken in their informative
            direction, read off these decisions, so a strong inverse signal is not ranked below a useless
            score), n, auc and reference_auc, the difference with ci_low and ci_high, and conclusion
            `exploratory`: the comparison lies outside the report's family and favours the signal by choosing
            its direction on the same data.
        """
        chosen = [s for s in (signals if signals is not None else self.family) if s != reference]
        self._check_signals([*chosen, reference])
        table = versus_reference(self.decisions, chosen, reference, oriented=True).drop(columns=["better", "worse"])
        columns = ["signal", "direction", "n", "auc", "reference_auc", "difference", "ci_low", "ci_high"]
        return Result(
            table.reindex(columns=columns).assign(conclusion="exploratory"),
            f"Each signal against {label(reference)} on the "
            "decisions that have both, each taken in its informative direction (read off these decisions: "
            "exploratory, not a finding); paired intervals clustered by account and adjusted over the comparisons.",
        )

    def _check_signals(self, signals) -> None:
        """Signals to judge: numeric columns of the decisions measured before the decision, or a UsageError."""
        if isinstance(signals, str) or not all(isinstance(s, str) for s in signals):
            raise UsageError(f"validity: signals={signals!r}; expected a list of names, e.g. ['nps', 'usage']")
        for signal in signals:
            if signal in OUTCOME_COLUMNS:
                raise UsageError(
                    f"validity: {signal!r} is the outcome or derived from it (known only at or after the decision), "
                    f"never a signal"
                )
            if signal not in self.decisions:
                near = difflib.get_close_matches(signal, [*self.signals, *self.decisions.columns], n=1)
                hint = f"did you mean {near[0]!r}? " if near else ""
                raise UsageError(
                    f"validity: {signal!r} is not a signal of this study; {hint}its signals: {', '.join(self.signals)} "
                    f"(and any numeric column of study.decisions, such as one added with add_signal)"
                )
            column = self.decisions[signal]
            if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
                example = f" (values like {column.dropna().iloc[0]!r})" if column.notna().any() else ""
                raise UsageError(
                    f"validity: {signal!r} is not numeric{example}: a signal needs numbers; study a text column as "
                    f"a segment instead (config `segment_column: {signal}`, then `segment:`)"
                )

    def add_signal(
        self,
        name: str,
        table: pd.DataFrame,
        *,
        how: str = "count",
        value: str | None = None,
        date: str = "date",
        account: str = "account_id",
        window_days: int = 90,
        description: str = "",
        date_format: str | None = None,
        replace: bool = False,
    ) -> Study:
        """Measure an analyst's own dated table at every observation date, as a new signal.

        Only rows dated on or before a decision's observation date count, and for a window only those
        after its start: the same no-leakage rule as every signal of the contract.

        Parameters
        ----------
        name : str
            The new column of `decisions` and `open_contracts`.
        table : pandas.DataFrame
            One row per event or measurement, with an account column and a date column.
        how : {"count", "sum", "mean", "latest"}
            The rows in the window; the sum or mean of `value` over them; or the latest `value` on or
            before the observation date, at most `window_days` old.
        value : str, optional
            The numeric column that "sum", "mean" and "latest" read.
        date, account : str
            The table's date and account columns.
        window_days : int
            The window before each observation date.
        description : str
            What the signal is, for `describe`.
        date_format : str, optional
            How `date` is written when it is text and not YYYY-MM-DD, as in a mapping file (``"%d-%m-%Y"``).
            Dates that do not follow it, or text dates without it that are not YYYY-MM-DD, are refused with
            an example: a day-first date read month-first would move it silently.
        replace : bool
            Measure again a signal added before under the same name (a re-run notebook cell).

        Returns
        -------
        Study
            This study with the signal added, so calls chain.

        Raises
        ------
        UsageError
            Naming the argument, the column and an example row, where the table cannot be measured as asked.
        """
        if name in OUTCOME_COLUMNS:
            raise UsageError(
                f"add_signal: {name!r} is the outcome or derived from it, never a signal; choose another name"
            )
        if name in self.decisions and not (replace and name in self.columns and self.columns[name].source == ANALYST):
            raise UsageError(
                f"add_signal: {name!r} is a column of the decisions already; choose another name"
                + (
                    ", or pass replace=True to measure it again"
                    if name in self.columns and self.columns[name].source == ANALYST
                    else ""
                )
            )
        if how not in MEASURES:
            raise UsageError(f"add_signal: how={how!r}; expected one of {', '.join(MEASURES)}")
        if how != "count" and not value:
            raise UsageError(f"add_signal: how={how!r} needs value=, the numeric column to {how}")
        _whole_days(window_days, "add_signal: window_days")
        missing = [c for c in (account, date, value) if c and c not in table]
        if missing:
            raise UsageError(
                f"add_signal: the table has no column {missing}; its columns: {list(table.columns)}. "
                f"Name them with account=, date= and value="
            )
        when = _dates(table[date], date_format, date)
        numbers = _numbers(table[value], value) if value else pd.Series(1.0, index=table.index)
        timeline = Timeline(table[account].astype(str), when, {"value": numbers.to_numpy(dtype=float)})
        for frame in (self.decisions, self.open_contracts):
            account_ids = frame["account_id"].astype(str)
            frame[name] = measure_timeline(
                timeline,
                how,
                account_ids,
                days(frame["observation_date"]),
                window_days,
                float(days(when.dropna()).min()) if when.notna().any() else np.inf,
            )
        self.columns[name] = Column(
            name,
            name.replace("_", " ").capitalize(),
            description or f"{how} of the analyst's table over {window_days} days",
            ANALYST,
            f"rows dated in the {window_days} days up to the observation date",
            "{:,.2f}",
            True,
        )
        if name not in self.signals:
            self.signals.append(name)
        return self

    @property
    def has_people(self) -> bool:
        """True when contacts carry a person-level signal, so per-stakeholder health can be judged."""
        return (
            self.data.has("contacts")
            and "health_mean" in self.decisions
            and self.decisions["health_mean"].notna().any()
        )

    @property
    def has_goals(self) -> bool:
        """True when the data has goals and their progress."""
        return self.data.has("goals") and self.data.has("goal_progress")

    @property
    def growth(self) -> goals.GrowthModel | None:
        """The goals' growth-curve model, fitted on the progress measured by `as_of` on its first use (None
        without goals): `workbench study` fits it once, from the saved study, for every page."""

        def compute():
            if not self.has_goals:
                return None
            return goals.growth_model(self.data["goals"], self.data["goal_progress"], self.as_of)

        return self.analyses.get_or_compute("growth", compute)

    def revenue(self) -> Figures:
        """GRR, NRR and earned growth rate of the accounts under contract at the window's start, the dollar
        renewal rate of the decisions, and the same figures for the last month (`month`): a dict that displays
        as a table of labelled figures."""

        def compute():
            referrals = self.data.tables.get("referrals")
            figures = cohort_revenue(self.contracts, referrals, self.window_start, self.as_of)
            figures["renewal_rate"] = renewal_rate(self.decisions)
            figures["month"] = Figures(
                cohort_revenue(self.contracts, referrals, self.as_of - pd.DateOffset(months=1), self.as_of)
            )
            return Figures(figures)

        return self.analyses.get_or_compute("revenue", compute)

    def revenue_movers(self, count: int = 5) -> Result:
        """The accounts whose ARR moved most over the window (either way): what drives a GRR or NRR far from
        the usual."""
        moved = movers(self.contracts, self.window_start, self.as_of, count)
        names = self.contracts.drop_duplicates("account_id").set_index("account_id")
        if "account_name" in names:
            moved.insert(1, "account_name", names["account_name"].reindex(moved["account_id"]).to_numpy())
        return Result(
            moved,
            f"The {len(moved)} accounts whose ARR moved most between {self.window_start:%Y-%m-%d} and "
            f"{self.as_of:%Y-%m-%d}.",
            shown=[c for c in moved.columns if c != "account_id"],
        )

    def hidden_risk(self) -> Result:
        """Open accounts whose score looks green while the decision maker or a champion is red, soonest
        renewal first, with each red person's change over the last 90 days."""

        def compute():
            if self.open_people is None or "health_mean" not in self.open_contracts:
                return Result(pd.DataFrame(columns=["account_id", "arr"]), key="hidden_risk")
            weights = self.config["scorecard_weights"]
            before = stakeholders.person_health(self.data, self.open_contracts, weights, lag_days=90)
            risk = stakeholders.hidden_risk(
                self.open_contracts,
                self.open_people,
                self.config["health_red_below"],
                self.config["health_green_from"],
                trend=self.open_people["score"] - before["score"],
            )
            return Result(risk, "Green score, red decision maker or champion (health 0-100, change in 90 days).")

        return self.analyses.get_or_compute("hidden_risk", compute)

    def off_track(self) -> Result:
        """Open goals projected below target at renewal (the growth curves fitted by `as_of`), soonest first."""

        def compute():
            if not self.has_goals:
                return Result(pd.DataFrame(columns=["account_id", "arr"]), key="off_track")
            lagging = goals.off_track(
                self.open_contracts,
                self.data["goals"],
                self.data["goal_progress"],
                self.growth,
                self.as_of,
                self.data.goal_inputs,
            )
            return Result(
                lagging if len(lagging) else pd.DataFrame(columns=["account_id", "arr"]),
                "Open goals projected below target at renewal.",
            )

        return self.analyses.get_or_compute("off_track", compute)

    def forecast(self) -> forecast_judge.Forecast:
        """How much of the ARR renewing in the three months after as_of will renew, and how well the same forecast
        did from every earlier three-month origin (judge/forecast.py).

        Returns
        -------
        Forecast
            `next` (expected renewing ARR with its 90% prediction interval, the ARR, terms and accounts up for
            renewal), `backtest` (per earlier quarter: forecast, interval, actual, errors, the baselines' and
            Brier scores), `reliability` and `movers`; `reason` where the data allows no forecast.
        """

        def compute():
            terms = self._decided
            decided = terms["outcome"].isin(decision_units.DECIDED) & (terms["end_date"] <= self.as_of)
            history = terms.loc[decided].assign(
                observation_date=lambda t: t["end_date"] - pd.Timedelta(days=self.horizon_days),
                renewed=lambda t: t["outcome"] == "renewed",
            )
            first = history["end_date"].min() if len(history) else self.as_of
            origins = forecast_judge.quarter_ends(self.as_of, first)
            due = forecast_judge.due(terms, origins, self.horizon_days)
            backtested = due["origin"] < self.as_of
            due = due.loc[~backtested | due["outcome"].isin(decision_units.DECIDED)]
            due = due.assign(renewed=(due["outcome"] == "renewed") & (due["origin"] < self.as_of))
            both = snapshot.measure(
                self.data, pd.concat([history, due], ignore_index=True), self.config["scorecard_weights"]
            )
            return forecast_judge.forecast(
                both.iloc[: len(history)].reset_index(drop=True),
                both.iloc[len(history) :].reset_index(drop=True),
                self.family,
                self.as_of,
                min_events=self.config["min_events"],
                thresholds=(self.config["health_red_below"], self.config["health_green_from"]),
            )

        return self.analyses.get_or_compute("forecast", compute)

    def renewals_due(self, days: int = RENEWALS_DUE_DAYS) -> Result:
        """Accounts with a contract renewing in the next `days`, one row each (ARR of all their renewing
        contracts, soonest renewal date), flagged where a risk shows: `hidden_risk` (a red decision maker or
        champion behind a green score), `off_track` (a goal projected to be missed) and `weak_signals` (the
        other signals this study found to go with renewal on which the account sits in the riskiest quarter of
        the decided renewals, see `renewals.weak_signals`; person health and goal attainment count there only
        where their own flag cannot be assessed). A flag the data cannot assess is absent, and `at_risk` is then
        missing too when none can be assessed."""
        _whole_days(days, "renewals_due: days", ", e.g. days=90")
        due = self.open_contracts.loc[self.open_contracts["days_to_renewal"] <= days]
        flags = {}
        if self.open_people is not None and "health_mean" in due:
            flags["hidden_risk"] = due["account_id"].isin(self.hidden_risk()["account_id"])
        if self.has_goals:
            flags["off_track"] = due["account_id"].isin(self.off_track()["account_id"])
        covered = {"goal_attainment"} if "off_track" in flags else set()
        if "hidden_risk" in flags:
            covered |= {s for s in self.scoreboard["signal"] if s.startswith("health_") and s != "health_score"}
        board = self.scoreboard
        found = board.loc[
            board["conclusion"].isin(["predictive", "inverse"])
            & board["signal"].isin(due.columns)
            & ~board["signal"].isin(covered)
        ]
        if len(found):
            found = found.assign(name=describe(due[found["signal"]], self.columns)["label"].to_numpy())
            flags["weak_signals"] = renewals.weak_signals(due, self.decisions, found)
        shown = ["health_score", "health_decision_maker", "goal_attainment", *found["signal"], *flags]
        due = due.assign(**flags)
        columns = ["account_id", "account_name", "csm", "arr", "end_date", *dict.fromkeys(shown)]
        table = renewals.per_account(due, [c for c in columns if c in due])
        table.insert(1, "contracts", table["account_id"].map(due["account_id"].value_counts()))
        if flags:
            table["at_risk"] = table[list(flags)].astype(bool).any(axis=1)
            table["why"] = renewals.reasons(
                table,
                renewals.red_people_words(self.hidden_risk().frame) if "hidden_risk" in flags else None,
                renewals.goal_words(self.off_track().frame) if "off_track" in flags else None,
            )
        return Result(
            table.sort_values("arr", ascending=False),
            renewals.risk_words(flags, found["name"].tolist() if len(found) else []),
            key="renewals_next_quarter",
        )

    def scorecard(self) -> Scorecard:
        """A health score learned from the earlier decisions and proven on the later ones, beside the team's own.

        Returns
        -------
        Scorecard
            Its components with whole points summing to 100 (and their intervals over resamples), red and green
            thresholds, the out-of-time AUCs and the paired gain over the exported health score; `proposed`
            is False, with the reason, where the later decisions did not show a gain.
        """
        return self.analyses.get_or_compute(
            "scorecard", lambda: proposed_scorecard(self.decisions, self.config, len(self.tests))
        )

    def lead_time(self, horizons: tuple[int, ...] = HORIZONS) -> Result:
        """How early does each signal warn? The report's signals measured again `horizons` days before renewal.

        Parameters
        ----------
        horizons : tuple of int
            Days before renewal at which to measure (the observation date moves; the decisions do not).

        Returns
        -------
        Result
            One row per signal and horizon: n, accounts, churned, auc with its interval and the conclusion.
            Each horizon's intervals are simultaneous over the report's signals and clustered by account; the
            study's own horizon repeats the scoreboard, and a signal found there is judged at each earlier
            horizon in turn while it is found (`lead_time.gatekeep`); every other row is `exploratory`, with no
            `predictive`/`inverse`.
        """

        def compute():
            earlier = [h for h in sorted(set(horizons)) if h != self.horizon_days]
            measured = snapshot.measure_at_horizons(
                self.data, self._decided, self.as_of, self.window_months, earlier, self.config["scorecard_weights"]
            )
            boards = {horizon: self._judge(self.family, frame) for horizon, frame in measured}
            boards[self.horizon_days] = self.scoreboard
            parts = [boards[h].assign(horizon_days=h) for h in sorted(boards)]
            table = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
            if len(table):
                table = lead_time_judge.gatekeep(table, self.horizon_days)
            columns = [
                "signal",
                "horizon_days",
                *JUDGED[1:],
                "predictive",
                "inverse",
                "conclusion",
            ]
            return Result(
                table[columns] if len(table) else pd.DataFrame(columns=columns),
                f"Each signal measured again at other observation dates; intervals {self.family_words} at each "
                "horizon, clustered by account. A signal found at the study's horizon is judged "
                "at each earlier one in turn until it is not found; every other point is exploratory.",
                key="lead_time",
            )

        return self.analyses.get_or_compute("lead_time", compute)

    def behaviour(self, window_days: int = 90) -> Result:
        """Which usage behaviour warns of churn? Behavioural metrics measured at each observation date where the
        usage lies, added to `decisions`, and judged as one exploratory family of their own.

        Returns
        -------
        Result
            One row per metric (and the plain usage sum beside them): n, accounts, churned, auc with its interval,
            the lift of its riskiest decile, its group among correlated metrics, and the conclusion.
        """

        def compute():
            if self.data.usage is None:
                return Result(pd.DataFrame(columns=["signal", "n", "auc"]), "No usage table.")
            metrics = behaviour_metrics(self.data.usage, self.decisions, window_days)
            for name in metrics:
                self.decisions[name] = metrics[name]
            judged = [*metrics.columns, *(["usage"] if "usage" in self.decisions else [])]
            board = judge_behaviour(self.decisions, judged, self.config["min_events"], self.config["min_useful_auc"])
            return Result(
                board,
                "Exploratory, outside the report's family: intervals simultaneous over these metrics and clustered "
                "by account; lift: churn rate of the riskiest tenth over the churn rate of all; metrics in one group "
                "move together (|correlation| > 0.7).",
            )

        return self.analyses.get_or_compute("behaviour", compute)

    def capacity(self) -> capacity_judge.Capacity | None:
        """How quickly the team acts on risk, whether a timely human touch changes outcomes once risk is accounted
        for, and from what book size detection slows; None without an activities table.

        Returns
        -------
        Capacity
            `detection` (per decision: when it turned at risk, why, its next human touch and the lag), `lag` (the
            median lag with its interval, the share answered within 45 days, churned ARR never touched), `bands`
            (churn by lag), `effect` (naive, weighted and stratified estimates with intervals and the balance
            table), `curve` and `slowdown` (by the CSM's book size) and `heuristics` (ratio rules beside).
        """

        def compute():
            if not self.data.has("activities"):
                return None
            predictive = set(self.scoreboard.loc[self.scoreboard["predictive"].astype(bool), "signal"])
            found = detection.detection(
                self.data,
                self.decisions,
                self.config["health_red_below"],
                self.config["scorecard_weights"],
                score="health_score" in predictive,
                growth=self.growth,
                routine_channels=self.config["routine_channels"],
            )
            return capacity_judge.assess(
                self.decisions,
                *found,
                self.data.activities,
                self.contracts,
                self.open_contracts,
                _owners(self.contracts, self.data.activities.busiest_csm()),
                self.as_of,
                self.config["health_red_below"],
                min_decisions=2 * self.config["min_events"],
                level=report_family.level_per_test(len(self.tests)),
                routine_channels=self.config["routine_channels"],
            )

        return self.analyses.get_or_compute("capacity", compute)

    def stakeholder_views(self) -> Result:
        """Each view of an account's people judged like a signal: views in the report's family keep their
        one interval; the others (max, spread, ...) are exploratory, at a nominal 95%, and say so."""

        def compute():
            views = [s for s in ("health_score", *PEOPLE_VIEWS) if s in self.decisions]
            judged = self.scoreboard.loc[self.scoreboard["signal"].isin(views)].assign(exploratory=False)
            extra = [s for s in views if s not in set(judged["signal"])]
            explored = explore(
                validity(
                    self.decisions,
                    extra,
                    min_events=self.config["min_events"],
                    family_size=1,
                    min_useful_auc=self.config["min_useful_auc"],
                )
            ).assign(exploratory=True)
            board = pd.concat([judged, explored], ignore_index=True) if len(explored) else judged
            return Result(
                board,
                f"Views the report judges carry the report's intervals ({self.family_words}), clustered by "
                "account; the others (marked exploratory) carry plain 95% intervals and are not findings.",
            )

        return self.analyses.get_or_compute("stakeholder_views", compute)


def _whole_days(value, argument: str, example: str = "") -> None:
    """An API argument counting days: a whole number, 1 or more, or the workbench's own error naming it."""
    if not isinstance(value, (int, np.integer)) or isinstance(value, bool) or value < 1:
        raise UsageError(f"{argument}={value!r}; expected a whole number of days, 1 or more{example}")


def _presets(preset) -> tuple[str, ...]:
    """Preset names from "salesforce,pendo" or a list of them; an unknown one is a UsageError naming the known."""
    from .inputs.presets import NAMES

    names = tuple(n.strip() for n in (preset.split(",") if isinstance(preset, str) else preset) if n.strip())
    unknown = [n for n in names if n not in NAMES]
    if unknown:
        raise UsageError(
            f"preset {', '.join(unknown)}: not a preset the workbench has; the presets are {', '.join(NAMES)}"
        )
    return names


def _day(value, name: str) -> pd.Timestamp:
    """A date argument as a day, or the workbench's own error naming it."""
    try:
        return pd.Timestamp(value).normalize()
    except (ValueError, TypeError):
        raise UsageError(f'{name}={value!r} is not a date; write it YYYY-MM-DD, e.g. {name}="2026-10-31"') from None


def _dates(column: pd.Series, date_format: str | None, name: str) -> pd.Series:
    """The table's dates, parsed as written: `date_format` where given, otherwise datetimes or YYYY-MM-DD text;
    anything else is refused with an example rather than guessed (a day-first date guessed month-first moves)."""
    if pd.api.types.is_datetime64_any_dtype(column) and date_format is None:
        return pd.to_datetime(column).dt.tz_localize(None) if getattr(column.dt, "tz", None) else column
    text = column.astype("string").str.strip()
    written = text.notna() & (text != "")
    fmt = date_format or "ISO8601"
    parsed = pd.to_datetime(text.where(written), format=fmt, errors="coerce")
    wrong = written & parsed.isna()
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        example = f"row {row}: {text.iloc[row]!r}"
        if date_format:
            raise UsageError(
                f"add_signal: date column {name!r} has dates not written as {date_format!r} ({int(wrong.sum()):,} "
                f"rows, e.g. {example}); pass the date_format= they follow"
            )
        raise UsageError(
            f"add_signal: date column {name!r} is not written YYYY-MM-DD ({int(wrong.sum()):,} rows, e.g. {example}); "
            f"pass date_format= as it is written, e.g. date_format='%d-%m-%Y' for 13-02-2024 (day first) or "
            f"'%m/%d/%Y' for 02/13/2024"
        )
    return parsed


def _numbers(column: pd.Series, name: str) -> pd.Series:
    """The value column as numbers; text that is not a number is refused with an example."""
    numbers = pd.to_numeric(column, errors="coerce")
    wrong = column.notna() & numbers.isna()
    if wrong.any():
        row = int(np.flatnonzero(wrong.to_numpy())[0])
        raise UsageError(
            f"add_signal: value column {name!r} is not numeric ({int(wrong.sum()):,} rows, e.g. row {row}: "
            f"{column.iloc[row]!r}); count rows with how='count', or map the text onto numbers first"
        )
    return numbers


def _family(settings: dict, signals: list[str]) -> list[str]:
    """The signals the report judges: the config's `signals`, or every signal the data allows."""
    chosen = settings["signals"]
    if chosen is None:
        return list(signals)
    unknown = [s for s in chosen if s not in signals]
    if unknown:
        raise UsageError(f"config: signals {unknown} are not signals of this data; it allows: {', '.join(signals)}")
    return list(dict.fromkeys(chosen))


def no_decisions(study: Study) -> str:
    """Why a study has nothing to judge, with the dates it looked at and what to change."""
    contracts = study.data["contracts"]
    decided = contracts.loc[contracts["outcome"].isin(["renewed", "churned"]), "end_date"]
    span = (
        f"the data's decided contracts end between {decided.min():%Y-%m-%d} and {decided.max():%Y-%m-%d} "
        f"({len(decided):,} of them)"
        if len(decided)
        else "the contracts table holds no renewed or churned contract"
    )
    segment = study.config["segment"]
    return (
        f"no renewal decision to judge: no contract{f' of segment {segment!r}' if segment else ''} with outcome "
        f"renewed or churned ends in the study window ({study.window_start:%Y-%m-%d}, {study.as_of:%Y-%m-%d}]; "
        f"{span}. Nothing was written. Choose an --as-of within that span or a longer --window-months"
        + (", or check the segment's spelling" if segment else "")
        + "."
    )


def _owners(contracts: pd.DataFrame, busiest: pd.Series) -> pd.Series:
    """Each account's CSM: the accounts table's csm, or else whoever made most of its human touches (`busiest`)."""
    named = (
        contracts.dropna(subset=["csm"]).drop_duplicates("account_id").set_index("account_id")["csm"]
        if ("csm" in contracts)
        else pd.Series(dtype=object)
    )
    return named.combine_first(busiest)


def _with_accounts(data: Dataset, settings: dict) -> pd.DataFrame:
    """Contracts with their account's columns (for names, segments and extra signals), segment-filtered."""
    accounts = data["accounts"]
    contracts = data["contracts"].merge(accounts, on="account_id", how="left", suffixes=("", "_account"))
    leaking = [name for name in settings["extra_signals"] if name in OUTCOME_COLUMNS]
    if leaking:
        raise UsageError(
            f"config: extra_signals {leaking} are the renewal's outcome or derived from it, known only "
            f"after the decision; a signal must be measured before it. Remove them from extra_signals."
        )
    unknown = [name for name in settings["extra_signals"] if name not in contracts]
    if unknown:
        raise UsageError(
            f"config: extra_signals {unknown} are not columns of accounts or contracts; "
            f"extra columns found: {sorted(set(contracts) - set(data['contracts']) - {'account_id'})}"
        )
    for name in settings["extra_signals"]:
        contracts[name] = pd.to_numeric(contracts[name], errors="coerce")
    segment = settings["segment"]
    if segment:
        column = settings["segment_column"]
        contracts = contracts.loc[contracts.get(column, pd.Series(dtype=str)) == segment]
    return contracts


def proposed_scorecard(decisions: pd.DataFrame, settings: dict, tests: int) -> Scorecard:
    """The scorecard learned from `decisions`, proven at the level of one of the report's `tests`."""
    from .judge.scorecard import propose  # scikit-learn, which `workbench study` needs only in its kernels

    return propose(
        decisions,
        level=report_family.level_per_test(tests),
        reference_red_below=settings["health_red_below"],
        reference_green_from=settings["health_green_from"],
        min_events=2 * settings["min_events"],
    )


_SAVED: dict = {}


def saved(path: Path) -> Study:
    """The study `Study.save` left in `path`, read once per process (a kernel that runs several pages reads it
    once) and again only when the file changed."""
    stat = path.stat()
    key = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    if key not in _SAVED:
        _SAVED.clear()
        _SAVED[key] = columnar.load(path)
    return _SAVED[key]
