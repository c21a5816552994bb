"""Detection lag, the human-touch effect and CSM capacity, against worlds with a planted truth.

The generator plants who gets a timely human touch after turning at risk (CSMs answer redder decision makers
more often: `risk_targeting`), what that touch is worth (`touch_effect`, in log-odds of renewal) and how a
bigger book delays the answer (`book_slowdown`). Each account's chance of churn with and without a timely touch
is kept in the truth, so the true effect over the decisions the workbench judged is known.
"""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from statsmodels.duration.survfunc import SurvfuncRight

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge import capacity as capacity_judge
from workbench.judge import family
from workbench.judge.capacity import adjustment, findings
from workbench.judge.touches import touch_effect
from workbench.measure import detection
from workbench.measure.pointintime import Timeline, days
from workbench.stats.logistic import fit_logistic
from workbench.stats.survival import km_median

AS_OF = "2026-10-31"


def studied(tmp_path_factory, **knobs):
    tables = generate(World(**knobs))
    folder = write(tables, tmp_path_factory.mktemp("world"))
    study = Study.load(folder, AS_OF)
    return study, study.capacity(), tables["truth"].set_index("account_id")


def true_effect(capacity, truth, signal: str = "decision_maker_red") -> float:
    """The mean change in churn chance a timely touch makes over the episodes of `signal` the estimate judged."""
    judged, _ = adjustment(capacity.episodes, capacity.detection, signal, 40)
    change = judged["account_id"].map(truth["p_churn_touched"]) - judged["account_id"].map(truth["p_churn_untouched"])
    return float(change.mean())


@pytest.fixture(scope="module")
def planted(tmp_path_factory):
    return studied(
        tmp_path_factory,
        accounts=2500,
        seed=5,
        touch_effect=2.0,
        book_slowdown=2.0,
        risk_seen_early_days=15,  # CSMs hear of the risk before the data show it
        routine_cadence_days=90,  # and hold reviews on a cadence, which answer nothing
    )


@pytest.fixture(scope="module")
def null(tmp_path_factory):
    return studied(tmp_path_factory, accounts=1000, seed=5, touch_effect=0.0, book_slowdown=0.0)


def test_a_planted_touch_effect_is_recovered_with_its_interval(planted):
    _, capacity, truth = planted
    effect = capacity.effect
    truth_effect = true_effect(capacity, truth)
    assert truth_effect < -0.03
    assert effect["ci_high"] < 0, effect
    assert effect["ci_low"] <= truth_effect <= effect["ci_high"], (truth_effect, effect)
    assert (capacity.effect["balance"]["difference_after"].abs() < 0.1).all()
    said = " ".join(findings(capacity))
    assert "After a red decision maker" in said and "fewer churns per 100</b>" in said


def test_where_csms_target_risk_the_plain_comparison_hides_the_benefit_and_the_adjusted_one_finds_it(
    tmp_path_factory,
):
    _, capacity, truth = studied(
        tmp_path_factory,
        accounts=5000,
        seed=1,
        risk_targeting=6.0,
        touch_effect=1.2,
        decision_maker_effect=4.0,
        goal_effect=0.5,
        other_touch_days=400.0,  # few touches come regardless of risk: the answered are the reddest
    )
    effect = capacity.effect
    assert effect["naive"] - effect["estimate"] > 0.05, effect  # the touched were the riskiest
    assert effect["ci_high"] < 0, effect
    assert effect["ci_low"] <= true_effect(capacity, truth) <= effect["ci_high"]


def test_a_null_world_finds_no_touch_effect_and_no_slowdown(null):
    _, capacity, _ = null
    for effect in capacity.effects.values():
        assert effect["ci_low"] <= 0 <= effect["ci_high"], effect
        assert effect["placebo"]["ci_low"] <= 0 <= effect["placebo"]["ci_high"], effect["placebo"]
    assert capacity.slowdown["ci_low"] <= 0, capacity.slowdown
    said = " ".join(findings(capacity))
    assert "no evidence here that a human answer" in said and "could have detected an effect of about" in said
    assert "as it should" in said
    assert "No evidence that book size slows the answer" in said


