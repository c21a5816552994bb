"""Signals see only rows dated on or before the observation date."""

import numpy as np
import pandas as pd
import pytest

from workbench.inputs.loader import load
from workbench.inputs.scores import from_frame as scores_from_frame
from workbench.inputs.usage import from_frame
from workbench.lookup import Groups, contained, forget, kept, positions
from workbench.measure import snapshot
from workbench.measure.columns import SIGNALS
from workbench.measure.pointintime import Timeline, days


def brute_force(events, entity, day, window):
    mask = (events["entity"] == entity) & (events["day"] <= day) & (events["day"] > day - window)
    return events.loc[mask, "value"].sum()


def test_window_sum_and_latest_match_brute_force():
    rng = np.random.default_rng(3)
    events = pd.DataFrame(
        {
            "entity": rng.choice(list("abcde"), 400),
            "day": rng.integers(0, 200, 400),
            "value": rng.integers(0, 10, 400).astype(float),
        }
    )
    events["date"] = pd.Timestamp("2026-01-01") + pd.to_timedelta(events["day"], unit="D")
    timeline = Timeline(events["entity"], events["date"], {"value": events["value"]})
    queries = pd.DataFrame({"entity": rng.choice(list("abcdefz"), 300), "day": rng.integers(-5, 220, 300)})
    query_days = days(pd.Timestamp("2026-01-01") + pd.to_timedelta(queries["day"], unit="D"))
    sums = timeline.window_sum("value", queries["entity"], query_days, 30)
    expected = [brute_force(events, e, d, 30) for e, d in zip(queries["entity"], queries["day"])]
    np.testing.assert_allclose(sums, expected)
    latest = timeline.latest("value", queries["entity"], query_days)
    for got, (entity, day) in zip(latest, zip(queries["entity"], queries["day"])):
        seen = events.loc[(events["entity"] == entity) & (events["day"] <= day)]
        if seen.empty:
            assert np.isnan(got)
        else:  # the value of one of the events on the latest day (ties keep file order)
            assert got == seen.loc[seen["day"] == seen["day"].max(), "value"].iloc[-1]


def test_no_value_dated_after_the_observation_date_changes_a_signal(small_world):
    data = load(small_world)
    surveys = data["surveys"]
    some = surveys.index % 3 == 0  # some answers as CSAT and CES, so their signals are checked too
    data.tables["surveys"] = surveys.assign(
        survey=np.select([some, surveys.index % 3 == 1], ["csat", "ces"], surveys["survey"]),
        score=np.select(
            [some, surveys.index % 3 == 1], [surveys["score"] // 2.5 + 1, surveys["score"] // 2 + 1], surveys["score"]
        ),
    )
    decisions = snapshot.decisions(data["contracts"], "2026-10-31", 12, 90)
    before = snapshot.measure(data, decisions)
    assert set(SIGNALS) <= set(before)

    # After each decision's observation date, flood every table with extreme values.
    first = decisions.drop_duplicates("account_id").set_index("account_id")
    later = lambda frame: frame["account_id"].map(first["observation_date"]) + pd.Timedelta(days=1)  # noqa: E731
    usage = pd.read_csv(small_world / "usage.csv", dtype={"events": float}, parse_dates=["date"])
    flooded = usage.assign(date=later(usage), events=1e9).dropna(subset=["date"])  # accounts with a decision
    usage = pd.concat([usage, flooded], ignore_index=True)
    surveys = data["surveys"].copy()
    flood = surveys.assign(date=later(surveys), score=0.0, response_id=surveys["response_id"] + "x")
    scores = pd.read_csv(small_world / "health_scores.csv", parse_dates=["date"])
    scores = pd.concat([scores, scores.assign(date=later(scores), score=0.0)], ignore_index=True)
    progress = data["goal_progress"].merge(data["goals"][["goal_id", "account_id"]], on="goal_id")
    progress = pd.concat([progress, progress.assign(date=later(progress), value=-1e9)], ignore_index=True)
    data.tables.update(
        surveys=pd.concat([surveys, flood], ignore_index=True),
        goal_progress=progress.drop(columns="account_id"),
    )
    data.health_scores = scores_from_frame(scores.dropna(subset=["date"]), data["accounts"], data["contacts"])
    data.usage = from_frame(usage, data["accounts"], data["contacts"])
    after = snapshot.measure(data, decisions)

    only_first = decisions["contract_id"].isin(first["contract_id"])
    for signal in SIGNALS:
        pd.testing.assert_series_equal(before.loc[only_first, signal], after.loc[only_first, signal])


def test_decisions_are_the_window_and_open_contracts_never_count(small_world):
    data = load(small_world)
    decisions = snapshot.decisions(data["contracts"], "2026-10-31", 12, 90)
    assert decisions["outcome"].isin(["renewed", "churned"]).all()
    assert (decisions["end_date"] > pd.Timestamp("2025-10-31")).all()
    assert (decisions["end_date"] <= pd.Timestamp("2026-10-31")).all()
    assert (decisions["end_date"] - decisions["observation_date"]).dt.days.eq(90).all()
    open_now = snapshot.open_contracts(data["contracts"], "2026-10-31")
    assert not open_now["contract_id"].isin(decisions["contract_id"]).any()


@pytest.mark.parametrize("block", [1_000_000, 7])  # one block, and the points asked a few at a time
def test_the_latest_score_is_the_last_row_of_its_latest_day_for_accounts_and_people(tmp_path, monkeypatch, block):
    # Enough rows for DuckDB to store them on several threads: the file's order must survive the parallel write.
    rng = np.random.default_rng(8)
    rows = 400_000
    person = rng.random(rows) < 0.5
    scores = pd.DataFrame(
        {
            "account_id": rng.choice([f"a{i}" for i in range(50)], rows),
            "contact_id": np.where(person, rng.choice([f"c{i}" for i in range(80)], rows), None),
            "date": (pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 30, rows), unit="D")).strftime(
                "%Y-%m-%d"
            ),
            "score": rng.uniform(0, 100, rows).round(3),
        }
    )
    path = tmp_path / "health_scores.parquet"
    scores.to_parquet(path, row_group_size=50_000)
    from workbench.inputs import scores as health_scores
    from workbench.inputs.scores import load_scores
    from workbench.inputs.stored import StoredSource

    monkeypatch.setattr(health_scores, "QUESTION_BLOCK", block)

    stored, problems = load_scores(StoredSource(str(path), "row", 1, path=path), None, None)
    assert not problems
    scores["day"] = (pd.to_datetime(scores["date"]) - pd.Timestamp("2026-01-01")).dt.days
    for level, key, rows_of_level in (("account", "account_id", ~person), ("contact", "contact_id", person)):
        level_rows = scores.loc[rows_of_level]
        # some entities never scored at this level, and days before any score or long after the last
        asked = pd.DataFrame({"entity": rng.choice([*level_rows[key].unique(), "nobody"], 300)})
        asked["day"] = rng.integers(-3, 40, 300)
        day = days(pd.Timestamp("2026-01-01") + pd.to_timedelta(asked["day"], unit="D"))
        found = stored.latest(level, asked["entity"], day, 5)["score"]
        for got, (entity, until) in zip(found, zip(asked["entity"], asked["day"])):
            seen = level_rows.loc[(level_rows[key] == entity) & (level_rows["day"] <= until)]
            if seen.empty or until - seen["day"].max() > 5:
                assert np.isnan(got)
            else:
                assert got == seen.loc[seen["day"] == seen["day"].max(), "score"].iloc[-1]


