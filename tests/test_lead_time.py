"""Lead time against planted truths: a signal planted to warn late is found late, one planted early is found early."""

import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.attainment import churn_times_vary
from workbench.judge.lead_time import findings, first_warning
from workbench.measure import snapshot

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def usage_drops(tmp_path_factory):
    # Churning accounts lose 90% of their usage over their last 90 days; the decision maker's sentiment and
    # goals drive churn all along (the default world).
    world = World(accounts=1000, seed=4, usage_drop_days=90, usage_drop=0.9)
    return Study.load(write(generate(world), tmp_path_factory.mktemp("drop")), AS_OF)


def test_a_late_usage_drop_is_found_late_and_the_decision_maker_early(usage_drops):
    lead = usage_drops.lead_time().frame.set_index(["signal", "horizon_days"])
    assert lead.loc[("usage", 30), "predictive"]
    assert not lead.loc[("usage", 180), "predictive"] and not lead.loc[("usage", 180), "inverse"]
    first = first_warning(lead.reset_index()).set_index("signal")["warns_from_days"]
    assert first["usage"] <= 60
    assert first["health_decision_maker"] >= 180


def test_the_page_says_in_words_that_the_usage_drop_came_late(usage_drops):
    said = " ".join(findings(usage_drops.lead_time().frame))
    assert "Does a usage drop come too late? Here, yes" in said
    assert "Is 30 days before renewal too late?" in said and "days ahead" in said


def test_the_studys_own_horizon_repeats_the_scoreboard(usage_drops):
    lead = usage_drops.lead_time().frame
    own = lead.loc[lead["horizon_days"] == usage_drops.horizon_days].set_index("signal")["auc_ci_low"]
    board = usage_drops.scoreboard.set_index("signal")["auc_ci_low"]
    pd.testing.assert_series_equal(own, board.loc[own.index], check_names=False)
    assert set(lead["horizon_days"]) >= {30, 90, 180, 365}


def test_a_null_world_warns_at_no_horizon(tmp_path):
    study = Study.load(write(generate(World.null(accounts=600, seed=2)), tmp_path / "null"), AS_OF)
    lead = study.lead_time().frame
    # 9 signals x 6 horizons, each horizon simultaneous at 95%: at most a stray one
    assert lead["conclusion"].isin(["predictive", "inverse"]).sum() <= 1


def test_no_survival_curve_where_every_churn_falls_at_the_terms_end(usage_drops):
    assert not churn_times_vary(usage_drops.decisions)
    varied = usage_drops.decisions.assign(
        end_date=usage_drops.decisions["observation_date"]
        + pd.to_timedelta(usage_drops.decisions.index % 60 + 30, unit="D")
    )
    assert churn_times_vary(varied)


def test_horizons_measured_in_one_pass_are_each_measured_as_alone(usage_drops):
    study = usage_drops
    weights = study.config["scorecard_weights"]
    horizons = [30, 180, 365]
    for rows_per_pass in (10**9, 1):  # all in one pass; one pass each
        together = dict(
            snapshot.measure_at_horizons(
                study.data, study.contracts, study.as_of, study.window_months, horizons, weights, rows_per_pass
            )
        )
        for horizon in horizons:
            alone = snapshot.measure(
                study.data, snapshot.decisions(study.contracts, study.as_of, study.window_months, horizon), weights
            )
            assert alone["goal_attainment"].notna().any() and alone["health_decision_maker"].notna().any()
            measured = together[horizon]
            assert set(measured.columns) - set(alone.columns) == set() and "goal_attainment" in measured
            pd.testing.assert_frame_equal(measured, alone[measured.columns])
