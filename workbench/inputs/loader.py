"""Load a contract data folder into typed frames, checking every rule of the contract.

Nothing here writes anywhere: the data folder is only read.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..errors import (
    DataError,
    Problem,
    duplicate_ids,
    missing_column,
    missing_value,
    not_a_date,
    not_a_number,
    not_allowed,
    orphans,
    out_of_range,
    undated,
    wrong_owner,
)
from ..lookup import mapped
from .activities import Activities, load_activities
from .contract import DATE, LOAD_ORDER, NUMBER, SURVEY_RANGES, TABLES, Table
from .files import STORED, Source, read_table
from .goal_inputs import GoalInputs, load_goal_inputs
from .scores import HealthScores, load_scores
from .stored import StoredSource
from .usage import Usage, load_usage


@dataclass
class Dataset:
    """The tables of one data folder, typed and checked; the large event tables (files.STORED) stay in DuckDB
    (stored.py)."""

    folder: Path
    tables: dict[str, pd.DataFrame]
    missing: list[str] = field(default_factory=list)  # optional tables not supplied
    usage: Usage | None = None
    health_scores: HealthScores | None = None
    goal_inputs: GoalInputs | None = None
    activities: Activities | None = None
    derived: dict = field(default_factory=dict, repr=False)  # costly values derived from the tables, kept on first use
    dropped: dict = field(default_factory=dict)  # per table: (source file, [(mapping rule, rows it left out)])
    files: dict = field(default_factory=dict)  # per table: the file(s) it was read from, as people name them
    export_date: pd.Timestamp | None = None  # the day the export was taken, where the mapping says so
    unlisted: dict = field(default_factory=dict)  # per table: (source file, [(column, value, rows, read as)])
    skipped: list = field(default_factory=list)  # a sentence per preset table the export does not hold

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.tables[name]

    def has(self, name: str) -> bool:
        return name in self.tables or (name in STORED and self.stored.get(name) is not None)

    @property
    def stored(self) -> dict:
        """The tables kept where they lie, by name (None when not supplied)."""
        return {name: getattr(self, name) for name in STORED}

    def close_stores(self) -> None:
        """Close the stores' DuckDB connections, whose buffers (up to the process's DuckDB memory) a finished
        question no longer needs; the next question opens them again."""
        for stored in self.stored.values():
            if stored is not None:
                stored.close()


def load(
    folder: str | Path,
    mapping: str | Path | None = None,
    allow_outside_data: bool = False,
    engine: str = "duckdb",
    warehouse: dict | None = None,
    preset: tuple[str, ...] = (),
) -> Dataset:
    """Read and check every table of `folder`; raise DataError listing every broken rule. A mapping may name
    files outside the folder only with `allow_outside_data`. Usage is queried on `engine` (engines.py); with
    the warehouse engine it is the `warehouse` settings' table, not a file of the folder."""
    folder = Path(folder)
    if not folder.is_dir():
        raise DataError(
            [
                Problem(
                    str(folder),
                    None,
                    "the data folder does not exist",
                    "a folder with accounts.csv and contracts.csv (or .parquet)",
                    "pass --data the folder that holds the tables, or run `workbench generate`",
                )
            ]
        )
    skipped: list[str] = []
    if mapping is not None or preset:
        from .mapping import read_sources

        sources, skipped = read_sources(folder, Path(mapping) if mapping else None, allow_outside_data, tuple(preset))
    else:
        sources = {name: read_table(folder, TABLES[name]) for name in LOAD_ORDER}
    problems: list[Problem] = []
    tables: dict[str, pd.DataFrame] = {}
    missing: list[str] = []
    stored_sources = {}
    for name in LOAD_ORDER:
        table = TABLES[name]
        source = sources.get(name)
        if isinstance(source, Problem):
            problems.append(source)
            continue
        if name == "usage" and engine == "warehouse":
            continue  # the warehouse's table, not a file of the folder
        if source is None:
            if table.required:
                problems.append(
                    Problem(
                        f"{folder}/{name}.csv",
                        None,
                        f"the required table '{name}' is missing",
                        f"a file {name}.csv or {name}.parquet in the data folder",
                        f"export the {name} table into the data folder under that name",
                    )
                )
            else:
                missing.append(name)
            continue
        if name in STORED:  # checked in DuckDB once accounts and contacts are known
            stored_sources[name] = (
                source
                if isinstance(source, StoredSource)
                else StoredSource(
                    source.label, source.row_word, source.row_offset, source.date_format, frame=source.frame
                )
            )
            continue
        frame, table_problems = check_table(table, source)
        problems.extend(table_problems)
        if frame is not None:
            tables[name] = frame
        # The rows as read are not needed once typed (problems quote the typed values, or a mapping's own files):
        # dropped now, not held beside the typed tables while the references are checked.
        sources[name] = replace(source, frame=source.frame.iloc[:0])
    problems.extend(_check_references(tables, sources))
    problems.extend(_check_contract_terms(tables, sources))
    accounts, contacts = tables.get("accounts"), tables.get("contacts")
    usage = health_scores = goal_inputs = activities = None
    if engine == "warehouse" and not any(p.severity == "error" for p in problems):
        from .warehouse import load_warehouse_usage

        usage, usage_problems = load_warehouse_usage(warehouse, accounts, contacts)
        problems.extend(usage_problems)
    elif "usage" in stored_sources:  # never there for the warehouse engine
        usage, usage_problems = load_usage(stored_sources["usage"], accounts, contacts, engine)
        problems.extend(usage_problems)
    if "health_scores" in stored_sources:
        health_scores, score_problems = load_scores(stored_sources["health_scores"], accounts, contacts)
        problems.extend(score_problems)
    if "goal_inputs" in stored_sources:
        goal_inputs, input_problems = load_goal_inputs(stored_sources["goal_inputs"], tables.get("goals"))
        problems.extend(input_problems)
    if "activities" in stored_sources:
        activities, activity_problems = load_activities(stored_sources["activities"], accounts, contacts)
        problems.extend(activity_problems)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        raise DataError(errors)
    files = {name: source.label for name, source in sources.items() if isinstance(source, (Source, StoredSource))}
    said = [pd.Timestamp(s.export_date) for s in sources.values() if getattr(s, "export_date", None)]
    return Dataset(
        folder,
        tables,
        missing,
        usage,
        health_scores,
        goal_inputs,
        activities,
        dropped=_said(sources, "dropped"),
        files=files,
        unlisted=_said(sources, "unlisted"),
        skipped=skipped,
        export_date=min(said) if said else None,  # the earliest a mapping gives: nothing after it is known
    )


