"""Verdicts that stay true on real books: the account as the unit, one family, three answers, no leakage.

Interval code is checked against known values and by simulation with a planted truth: coverage under
clustered outcomes, the stated power at the minimum detectable AUC, the width of a simultaneous interval.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from workbench import Study
from workbench.errors import UsageError
from workbench.generate import World, generate, write
from workbench.judge.revenue import cohort_revenue, renewal_rate
from workbench.judge.signals import validity
from workbench.measure.stakeholders import known_from, people_at
from workbench.stats.auc import auc_interval, delong
from workbench.stats.power import decisions_needed, min_detectable_auc
from workbench.stats.rates import effective_size, rate_table, wilson


def clustered_null(rng, accounts=300, per_account=4):
    """Accounts whose decisions share both their outcome and their signal: no signal predicts renewal."""
    renewed = np.repeat(rng.random(accounts) < 0.8, per_account)
    score = np.repeat(rng.normal(size=accounts), per_account) + 0.1 * rng.normal(size=accounts * per_account)
    return score, renewed, np.repeat(np.arange(accounts), per_account)


def test_wilson_at_known_values():
    low, high = wilson([0, 5], [10, 10])
    assert low[0] == 0 and high[0] == pytest.approx(0.2775, abs=1e-4)
    assert (low[1], high[1]) == pytest.approx((0.2366, 0.7634), abs=1e-4)


def test_repeating_an_account_s_decisions_does_not_narrow_its_interval():
    rng = np.random.default_rng(0)
    score, renewed = rng.normal(size=400), rng.random(400) < 0.8
    once = delong(score, renewed, np.arange(400)).covariance[0, 0]
    repeated = delong(np.repeat(score, 5), np.repeat(renewed, 5), np.repeat(np.arange(400), 5)).covariance[0, 0]
    naive = delong(np.repeat(score, 5), np.repeat(renewed, 5)).covariance[0, 0]
    assert repeated == pytest.approx(once, rel=1e-9) and naive == pytest.approx(once / 5, rel=0.05)


def test_clustered_intervals_cover_the_truth_where_independent_ones_do_not():
    rng = np.random.default_rng(1)
    clustered = naive = 0
    for _ in range(300):
        score, renewed, account = clustered_null(rng)
        _, low, high = auc_interval(score, renewed, cluster=account)
        clustered += low <= 0.5 <= high
        _, low, high = auc_interval(score, renewed)
        naive += low <= 0.5 <= high
    assert 0.92 <= clustered / 300 <= 0.98  # 95% within the binomial noise of 300 worlds
    assert naive / 300 < 0.80  # four correlated decisions per account counted as four accounts


def test_clustered_rates_count_accounts_not_rows():
    rng = np.random.default_rng(2)
    frame = pd.DataFrame(
        {"group": rng.integers(0, 2, 200), "account_id": np.arange(200), "event": rng.random(200) < 0.3}
    )
    once = rate_table(frame, "group", "event")
    repeated = rate_table(frame.loc[frame.index.repeat(6)], "group", "event")
    assert (repeated["n"] == 6 * once["n"]).all() and (repeated["accounts"] == once["n"]).all()
    assert np.allclose(repeated[["ci_low", "ci_high"]], once[["ci_low", "ci_high"]])


def test_the_effective_size_is_n_over_the_design_effect_of_each_group():
    """Against the textbook formula, group by group: the cluster-robust variance of a rate over the simple one."""
    rng = np.random.default_rng(4)
    size = 900
    frame = pd.DataFrame(
        {
            "band": rng.choice(["low", "high", None], size),
            "segment": rng.choice(["SMB", "Enterprise"], size),
            "account_id": pd.Series(rng.integers(0, 250, size).astype(str)).mask(rng.random(size) < 0.05),
        }
    )
    frame["event"] = rng.random(size) < np.where(frame["band"] == "low", 0.4, 0.15)
    for by in ("band", ["band", "segment"]):
        found = effective_size(frame, by, "event", "account_id")
        usable = frame.dropna(subset=[*np.atleast_1d(by), "account_id"])
        for key, group in usable.groupby(by):
            n, p = len(group), group["event"].mean()
            per_account = group.groupby("account_id")["event"].agg(["sum", "size"])
            units = len(per_account)
            robust = ((per_account["sum"] - p * per_account["size"]) ** 2).sum() * units / max(units - 1, 1) / n**2
            design_effect = max(robust / (p * (1 - p) / n), 1.0) if 0 < p < 1 else 1.0
            assert found.loc[key] == pytest.approx(n / design_effect, rel=1e-9)
        assert len(found) == usable.groupby(by).ngroups


def test_simultaneous_intervals_widen_by_the_family_size():
    rng = np.random.default_rng(3)
    frame = pd.DataFrame(
        {"account_id": np.arange(500), "renewed": rng.random(500) < 0.8, "signal": rng.normal(size=500)}
    )
    alone = validity(frame, ["signal"], family_size=1).iloc[0]
    in_family = validity(frame, ["signal"], family_size=9).iloc[0]

    def logit_width(row):
        return np.log(row.auc_ci_high / (1 - row.auc_ci_high)) - np.log(row.auc_ci_low / (1 - row.auc_ci_low))

    df = min(alone.churned, alone.renewed) - 1  # one decision per account
    ratio = logit_width(in_family) / logit_width(alone)
    assert ratio == pytest.approx(stats.t.ppf(1 - 0.05 / 18, df) / stats.t.ppf(0.975, df), rel=1e-6)
    assert in_family.ci_level == pytest.approx(1 - 0.05 / 9)


def test_a_small_book_s_intervals_keep_their_level():
    """At 168 decisions with 25 churned, a plain DeLong interval at the Bonferroni level for nine signals
    wrongly excludes 0.5 about 2.3 times as often as it says; the logit-t interval keeps to its level."""
    rng = np.random.default_rng(6)
    wrong, worlds = 0, 3000
    for _ in range(worlds):
        renewed = np.r_[np.ones(143, bool), np.zeros(25, bool)]
        _, low, high = auc_interval(rng.normal(size=168), renewed, 1 - 0.05 / 9, cluster=np.arange(168))
        wrong += not low <= 0.5 <= high
    assert wrong / worlds <= 0.05 / 9 * 1.3  # within the noise of 3,000 worlds above the stated rate


def binormal(rng, auc, renewed, churned):
    """Scores whose true AUC for renewal is `auc` (equal-variance binormal)."""
    shift = np.sqrt(2) * stats.norm.ppf(auc)
    score = np.r_[rng.normal(shift, 1, renewed), rng.normal(0, 1, churned)]
    return score, np.r_[np.ones(renewed, bool), np.zeros(churned, bool)]


def test_the_minimum_detectable_auc_is_detected_about_80_percent_of_the_time():
    rng = np.random.default_rng(4)
    renewed, churned, alpha = 240, 60, 0.05 / 5
    target = min_detectable_auc(renewed, churned, alpha)
    assert 0.6 < target < 0.75
    z = stats.norm.ppf(1 - alpha / 2)
    detected = 0
    for _ in range(400):
        score, outcome = binormal(rng, target, renewed, churned)
        result = delong(score, outcome)
        detected += result.auc[0] - z * np.sqrt(result.covariance[0, 0]) > 0.5
    assert 0.72 <= detected / 400 <= 0.88


def test_decisions_needed_is_where_the_useful_auc_becomes_detectable():
    needed = decisions_needed(240, 60, 0.6, 0.01)
    assert needed > 300
    at = min_detectable_auc(needed * 0.8, needed * 0.2, 0.01)
    below = min_detectable_auc(needed * 0.8 * 0.9, needed * 0.2 * 0.9, 0.01)
    assert at <= 0.6 + 1e-3 < below


def test_three_answers_from_the_interval():
    rng = np.random.default_rng(5)
    n = 20_000
    renewed = rng.random(n) < 0.8
    frame = pd.DataFrame(
        {
            "account_id": np.arange(n),
            "renewed": renewed,
            "useless": rng.normal(size=n),
            "strong": rng.normal(size=n) + renewed,
            "against": rng.normal(size=n) - renewed,
        }
    )
    small = frame.sample(150, random_state=0)
    judged = validity(frame, ["useless", "strong", "against"]).set_index("signal")
    assert judged.loc["useless", "conclusion"] == "ruled_out" and "ruled out" in judged.loc["useless", "verdict"]
    assert judged.loc["strong", "conclusion"] == "predictive" and judged.loc["against", "conclusion"] == "inverse"
    few = validity(small, ["useless"]).iloc[0]
    assert few.conclusion == "inconclusive" and few.min_detectable_auc > 0.6 and few.decisions_needed > 150
    assert "could detect an AUC of" in few.verdict and f"{few.decisions_needed:,} decisions" in few.verdict
    none = validity(frame.assign(empty=np.nan), ["empty"]).iloc[0]
    assert none.conclusion == "not_judged" and none.verdict.startswith("not measured") and none.n == 0


def test_the_outcome_is_refused_as_a_signal(small_world, tmp_path):
    config = tmp_path / "study.yml"
    config.write_text("extra_signals: [renewal_arr]\n")
    with pytest.raises(UsageError, match=r"extra_signals \['renewal_arr'\] are the renewal's outcome"):
        Study.load(small_world, "2026-10-31", config=config)


def test_undated_extra_signals_are_marked_not_point_in_time(small_world, tmp_path):
    config = tmp_path / "study.yml"
    config.write_text("extra_signals: [arr]\n")
    study = Study.load(small_world, "2026-10-31", config=config)
    row = study.scoreboard.set_index("signal").loc["arr"]
    assert not row["point_in_time"] and "not measured point-in-time" in row["verdict"]
    assert study.scoreboard.set_index("signal").loc["nps", "point_in_time"]


def test_people_count_only_from_when_they_were_known(small_world):
    study = Study.load(small_world, "2026-10-31")
    data = study.data
    since = known_from(data)
    frame = study.decisions[["account_id", "observation_date"]]
    people = people_at(data["contacts"], frame, since)
    assert (
        people["contact_id"].map(pd.Series(since, index=data["contacts"]["contact_id"]))
        <= people["observation_date"].astype("datetime64[ns]").astype("int64") // 86_400_000_000_000
    ).all()
    # a contact today's CRM has, with no trace before any observation date, is never counted
    ghost = pd.DataFrame({"contact_id": ["ghost"], "account_id": [frame["account_id"].iloc[0]], "role": ["end_user"]})
    data.tables["contacts"] = pd.concat([data["contacts"], ghost], ignore_index=True)
    assert "ghost" not in set(people_at(data["contacts"], frame, known_from(data))["contact_id"])
    created = data["contacts"].assign(created_date=pd.Timestamp("2030-01-01"))
    data.tables["contacts"] = created
    assert people_at(created, frame, known_from(data)).empty  # created after every observation date


def test_inactive_contacts_added_to_renewed_accounts_do_not_invert_health_min(tmp_path):
    tables = generate(World.null(accounts=600, seed=8, decision_maker_effect=0.0))
    contracts = tables["contracts"]
    renewed = contracts.loc[contracts["outcome"] == "renewed", "account_id"].unique()
    ghosts = pd.DataFrame(
        {
            "contact_id": [f"ghost{i}" for i in range(len(renewed))],
            "account_id": renewed,
            "role": "end_user",
            "name": "Nobody",
            "email": "",
        }
    )
    tables["contacts"] = pd.concat([tables["contacts"], ghosts], ignore_index=True)
    tables["health_scores"] = tables["health_scores"].loc[tables["health_scores"]["contact_id"].isna()]
    study = Study.load(write(tables, tmp_path / "data"), "2026-10-31")
    assert study.scoreboard.set_index("signal").loc["health_min", "conclusion"] != "inverse"


def book(rows):
    frame = pd.DataFrame(rows, columns=["account_id", "start_date", "end_date", "arr", "outcome", "renewal_arr"])
    frame[["start_date", "end_date"]] = frame[["start_date", "end_date"]].apply(pd.to_datetime)
    return frame


def monthly(account, start, months, arr, last="renewed"):
    starts = pd.date_range(start, periods=months, freq="MS")
    return [
        (
            account,
            s,
            s + pd.DateOffset(months=1),
            arr,
            last if i == months - 1 else "renewed",
            (0.0 if last == "churned" else arr) if i < months - 1 or last != "open" else np.nan,
        )
        for i, s in enumerate(starts)
    ]


def test_revenue_follows_accounts_not_terms_whatever_their_length():
    rows = (
        monthly("steady", "2025-11-01", 13, 1200.0, last="open")  # renews monthly all year: keeps all
        + monthly("leaver", "2025-11-01", 6, 600.0, last="churned")  # churns after six months: keeps none
        + [
            ("annual", "2025-06-01", "2026-06-01", 1000.0, "renewed", 1500.0),  # next term not in the data
            ("two", "2025-09-01", "2026-09-01", 400.0, "renewed", 300.0),  # two concurrent subscriptions,
            ("two", "2026-09-01", "2027-09-01", 300.0, "open", np.nan),  # one contracts,
            ("two", "2025-03-01", "2026-03-01", 100.0, "churned", 0.0),  # one churns
            ("stale", "2025-01-01", "2026-05-01", 800.0, "open", np.nan),  # never recorded
            ("late", "2026-02-01", "2027-02-01", 5000.0, "open", np.nan),
        ]
    )  # not in the cohort
    referrals = pd.DataFrame({"account_id": ["steady"], "date": pd.to_datetime(["2026-03-01"]), "arr": [420.0]})
    result = cohort_revenue(book(rows), referrals, "2025-11-01", "2026-11-01")
    start = {"steady": 1200, "leaver": 600, "annual": 1000, "two": 500, "stale": 800}
    end = {"steady": 1200, "leaver": 0, "annual": 1500, "two": 300, "stale": 800}
    total = sum(start.values())
    assert result["accounts"] == 5 and result["arr_start"] == total and result["arr_end"] == sum(end.values())
    assert result["grr"] == pytest.approx(sum(min(start[a], end[a]) for a in start) / total)
    assert result["nrr"] == pytest.approx(sum(end.values()) / total)
    assert result["earned_growth_rate"] == pytest.approx(result["nrr"] + 420 / total - 1)
    assert result["stale_contracts"] == 1 and result["stale_arr"] == 800
    assert result["churned_arr"] == 600 and result["contraction_arr"] == 200 and result["expansion_arr"] == 500
    assert cohort_revenue(book(rows), None, "2025-11-01", "2026-11-01")["earned_growth_rate"] is None


def test_renewal_rate_is_the_dollar_rate_of_arr_up_for_renewal():
    decisions = pd.DataFrame({"arr": [100.0, 200.0, 300.0], "renewal_arr": [0.0, 150.0, 420.0]})
    assert renewal_rate(decisions) == pytest.approx((0 + 150 + 300) / 600)


@pytest.mark.parametrize("knobs", [{"products": 3, "outcome_correlation": 0.9}, {"term_months": 1}])
def test_several_decisions_per_account_are_counted_as_accounts_too(tmp_path, knobs):
    study = Study.load(write(generate(World(accounts=150, seed=9, **knobs)), tmp_path / "data"), "2026-10-31")
    decisions = study.decisions
    assert study.accounts == decisions["account_id"].nunique() < len(decisions)
    row = study.scoreboard.set_index("signal").loc["health_decision_maker"]
    assert row["accounts"] <= study.accounts and row["n"] > row["accounts"]
    assert f"from {row['accounts']:,} accounts" in row["verdict"]


def test_a_book_of_monthly_concurrent_subscriptions_with_csat_only_runs_to_the_end(tmp_path):
    """The issue's case: monthly terms, several subscriptions per account, CSAT but no NPS."""
    import json

    from workbench.cli import main

    tables = generate(World(accounts=120, seed=4, products=3, outcome_correlation=0.8, term_months=1))
    surveys = tables["surveys"]
    tables["surveys"] = surveys.assign(survey="csat", score=(surveys["score"] / 2.5 + 1).round().clip(1, 5))
    data = write(tables, tmp_path / "data")
    out = tmp_path / "reports" / "2026-10-31"
    assert main(["study", "--data", str(data), "--as-of", "2026-10-31", "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    contracts = tables["contracts"]
    window = contracts.loc[
        contracts["outcome"].isin(["renewed", "churned"])
        & (contracts["end_date"] > pd.Timestamp("2025-10-31"))
        & (contracts["end_date"] <= pd.Timestamp("2026-10-31"))
    ]
    assert results["decisions"] == len(window) and results["accounts"] == window["account_id"].nunique()
    assert results["decisions"] > 10 * results["accounts"]
    signals = {s["signal"]: s for s in results["signals"]}
    assert "csat" in signals and "nps" not in signals
    assert all(s["accounts"] <= results["accounts"] for s in signals.values())
    assert 0 <= results["revenue"]["grr"] <= 1 and results["revenue"]["renewal_rate"] > results["revenue"]["grr"]
    summary = (out / "00_summary.html").read_text()
    assert (
        f"{results['decisions']:,} renewal decisions" in summary and f"at {results['accounts']:,} accounts)" in summary
    )
    assert "the data has no NPS answers" in (out / "10_signal_validity.html").read_text()


def test_goal_attainment_is_not_judged_on_terms_shorter_than_goals(tmp_path):
    """make calibrate found attainment confounded with goal age on monthly books: withheld, and said why."""
    world = World.null(accounts=400, seed=1, term_months=1)
    study = Study.load(write(generate(world), tmp_path / "data"), world.as_of)
    row = study.scoreboard.set_index("signal").loc["goal_attainment"]
    assert row["conclusion"] == "not_judged" and not row["predictive"] and not row["inverse"]
    assert pd.isna(row["auc_ci_low"]) and "shorter than the goals" in row["verdict"]
    annual = Study.load(write(generate(World.null(accounts=400, seed=1)), tmp_path / "annual"), "2026-10-31")
    assert annual.scoreboard.set_index("signal").loc["goal_attainment", "conclusion"] != "not_judged"


def test_ruled_out_needs_the_whole_interval_between_the_useful_bounds():
    # Small books of a useless signal: many intervals reach below 0.40 while their top stays under 0.60, and
    # those are inconclusive, not ruled out.
    rng = np.random.default_rng(11)
    books = []
    for _ in range(40):
        renewed = rng.random(150) < 0.8
        books.append(pd.DataFrame({"account_id": np.arange(150), "renewed": renewed, "useless": rng.normal(size=150)}))
    judged = pd.concat([validity(book, ["useless"]) for book in books], ignore_index=True)
    inside = (judged["auc_ci_low"] >= 0.4) & (judged["auc_ci_high"] <= 0.6)
    low_only = (judged["auc_ci_low"] < 0.4) & (judged["auc_ci_high"].between(0.5, 0.6))
    assert low_only.sum() >= 3  # the case the rule is about occurs here
    assert ((judged["conclusion"] == "ruled_out") == inside).all()


def test_a_signal_almost_everyone_shares_is_not_judged_and_says_why():
    # 2,000 decisions, 400 churned; the signal differs from its common value on 600 renewed decisions and on
    # two churned ones only
    rng = np.random.default_rng(12)
    renewed = np.arange(2_000) >= 400
    rare = np.zeros(2_000)
    rare[:2] = rng.normal(size=2) - 5
    rare[400:1_000] = rng.normal(size=600) + 5
    judged = validity(pd.DataFrame({"account_id": np.arange(2_000), "renewed": renewed, "rare": rare}), ["rare"])
    row = judged.iloc[0]
    assert row.conclusion == "not_judged" and not row.predictive and not row.inverse
    assert row.reason.startswith("too little variation to judge: only 2 of the 400 churned decisions differ")


def test_an_inconclusive_signal_says_how_many_decisions_would_settle_it_where_it_stands():
    def judged(n, rng):
        renewed = rng.random(n) < 0.8
        score = rng.normal(size=n) + 0.18 * renewed  # a true AUC near 0.55: between useless and useful
        frame = pd.DataFrame({"account_id": np.arange(n), "renewed": renewed, "weak": score})
        return validity(frame, ["weak"], family_size=1).iloc[0]

    rng = np.random.default_rng(8)
    now = next(row for row in (judged(600, rng) for _ in range(50)) if row.conclusion == "inconclusive")
    assert now.decisions_needed < now.n  # the data could already detect an AUC of 0.60 ...
    assert now.decisions_to_settle > now.n  # ... yet the question is open, and more decisions would settle it
    half, target = (now.auc_ci_high - now.auc_ci_low) / 2, max(abs(now.auc - 0.5), 0.1 - abs(now.auc - 0.5))
    assert now.decisions_to_settle == pytest.approx(now.n * (half / target) ** 2, rel=0.01)
    assert judged(4 * int(now.decisions_to_settle), rng).conclusion in ("ruled_out", "predictive")
    renewed = rng.random(2_000) < 0.8
    strong = pd.DataFrame({"account_id": range(2_000), "renewed": renewed, "x": rng.normal(size=2_000) + renewed})
    settled = validity(strong, ["x"]).iloc[0]
    assert settled.conclusion == "predictive" and pd.isna(settled.decisions_to_settle)
