"""Warnings a study can live with: repeated rows counted exactly, however the table is typed."""

import numpy as np
import pandas as pd

from workbench.inputs.loader import load
from workbench.judge.quality import repeated_rows, warnings


def test_repeated_rows_match_a_full_comparison():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {
            "account_id": pd.array(rng.choice(["a", "b", "c", None], 5000), dtype="string"),
            "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30, 5000), unit="D"),
            "score": np.where(rng.random(5000) < 0.1, np.nan, rng.integers(0, 20, 5000)),
        }
    )
    assert repeated_rows(frame) == frame.duplicated().sum() > 100
    assert repeated_rows(frame.drop_duplicates()) == 0
    assert repeated_rows(frame.iloc[:0]) == 0


def test_repeated_health_scores_are_warned_with_their_count(world_copy):
    scores = pd.read_csv(world_copy / "health_scores.csv")
    pd.concat([scores, scores.iloc[[3, 3, 8]]]).to_csv(world_copy / "health_scores.csv", index=False)
    found = [p for p in warnings(load(world_copy)) if "repeat another row" in p.message]
    assert [(p.file.split("/")[-1], p.count) for p in found] == [("health_scores.csv", 3)]


def test_a_horizon_longer_than_the_terms_is_named_with_one_the_data_supports():
    from workbench.judge.quality import horizon_note, observation_coverage, supported_horizon

    starts = pd.date_range("2025-01-01", periods=24, freq="MS")
    monthly = pd.DataFrame({"start_date": starts, "end_date": starts + pd.DateOffset(months=1)})
    monthly["observation_date"] = monthly["end_date"] - pd.Timedelta(days=90)
    profile = pd.DataFrame({"table": ["usage"], "first_date": [pd.Timestamp("2025-03-01")]})
    coverage = observation_coverage(monthly, profile).set_index("before")["decisions"]
    assert coverage["their own term's start"] == 24
    assert coverage["the first row of usage"] == (monthly["observation_date"] < "2025-03-01").sum() > 0
    assert supported_horizon(monthly, 90) == 14
    assert "--horizon-days 14" in horizon_note(monthly, profile, 90)
    annual = monthly.assign(end_date=monthly["start_date"] + pd.DateOffset(years=1))
    annual["observation_date"] = annual["end_date"] - pd.Timedelta(days=90)
    assert supported_horizon(annual, 90) is None
    assert horizon_note(annual, profile.assign(first_date=pd.Timestamp("2020-01-01")), 90) is None
