"""Behavioural usage metrics and survey reliability against planted truths."""

import numpy as np
import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.surveys import retest_reliability
from workbench.measure.behaviour import skew_aware

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def dropping(tmp_path_factory):
    # Churning accounts lose 80% of their usage over their last 150 days: at 90 days before renewal the
    # 90-day window has fallen against the one before it.
    world = World(accounts=1000, seed=6, usage_drop_days=150, usage_drop=0.8)
    return Study.load(write(generate(world), tmp_path_factory.mktemp("drop")), AS_OF)


def test_a_planted_usage_drop_is_found_by_the_change_metric(dropping):
    board = dropping.behaviour().frame.set_index("signal")
    change = board.loc["usage_change"]  # exploratory: its interval shows the drop, no verdict names it
    assert change["conclusion"] == "exploratory" and "predictive" not in board
    assert change["auc_ci_low"] > 0.5 and change["top_decile_lift"] > 2
    assert {"active_users", "events_per_active_user", "days_since_last_use"} <= set(board.index)
    assert "usage_change" in dropping.decisions and "usage_change" in dropping.describe().frame["column"].tolist()


def test_without_a_drop_the_change_metric_is_no_finding(small_world):
    board = Study.load(small_world, AS_OF).behaviour().frame.set_index("signal")
    change = board.loc["usage_change"]
    assert change["conclusion"] == "exploratory" and change["auc_ci_low"] <= 0.5 <= change["auc_ci_high"]


def test_twins_share_a_group(dropping):
    board = dropping.behaviour().frame.set_index("signal")
    # events per active user is the usage sum over a near-constant head count: one group
    assert board.loc["events_per_active_user", "metric_group"] == board.loc["usage", "metric_group"]


def test_skew_aware_scores_are_standardized_and_tame_a_long_tail():
    values = pd.Series(np.random.default_rng(0).lognormal(0, 2, 2000))
    scored = skew_aware(values)
    assert abs(scored.mean()) < 1e-9 and abs(scored.std() - 1) < 1e-9 and values.skew() > 10 > 2 > abs(scored.skew())


@pytest.mark.parametrize("noise, low, high", [(0.8, 0.7, 1.0), (3.0, 0.1, 0.5)])
def test_nps_test_retest_tells_the_person_from_the_day(noise, low, high):
    retest = retest_reliability(generate(World(accounts=1500, seed=2, nps_day_noise=noise))["surveys"])
    assert retest["contacts"] > 100
    assert low < retest["stable_share"] < high and retest["ci_low"] < retest["retest_correlation"] < retest["ci_high"]


def test_behaviour_without_contacts_or_features_leaves_those_metrics_out(tmp_path):
    # A bare export: account, date and events only (no contact_id, no feature).
    from workbench.inputs.usage import from_frame

    frame = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2"],
            "date": pd.to_datetime(["2026-01-05", "2026-03-05", "2026-02-01"]),
            "events": [3.0, 5.0, 1.0],
        }
    )
    usage = from_frame(frame)
    points = pd.DataFrame({"account_id": ["A1", "A2", "A3"], "observation_date": pd.to_datetime(["2026-03-31"] * 3)})
    from workbench.measure.behaviour import behaviour_metrics

    metrics = behaviour_metrics(usage, points)
    assert "active_users" not in metrics and "feature_breadth" not in metrics
    assert metrics["days_since_last_use"].iloc[0] == 26 and np.isnan(metrics["days_since_last_use"].iloc[2])