def test_detection_slows_with_book_size_where_planted(planted):
    _, capacity, _ = planted
    slow = capacity.slowdown
    assert slow["ci_low"] > 0 and slow["ci_level"] > 0.99, slow
    assert capacity.curve["timely_rate"].iloc[0] > capacity.curve["timely_rate"].iloc[-1]
    assert slow["book_at_threshold"] is None or slow["books_observed"][0] <= slow["book_at_threshold"]
    assert "Bigger books answer later" in " ".join(findings(capacity))


def test_time_zero_is_the_first_day_the_data_show_the_signal_and_the_window_opens_at_the_last_clean_reading(
    planted,
):
    study, capacity, truth = planted
    found, episodes = capacity.detection, capacity.episodes
    risky = found.loc[found["at_risk"]]
    assert (risky["onset"] >= risky["start_date"]).all() and (risky["onset"] < risky["end_date"]).all()
    assert (risky["clean_from"] <= risky["onset"]).all()
    red = episodes.loc[episodes["signal"] == "decision_maker_red"]
    decisions = study.decisions.reset_index(drop=True)
    start = days(decisions["start_date"])[red["row"].to_numpy()]
    zero, clean = red["time_zero"].to_numpy(), red["clean_from"].to_numpy()
    assert (clean <= zero).all() and (zero - clean <= detection.CLEAN_LOOKBACK_DAYS + 1).all()

    def read(day, what="decision_maker_red"):
        points = detection.points_on(decisions, red["row"].to_numpy(), day, "t")
        return detection.risk_at(study.data, points, 40, study.config["scorecard_weights"])[what].to_numpy()

    later = zero > start
    assert read(zero).all() and not read(zero - 1)[later].any()
    health = "health_decision_maker"
    np.testing.assert_array_equal(read(clean, health)[later], read(zero - 1, health)[later])
    opened = later & (clean > start)  # the reading before the clean one differs: the window opens at a reading
    assert (read(clean - 1, health)[opened] != read(clean, health)[opened]).mean() > 0.95
    # The generator's decision maker turns red at a monthly reading: the data show it within that month.
    planted_zero = days(red["row"].map(decisions["account_id"]).map(truth["onset"]))
    assert (np.abs(planted_zero - zero) <= 31).mean() > 0.9
    # The touch found is the first human touch, not a routine review, on or after the window opens.
    touched = risky.loc[risky["touched"]]
    assert (touched["touch_date"] >= touched["clean_from"]).all()
    answers = study.data.activities.following(touched["account_id"], days(touched["clean_from"]), exclude=["qbr"])
    np.testing.assert_array_equal(answers, days(touched["touch_date"]).astype(float))


def test_detection_measured_a_block_of_decisions_at_a_time_is_detection_measured_at_once(planted, monkeypatch):
    study = planted[0]
    arguments = (study.data, study.decisions, study.config["health_red_below"], study.config["scorecard_weights"])
    monkeypatch.setattr(detection, "DECISIONS_AT_A_TIME", 10**9)
    at_once = detection.detection(*arguments, score=True, growth=study.growth, routine_channels=["qbr"])
    monkeypatch.setattr(detection, "DECISIONS_AT_A_TIME", 97)
    in_blocks = detection.detection(*arguments, score=True, growth=study.growth, routine_channels=["qbr"])
    assert at_once[0]["at_risk"].any() and at_once[0]["touched"].any() and len(at_once[1])
    pd.testing.assert_frame_equal(in_blocks[0], at_once[0])
    pd.testing.assert_frame_equal(in_blocks[1], at_once[1])


def test_the_lag_s_bootstrap_drawn_a_block_of_replicates_at_a_time_gives_the_same_interval(planted, monkeypatch):
    study, capacity, _ = planted
    found = capacity.detection
    at_risk = found.loc[found["at_risk"]]
    whole = capacity_judge.lag_summary(at_risk, found)
    monkeypatch.setattr(capacity_judge, "CELLS_AT_A_TIME", 7 * len(at_risk))  # 43 blocks of 7 replicates
    blocks = capacity_judge.lag_summary(at_risk, found)
    assert blocks == capacity_judge.lag_summary(at_risk, found)  # the seed still decides every draw
    assert blocks["detection_lag_days"] == whole["detection_lag_days"]
    for name in ("detection_lag", "timely_share"):
        low, high = blocks[f"{name}_ci_low"], blocks[f"{name}_ci_high"]
        width = whole[f"{name}_ci_high"] - whole[f"{name}_ci_low"]
        assert low <= whole[name if name == "timely_share" else "detection_lag_days"] <= high
        assert abs((high - low) - width) <= 0.35 * width  # another draw of the same bootstrap


