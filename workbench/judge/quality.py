"""How far to trust the data: coverage, gaps and warnings that do not stop a study."""

from __future__ import annotations

import numpy as np
import pandas as pd
import yaml

from ..errors import Problem
from ..inputs.contract import TABLES
from ..inputs.loader import Dataset
from ..lookup import contained
from ..measure.snapshot import decisions as decisions_in_window
from ..stats.rates import wilson
from ..words import join_words

MIN_DECISIONS, MIN_CHURNED = 50, 10


def profile(data: Dataset) -> pd.DataFrame:
    """Per table: rows, dated span, and the share of empty cells in the contract's columns."""
    rows = []
    for name, frame in data.tables.items():
        known = [c.name for c in TABLES[name].columns if c.name in frame]
        dates = [c.name for c in TABLES[name].columns if c.kind == "date" and c.name in frame]
        stacked = pd.concat([frame[c] for c in dates]) if dates else pd.Series(dtype="datetime64[ns]")
        rows.append(
            {
                "table": name,
                "rows": len(frame),
                "first_date": stacked.min(),
                "last_date": stacked.max(),
                "empty_cells": float(frame[known].isna().to_numpy().mean()) if len(frame) and known else 0.0,
            }
        )
    for name, stored in data.stored.items():
        if stored is not None:
            rows.append(
                {
                    "table": name,
                    "rows": stored.rows,
                    "first_date": stored.first_date,
                    "last_date": stored.last_date,
                    "empty_cells": stored.empty_cells,
                }
            )
    for name in data.missing:
        rows.append({"table": name, "rows": 0, "first_date": pd.NaT, "last_date": pd.NaT, "empty_cells": np.nan})
    return pd.DataFrame(rows).sort_values(
        "table", key=lambda t: t.map(list(TABLES).index), kind="stable", ignore_index=True
    )


def absent(data: Dataset) -> list[Problem]:
    """One warning per optional table the data does not have (the first of `warnings`)."""
    return [
        Problem(
            data.files.get(name) or f"{data.folder}/{name}.csv",
            None,
            f"no {name} table: the analyses that need it are skipped",
            f"{'an' if name[0] in 'aeio' else 'a'} {name} table (optional)",
            f"export {name} to switch those analyses on",
            severity="warning",
        )
        for name in data.missing
    ]


