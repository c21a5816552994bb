"""Renewal decisions and their signals, measured as of each decision's observation date.

The observation date is end_date - horizon_days: the day the CS team would have had to act.
Every signal reads only rows dated on or before it (see pointintime).
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pandas as pd

from ..inputs.config import DEFAULTS
from ..inputs.loader import Dataset
from ..inputs.scores import HealthScores
from . import stakeholders
from .columns import measured
from .pointintime import days
from .signals import Asked

# Decisions measured in one pass of `measure_at_horizons`: several horizons share a pass's lookups of the large
# tables, and a large book's horizon is a pass of its own, so one pass is held at a time.
ROWS_AT_A_TIME = 250_000
DEFAULT_WEIGHTS = DEFAULTS["scorecard_weights"]
MEASURED_AT_HORIZONS = ["contract_id", "account_id", "start_date", "end_date", "renewed"]


def window_start(as_of: pd.Timestamp, window_months: int) -> pd.Timestamp:
    return pd.Timestamp(as_of) - pd.DateOffset(months=window_months)


def decisions(contracts: pd.DataFrame, as_of, window_months: int = 12, horizon_days: int = 90) -> pd.DataFrame:
    """Contracts renewed or churned with end_date in (as_of - window_months, as_of]."""
    as_of = pd.Timestamp(as_of)
    decided = contracts["outcome"].isin(["renewed", "churned"])
    in_window = (contracts["end_date"] > window_start(as_of, window_months)) & (contracts["end_date"] <= as_of)
    frame = contracts.loc[decided & in_window].reset_index(drop=True)
    frame["observation_date"] = frame["end_date"] - pd.Timedelta(days=horizon_days)
    frame["renewed"] = frame["outcome"] == "renewed"
    if "renewal_arr" in frame:
        frame["expanded"] = frame["renewal_arr"] > frame["arr"]
    return frame


def open_contracts(contracts: pd.DataFrame, as_of) -> pd.DataFrame:
    """Contracts still open at as_of, to be scored for risk today (never counted as outcomes): running on
    that day, or past their end with no recorded decision. A study dated in the past treats a contract
    decided later as open, as it was then."""
    as_of = pd.Timestamp(as_of)
    undecided = (contracts["outcome"] == "open") | (contracts["end_date"] > as_of)
    frame = contracts.loc[undecided & (contracts["start_date"] <= as_of)].reset_index(drop=True)
    frame["observation_date"] = as_of
    frame["days_to_renewal"] = (frame["end_date"] - as_of).dt.days
    return frame


def measure(
    data: Dataset, frame: pd.DataFrame, scorecard_weights: dict | None = None, people: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Add every signal the data allows to `frame` (needs account_id, observation_date, start_date);
    `people` is stakeholders.person_health of `frame` when the caller has it already. The data's stores are
    closed when it returns: their DuckDB buffers would otherwise stay held while the measured frame is judged;
    the next question opens them again."""
    asked = Asked(data, frame.copy(deep=False), scorecard_weights or DEFAULT_WEIGHTS, people)  # `frame` as it is
    for column in measured():
        if all(data.has(table) for table in column.needs):
            asked.frame = asked.frame.assign(**column.measure(asked))
    data.close_stores()
    return asked.frame


def measure_at_horizons(
    data: Dataset,
    contracts: pd.DataFrame,
    as_of,
    window_months: int,
    horizons: list[int],
    scorecard_weights: dict | None = None,
    rows_per_pass: int = ROWS_AT_A_TIME,
) -> Iterator[tuple[int, pd.DataFrame]]:
    """(horizon, the decisions measured `horizon` days before renewal) for each of `horizons`: several horizons
    in one pass of `measure` (up to `rows_per_pass` rows), which looks up the large tables once per pass, not
    once per horizon. A pass is measured when the one before has been used, so that only one is held, and holds
    only the columns that measuring and judging read (`MEASURED_AT_HORIZONS`) beside the signals."""
    judged = decisions(contracts, as_of, window_months)[MEASURED_AT_HORIZONS]
    per_pass = max(1, rows_per_pass // max(len(judged), 1))
    for first in range(0, len(horizons), per_pass):
        part = horizons[first : first + per_pass]
        frame = pd.concat(
            [judged.assign(observation_date=judged["end_date"] - pd.Timedelta(days=h)) for h in part],
            ignore_index=True,
        )
        together = measure(data, frame, scorecard_weights)
        for i, horizon in enumerate(part):
            yield horizon, together.iloc[i * len(judged) : (i + 1) * len(judged)].reset_index(drop=True)


def overall_health(scores: HealthScores, frame: pd.DataFrame) -> np.ndarray:
    """The account's overall exported score (rows without a contact), latest on or before observation."""
    found = scores.latest(
        "account", frame["account_id"], days(frame["observation_date"]), stakeholders.SCORE_MAX_AGE_DAYS
    )
    return found["score"].to_numpy()