def test_touches_are_asked_of_the_activities_where_they_lie_with_the_figures_pandas_gives(planted):
    study, capacity, _ = planted
    activities = pd.read_csv(Path(study.parameters["data"]) / "activities.csv", parse_dates=["date"])
    human = activities.loc[activities["kind"] == "human"]
    account, day = study.decisions["account_id"], days(study.decisions["observation_date"])
    expected = Timeline(human["account_id"], human["date"]).following(account, day)
    np.testing.assert_array_equal(study.data.activities.following(account, day), expected)
    for channels, exclude in ((["QBR", "call"], ()), (None, ["qbr"])):
        kept = human["channel"].fillna("other").str.lower().isin([c.lower() for c in channels or exclude])
        chosen = human.loc[kept if channels else ~kept]
        expected = Timeline(chosen["account_id"], chosen["date"]).following(account, day)
        found = study.data.activities.following(account, day, channels=channels, exclude=exclude)
        np.testing.assert_array_equal(found, expected)
    counts = human.groupby(["account_id", "csm"]).size().rename("n").reset_index()
    busiest = counts.sort_values(["account_id", "n", "csm"], ascending=[True, False, True]).drop_duplicates(
        "account_id"
    )
    pd.testing.assert_series_equal(
        study.data.activities.busiest_csm().sort_index(), busiest.set_index("account_id")["csm"], check_names=False
    )
    kinds = activities.assign(channel=activities["channel"].fillna("other"))
    end = days(study.decisions["end_date"])
    outcome = np.where(study.decisions["renewed"], "renewed", "churned")
    parts = [
        pd.DataFrame(
            {
                "kind": kind,
                "channel": channel,
                "month_before": month,
                "outcome": outcome,
                "n": Timeline(rows["account_id"], rows["date"]).count(account, end - 30 * (month - 1) - 1, 30),
            }
        )
        for (kind, channel), rows in kinds.groupby(["kind", "channel"])
        for month in range(1, 13)
    ]
    per_decision = pd.concat(parts).groupby(["kind", "channel", "month_before", "outcome"])["n"].mean()
    assert per_decision.sum() > 0
    np.testing.assert_allclose(capacity.touches["touches_per_decision"].to_numpy(), per_decision.to_numpy())


def test_capacity_results_follow_the_contract(planted):
    _, capacity, _ = planted
    results = capacity.to_results()
    assert isinstance(results["detection_lag_days"], float)
    effect = results["human_touch_effect"]
    assert {"estimate", "ci_low", "ci_high", "method"} <= set(effect)
    assert effect["ci_low"] <= effect["estimate"] <= effect["ci_high"]
    assert "Observational" in effect["method"] and "_" not in effect["method"]
    assert results["detection_lag_ci_low"] <= results["detection_lag_days"] <= results["detection_lag_ci_high"]
    # What a page shows outside the report's family says so.
    assert results["slowdown_by_at_risk_load"]["conclusion"] == "exploratory"
    checks = [effect["placebo"], effect["any_human_touch"], *effect["sensitivity"].values()]
    assert all(check["conclusion"] == "exploratory" for check in checks if check is not None)


def test_km_median_matches_statsmodels_and_handles_weights():
    rng = np.random.default_rng(3)
    for _ in range(5):
        time = rng.integers(1, 90, 300).astype(float)
        event = rng.random(300) < 0.7
        assert km_median(time, event)[0] == SurvfuncRight(time, event.astype(int)).quantile(0.5)
    doubled = km_median(np.r_[time, time], np.r_[event, event])[0]
    assert km_median(time, event, np.full((1, 300), 2.0))[0] == doubled
    assert np.isnan(km_median([5.0, 6.0], [False, False])[0])


