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