def test_positions_agree_across_string_storages_with_absent_and_missing_values():
    index = pd.Index(["c-7", "c-1", "c-10", "ç-2"])
    values = ["c-1", "c-11", None, "ç-2", "c-7", "c-1", ""]
    expected = [1, -1, -1, 3, 0, 1, -1]
    for dtype in ("str", object, pd.StringDtype("python")):
        found = positions(index.astype(dtype), pd.Series(values, dtype=dtype))
        assert found.tolist() == expected, dtype
        assert found.dtype == np.int64
    assert positions(pd.Index([3, 1]), np.array([1, 2, 3])).tolist() == [1, -1, 0]


def test_contained_agrees_with_isin_across_string_storages():
    values = ["a-1", "a-2", None, "å-3", "", "a-1"]
    among = ["a-1", "å-3", "a-9", "a-1"]
    for dtype in ("str", object, pd.StringDtype("python")):
        expected = pd.Series(values, dtype=dtype).isin(pd.Series(among, dtype=dtype)).tolist()
        found = contained(pd.Series(values, dtype=dtype), pd.Series(among, dtype=dtype))
        assert found.tolist() == expected == [True, False, False, True, False, True], dtype
        assert found.dtype == bool
    assert contained(pd.Series([1, 2, 3]), [3, 1]).tolist() == [True, False, True]


def test_groups_pair_rows_as_an_inner_merge_on_the_key_does():
    contacts = pd.DataFrame(
        {"account_id": ["a2", "a1", "a2", None, "a3", "a1", "a2"], "contact_id": [f"c{i}" for i in range(7)]}
    )
    rows = pd.DataFrame({"account_id": ["a1", "a9", "a2", "a1", "a3"]})
    for dtype in ("str", object):
        contacts_typed, rows_typed = contacts.astype({"account_id": dtype}), rows.astype({"account_id": dtype})
        left, right = Groups(contacts_typed["account_id"]).pairs(rows_typed["account_id"])
        merged = rows_typed.reset_index(names="row").merge(contacts_typed.reset_index(names="contact"), on="account_id")
        assert left.tolist() == merged["row"].tolist() and right.tolist() == merged["contact"].tolist(), dtype
    assert [len(a) for a in Groups(contacts["account_id"]).pairs(pd.Series(["a9"], dtype="str"))] == [0, 0]


def test_a_kept_index_is_built_once_until_forgotten():
    table, built = pd.DataFrame({"id": ["a", "b"]}), []

    def build(frame):
        built.append(frame)
        return len(built)

    assert kept("ids", table, build) == kept("ids", table, build) == 1
    forget()
    assert kept("ids", table, build) == 2 and len(built) == 2