def _said(sources: dict, what: str) -> dict:
    """Per table, its source file and what the mapping said of its rows (`dropped` or `unlisted`)."""
    return {
        name: (source.label, list(getattr(source, what)))
        for name, source in sources.items()
        if isinstance(source, Source) and getattr(source, what)
    }


def check_table(table: Table, source: Source) -> tuple[pd.DataFrame | None, list[Problem]]:
    """Type every known column and check the table's own rules (not references)."""
    raw = source.frame
    problems: list[Problem] = []
    absent = [c for c in table.required_columns if c not in raw.columns]
    dates = [c.name for c in table.columns if c.kind == DATE and c.required]
    if dates and not any(d in raw.columns for d in dates):
        return None, [undated(source.label, table.name, dates, list(raw.columns))]
    problems.extend(missing_column(source.label, name, list(raw.columns)) for name in absent)
    if absent:
        return None, problems

    typed = raw.copy()
    for column in table.columns:
        if column.name not in raw.columns:
            continue
        values, column_problems = _typed(source, column, raw[column.name])
        typed[column.name] = values
        problems.extend(column_problems)
    for name in raw.columns:
        if str(name).startswith("component_"):
            values, column_problems = _number(source, str(name), raw[name], required=False)
            typed[name] = values
            problems.extend(column_problems)

    if table.unique:
        key = typed[table.unique]
        duplicated = key.duplicated(keep=False).to_numpy() & key.notna().to_numpy()
        if duplicated.any():
            problems.append(duplicate_ids(source.label, table.unique, *source.rows(duplicated, key)))
    problems.extend(_table_rules(table.name, source, typed))
    return typed, problems


