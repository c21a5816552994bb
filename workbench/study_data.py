"""What every study notebook starts from: the checked data, the decisions and their signals."""
from __future__ import annotations

import pickle
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from . import goals, privacy, snapshot, stakeholders
from .config import load_config
from .errors import UsageError
from .growth import GrowthModel
from .loader import Dataset, load
from .signals import validity, withhold


# Attainment accumulates over a goal's life; a term much shorter than its goal is decided at many goal ages, and
# a churn is a subscription's last decision, so attainment would compare progress at different times (make
# calibrate: 67% of null monthly books called it inverse).
SHORT_TERM_DAYS = 300
SHORT_TERMS = ("not judged on this book: its terms last {days:.0f} days (median), shorter than the goals, so each "
               "account is decided at several goal ages and its churn always last; attainment would compare progress "
               "made at different times. Judge it on annual terms")

# The outcome and what is derived from it: never a signal (the contract's no-leakage rule).
OUTCOME_COLUMNS = ("outcome", "renewal_arr", "churn_reason", "end_date", "renewed", "expanded", "observation_date",
                   "days_to_renewal")


@dataclass
class StudyData:
    data: Dataset
    config: dict
    as_of: pd.Timestamp
    window_start: pd.Timestamp
    horizon_days: int
    contracts: pd.DataFrame  # every contract term (of the segment), with its account's columns
    decisions: pd.DataFrame  # renewed or churned in the window, signals at observation date
    open_contracts: pd.DataFrame  # open at as_of, signals as of as_of
    signals: list[str]  # the signals this data allows, contract names first
    family: list[str]  # the signals the report judges: one family, intervals simultaneous across the report
    scoreboard: pd.DataFrame  # signals.validity of the family: one interval per signal wherever it appears
    open_people: pd.DataFrame | None  # the people of open contracts with their health today ("row" = its index)
    growth: GrowthModel | None  # goal growth curves fitted on progress measured by as_of

    @property
    def accounts(self) -> int:
        return int(self.decisions["account_id"].nunique())

    @property
    def churned_accounts(self) -> int:
        return int(self.decisions.loc[~self.decisions["renewed"], "account_id"].nunique())

    @property
    def segment_note(self) -> str:
        segment = self.config["segment"]
        return f" (segment: {segment})" if segment else ""


def prepare(data_dir, as_of, window_months: int = 12, horizon_days: int = 90, config=None, mapping=None,
            segment: str = "", pseudonymize: bool = False, cache: str = "", allow_outside_data: bool = False
            ) -> StudyData:
    """Load and check the data, then measure every decision's signals; `segment` overrides the config's,
    `pseudonymize` replaces account and contact names with stable aliases. `cache` names a file that
    `workbench study` wrote with `save` after preparing once for all its notebooks."""
    if cache and Path(cache).exists():
        with open(cache, "rb") as file:
            return pickle.load(file)
    settings = load_config(config)
    if segment:
        settings["segment"] = segment
    data = load(data_dir, mapping or None, allow_outside_data)
    if pseudonymize:
        privacy.pseudonymize(data.tables)
    as_of = pd.Timestamp(as_of)
    contracts = _with_accounts(data, settings)
    weights = settings["scorecard_weights"]
    decisions = snapshot.measure(data, snapshot.decisions(contracts, as_of, window_months, horizon_days), weights)
    open_frame = snapshot.open_contracts(contracts, as_of)
    open_people = stakeholders.person_health(data, open_frame, weights) if data.has("contacts") else None
    open_contracts = snapshot.measure(data, open_frame, weights, open_people)
    growth = (goals.growth_model(data["goals"], data["goal_progress"], as_of)
              if data.has("goals") and data.has("goal_progress") else None)
    signals = [s for s in snapshot.SIGNALS if s in decisions] + list(settings["extra_signals"])
    family = _family(settings, signals)
    scoreboard = validity(decisions, family, min_events=settings["min_events"], family_size=len(family),
                          min_useful_auc=settings["min_useful_auc"], undated=settings["extra_signals"])
    term_days = (decisions["end_date"] - decisions["start_date"]).dt.days.median() if len(decisions) else np.nan
    if "goal_attainment" in family and term_days < SHORT_TERM_DAYS:
        scoreboard = withhold(scoreboard, "goal_attainment", SHORT_TERMS.format(days=term_days))
    return StudyData(data, settings, as_of, snapshot.window_start(as_of, window_months), horizon_days,
                     contracts, decisions, open_contracts, signals, family, scoreboard, open_people, growth)


def _family(settings: dict, signals: list[str]) -> list[str]:
    """The signals the report judges: the config's `signals`, or every signal the data allows."""
    chosen = settings["signals"]
    if chosen is None:
        return list(signals)
    unknown = [s for s in chosen if s not in signals]
    if unknown:
        raise UsageError(f"config: signals {unknown} are not signals of this data; it allows: {', '.join(signals)}")
    return list(dict.fromkeys(chosen))


def no_decisions(study: StudyData) -> str:
    """Why a study has nothing to judge, with the dates it looked at and what to change."""
    contracts = study.data["contracts"]
    decided = contracts.loc[contracts["outcome"].isin(["renewed", "churned"]), "end_date"]
    span = (f"the data's decided contracts end between {decided.min():%Y-%m-%d} and {decided.max():%Y-%m-%d} "
            f"({len(decided):,} of them)" if len(decided) else "the contracts table holds no renewed or churned contract")
    segment = study.config["segment"]
    return (f"no renewal decision to judge: no contract{f' of segment {segment!r}' if segment else ''} with outcome "
            f"renewed or churned ends in the study window ({study.window_start:%Y-%m-%d}, {study.as_of:%Y-%m-%d}]; "
            f"{span}. Nothing was written. Choose an --as-of within that span or a longer --window-months"
            + (", or check the segment's spelling" if segment else "") + ".")


def _with_accounts(data: Dataset, settings: dict) -> pd.DataFrame:
    """Contracts with their account's columns (for names, segments and extra signals), segment-filtered."""
    accounts = data["accounts"]
    contracts = data["contracts"].merge(accounts, on="account_id", how="left", suffixes=("", "_account"))
    leaking = [name for name in settings["extra_signals"] if name in OUTCOME_COLUMNS]
    if leaking:
        raise UsageError(f"config: extra_signals {leaking} are the renewal's outcome or derived from it, known only "
                         f"after the decision; a signal must be measured before it. Remove them from extra_signals.")
    unknown = [name for name in settings["extra_signals"] if name not in contracts]
    if unknown:
        raise UsageError(f"config: extra_signals {unknown} are not columns of accounts or contracts; "
                         f"extra columns found: {sorted(set(contracts) - set(data['contracts']) - {'account_id'})}")
    for name in settings["extra_signals"]:
        contracts[name] = pd.to_numeric(contracts[name], errors="coerce")
    segment = settings["segment"]
    if segment:
        column = settings["segment_column"]
        contracts = contracts.loc[contracts.get(column, pd.Series(dtype=str)) == segment]
    return contracts


def save(study: StudyData, path: Path) -> Path:
    """Pickle the prepared study to `path`, with the usage database moved beside it for the notebooks."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if study.data.usage is not None:
        study.data.usage.move_to(path.parent)
    with open(path, "wb") as file:
        pickle.dump(study, file, protocol=pickle.HIGHEST_PROTOCOL)
    return path
