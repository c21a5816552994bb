"""The deeper signal analyses, on hand-built tables and on worlds with planted truths."""

import numpy as np
import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.inputs.usage import from_frame
from workbench.judge.calibration import odds_ratios, reliability
from workbench.judge.features import feature_usage
from workbench.judge.models import account_folds, contribution_tests, cross_validated_auc, out_of_time
from workbench.judge.signals import versus_reference
from workbench.judge.surveys import intention_vs_action, nonresponse
from workbench.judge.watermelon import watermelon


@pytest.fixture(scope="module")
def default_study(tmp_path_factory):
    folder = write(generate(World(accounts=1200, seed=5)), tmp_path_factory.mktemp("default"))
    return Study.load(folder, "2026-10-31")


@pytest.fixture(scope="module")
def null_study(tmp_path_factory):
    folder = write(generate(World.null(accounts=1200, seed=5)), tmp_path_factory.mktemp("null"))
    return Study.load(folder, "2026-10-31")


def test_decision_maker_beats_the_health_score_in_the_default_world(default_study):
    table = versus_reference(default_study.decisions, default_study.signals).set_index("signal")
    assert table.loc["health_decision_maker", "better"] and table.loc["goal_attainment", "better"]
    assert not table.loc["nps", "better"] and not table.loc["usage", "better"]


def test_contribution_tests_find_the_planted_drivers_and_only_them(default_study, null_study):
    planted = contribution_tests(default_study.decisions, default_study.signals).set_index("signal")
    assert (
        planted.loc["goal_attainment", "adds_information"] and planted.loc["health_decision_maker", "adds_information"]
    )
    # NPS is left out here: its respondents include champions and decision makers, whose sentiment
    # is a planted driver, so NPS may legitimately add a little beyond the person-level scores.
    assert not planted.loc[["usage", "health_score"], "adds_information"].any()
    null = contribution_tests(null_study.decisions, null_study.signals)
    assert len(null) == len(null_study.signals) and not null["adds_information"].any()


def test_a_signal_without_values_never_enters_a_model(default_study):
    decisions = default_study.decisions.assign(nps=float("nan"), constant=1.0)
    table = contribution_tests(decisions, [*default_study.signals, "constant"])
    assert "nps" not in set(table["signal"]) and "constant" not in set(table["signal"])
    assert table.set_index("signal").loc["health_decision_maker", "adds_information"]


def test_models_hold_up_out_of_time_only_where_truth_was_planted(default_study, null_study):
    models = {"drivers": ["health_decision_maker", "goal_attainment"], "score": ["health_score"]}
    later = out_of_time(default_study.decisions, models).set_index("model")
    assert later.loc["drivers", "ci_low"] > 0.5
    assert later.loc["score", "ci_low"] < 0.5 < later.loc["score", "ci_high"]
    assert (later["train_until"] <= later["test_from"]).all()
    cv = cross_validated_auc(null_study.decisions, models)
    assert (cv["ci_low"] < 0.5).all()


def test_odds_ratio_and_calibration_follow_the_nps_knob(tmp_path):
    study = Study.load(write(generate(World(accounts=1200, seed=8, nps_effect=1.5)), tmp_path), "2026-10-31")
    nps = odds_ratios(study.decisions, ["nps"]).iloc[0]
    assert nps["or_ci_low"] > 1
    curve = reliability(study.decisions, "nps")
    assert curve["n"].sum() == study.decisions["nps"].notna().sum()
    assert np.corrcoef(curve["predicted"], curve["observed"])[0, 1] > 0.7


def test_a_score_with_one_value_has_no_calibration_curve_rather_than_a_crash():
    # a proposed scorecard with no weight (a null world) scores every decision alike
    decisions = pd.DataFrame({"proposed_score": [50.0] * 40, "renewed": [True, False] * 20})
    assert reliability(decisions, "proposed_score").empty


def test_watermelon_table_by_hand():
    decisions = pd.DataFrame(
        {
            "health_score": [90, 80, 75, 50, 45, 20, None],
            "renewed": [False, True, False, True, False, True, False],
            "arr": [100.0, 50, 300, 10, 600, 5, 1000],
        }
    )
    table = watermelon(decisions, red_below=40, green_from=70).set_index("colour")
    assert list(table.index) == ["green", "yellow", "red"]
    assert list(table["n"]) == [3, 2, 1] and list(table["churned"]) == [2, 1, 0]
    assert table.loc["green", "share_of_churned_arr"] == pytest.approx(400 / 1000)  # the unscored 1000 is not counted