def _typed(source: Source, column, raw: pd.Series) -> tuple[pd.Series, list[Problem]]:
    problems: list[Problem] = []
    if column.kind not in (DATE, NUMBER):
        values = _blank_to_missing(raw.astype("str").str.strip())
    elif column.kind == DATE:
        values, problems = _date(source, column.name, raw)
    else:
        values, problems = _number(source, column.name, raw, column.required, column.minimum, column.maximum)
    if column.required:
        empty = raw.isna().to_numpy()
        if not (pd.api.types.is_numeric_dtype(raw) or pd.api.types.is_datetime64_any_dtype(raw)):
            empty = empty | (raw.astype("str").str.strip() == "").to_numpy()
        if empty.any():
            problems.append(missing_value(source.label, column.name, *source.rows(empty, raw)))
    if column.allowed is not None:
        present = values.notna().to_numpy()
        outside = present & ~values.isin(column.allowed).to_numpy()
        if outside.any():
            problems.append(not_allowed(source.label, column.name, column.allowed, *source.rows(outside, raw)))
    return values, problems


def _blank_to_missing(text: pd.Series) -> pd.Series:
    """Empty cells as missing values; `where` rebuilds an arrow string column, so only when needed."""
    blank = text == ""
    return text.where(~blank) if blank.any() else text


def _date(source: Source, name: str, raw: pd.Series) -> tuple[pd.Series, list[Problem]]:
    if pd.api.types.is_datetime64_any_dtype(raw):
        if getattr(raw.dt, "tz", None) is not None:  # a day is read where it was recorded: local wall time
            raw = raw.dt.tz_localize(None)
        return raw.astype("datetime64[ns]").dt.normalize(), []
    text = _blank_to_missing(raw.astype("str").str.strip())
    values = pd.to_datetime(text, format=source.date_format, errors="coerce")
    bad = (values.isna() & text.notna()).to_numpy()
    problems = []
    if bad.any():
        problems.append(not_a_date(source.label, name, source.date_format, *source.rows(bad, raw)))
    return values.astype("datetime64[ns]").dt.normalize(), problems  # a format with a time: its day


def _number(
    source: Source, name: str, raw: pd.Series, required: bool, minimum=None, maximum=None
) -> tuple[pd.Series, list[Problem]]:
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        values = raw.astype("float64")
        bad = np.zeros(len(raw), dtype=bool)
    else:
        text = _blank_to_missing(raw.astype("str").str.strip())
        values = pd.to_numeric(text, errors="coerce").astype("float64")
        bad = (values.isna() & text.notna()).to_numpy()
    bad = bad | np.isinf(values.to_numpy())
    problems = []
    if bad.any():
        problems.append(not_a_number(source.label, name, *source.rows(bad, raw)))
        values = values.where(~bad)
    low = (values < minimum).to_numpy() if minimum is not None else np.zeros(len(values), bool)
    high = (values > maximum).to_numpy() if maximum is not None else np.zeros(len(values), bool)
    if (low | high).any():
        problems.append(out_of_range(source.label, name, minimum, maximum, *source.rows(low | high, raw)))
    return values, problems


