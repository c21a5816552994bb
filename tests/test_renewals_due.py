"""Renewals due are flagged with whatever the study found to go with renewal, and with nothing it did not."""

import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.measure.renewals import weak_signals

NO_PEOPLE_NOR_GOALS = ("contacts", "health_scores", "goals", "goal_progress", "goal_inputs")


def billing_shaped(world: World, folder):
    """A world exported without contacts, person health or goals: only signals can flag a renewal."""
    tables = {name: frame for name, frame in generate(world).items() if name not in NO_PEOPLE_NOR_GOALS}
    return Study.load(write(tables, folder), world.as_of)


def test_a_weak_value_is_the_churning_quarter_of_the_decided_renewals():
    decisions = pd.DataFrame({"nps": range(100), "usage": range(100)})
    renewing = pd.DataFrame({"nps": [1, 50, None, 90], "usage": [80, 1, 99, None]})
    found = pd.DataFrame(
        {"signal": ["nps", "usage", "csat"], "conclusion": ["predictive", "inverse", "predictive"]}
    ).assign(name=["NPS", "Product usage", "CSAT"])
    assert weak_signals(renewing, decisions, found).tolist() == ["NPS, Product usage", "", "Product usage", ""]
    assert weak_signals(renewing, decisions, found.iloc[:0]).tolist() == ["", "", "", ""]


@pytest.mark.parametrize("seed", (1, 2))
def test_a_predictive_nps_flags_the_renewals_low_on_it(seed, tmp_path):
    study = billing_shaped(World(accounts=1200, seed=seed, nps_effect=1.5), tmp_path / "world")
    assert study.scoreboard.set_index("signal").loc["nps", "conclusion"] == "predictive"
    due = study.renewals_due()
    frame = due.frame.set_index("account_id")
    assert {"hidden_risk", "off_track"}.isdisjoint(frame.columns)
    low = frame["nps"] <= study.decisions["nps"].quantile(0.25)
    assert low.any() and (frame["at_risk"] == low).all()
    assert frame.loc[low, "weak_signals"].str.contains("NPS").all()
    assert "NPS in the riskiest quarter" in due.caption


def test_a_null_world_flags_no_renewal(tmp_path):
    study = billing_shaped(World.null(accounts=1200, seed=3), tmp_path / "world")
    board = study.scoreboard
    assert not board["conclusion"].isin(["predictive", "inverse"]).any()
    due = study.renewals_due()
    assert "at_risk" not in due.frame and "weak_signals" not in due.frame
    assert due.caption == "No risk flag can be assessed from this data."


def test_each_renewal_at_risk_says_why_with_the_person_and_the_goal_behind_it(small_world):
    study = Study.load(small_world, World().as_of)
    frame = study.renewals_due(days=180).frame
    hidden, off_track = frame["hidden_risk"].astype(bool), frame["off_track"].astype(bool)
    assert hidden.any() and off_track.any()
    assert (frame.loc[~frame["at_risk"], "why"] == "").all()
    red = study.hidden_risk().frame.set_index("account_id")["red_people"]
    for account, why in frame.loc[hidden, ["account_id", "why"]].itertuples(index=False):
        assert f"red: {red[account]} behind a green score of" in why
    goals = study.off_track().frame
    for account, why in frame.loc[off_track, ["account_id", "why"]].itertuples(index=False):
        worst = goals.loc[goals["account_id"] == account].nsmallest(1, "projected_at_renewal").iloc[0]
        assert f"{worst['metric'].replace('_', ' ')} at {worst['attainment_now']:.0%} of its goal" in why