def test_batched_logistic_matches_statsmodels_per_replicate():
    rng = np.random.default_rng(4)
    x = rng.normal(size=(400, 2))
    y = rng.random(400) < 1 / (1 + np.exp(-(0.2 + x @ [1.0, -0.7])))
    weights = rng.poisson(1.0, (3, 400)).astype(float)
    batched = fit_logistic(x, y, weights, ridge=0.0)
    for row, w in zip(batched, weights):
        reference = sm.GLM(y.astype(float), sm.add_constant(x), family=sm.families.Binomial(), freq_weights=w).fit()
        np.testing.assert_allclose(row, reference.params, atol=1e-6)
    started = fit_logistic(x, y, weights, ridge=0.0, start=batched.mean(axis=0) + [0.5, -0.5, 0.5])
    np.testing.assert_allclose(started, batched, atol=1e-8)


def test_cases_are_compressed_exactly_when_at_most_half_the_rows_are_distinct():
    from workbench.stats.logistic import _repeated

    rng = np.random.default_rng(7)
    few = rng.integers(0, 5, (1000, 3)).astype(float)
    cases, inverse = _repeated(few)
    np.testing.assert_array_equal(cases[inverse], few)
    assert len(cases) == len(np.unique(few, axis=0))
    # The first column repeats, the rows do not: nothing to compress.
    assert _repeated(np.column_stack([few[:, 0], rng.normal(size=1000)])) is None
    distinct = rng.normal(size=(501, 3))
    assert _repeated(np.vstack([distinct[:500], distinct[:500]])) is not None  # 500 distinct of 1,000
    assert _repeated(np.vstack([distinct, distinct[:499]])) is None  # 501 of 1,000


def test_repeated_cases_fitted_once_by_their_copies_match_statsmodels_per_replicate(monkeypatch):
    from workbench.stats import logistic

    rng = np.random.default_rng(6)
    x = rng.integers(5, 40, 3000).astype(float)  # a few book sizes, as slowdown sees them
    y = rng.random(3000) < 1 / (1 + np.exp(-(0.08 * (x - 20))))
    weights = rng.poisson(1.0, (5, 3000)).astype(float)
    monkeypatch.setattr(logistic, "CELLS_AT_A_TIME", 2 * 3000)  # summed in blocks of replicates too
    batched = fit_logistic(x, y, weights, ridge=0.0)
    for row, w in zip(batched, weights):
        reference = sm.GLM(y.astype(float), sm.add_constant(x), family=sm.families.Binomial(), freq_weights=w).fit()
        np.testing.assert_allclose(row, reference.params, atol=1e-6)


def test_replicates_fitted_in_blocks_give_the_same_intervals(planted, monkeypatch):
    from workbench.stats import logistic

    study, capacity, _ = planted
    judged, covariates = adjustment(capacity.episodes, capacity.detection, "decision_maker_red", 40)
    whole = touch_effect(judged, covariates, replicates=60)
    monkeypatch.setattr(logistic, "CELLS_AT_A_TIME", 7 * len(judged))  # blocks of 7 replicates, the last of 4
    blocked = touch_effect(judged, covariates, replicates=60)
    for key in ("estimate", "ci_low", "ci_high", "naive_ci_low", "stratified_ci_high", "detectable"):
        assert blocked[key] == pytest.approx(whole[key], abs=1e-6), key


def csm_world(rng, csms: int, slope: float, between: float = 0.05) -> pd.DataFrame:
    """At-risk decisions of `csms` CSMs whose late share rises by `slope` per account of book, with differences
    between CSMs the book does not explain (`between`, SD of their late shares)."""
    share = rng.lognormal(0, 0.6, csms)
    book = rng.multinomial(60 * csms, share / share.sum()).astype(float) + 5
    count = np.maximum((0.6 * book).astype(int), 1)
    csm = np.repeat(np.arange(csms), count)
    late = np.clip(0.3 + slope * (book - book.mean()) + rng.normal(0, between, csms), 0.01, 0.99)[csm]
    return pd.DataFrame({"csm": csm, "book_accounts": book[csm], "timely": rng.random(len(csm)) > late})


