"""Lead time against planted truths: a signal planted to warn late is found late, one planted early is found early."""

import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.attainment import churn_times_vary
from workbench.judge.lead_time import findings, first_warning, gatekeep
from workbench.measure import snapshot

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def usage_drops(tmp_path_factory):
    # Churning accounts lose 90% of their usage over their last 90 days; the decision maker's sentiment and
    # goals drive churn all along (the default world).
    world = World(accounts=1000, seed=4, usage_drop_days=90, usage_drop=0.9)
    return Study.load(write(generate(world), tmp_path_factory.mktemp("drop")), AS_OF)


def test_a_late_usage_drop_shows_late_and_the_decision_maker_warns_early(usage_drops):
    lead = usage_drops.lead_time().frame.set_index(["signal", "horizon_days"])
    # nearer renewal than the study's 90 days the drop shows in the numbers, but as exploration, not a verdict
    assert lead.loc[("usage", 30), "auc_ci_low"] > 0.5 and lead.loc[("usage", 30), "conclusion"] == "exploratory"
    assert lead.loc[("usage", 30), "predictive"] is None
    assert lead.loc[("usage", 180), "conclusion"] not in ("predictive", "inverse")
    first = first_warning(lead.reset_index()).set_index("signal")["warns_from_days"]
    assert pd.isna(first["usage"]) or first["usage"] == 90
    assert first["health_decision_maker"] >= 180


def test_the_page_says_in_words_that_the_usage_drop_came_late(usage_drops):
    said = " ".join(findings(usage_drops.lead_time().frame, usage_drops.horizon_days))
    assert "Does a usage drop come too late? Usage did not warn 90 days before renewal" in said
    assert "nearer renewal its AUC is" in said and "exploratory" in said
    assert "Is 30 days before renewal too late?" in said and "days ahead" in said


def test_earlier_horizons_are_judged_in_turn_only_while_a_signal_is_found():
    horizons = [30, 90, 180, 270, 365]
    planted = {  # the conclusion each horizon's own judgement gave
        "reaches_180": ["predictive", "predictive", "predictive", "inconclusive", "predictive"],
        "never_at_90": ["predictive", "inconclusive", "predictive", "predictive", "predictive"],
        "all_the_way": ["inverse", "inverse", "inverse", "inverse", "inverse"],
        "too_few_values": ["predictive", "inconclusive", "not_judged", "predictive", "not_judged"],
    }
    lead = pd.DataFrame(
        [
            {
                "signal": s,
                "horizon_days": h,
                "conclusion": c,
                "predictive": c == "predictive",
                "inverse": c == "inverse",
            }
            for s, found in planted.items()
            for h, c in zip(horizons, found)
        ]
    )
    judged = gatekeep(lead, 90).set_index(["signal", "horizon_days"])["conclusion"]
    assert judged["reaches_180"].tolist() == ["exploratory", "predictive", "predictive", "inconclusive", "exploratory"]
    assert judged["never_at_90"].tolist() == ["exploratory", "inconclusive", *["exploratory"] * 3]
    assert judged["all_the_way"].tolist() == ["exploratory", *["inverse"] * 4]
    assert judged["too_few_values"].tolist() == [
        "exploratory",
        "inconclusive",
        "not_judged",
        "exploratory",
        "not_judged",
    ]
    first = first_warning(gatekeep(lead, 90)).set_index("signal")["warns_from_days"]
    assert first["reaches_180"] == 180 and pd.isna(first["never_at_90"]) and first["all_the_way"] == 365


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
