"""Per-stakeholder health against planted truths: the buyer's health, hidden risk, shared sentiment."""

import numpy as np
import pandas as pd
import pytest

from workbench import Study
from workbench.generate import World, generate, write
from workbench.inputs.loader import load
from workbench.inputs.scores import from_frame as scores_from_frame
from workbench.judge.signals import validity, versus_reference
from workbench.measure import snapshot, stakeholders


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    folder = write(generate(World(accounts=1500, seed=31)), tmp_path_factory.mktemp("people"))
    return folder, Study.load(folder, "2026-10-31")


def test_decision_maker_predicts_clearly_better_than_the_account_mean(world):
    _, study = world
    table = validity(study.decisions, study.signals).set_index("signal")
    assert table.loc["health_decision_maker", "predictive"]
    paired = versus_reference(study.decisions, ["health_decision_maker"], reference="health_mean").iloc[0]
    assert paired["ci_low"] > 0


def test_hidden_risk_list_recalls_the_planted_accounts(world):
    folder, study = world
    truth = pd.read_csv(folder / "_truth.csv").set_index("account_id")
    open_now = study.open_contracts
    people = stakeholders.person_health(study.data, open_now, study.config["scorecard_weights"])
    risk = stakeholders.hidden_risk(open_now, people, red_below=40, green_from=70)
    # Planted: the decision maker's sentiment is far below average while the exported score is green.
    dm_known = open_now["health_decision_maker"].notna()
    planted = open_now.loc[
        dm_known & (open_now["account_id"].map(truth["decision_maker"]) < -1.6) & (open_now["health_score"] >= 70),
        "account_id",
    ]
    assert len(planted) >= 10
    recall = planted.isin(risk["account_id"]).mean()
    assert recall >= 0.8, recall
    assert (risk["health_score"] >= 70).all()
    assert risk["end_date"].is_monotonic_increasing


def test_where_everyone_shares_one_sentiment_the_account_mean_predicts_too(tmp_path):
    study = Study.load(
        write(generate(World(accounts=1200, seed=32, sentiment_correlation=1.0)), tmp_path), "2026-10-31"
    )
    table = validity(study.decisions, study.signals).set_index("signal")
    assert table.loc["health_mean", "predictive"] and table.loc["health_decision_maker", "predictive"]


def test_scorecard_stands_in_for_missing_person_level_scores(world):
    folder, study = world
    data = load(folder)
    scores = pd.read_csv(folder / "health_scores.csv")
    data.health_scores = scores_from_frame(scores.loc[scores["contact_id"].isna()], data["accounts"], data["contacts"])
    frame = study.decisions.head(200)
    people = stakeholders.person_health(data, frame, {"usage": 0.5, "survey": 0.3, "recency": 0.2})
    assert (people["source"] == "scorecard").all()
    scored = people["score"].dropna()
    assert len(scored) > 0.9 * len(people) and scored.between(0, 100).all()
    usage_only = stakeholders.person_health(data, frame, {"usage": 1.0})
    # with usage alone, each person's score is the percentile of their last 90 days' events within their role
    usage = pd.read_csv(folder / "usage.csv", parse_dates=["date"]).merge(
        usage_only[["contact_id", "observation_date"]].drop_duplicates("contact_id"), on="contact_id"
    )
    recent = usage.loc[
        (usage["date"] <= usage["observation_date"])
        & (usage["date"] > usage["observation_date"] - pd.Timedelta(days=90))
    ]
    events = usage_only["contact_id"].map(recent.groupby("contact_id")["events"].sum()).fillna(0)
    expected = 100 * events.groupby(usage_only["role"]).rank(pct=True)
    one_row_each = ~usage_only["contact_id"].duplicated()
    np.testing.assert_allclose(usage_only.loc[one_row_each, "score"], expected[one_row_each])
    assert not np.allclose(usage_only["score"], people["score"], equal_nan=True)


def test_coverage_names_accounts_without_a_decision_maker(world):
    _, study = world
    contacts = study.data["contacts"]
    covered = stakeholders.coverage(study.decisions, contacts)
    without = ~covered["account_id"].isin(contacts.loc[contacts["role"] == "decision_maker", "account_id"])
    assert without.any()
    assert (covered.loc[without, "decision_maker_coverage"] == "no decision maker known").all()
    assert set(covered["decision_maker_coverage"]) <= {
        "no decision maker known",
        "decision maker silent",
        "decision maker heard",
    }


def test_hidden_risk_lists_an_account_once_with_all_its_renewing_arr(tmp_path):
    study = Study.load(write(generate(World(accounts=600, seed=3, products=3)), tmp_path / "data"), "2026-10-31")
    people = stakeholders.person_health(study.data, study.open_contracts, study.config["scorecard_weights"])
    risk = stakeholders.hidden_risk(study.open_contracts, people, red_below=40, green_from=70)
    assert len(risk) > 0 and risk["account_id"].is_unique
    held = study.open_contracts.groupby("account_id")["arr"].sum()
    assert np.allclose(risk["arr"], risk["account_id"].map(held))


@pytest.mark.parametrize("scores", ["exported", "scorecard"])
def test_rows_measured_a_block_at_a_time_are_measured_as_at_once(world, scores, monkeypatch):
    # exported scores are looked up a block of rows at a time; a scorecard ranks everyone it scores at once
    folder, study = world
    data = study.data
    if scores == "scorecard":
        data = load(folder)
        table = pd.read_csv(folder / "health_scores.csv")
        data.health_scores = scores_from_frame(
            table.loc[table["contact_id"].isna()], data["accounts"], data["contacts"]
        )
    frame = snapshot.decisions(study.contracts, study.as_of, study.window_months, study.horizon_days)
    weights = study.config["scorecard_weights"]
    monkeypatch.setattr(stakeholders, "ROWS_AT_A_TIME", 10**9)
    people, measured = stakeholders.person_health(data, frame, weights), snapshot.measure(data, frame, weights)
    monkeypatch.setattr(stakeholders, "ROWS_AT_A_TIME", 37)
    assert (people["source"] == scores).all() and people["score"].notna().any()
    pd.testing.assert_frame_equal(stakeholders.person_health(data, frame, weights), people)
    pd.testing.assert_frame_equal(snapshot.measure(data, frame, weights), measured)
