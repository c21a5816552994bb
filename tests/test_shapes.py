"""Every analysis on the shapes real books take: an empty group, a single group, a single account."""

import numpy as np
import pandas as pd
import pytest

from workbench.judge.attainment import attainment_bands
from workbench.judge.calibration import odds_ratios, reliability
from workbench.judge.models import contribution_tests, cross_validated_auc, out_of_time
from workbench.judge.signals import churn_by_band, validity, versus_reference
from workbench.judge.surveys import nonresponse
from workbench.judge.watermelon import watermelon
from workbench.stats.rates import rate_table


def decisions(accounts: int, per_account: int = 1, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n = accounts * per_account
    renewed = rng.random(n) < 0.7
    return pd.DataFrame(
        {
            "account_id": np.repeat([f"A{i}" for i in range(accounts)], per_account),
            "renewed": renewed,
            "health_score": rng.uniform(0, 100, n),
            "usage": rng.poisson(5, n).astype(float),
            "nps_responses": rng.integers(1, 4, n),
            "nps_responses_decision_maker": rng.integers(0, 2, n),
            "goal_attainment": rng.uniform(0.1, 0.4, n),
            "arr": 1000.0,
            "expanded": False,
            "end_date": pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, n), "D"),
        }
    )


SHAPES = {
    "many accounts": decisions(300),
    "one account, many decisions": decisions(1, 300),
    "no decisions": decisions(300).iloc[:0],
}


@pytest.mark.parametrize("shape", SHAPES)
def test_the_scoreboard_answers_every_shape(shape):
    table = validity(SHAPES[shape], ["health_score", "usage", "missing"]).set_index("signal")
    assert table.loc["missing", "conclusion"] == "not_judged" and table.loc["missing", "n"] == 0
    if shape == "many accounts":
        assert table.loc["health_score", "conclusion"] in ("ruled_out", "inconclusive")
    else:
        assert (table["conclusion"] == "not_judged").all() and table["verdict"].str.len().gt(0).all()
        assert not table["verdict"].str.contains("nan").any()


@pytest.mark.parametrize("shape", SHAPES)
def test_group_tables_never_crash_on_an_empty_or_single_group(shape):
    frame = SHAPES[shape]
    melon = watermelon(frame, 40, 70)
    assert list(melon["colour"]) == ["green", "yellow", "red"] and melon["n"].sum() == len(frame)
    silent = nonresponse(frame)  # every decision has an answer: "no one answered" is an empty group
    assert "no one answered" not in set(silent.loc[silent["n"] > 0, "group"])
    bands = attainment_bands(frame)  # all below 50%: three empty bands
    assert list(bands["band"]) == ["<50%", "50-80%", "80-100%", ">=100%"]
    assert list(bands["n"]) == [len(frame), 0, 0, 0] and bands["churn_rate"].iloc[1:].isna().all()
    table = churn_by_band(frame, "health_score")
    assert table["n"].sum() == len(frame)
    single = rate_table(frame.assign(group="all", churned=~frame["renewed"]), "group", "churned")
    assert len(single) == (1 if len(frame) else 0)


@pytest.mark.parametrize("shape", SHAPES)
def test_models_and_comparisons_answer_or_step_aside(shape):
    frame = SHAPES[shape]
    assert set(odds_ratios(frame, ["health_score"])["signal"]) == {"health_score"}
    compared = versus_reference(frame, ["usage"], "health_score")
    assert list(compared["signal"]) == ["usage"]
    tests = contribution_tests(frame, ["health_score", "usage"])
    assert tests.empty or set(tests["signal"]) == {"health_score", "usage"}
    if shape == "many accounts":
        assert len(reliability(frame, "health_score")) == 10
        models = {"both": ["health_score", "usage"]}
        assert len(cross_validated_auc(frame, models)) == 1 and len(out_of_time(frame, models)) == 1
