"""The questions asked of usage, written once in Ibis, so DuckDB, Spark or a warehouse answers them alike.

Each takes the checked usage table (account_id, contact_id, feature, day, events; day in days since the
epoch) and a table of points (position, entity, day), and returns an expression with one row per point that
has any usage, keyed by the point's position: only those per-decision rows leave the engine.
"""

from __future__ import annotations

import ibis


def _events(usage: ibis.Table) -> ibis.Table:
    return usage.rename(event_day="day")


def _joined(points: ibis.Table, usage: ibis.Table, key: str, window_days: int | None) -> ibis.Table:
    events = _events(usage)
    on = [points.entity == events[key], events.event_day <= points.day]
    if window_days is not None:
        on.append(events.event_day > points.day - window_days)
    return points.join(events, on)


def window_sums(usage: ibis.Table, points: ibis.Table, window_days: int) -> ibis.Table:
    """Events of each point's account dated in (day - window_days, day]."""
    joined = _joined(points, usage, "account_id", window_days)
    return joined.group_by("position").aggregate(events=joined.events.sum())


def behaviour(usage: ibis.Table, points: ibis.Table, window_days: int, *, contacts: bool, features: bool) -> ibis.Table:
    """Per point: events in the window and in the window before it, distinct active contacts and features in
    the window (when usage has them), and the last day of any use on or before the point's day."""
    joined = _joined(points, usage, "account_id", None)
    recent = joined.event_day > joined.day - window_days
    before = (joined.event_day > joined.day - 2 * window_days) & (joined.event_day <= joined.day - window_days)
    active = recent & (joined.events > 0)
    metrics = {
        "events": joined.events.sum(where=recent).fill_null(0),
        "events_before": joined.events.sum(where=before).fill_null(0),
        "last_day": joined.event_day.max(where=joined.events > 0),
    }
    if contacts:
        metrics["active_users"] = joined.contact_id.nunique(where=active)
    if features:
        metrics["features_used"] = joined.feature.nunique(where=active)
    return joined.group_by("position").aggregate(**metrics)


def feature_sums(usage: ibis.Table, points: ibis.Table, window_days: int) -> ibis.Table:
    """Per point and feature: events in (day - window_days, day]."""
    joined = _joined(points, usage, "account_id", window_days)
    return (
        joined.filter(joined.feature.notnull()).group_by(["position", "feature"]).aggregate(events=joined.events.sum())
    )


def activity(usage: ibis.Table, points: ibis.Table, window_days: int) -> ibis.Table:
    """Per point (a contact and a day): their events in (day - window_days, day] and their last day of use."""
    joined = _joined(points, usage, "contact_id", None)
    return joined.group_by("position").aggregate(
        events=joined.events.sum(where=joined.event_day > joined.day - window_days).fill_null(0),
        last_day=joined.event_day.max(),
    )


def first_days(usage: ibis.Table) -> ibis.Table:
    """Per contact: the first day with usage of theirs."""
    return usage.filter(usage.contact_id.notnull()).group_by("contact_id").aggregate(day=usage.day.min())


def account_first_days(usage: ibis.Table) -> ibis.Table:
    """Per account: the first day of any row of its usage (zero-event rows count: they say it was a customer)."""
    return usage.group_by("account_id").aggregate(day=usage.day.min())


QUERIES = {
    "window_sums": window_sums,
    "account_first_days": account_first_days,
    "behaviour": behaviour,
    "feature_sums": feature_sums,
    "activity": activity,
    "first_days": first_days,
}


def compiled(dialect: str, window_days: int = 90) -> dict[str, str]:
    """Each query's SQL in `dialect` (snowflake, bigquery, databricks, ...), over tables named usage and points:
    what a warehouse would run, for review before pointing a study at it."""
    usage = ibis.table(
        {"account_id": "string", "contact_id": "string", "feature": "string", "day": "int64", "events": "float64"},
        name="usage",
    )
    points = ibis.table({"position": "int64", "entity": "string", "day": "int64"}, name="points")
    expressions = {
        "window_sums": window_sums(usage, points, window_days),
        "behaviour": behaviour(usage, points, window_days, contacts=True, features=True),
        "feature_sums": feature_sums(usage, points, window_days),
        "activity": activity(usage, points, window_days),
        "first_days": first_days(usage),
    }
    return {name: ibis.to_sql(expression, dialect=dialect) for name, expression in expressions.items()}


if __name__ == "__main__":
    import sys

    for name, sql in compiled(sys.argv[1] if len(sys.argv) > 1 else "snowflake").items():
        print(f"-- {name}\n{sql};\n")
