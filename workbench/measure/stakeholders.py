"""Per-stakeholder health: the people behind an account's one-colour score.

Each person's health on a given day comes from the person-level scores a CS platform exported,
or, where there are none, from a scorecard of their own usage, survey answers and recency
(components and weights in the config). Roll-ups by role then show what an average hides.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..inputs.contract import ROLES
from ..inputs.scores import HealthScores
from ..inputs.usage import Usage
from ..lookup import Groups, contained, kept, positions
from .pointintime import Timeline, days
from .renewals import per_account

SCORE_MAX_AGE_DAYS = 365
SCORECARD_DAYS = 90
RECENCY_FULL_DAYS, RECENCY_ZERO_DAYS = 30, 180
ROWS_AT_A_TIME = 250_000


def people_at(contacts: pd.DataFrame, frame: pd.DataFrame, known_from=None, roles=None) -> pd.DataFrame:
    """One row per (row of frame, contact of its account, of `roles` when given, known by the row's observation
    date). `known_from` (days since the epoch, one per row of `contacts`, in their order; see `known_from`)
    leaves out people today's CRM has but who were not yet known then; without it every contact counts."""
    row, contact = _groups(contacts).pairs(frame["account_id"])
    keep = np.ones(len(row), dtype=bool)
    if roles is not None:
        keep &= contacts["role"].isin(roles).to_numpy()[contact]
    if known_from is not None:
        keep &= np.asarray(known_from, dtype=float)[contact] <= days(frame["observation_date"])[row]
    row, contact = row[keep], contact[keep]
    people = pd.DataFrame(
        {
            "row": frame.index.to_numpy()[row],
            "account_id": frame["account_id"].array.take(row),
            "observation_date": frame["observation_date"].array.take(row),
        }
    )
    for column in ("contact_id", "role", "name"):
        if column in contacts:
            people[column] = contacts[column].array.take(contact)
    return people


def _groups(contacts: pd.DataFrame) -> Groups:
    """The contacts grouped by account, kept while the table is the same object (a study pairs people a few
    dozen times)."""
    return kept("groups", contacts, lambda c: Groups(c["account_id"]))


def known_from(data) -> np.ndarray:
    """Per row of the contacts table, in its order: the first day (since the epoch) the person counts as
    known, their created_date, or without one their first dated usage, score or survey answer (the contract's
    rule). A person with neither is never known: they are in today's CRM but left no trace before any
    observation date.

    Kept on the dataset while the tables it reads are the same objects: a study asks for it once per
    set of people it scores. Kept as a frame, so that a saved study's kernels map it (columnar.py) rather than
    each unpickle its own copy."""
    sources = (data.tables.get("contacts"), data.health_scores, data.tables.get("surveys"), data.usage)
    kept = data.derived.get("known_from")
    if kept is None or not all(a is b for a, b in zip(kept[0], sources)):
        kept = (sources, pd.DataFrame({"day": _known_from(data)}))
        data.derived["known_from"] = kept
    return kept[1]["day"].to_numpy()


def _known_from(data) -> np.ndarray:
    contacts = data["contacts"]
    ids = pd.Index(contacts["contact_id"])
    traces = []  # per source: each contact's first day there, indexed by contact_id
    if data.usage is not None and data.usage.has_contacts:
        traces.append(data.usage.first_days())
    if has_person_scores(data):
        traces.append(data.health_scores.first_days())
    surveys = data.tables.get("surveys")
    if surveys is not None and "contact_id" in surveys:
        dated = surveys.loc[surveys["contact_id"].notna()]
        traces.append(pd.Series(days(dated["date"]), index=pd.Index(dated["contact_id"])))
    # The earliest trace per contact, found by position in the contacts, not by a group-by over strings.
    earliest = np.full(len(ids), np.inf)
    if traces:
        traced = pd.concat(traces)
        position = positions(ids, traced.index)
        found = position >= 0
        np.minimum.at(earliest, position[found], traced.to_numpy(dtype=float)[found])
    since = pd.Series(np.where(np.isinf(earliest), np.nan, earliest), index=contacts.index)
    if "created_date" in contacts:
        created = pd.Series(days(contacts["created_date"]), index=contacts.index, dtype=float)
        since = created.where(contacts["created_date"].notna(), since)
    return since.to_numpy()