def _table_rules(name: str, source: Source, frame: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []

    def rule(mask, column, message, expected, fix, shown=None):
        mask = np.asarray(mask, dtype=bool)
        if mask.any():
            rows, count = source.rows(mask, frame[shown or column])
            problems.append(Problem(source.label, column, message.format(count=count), expected, fix, rows, count))

    for column in ("arr", "renewal_arr"):
        with np.errstate(over="ignore"):
            overflows = column in frame and name in ("contracts", "referrals") and not np.isfinite(frame[column].sum())
        if overflows:
            rule(
                frame[column].notna().to_numpy() & (frame[column] >= frame[column].max() / 2).to_numpy(),
                column,
                "the values are too large to add up: their sum overflows ({count} rows hold the largest)",
                "annual revenue in plain currency units",
                "check the export for scale errors (cents, exponents)",
            )
    if name == "contracts":
        rule(
            (frame["end_date"] <= frame["start_date"]).to_numpy(),
            "end_date",
            "{count} contracts end on or before their start",
            "end_date after start_date",
            "correct the dates; a contract term must have positive length",
        )
        if "renewal_arr" in frame:
            renewal = frame["renewal_arr"]
            rule(
                ((frame["outcome"] == "churned") & (renewal > 0)).to_numpy(),
                "renewal_arr",
                "{count} churned contracts have a renewal ARR above 0",
                "0 or empty when the outcome is churned",
                "set renewal_arr to 0 for churned contracts, or correct the outcome",
            )
            rule(
                ((frame["outcome"] == "open") & renewal.notna()).to_numpy(),
                "renewal_arr",
                "{count} open contracts already have a renewal ARR",
                "empty while the outcome is open",
                "leave renewal_arr empty until the renewal is decided, or correct the outcome",
            )
            rule(
                ((frame["outcome"] == "renewed") & renewal.isna()).to_numpy(),
                "renewal_arr",
                "{count} renewed contracts have no renewal ARR",
                "the ARR of the next term",
                "fill in the ARR of the term that followed",
                shown="contract_id",
            )
    elif name == "surveys":
        for survey, (low, high) in SURVEY_RANGES.items():
            is_survey = (frame["survey"] == survey).to_numpy()
            score = frame["score"]
            outside = is_survey & ((score < low) | (score > high)).to_numpy()
            if survey == "nps":
                outside |= is_survey & (score.notna() & (score != score.round())).to_numpy()
            kind = "an integer" if survey == "nps" else "a score"
            rule(
                outside,
                "score",
                "{count} " + survey + " scores are out of range",
                f"{kind} from {low} to {high} for {survey}",
                "correct the rows, or rescale the survey's scores in a mapping file",
            )
    elif name == "goals":
        rule(
            (frame["target"] == frame["baseline"]).to_numpy(),
            "target",
            "{count} goals have a target equal to their baseline",
            "a target different from the baseline",
            "set the target the customer agreed to reach",
        )
        rule(
            (frame["target_date"] <= frame["start_date"]).to_numpy(),
            "target_date",
            "{count} goals have a target date on or before their start",
            "target_date after start_date",
            "correct the dates",
        )
    return problems


def _check_references(tables: dict[str, pd.DataFrame], sources: dict) -> list[Problem]:
    problems = []
    for name, frame in tables.items():
        for column, target in TABLES[name].references.items():
            if column not in frame or target not in tables:
                continue
            key = TABLES[target].unique
            values = frame[column]
            orphan = values.notna().to_numpy() & ~_known(values, tables[target][key])
            if orphan.any():
                problems.append(orphans(sources[name].label, column, target, *sources[name].rows(orphan, values)))
    return problems


def _known(values: pd.Series, keys: pd.Series) -> np.ndarray:
    """Which `values` are among `keys`: Arrow's hash lookup, 4x pandas' indexer on 13M health-score rows."""
    column = pa.array(values)  # no copy for Arrow-backed strings
    known = pa.array(keys.dropna().unique())
    if known.type != column.type:
        known = known.cast(column.type)
    return np.asarray(pc.is_in(column, value_set=known), dtype=bool)


def _check_contract_terms(tables: dict[str, pd.DataFrame], sources: dict) -> list[Problem]:
    """A contact must belong to the account it is used for."""
    problems = []
    if "contacts" not in tables:
        return problems
    # Duplicate contact IDs are reported by their own rule; here the first row of each stands.
    owner = tables["contacts"].drop_duplicates("contact_id").set_index("contact_id")["account_id"]
    frame = tables.get("surveys")  # the stored tables check it where they lie
    if frame is not None and "contact_id" in frame:
        has_contact = frame["contact_id"].notna()
        expected = mapped(frame["contact_id"], owner)
        wrong = (has_contact & expected.notna() & (expected != frame["account_id"])).to_numpy()
        if wrong.any():
            problems.append(wrong_owner(sources["surveys"].label, *sources["surveys"].rows(wrong, frame["contact_id"])))
    return problems