def warnings(data: Dataset, as_of=None, window_months: int = 12) -> list[Problem]:
    """Problems a study can live with, each with where it is and what to do about it."""
    found: list[Problem] = []
    folder = str(data.folder)

    def warn(table, column, message, expected, fix, rows=(), count=0):
        file = data.files.get(table) or f"{folder}/{table}.csv"  # the export's own file, where a mapping named it
        found.append(Problem(file, column, message, expected, fix, tuple(rows), count, "warning"))

    found.extend(absent(data))
    for name, (source, rules) in getattr(data, "dropped", {}).items():
        for rule, count in rules:
            found.append(
                Problem(
                    source,
                    None,
                    f"{count:,} {'row' if count == 1 else 'rows'} left out of the {name} table by the mapping's "
                    f"rule {rule}",
                    "rows the study should not count (trials, tests, cancelled orders)",
                    "nothing, where the rule means it; otherwise change the rule in the mapping file",
                    severity="warning",
                )
            )
    for name, (source, values) in getattr(data, "unlisted", {}).items():
        for column, value, rows, became in values:
            found.append(
                Problem(
                    source,
                    column,
                    f"{rows:,} {'row' if rows == 1 else 'rows'} of the {name} table hold {value!r}, a value the "
                    f"mapping does not list: {'it was' if rows == 1 else 'they were'} read as {became!r}",
                    f"a value listed under tables.{name}.values.{column}",
                    f'nothing, if {became!r} is right; otherwise add the line "{_yaml_key(value)}: {became}" under '
                    f"tables.{name}.values.{column} in a mapping file, with what it stands for in place of {became!r}",
                    severity="warning",
                )
            )
    for sentence in getattr(data, "skipped", []):
        found.append(
            Problem(
                folder,
                None,
                sentence,
                "every file the preset reads, where the export has it",
                "export the missing file into the data folder, or nothing if the system does not hold that table",
                severity="warning",
            )
        )
    contracts = data["contracts"]
    without = ~contained(data["accounts"]["account_id"], contracts["account_id"])
    if without.any():
        warn(
            "accounts",
            "account_id",
            f"{int(without.sum())} accounts have no contract and are never studied",
            "a contract per account",
            "check the contracts export covers every account",
            [("account", a) for a in data["accounts"].loc[without, "account_id"].head(5)],
            int(without.sum()),
        )
    if "renewal_arr" not in contracts:
        warn(
            "contracts",
            "renewal_arr",
            "no renewal_arr column: GRR, NRR and expansion cannot be computed",
            "the ARR of the next term for decided contracts",
            "add renewal_arr, or derive contracts from subscription rows",
        )
    # Measurements are taken once; activities may repeat (two calls on one day).
    repeats = {
        name: data.stored[name].repeated if name in data.stored else repeated_rows(data[name])
        for name in ("goal_progress", "goal_inputs", "health_scores", "usage")
        if data.has(name)
    }
    for name, repeated in repeats.items():
        if repeated:
            warn(
                name,
                None,
                f"{repeated} rows repeat another row exactly",
                "each measurement once",
                "remove repeated exports, or drop them with `dedupe: exact` in a mapping file; repeated usage is "
                "counted twice",
                count=repeated,
            )
    if as_of is not None:
        as_of = pd.Timestamp(as_of)
        window = decisions_in_window(contracts, as_of, window_months)
        churned = int((window["outcome"] == "churned").sum())
        if len(window) < MIN_DECISIONS or churned < MIN_CHURNED:
            warn(
                "contracts",
                "end_date",
                f"only {len(window)} renewal decisions ({churned} churned) in the "
                f"{window_months} months to {as_of:%Y-%m-%d}: verdicts will be uncertain or withheld",
                f"at least {MIN_DECISIONS} decisions and {MIN_CHURNED} churned",
                "widen --window-months",
            )
        per_account = window.groupby("account_id").size()
        if len(per_account) and per_account.max() > 1:
            spread = per_account.describe(percentiles=[0.5, 0.9])
            warn(
                "contracts",
                "account_id",
                f"{len(window):,} renewal decisions come from {len(per_account):,} accounts "
                f"({(per_account > 1).mean():.0%} of them with several: median {spread['50%']:.0f}, "
                f"90th percentile {spread['90%']:.0f}, most "
                f"{spread['max']:.0f} per account). An account's decisions are not independent, so every interval "
                f"treats the account as the unit; expect wider intervals than the decision count suggests",
                "one decision per account for the narrowest intervals (monthly or concurrent terms are fine)",
                "nothing to fix; to judge one decision per account, study annual terms or one product at a time",
            )
    if data.has("contacts"):
        contacts = data["contacts"]
        deciders = contacts.loc[contacts["role"] == "decision_maker", "account_id"]
        no_dm = ~contained(data["accounts"]["account_id"], deciders)
        if no_dm.mean() > 0.2:
            warn(
                "contacts",
                "role",
                f"{no_dm.mean():.0%} of accounts have no decision maker on record",
                "a decision-maker contact per account",
                "map job titles onto roles in a mapping file, or enrich the CRM",
            )
    return found


def repeated_rows(frame: pd.DataFrame) -> int:
    """Rows that repeat an earlier row exactly. Sorted row hashes find the candidates (usually none) and only
    those are compared in full: a hash table over 13M health-score rows took seconds."""
    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    ordered = np.sort(hashes)
    shared = ordered[1:][ordered[1:] == ordered[:-1]]
    if not len(shared):
        return 0
    return int(frame.loc[np.isin(hashes, shared)].duplicated(keep="first").sum())


def rows_per_month(data: Dataset) -> pd.DataFrame:
    """Coverage over time: rows per calendar month of each dated table."""
    parts = [stored.per_month.assign(table=name) for name, stored in data.stored.items() if stored is not None]
    for name in ("surveys", "goal_progress", "referrals"):
        if data.has(name):
            months = data[name]["date"].dt.to_period("M").dt.to_timestamp()
            parts.append(months.value_counts().rename("rows").rename_axis("month").reset_index().assign(table=name))
    return pd.concat(parts, ignore_index=True).sort_values(["table", "month"]) if parts else pd.DataFrame()