def test_the_slowdown_interval_holds_its_level_with_a_few_csms_and_finds_a_planted_slope():
    rng = np.random.default_rng(11)
    null = [capacity_judge.slowdown(csm_world(rng, 8, 0.0)) for _ in range(400)]
    missed = np.mean([s["ci_low"] > 0 or s["ci_high"] < 0 for s in null])
    assert missed <= 0.08, missed  # a nominal 5%, two-sided; a bootstrap over CSMs missed 25% of null books
    planted = [capacity_judge.slowdown(csm_world(rng, 16, 0.003)) for _ in range(100)]
    assert np.mean([s["ci_low"] > 0 for s in planted]) >= 0.8
    covered = np.mean([s["ci_low"] <= 10 * 0.003 <= s["ci_high"] for s in planted])
    assert covered >= 0.9, covered


def lopsided(rng, untouched: int, episodes: int = 100, churn: float = 0.14) -> pd.DataFrame:
    """Episodes where a touch does nothing and nearly every episode got one: the untouched side is small, and
    often none of it churned."""
    touched = np.ones(episodes, dtype=bool)
    touched[rng.choice(episodes, untouched, replace=False)] = False
    return pd.DataFrame(
        {
            "account_id": np.arange(episodes),
            "risk": rng.normal(size=episodes),
            "timely": touched,
            "renewed": rng.random(episodes) > churn,
        }
    )


def test_a_small_untouched_side_gets_no_interval_narrower_than_chance_allows():
    rng = np.random.default_rng(5)
    found = [touch_effect(lopsided(rng, 15), {"risk": "risk"}, replicates=100) for _ in range(300)]
    missed = np.mean([f["ci_low"] > 0 or f["ci_high"] < 0 for f in found])
    assert missed <= 0.06, missed  # the bootstrap alone missed 14% at a nominal 5%
    assert capacity_judge.estimated(lopsided(rng, 9), {"risk": "risk"}, "timely", 20, 0.95) is None
    assert capacity_judge.estimated(lopsided(rng, 10), {"risk": "risk"}, "timely", 20, 0.95) is not None


def test_books_count_each_csm_s_distinct_accounts_and_arr_month_by_month_as_pandas_does():
    rng = np.random.default_rng(4)
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, 3000), unit="D")
    contracts = pd.DataFrame(
        {
            "account_id": [f"A{i}" for i in rng.integers(0, 800, 3000)],  # concurrent contracts of one account
            "csm": pd.Series(rng.choice(["Ann", "Bo", "Cy", None], 3000), dtype="str"),
            "start_date": start,
            "end_date": start + pd.to_timedelta(rng.choice([30, 365, 400], 3000), unit="D"),
            "arr": rng.integers(1, 500, 3000) * 100.0,
        }
    )
    at_risk = contracts.sample(400, random_state=1).assign(onset=lambda f: f["start_date"] + pd.Timedelta(days=20))
    table = capacity_judge.books(contracts, at_risk, "2026-10-31")
    owned = contracts.dropna(subset=["csm"])
    month = capacity_judge.month_code
    last_day = (owned["end_date"] - pd.Timedelta(days=1)).clip(upper=pd.Timestamp("2026-10-31"))
    spread = owned.assign(first=month(owned["start_date"]), last=month(last_day))
    spread = spread.assign(month=[range(a, b + 1) for a, b in zip(spread["first"], spread["last"])]).explode("month")
    expected = spread.groupby(["csm", "month"]).agg(accounts=("account_id", "nunique"), arr=("arr", "sum"))
    risky = at_risk.dropna(subset=["csm"])
    risky = risky.assign(month=[range(a, b) for a, b in zip(month(risky["onset"]), month(risky["end_date"]))])
    counted = risky.explode("month").dropna(subset=["month"]).groupby(["csm", "month"])["account_id"].nunique()
    expected["at_risk"] = counted.reindex(expected.index).fillna(0).astype(int)
    expected = expected.reset_index().astype({"month": int, "csm": str})
    pd.testing.assert_frame_equal(table.astype({"csm": str}), expected, check_dtype=False)


