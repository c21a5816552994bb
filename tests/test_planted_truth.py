"""The study recovers truths planted in generated worlds, over several seeds, and invents none."""

import pytest

from workbench import Study
from workbench.generate import World, generate, write

SEEDS = (1, 2, 3)


def scoreboard(world: World, tmp_path):
    """The report's scoreboard: one family, clustered by account."""
    folder = write(generate(world), tmp_path / f"world_{world.seed}")
    return Study.load(folder, world.as_of).scoreboard.set_index("signal")


def flagged(table, column="predictive") -> set[str]:
    return set(table.index[table[column]])


@pytest.mark.parametrize("seed", SEEDS)
def test_default_world_tells_the_practitioners_story(seed, tmp_path):
    table = scoreboard(World(accounts=1200, seed=seed), tmp_path)
    assert {"health_decision_maker", "goal_attainment"} <= flagged(table)
    assert not {"nps", "usage", "health_score"} & flagged(table)
    assert table.loc["health_decision_maker", "auc"] > table.loc["health_score", "auc"]


@pytest.mark.parametrize("seed", SEEDS)
def test_nps_knob_makes_nps_predictive(seed, tmp_path):
    table = scoreboard(World(accounts=1200, seed=seed, nps_effect=1.5), tmp_path)
    assert "nps" in flagged(table)


@pytest.mark.parametrize("seed", SEEDS)
def test_health_score_knob_makes_the_overall_score_predictive(seed, tmp_path):
    table = scoreboard(World(accounts=1200, seed=seed, health_effect=1.5), tmp_path)
    assert "health_score" in flagged(table)


@pytest.mark.parametrize("seed", SEEDS)
def test_struggling_heavy_users_make_usage_inverse(seed, tmp_path):
    table = scoreboard(World(accounts=1200, seed=seed, usage_effect=-1.2), tmp_path)
    assert "usage" in flagged(table, "inverse")
    assert "usage" not in flagged(table)


def test_null_worlds_flag_nothing(tmp_path):
    """With simultaneous 95% intervals a null world flags any signal at most 5% of the time."""
    flags = {}
    for seed in range(1, 7):
        table = scoreboard(World.null(accounts=1200, seed=seed), tmp_path)
        flags[seed] = flagged(table) | flagged(table, "inverse")
    assert sum(bool(f) for f in flags.values()) <= 1, flags


@pytest.mark.parametrize("shape", [{"products": 3, "outcome_correlation": 0.9}, {"term_months": 1}])
def test_null_books_of_several_decisions_per_account_flag_nothing(shape, tmp_path):
    """Decisions that share an account's fate must not count as independent evidence (make calibrate
    measures the rate over 100 worlds; here a few worlds must stay quiet)."""
    flags = {}
    for seed in range(1, 5):
        table = scoreboard(World.null(accounts=300, seed=seed, **shape), tmp_path)
        flags[seed] = flagged(table) | flagged(table, "inverse")
    assert sum(bool(f) for f in flags.values()) <= 1, flags


def test_the_planted_driver_is_found_in_a_book_of_concurrent_subscriptions(tmp_path):
    table = scoreboard(World(accounts=800, seed=2, products=3, outcome_correlation=0.8), tmp_path)
    assert "health_decision_maker" in flagged(table) and table.loc["health_decision_maker", "n"] > 800


def test_too_few_events_give_a_warning_not_a_verdict(tmp_path):
    table = scoreboard(World(accounts=60, seed=4), tmp_path)
    few = table.loc[table["churned"] < 10]
    assert len(few) > 0
    assert few["auc_ci_low"].isna().all() and not few["predictive"].any() and not few["inverse"].any()
    assert few["verdict"].str.contains("too few events").all()