def exported_scores(scores: HealthScores, people: pd.DataFrame, lag_days: int = 0) -> np.ndarray:
    """Each person's latest exported score on or before observation_date - lag_days."""
    day = days(people["observation_date"]) - lag_days
    return scores.latest("contact", people["contact_id"], day, SCORE_MAX_AGE_DAYS)["score"].to_numpy()


def scorecard(
    people: pd.DataFrame, usage: Usage | None, surveys: pd.DataFrame | None, weights: dict, lag_days: int = 0
) -> np.ndarray:
    """0-100 health per person from their own signals; a missing component's weight goes to the others.

    usage: percentile of the person's events in the last 90 days among people of the same role;
    survey: their latest NPS (0-10 scaled to 0-100) in the last year; recency: 100 when they used
    the product in the last 30 days, falling to 0 at 180 days.
    """
    day = days(people["observation_date"]) - lag_days
    parts = {}
    if usage is not None and usage.has_contacts:
        events, last_seen = usage.activity(people["contact_id"], day, SCORECARD_DAYS)
        parts["usage"] = 100 * pd.Series(events).groupby(people["role"].to_numpy()).rank(pct=True).to_numpy()
        idle = day - last_seen
        parts["recency"] = np.where(
            np.isnan(last_seen),
            0.0,
            100 * np.clip((RECENCY_ZERO_DAYS - idle) / (RECENCY_ZERO_DAYS - RECENCY_FULL_DAYS), 0, 1),
        )
    if surveys is not None and "contact_id" in surveys:
        answers = surveys.loc[(surveys["survey"] == "nps") & surveys["contact_id"].notna()]
        parts["survey"] = 10 * Timeline(answers["contact_id"], answers["date"], {"score": answers["score"]}).latest(
            "score", people["contact_id"], day, 365
        )
    total = np.zeros(len(people))
    weight = np.zeros(len(people))
    for name, values in parts.items():
        w = float(weights.get(name, 0))
        known = ~np.isnan(values)
        total += np.where(known, w * np.nan_to_num(values), 0)
        weight += np.where(known, w, 0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(weight > 0, total / weight, np.nan)


def has_person_scores(data) -> bool:
    """Whether the CS platform exported person-level health scores (rows of health_scores with a contact)."""
    return data.health_scores is not None and data.health_scores.people > 0


def rows_apart(data) -> bool:
    """Whether each row's people are scored apart from other rows': exported scores are, while the scorecard
    ranks each person's usage among all the people it scores."""
    return not data.has("contacts") or has_person_scores(data)


def person_health(data, frame: pd.DataFrame, weights: dict, lag_days: int = 0, roles=None) -> pd.DataFrame:
    """Every person of every frame row (of `roles` only, when given) with their health score (exported where
    there is one). Where the scores are exported, `ROWS_AT_A_TIME` rows are paired with their people at a time
    (a million accounts' open contracts have 6.5M people); a scorecard ranks everyone at once."""
    if len(frame) > ROWS_AT_A_TIME and rows_apart(data):
        steps = range(0, len(frame), ROWS_AT_A_TIME)
        return pd.concat(
            [person_health(data, frame.iloc[i : i + ROWS_AT_A_TIME], weights, lag_days, roles) for i in steps],
            ignore_index=True,
        )
    people = people_at(data["contacts"], frame, known_from(data), roles)
    if has_person_scores(data):
        people["score"] = exported_scores(data.health_scores, people, lag_days)
        people["source"] = "exported"
    else:
        people["score"] = scorecard(people, data.usage, data.tables.get("surveys"), weights, lag_days)
        people["source"] = "scorecard"
    return people


def health_rollups(data, frame: pd.DataFrame, weights: dict) -> dict[str, np.ndarray]:
    """`rollups` of each frame row's people, paired with them `ROWS_AT_A_TIME` rows at a time where their scores
    are exported (a million accounts' decisions have 5.6M people); a scorecard ranks everyone at once."""
    block = ROWS_AT_A_TIME if rows_apart(data) else max(len(frame), 1)
    parts = []
    for start in range(0, max(len(frame), 1), block):
        part = frame.iloc[start : start + block].reset_index(drop=True)
        parts.append(rollups(person_health(data, part, weights), len(part)))
    return {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}


def rollups(people: pd.DataFrame, rows: int) -> dict[str, np.ndarray]:
    """Per frame row: mean, min, max and spread over people, and the mean of each role."""
    scored = people.dropna(subset=["score"])
    grouped = scored.groupby("row")["score"]
    index = range(rows)
    out = {"health_mean": grouped.mean(), "health_min": grouped.min(), "health_max": grouped.max()}
    out = {k: v.reindex(index).to_numpy() for k, v in out.items()}
    out["health_spread"] = out["health_max"] - out["health_min"]
    by_role = scored.groupby(["row", "role"])["score"].mean().unstack("role")
    for role in ROLES:
        column = by_role[role] if role in by_role else pd.Series(dtype=float)
        out[f"health_{role}"] = column.reindex(index).to_numpy()
    return out


def gap(frame: pd.DataFrame) -> pd.Series:
    """How much rosier the account mean is than the decision maker."""
    return frame["health_mean"] - frame["health_decision_maker"]


def hidden_risk(
    frame: pd.DataFrame,
    people: pd.DataFrame,
    red_below: float,
    green_from: float,
    aggregate: str = "health_score",
    trend: pd.Series | None = None,
) -> pd.DataFrame:
    """Rows whose aggregate is green while the decision maker or a champion is red, soonest renewal first."""
    aggregate = aggregate if aggregate in frame else "health_mean"
    green = frame[aggregate] >= green_from
    key_people = people.loc[people["role"].isin(["decision_maker", "champion"]) & (people["score"] < red_below)]
    if trend is not None:
        key_people = key_people.assign(trend_90d=trend.reindex(key_people.index).to_numpy())
    red_rows = key_people["row"].unique()
    at_risk = frame.loc[green & frame.index.isin(red_rows)].copy()
    columns = [c for c in ("account_id", "account_name", "csm", "arr", "end_date", aggregate) if c in at_risk]
    if at_risk.empty:
        return at_risk[columns].assign(red_people=pd.Series(dtype="str")).reset_index(drop=True)
    who = key_people["name"].fillna(key_people["contact_id"]) if "name" in key_people else key_people["contact_id"]
    label = (
        key_people["role"].map({"decision_maker": "DM", "champion": "champion"})
        + " "
        + who
        + " "
        + (key_people["score"].round(0).astype(int).astype(str))
    )
    if "trend_90d" in key_people:
        label += key_people["trend_90d"].map(lambda change: "" if pd.isna(change) else f" ({change:+.0f} in 90d)")
    described = key_people.assign(person=label)
    at_risk["red_people"] = at_risk.index.map(described.groupby("row")["person"].agg("; ".join))
    at_risk = per_account(at_risk, columns + ["red_people"])  # concurrent subscriptions renew as one relationship
    return at_risk.sort_values(["end_date", "arr"], ascending=[True, False])[columns + ["red_people"]].reset_index(
        drop=True
    )


def coverage(frame: pd.DataFrame, contacts: pd.DataFrame) -> pd.DataFrame:
    """Rows with no decision-maker signal at all: no contact, no score, no survey response."""
    has_contact = contained(frame["account_id"], contacts.loc[contacts["role"] == "decision_maker", "account_id"])
    has_score = frame["health_decision_maker"].notna() if "health_decision_maker" in frame else False
    answered = frame["nps_responses_decision_maker"] > 0 if "nps_responses_decision_maker" in frame else False
    status = np.select(
        [~has_contact, ~(has_score | answered)],
        ["no decision maker known", "decision maker silent"],
        "decision maker heard",
    )
    return frame.assign(decision_maker_coverage=status)