def test_following_finds_the_first_event_on_or_after_a_day():
    timeline = Timeline(
        pd.Series(["a", "a", "b"]), pd.Series(pd.to_datetime(["2026-01-10", "2026-02-01", "2026-01-05"]))
    )
    day = pd.Series(pd.to_datetime(["2026-01-10", "2026-01-11", "2026-02-02", "2026-01-01", "2026-01-01"]))
    found = timeline.following(pd.Series(["a", "a", "a", "b", "zzz"]), (day - pd.Timestamp("1970-01-01")).dt.days)
    expected = pd.to_datetime(["2026-01-10", "2026-02-01", None, "2026-01-05", None])
    np.testing.assert_array_equal(np.isnan(found), expected.isna())
    assert list(found[~np.isnan(found)]) == list((expected.dropna() - pd.Timestamp("1970-01-01")).days)


def test_without_activities_there_is_no_capacity(small_world, tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    for file in small_world.glob("*.csv"):
        if file.name != "activities.csv":
            (data / file.name).write_bytes(file.read_bytes())
    assert Study.load(data, AS_OF).capacity() is None


def test_every_test_of_the_report_draws_on_one_error_budget(planted):
    study, capacity, _ = planted
    touches = [family.touch_test(words) for words in detection.FLAGS.values()]
    assert study.tests[-8:] == ["the proposed scorecard", *touches, family.SLOWDOWN, *family.AUTOMATED]
    level = family.level_per_test(len(study.tests))
    assert len(study.tests) == len(study.family) + 8 and level == pytest.approx(1 - 0.05 / len(study.tests))
    assert (study.scoreboard["ci_level"] == level).all()
    assert capacity.slowdown["ci_level"] == level
    assert all(effect["ci_level"] == level for effect in capacity.effects.values() if effect is not None)
    automation = capacity.automation
    assert automation["automated_touch_effect"]["ci_level"] == level
    assert automation["human_minus_automated"]["ci_level"] == level
    assert f"{len(study.tests)} tests" in study.family_words and f"{level:.1%}" in study.family_words


def playbook_world(tmp_path_factory, automated_effect: float):
    """CSMs answer a red buyer (worth 2.0 in log-odds of renewal) and an automated playbook fires on 60% of red
    buyers within 2 days of the data showing it (worth `automated_effect`); other automated touches are rare.
    benchmarks/automation.py measures the same over 20 seeds."""
    return studied(
        tmp_path_factory,
        accounts=3000,
        seed=3,
        touch_effect=2.0,
        automated_effect=automated_effect,
        playbook_share=0.6,
        bot_touch_days=365.0,
    )


def test_a_playbook_that_does_nothing_is_told_from_a_person_who_helps(tmp_path_factory):
    _, capacity, _ = playbook_world(tmp_path_factory, 0.0)
    automation = capacity.automation
    automated, difference = automation["automated_touch_effect"], automation["human_minus_automated"]
    assert automated["ci_low"] <= 0 <= automated["ci_high"], automated
    assert difference["ci_high"] < 0, difference
    reach = automation["reach"]
    assert reach["automated_share"] > 0.5 and reach["automated_median_days"] <= 2 < reach["human_median_days"]
    said = " ".join(findings(capacity))
    assert "automated outreach reached" in said and "an automated touch went with no detectable change" in said
    assert "A person's answer did more than an automated one" in said
    results = capacity.to_results()
    for name in ("automated_touch_effect", "human_minus_automated"):
        assert {"estimate", "ci_low", "ci_high", "method"} <= set(results[name]), name
        assert "draws" not in results[name]


def test_a_playbook_worth_as_much_as_a_person_is_found_and_the_difference_covers_zero(tmp_path_factory):
    _, capacity, truth = playbook_world(tmp_path_factory, 2.0)
    automation = capacity.automation
    automated, difference = automation["automated_touch_effect"], automation["human_minus_automated"]
    assert automated["ci_high"] < 0, automated
    assert difference["ci_low"] <= 0 <= difference["ci_high"], difference
    judged, _ = adjustment(capacity.episodes, capacity.detection, "decision_maker_red", 40)
    change = judged["account_id"].map(truth["p_churn_automated"]) - judged["account_id"].map(
        truth["p_churn_not_automated"]
    )
    assert automated["ci_low"] <= change.mean() <= automated["ci_high"], (change.mean(), automated)