def decisions_per_month(contracts: pd.DataFrame) -> pd.DataFrame:
    decided = contracts.loc[contracts["outcome"].isin(["renewed", "churned"])]
    months = decided["end_date"].dt.to_period("M").dt.to_timestamp()
    return decided.groupby([months.rename("month"), "outcome"]).size().rename("decisions").reset_index()


def response_rates(data: Dataset, as_of, days: int = 365) -> pd.DataFrame:
    """Per role: contacts, and the share who answered any survey in the `days` before as_of."""
    contacts, surveys = data["contacts"], data["surveys"]
    as_of = pd.Timestamp(as_of)
    recent = surveys.loc[(surveys["date"] > as_of - pd.Timedelta(days=days)) & (surveys["date"] <= as_of)]
    answered = contained(contacts["contact_id"], recent["contact_id"])
    table = contacts.assign(answered=answered).groupby("role")["answered"].agg(["size", "sum"]).reset_index()
    table.columns = ["role", "n", "answered"]
    table["response_rate"] = table["answered"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson(table["answered"], table["n"])
    return table


HORIZONS_TO_PROPOSE = (7, 14, 30, 60, 90, 180)


def observation_coverage(decisions: pd.DataFrame, profile: pd.DataFrame) -> pd.DataFrame:
    """How many decisions have their observation date before their own term began, and before each dated
    table's first row (a signal measured there sees nothing of that table): one row per `before`, with
    `decisions` and `share`."""
    observed = decisions["observation_date"]
    rows = [{"before": "their own term's start", "decisions": int((observed < decisions["start_date"]).sum())}]
    for table, first in profile.dropna(subset=["first_date"])[["table", "first_date"]].itertuples(index=False):
        if table not in ("accounts", "contracts"):
            rows.append(
                {"before": f"the first row of {table.replace('_', ' ')}", "decisions": int((observed < first).sum())}
            )
    frame = pd.DataFrame(rows)
    return frame.assign(share=frame["decisions"] / max(len(decisions), 1))


def supported_horizon(decisions: pd.DataFrame, horizon_days: int) -> int | None:
    """A horizon to propose where most observation dates fall before their own term's start: the longest of
    HORIZONS_TO_PROPOSE within half the median term (14 days for monthly terms); None where the horizon fits."""
    if not len(decisions) or (decisions["observation_date"] < decisions["start_date"]).mean() <= 0.5:
        return None
    term = (decisions["end_date"] - decisions["start_date"]).dt.days.median()
    fitting = [h for h in HORIZONS_TO_PROPOSE if h <= term / 2 and h < horizon_days]
    return max(fitting) if fitting else None


def horizon_note(decisions: pd.DataFrame, profile: pd.DataFrame, horizon_days: int) -> str | None:
    """In words, where observation dates fall before what they measure (their own term, a table's first
    row), with the horizon to try instead; None where every observation date is covered."""
    coverage = observation_coverage(decisions, profile)
    short = coverage.loc[coverage["decisions"] > 0]
    if short.empty:
        return None
    parts = [f"{row.decisions:,} ({row.share:.0%}) before {row.before}" for row in short.itertuples()]
    text = (
        f"Of the {len(decisions):,} renewal decisions, the observation date ({horizon_days} days before renewal) "
        f"falls {join_words(parts)}: a signal measured there sees only what came before it."
    )
    proposed = supported_horizon(decisions, horizon_days)
    if proposed is not None:
        term = int((decisions["end_date"] - decisions["start_date"]).dt.days.median())
        text += (
            f" With terms of about {term} days, a {horizon_days}-day horizon observes a renewal "
            f"{horizon_days - term} days before its own term began, from what the customer did in earlier terms. "
            f"This data supports a horizon of {proposed} days (workbench study --horizon-days {proposed}): "
            "each renewal judged on what the customer did in its own term."
        )
    return text


def _yaml_key(value: str) -> str:
    """`value` as a YAML key: quoted where YAML would read it otherwise."""
    return yaml.safe_dump(value, width=10**6).splitlines()[0]
