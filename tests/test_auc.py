import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score

from workbench.stats.auc import (
    auc_interval,
    bootstrap_auc,
    bootstrap_layout,
    delong,
    interval,
    paired_difference,
    poisson_weights,
)


def sample(n=600, shift=0.6, seed=0):
    rng = np.random.default_rng(seed)
    renewed = rng.random(n) < 0.8
    score = np.round(rng.normal(size=n) + shift * renewed, 1)  # rounding makes ties
    return score, renewed


def test_auc_matches_scikit_learn_with_ties():
    score, renewed = sample()
    assert np.isclose(delong(score, renewed).auc[0], roc_auc_score(renewed, score))


def test_delong_standard_error_matches_the_bootstrap():
    score, renewed = sample()
    se = np.sqrt(delong(score, renewed).covariance[0, 0])
    replicates = bootstrap_auc(score, renewed, resamples=1500, seed=1)
    assert abs(replicates.std() - se) / se < 0.12
    # each replicate is the exact weighted AUC of its Poisson weights: check the first chunk against scikit-learn
    drawn = poisson_weights(np.random.default_rng(1), 16, len(score))
    weights = np.empty_like(drawn)
    weights[:, bootstrap_layout(score, renewed)] = drawn
    for r in (0, 1, 15):
        assert np.isclose(replicates[r], roc_auc_score(renewed, score, sample_weight=weights[r]))


def test_interval_covers_the_truth_at_its_level():
    covered = 0
    for seed in range(200):
        score, renewed = sample(n=300, shift=0.0, seed=seed)
        _, low, high = auc_interval(score, renewed)
        covered += low <= 0.5 <= high
    assert 0.91 <= covered / 200 <= 0.99


def test_paired_difference_of_a_signal_with_itself_is_zero_and_detects_a_better_one():
    score, renewed = sample(n=1500, shift=0.3)
    same = paired_difference(score, score, renewed)
    assert same["difference"] == 0
    better = score + 0.8 * renewed
    diff = paired_difference(better, score, renewed)
    assert diff["ci_low"] > 0 and diff["p_value"] < 0.001


def test_degrees_of_freedom_count_the_distinct_units_behind_the_rarer_outcome():
    from workbench.stats.auc import degrees_of_freedom

    positive = np.array([True, True, True, False, False, False, False, False])
    cluster = np.array(["a", "a", "b", "b", "c", "c", "d", "e"])
    assert degrees_of_freedom(positive, cluster) == 2 - 1  # positives come from a and b
    assert degrees_of_freedom(positive) == 3 - 1
    assert degrees_of_freedom(~positive, cluster) == 2 - 1
    assert degrees_of_freedom(np.array([True, False]), np.array(["a", "a"])) == 1  # never below one


def test_an_account_s_repeated_decisions_count_once_in_the_clustered_variance():
    # Every case exported three times over, one account each: clustering gives the variance of the cases
    # themselves, where treating the copies as independent would claim three times the information.
    score, positive = sample(n=400, seed=4)
    once = delong(score, positive)
    copies = np.repeat(np.arange(400), 3)
    clustered = delong(score[copies], positive[copies], cluster=copies)
    naive = delong(score[copies], positive[copies])
    assert clustered.auc[0] == pytest.approx(once.auc[0])
    assert clustered.covariance[0, 0] == pytest.approx(once.covariance[0, 0], rel=0.05)
    assert naive.covariance[0, 0] == pytest.approx(once.covariance[0, 0] / 3, rel=0.05)


def test_few_units_widen_the_interval_as_student_s_t_does_and_many_meet_the_normal():
    def logit(p):
        return np.log(p / (1 - p))

    width = {df: np.subtract(*logit(np.array(interval(0.6, 0.002, 0.95, df)))[::-1]) for df in (4, 30, 100_000)}
    assert width[4] > width[30] > width[100_000]
    assert width[4] / width[100_000] == pytest.approx(stats.t.ppf(0.975, 4) / stats.norm.ppf(0.975), rel=0.02)
