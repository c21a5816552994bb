"""The proposed scorecard against planted truths: it finds the drivers, beats a blind score out of time, and
proposes nothing where there is nothing to gain."""

import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.scorecard import _coefficients, _points, percentile_scale, propose
from workbench.stats.lasso import l1_logistic

AS_OF = "2026-10-31"
CONTRACT = Path(__file__).resolve().parent.parent / "docs" / "contract.md"


def study_of(tmp_path, name: str, world: World) -> Study:
    return Study.load(write(generate(world), tmp_path / name), AS_OF)


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    # The default world: churn follows the decision maker's sentiment and missed goals; the exported score misses both.
    return study_of(tmp_path_factory.mktemp("planted"), "data", World(accounts=1000, seed=5))


def test_the_proposed_score_recovers_the_planted_drivers_and_beats_the_teams_score(planted):
    card = planted.scorecard()
    assert card.proposed, card.reason
    ranked = card.components.sort_values("points", ascending=False)["component"].tolist()
    assert set(ranked[:2]) == {"health_decision_maker", "goal_attainment"}, ranked
    assert card.components["points"].sum() == 100
    assert card.comparison["gain_ci_low"] > 0 and card.comparison["auc_ci_low"] > 0.5
    assert card.fit["last"] < card.tested["first"]  # learned on earlier decisions, tested on later ones


def test_results_follow_the_contract(planted):
    example = json.loads(re.search(r"## 3\. Results out.*?```json\n(.*?)```", CONTRACT.read_text(), re.S).group(1))
    results = planted.scorecard().to_results()
    assert set(example["scorecard"]) <= set(results)
    assert sum(c["weight"] for c in results["components"]) == 100
    assert results["gain_ci_low"] <= results["auc_out_of_time"] - results["reference_auc_out_of_time"]
    assert results["decisions_fit"] + results["decisions_tested"] == len(planted.decisions)


def test_the_weights_are_learned_without_the_later_outcomes(planted):
    card = planted.scorecard()
    shuffled = planted.decisions.copy()
    later = shuffled["end_date"] > card.split_date
    rng = np.random.default_rng(0)
    shuffled.loc[later, "renewed"] = rng.permutation(shuffled.loc[later, "renewed"].to_numpy())
    again = propose(shuffled, min_events=20)
    pd.testing.assert_frame_equal(again.components, card.components)
    assert again.red_below == card.red_below and again.green_from == card.green_from


@pytest.mark.parametrize("seed", [1, 2])
def test_a_null_world_gets_no_scorecard(tmp_path, seed):
    card = study_of(tmp_path, "null", World.null(accounts=1000, seed=seed)).scorecard()
    assert not card.proposed and card.to_results() is None
    if not card.comparison:  # nothing earned weight: nothing to test or colour
        assert "no component earned any weight" in card.reason and card.red_below is None
    else:
        assert card.comparison["gain_ci_low"] <= 0 <= card.comparison["gain_ci_high"]
    assert "nothing is proposed" in card.reason


def test_where_the_teams_score_already_captures_the_drivers_nothing_is_proposed(tmp_path):
    card = study_of(tmp_path, "aligned", World(accounts=1000, seed=5, score_alignment=1.0)).scorecard()
    assert card.comparison["reference_auc_out_of_time"] > 0.65  # the team's score predicts here
    assert not card.proposed, card.reason


def test_too_few_decisions_are_said_so(tmp_path):
    card = study_of(tmp_path, "tiny", World(accounts=60, seed=3)).scorecard()
    assert not card.proposed and "too few decisions" in card.reason and card.to_results() is None


def test_components_are_scaled_by_their_earlier_percentile_and_points_sum_to_100():
    early = pd.Series([1.0, 2.0, 3.0, 4.0, np.nan])
    np.testing.assert_allclose(percentile_scale(early, pd.Series([0.0, 2.5, 4.0, np.nan])), [0.0, 0.5, 1.0, 0.5])
    points = _points(np.array([0.333, 0.333, 0.334, 0.0]))
    assert points.sum() == 100 and points[-1] == 0 and set(points[:3]) <= {33, 34}


def test_a_resample_weighted_by_copies_fits_as_its_repeated_rows():
    rng = np.random.default_rng(5)
    x = rng.uniform(size=(3000, 4))
    y = (rng.uniform(size=3000) < 1 / (1 + np.exp(-(2 * x[:, 0] - x[:, 1])))).astype(int)
    copies = rng.poisson(1.0, 3000)
    repeated = _coefficients(x[np.repeat(np.arange(3000), copies)], y[np.repeat(np.arange(3000), copies)], 1.0)
    drawn = copies > 0
    weighted = _coefficients(x[drawn], y[drawn], 1.0, copies[drawn])
    assert repeated[0] > 1 and repeated[1] == 0  # the harmful group was dropped and the rest refit
    np.testing.assert_allclose(weighted, repeated, atol=1e-6)


def penalized(x, y, penalty, coefficients, intercept, weight=None):
    margin = x @ coefficients + intercept
    weight = np.ones(len(y)) if weight is None else weight
    return np.abs(coefficients).sum() + abs(intercept) + penalty * weight @ (np.logaddexp(0, margin) - y * margin)


@pytest.mark.parametrize("penalty", [0.003, 0.05, 1.0, 10.0])
def test_the_l1_fit_reaches_liblinears_optimum(penalty):
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(11)
    x = rng.uniform(size=(4000, 6))
    x[:, 5] = 0.9 * x[:, 0] + 0.1 * rng.uniform(size=4000)  # a near twin, where coordinate steps crawl
    y = (rng.uniform(size=4000) < 1 / (1 + np.exp(-(3 * x[:, 0] - 2 * x[:, 1] + 0.5 * x[:, 2] - 1)))).astype(int)
    weight = rng.poisson(1.0, 4000).astype(float)
    for w in (None, weight):
        coefficients, intercept = l1_logistic(x, y, penalty, w)
        reference = LogisticRegression(l1_ratio=1.0, solver="liblinear", C=penalty, tol=1e-10, max_iter=10_000)
        reference.fit(x, y, sample_weight=w)
        ours = penalized(x, y, penalty, coefficients, intercept, w)
        theirs = penalized(x, y, penalty, reference.coef_[0], reference.intercept_[0], w)
        assert ours <= theirs + 1e-6 * abs(theirs)
        np.testing.assert_allclose(coefficients, reference.coef_[0], atol=2e-3)
        np.testing.assert_allclose(intercept, reference.intercept_[0], atol=2e-3)
    if penalty == 0.003:  # so strong a penalty leaves nothing
        assert not coefficients.any() and intercept == 0


def test_the_yaml_names_what_an_admin_types_in(planted):
    text = planted.scorecard().to_yaml("2025-10-31 to 2026-10-31")
    assert "red_below:" in text and "green_from:" in text and "points: " in text and "percentiles: {p10:" in text
    assert "health_decision_maker" in text