def test_intention_vs_action_and_nonresponse_by_hand():
    decisions = pd.DataFrame(
        {
            "account_id": ["p1", "p2", "d1", "n1"],
            "renewed": [True, True, False, True],
            "nps_score_mean": [9.5, 10, 3, np.nan],
            "nps_responses": [2, 1, 1, 0],
            "nps_responses_decision_maker": [1, 0, 0, 0],
            "nps_responses_champion": [0, 0, 1, 0],
            "nps_responses_end_user": [1, 1, 0, 0],
        }
    )
    referrals = pd.DataFrame(
        {
            "account_id": ["p1", "d1", "d1"],
            "arr": [10.0, 5.0, 7.0],
            "date": pd.to_datetime(["2026-05-01", "2026-06-01", "2020-01-01"]),
        }
    )
    intent = intention_vs_action(decisions, referrals, "2025-10-31", "2026-10-31").set_index("category")
    assert intent.loc["promoter", "referral_rate"] == 0.5 and intent.loc["detractor", "referral_arr"] == 5.0
    silence = nonresponse(decisions).set_index("group")
    assert silence.loc["no one answered", "n"] == 1 and silence.loc["someone answered", "churn_rate"] == pytest.approx(
        1 / 3
    )
    assert silence.loc["decision maker answered", "share_of_decisions"] == 0.25


def test_feature_usage_separates_a_feature_mostly_renewals_use():
    rng = np.random.default_rng(0)
    n = 400
    renewed = rng.random(n) < 0.7
    decisions = pd.DataFrame(
        {"account_id": [f"a{i}" for i in range(n)], "renewed": renewed, "observation_date": pd.Timestamp("2026-06-30")}
    )
    used = np.flatnonzero(rng.random(n) < np.where(renewed, 0.8, 0.2))
    usage = pd.DataFrame(
        {
            "account_id": np.r_[decisions["account_id"].to_numpy(), decisions["account_id"].to_numpy()[used]],
            "feature": ["reports"] * n + ["automations"] * len(used),
            "date": pd.Timestamp("2026-06-01"),
            "events": rng.integers(1, 20, n + len(used)).astype(float),
        }
    )
    table = feature_usage(decisions, from_frame(usage)).set_index("feature")
    assert table.loc["automations", "separates"] and not table.loc["reports", "separates"]
    assert table.loc["automations", "unused_share"] == pytest.approx(1 - len(used) / n)


def test_segment_filter_keeps_only_that_segment(default_study):
    study = Study.load(default_study.data.folder, "2026-10-31", segment="Enterprise")
    accounts = default_study.data["accounts"].set_index("account_id")["segment"]
    assert len(study.decisions) > 0
    assert (study.decisions["account_id"].map(accounts) == "Enterprise").all()


def test_extra_signals_from_the_config_are_judged_and_unknown_ones_rejected(default_study, tmp_path):
    from workbench.errors import UsageError

    config = tmp_path / "study.yml"
    config.write_text("extra_signals: [arr]\n")
    study = Study.load(default_study.data.folder, "2026-10-31", config=config)
    assert study.signals[-1] == "arr" and study.decisions["arr"].notna().all()
    config.write_text("extra_signals: [licences]\n")
    with pytest.raises(UsageError, match=r"extra_signals \['licences'\]"):
        Study.load(default_study.data.folder, "2026-10-31", config=config)


def test_account_folds_keep_accounts_together_and_spread_churn_evenly():
    rng = np.random.default_rng(3)
    accounts = rng.integers(0, 3_000, 10_000)
    y = rng.random(10_000) > 0.2 + 0.3 * (accounts % 2)  # odd accounts churn more
    splits = account_folds(accounts, y, folds=5, seed=1)
    tested = np.concatenate([test for _, test in splits])
    assert np.array_equal(np.sort(tested), np.arange(10_000))  # every decision scored exactly once
    for train, test in splits:
        assert not set(accounts[train]) & set(accounts[test])
        assert abs((~y[test]).mean() - (~y).mean()) < 0.02
    assert all(np.array_equal(a[1], b[1]) for a, b in zip(splits, account_folds(accounts, y, 5, seed=1)))
