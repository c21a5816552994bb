"""`workbench map --draft EXPORT`: a commented first mapping for an export the workbench has never seen.

From a sample of each file it guesses which contract table the file holds (by its name and its columns'
names), how its dates are written (by their values), which columns name another file's keys (a lookup),
and lays out the distinct values of role, stage, outcome, survey-kind and billing-period columns as value
maps to fill in. What it cannot tell it marks `TODO`, so `workbench validate --mapping` then walks the
analyst through what is left.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from . import presets
from .contract import DATE, TABLES

SAMPLE_ROWS = 5000
DATE_FORMATS = ("%Y-%m-%d", "%d-%m-%Y", "%m-%d-%Y", "%d/%m/%Y", "%m/%d/%Y", "%Y/%m/%d", "%d.%m.%Y")
# Names exports use for the contract's columns (normalized: lower case, words joined by _).
SYNONYMS = {
    "account_id": ("customer_id", "company_id", "account", "customer", "org_id", "organization_id", "acct_id"),
    "account_name": ("company", "company_name", "customer_name", "name", "account"),
    "contract_id": ("subscription_id", "opportunity_id", "deal_id", "contract"),
    "start_date": ("start", "started", "started_at", "term_start", "start_at", "period_start", "subscription_start"),
    "end_date": (
        "end",
        "ended",
        "ended_at",
        "cancelled",
        "canceled",
        "cancelled_at",
        "canceled_at",
        "term_end",
        "end_at",
        "period_end",
        "expires",
        "expires_at",
    ),
    "arr": ("annual_revenue", "acv", "arr_usd", "annual_recurring_revenue"),
    "outcome": ("stage", "status", "result"),
    "renewal_arr": ("next_term_arr", "renewed_arr"),
    "churn_reason": ("reason", "reason_code", "loss_reason", "churn_reason_code"),
    "contact_id": ("contact", "person_id", "user_id", "person"),
    "role": ("title", "job_title", "persona", "position"),
    "date": (
        "day",
        "timestamp",
        "created_at",
        "occurred_at",
        "closed",
        "closed_at",
        "submitted",
        "submitted_at",
        "event_date",
        "month",
    ),
    "events": ("count", "event_count", "sessions", "clicks", "usage_count", "quantity"),
    "feature": ("event_name", "module", "feature_name", "event"),
    "score": ("satisfaction", "rating", "csat", "nps", "satisfaction_score", "health", "health_score"),
    "survey": ("survey_type", "type", "kind"),
    "response_id": ("ticket_id", "id", "response", "survey_response_id"),
    "segment": ("tier", "plan_tier", "enterprise", "size"),
    "csm": ("owner", "account_owner", "csm_name"),
    "seats": ("licenses", "quantity_seats", "seat_count"),
}
FILE_HINTS = {
    "accounts": ("account", "customer", "compan", "org"),
    "contracts": ("subscription", "contract", "opportunit", "deal", "renewal"),
    "contacts": ("contact", "people", "person", "user"),
    "usage": ("usage", "event", "activity", "telemetry"),
    "surveys": ("survey", "nps", "csat", "ticket", "feedback"),
    "health_scores": ("health",),
    "goals": ("goal",),
    "referrals": ("referr",),
}
VALUE_TARGETS = {
    "outcome": "renewed | churned | open",
    "role": "decision_maker | champion | end_user | other",
    "survey": "nps | csat | ces",
    "churn_reason": "value | external | unknown",
    "billing_period": "monthly | quarterly | annual | N months",
}
PERIOD_NAMES = ("billing_period", "interval", "billing_interval", "period", "plan_interval", "billing_cycle")


def normal(name) -> str:
    return re.sub(r"[^0-9a-z]+", "_", str(name).strip().lower().lstrip("\ufeff")).strip("_")


@dataclass
class SourceFile:
    path: Path
    frame: pd.DataFrame
    table: str | None = None
    renames: dict[str, str] = field(default_factory=dict)
    date_formats: list[str] = field(default_factory=list)  # the formats the dates parse with, best first

    @property
    def columns(self) -> list[str]:
        return [str(c) for c in self.frame.columns]


def read_sample(path: Path) -> pd.DataFrame | None:
    try:
        if path.suffix == ".parquet":
            return pd.read_parquet(path).head(SAMPLE_ROWS).astype("string")
        return pd.read_csv(
            path, dtype=str, nrows=SAMPLE_ROWS, keep_default_na=False, na_values=[""], encoding="utf-8-sig"
        )
    except (ValueError, OSError, UnicodeDecodeError, pd.errors.ParserError):
        return None


def contract_name(column: str, table: str) -> str | None:
    """The contract column of `table` that an export column most likely is."""
    name = normal(column)
    wanted = [c.name for c in TABLES[table].columns]
    if name in wanted:
        return name
    if name == "id" and TABLES[table].unique:  # a bare id is the key of the table's own rows
        return TABLES[table].unique
    for target in wanted:
        if name in SYNONYMS.get(target, ()):
            return target
    return None


def table_score(source: SourceFile, table: str) -> float:
    names = {contract_name(c, table) for c in source.columns} - {None}
    required = set(TABLES[table].required_columns)
    stem = source.path.stem.lower()
    hinted = any(hint in stem for hint in FILE_HINTS.get(table, ()))
    return 2 * len(names & required) / len(required) + 0.5 * len(names - required) / 6 + (1.5 if hinted else 0)


def date_formats(values: pd.Series) -> list[str]:
    """The formats that parse the most values (at least 90% of them); several when the values cannot tell
    them apart (01-02-2026: day first or month first?)."""
    sample = values.dropna().astype(str).str.strip()
    sample = sample[sample != ""].head(500)
    if sample.empty:
        return []
    scores = {f: pd.to_datetime(sample, format=f, errors="coerce").notna().mean() for f in DATE_FORMATS}
    best = max(scores.values())
    return [f for f, score in scores.items() if score == best] if best >= 0.9 else []


def draft(export: Path) -> str:
    """The commented draft mapping for the export folder: where its files are a known system's export, that
    preset's complete mapping (presets.recognized)."""
    known = presets.recognized(export)
    if known:
        return _recognized(export, known)
    sources = []
    for path in sorted(export.iterdir()):
        if path.suffix in (".csv", ".parquet") and path.is_file():
            frame = read_sample(path)
            if frame is not None:
                sources.append(SourceFile(path, frame))
    snapshots = [s for s in sources if _is_snapshot(s)]
    sources = [s for s in sources if s not in snapshots]
    _assign_tables(sources)
    for source in sources:
        if source.table:
            _columns(source)
    _settle_dates(sources)
    return _write(export, sources, snapshots)


def _recognized(export: Path, known: list[str]) -> str:
    mapped, _ = presets.combined(known, export)
    read = {f for entry in mapped.values() for f in presets.files(entry)}
    others = sorted(
        str(p.relative_to(export))
        for p in export.rglob("*")
        if p.suffix in (".csv", ".parquet") and str(p.relative_to(export)) not in read
    )
    lines = [
        f"# The files are {' + '.join(known)} export{'s' if len(known) > 1 else ''}: this is the complete mapping "
        f"`workbench map {' '.join(f'--preset {n}' for n in known)}` writes.",
    ]
    native = [o for o in others if Path(o).stem in TABLES and Path(o).parent == Path(".")]
    unread = [o for o in others if o not in native]
    if native:
        lines.append(f"# Read as the contract's own tables: {', '.join(native)}")
    if unread:
        lines.append(f"# Not read: {', '.join(unread)} (map them under tables: as docs/mapping.md shows).")
    return "\n".join(lines) + "\n" + presets.written(known, export)


CHURN_FLAGS = ("churn", "churned", "exited", "attrition", "is_churned", "churn_flag", "churn_label", "churn_value")


def _is_snapshot(source: SourceFile) -> bool:
    """One row per customer with a churn flag and no dates: a table read on the export day."""
    flagged = any(normal(c) in CHURN_FLAGS for c in source.columns)
    return flagged and not any(date_formats(source.frame[c]) for c in source.columns)


SNAPSHOT_NOTE = (
    "# {file} looks like a snapshot churn table: one row per customer, a churn flag, no dates. It cannot be",
    "# backtested point-in-time: every column was read on the export day, after the outcome, so a column in it",
    "# may follow from churn rather than warn of it, and nothing says what was known before each renewal. To",
    "# study this book, export the subscriptions or contracts with their start and end (or cancellation) dates,",
    "# and the signals with the date each was measured (usage events, survey answers, health scores).",
)


def _assign_tables(sources: list[SourceFile]) -> None:
    """Each contract table to the file that looks most like it (one file per table)."""
    pairs = sorted(((table_score(s, t), i, t) for i, s in enumerate(sources) for t in TABLES), reverse=True)
    taken = set()
    for score, index, table in pairs:
        if score >= 1.0 and table not in taken and sources[index].table is None:
            sources[index].table = table
            taken.add(table)


def _columns(source: SourceFile) -> None:
    for column in source.columns:
        target = contract_name(column, source.table)
        if target and target not in source.renames.values() and column != target:
            source.renames[column] = target
    dated = [
        c
        for c in source.columns
        if (source.renames.get(c, c) in [col.name for col in TABLES[source.table].columns if col.kind == DATE])
        or "date" in normal(c)
    ]
    for column in dated:
        found = date_formats(source.frame[column])
        if found:
            source.date_formats = found
            break


def _settle_dates(sources: list[SourceFile]) -> None:
    """Where one file's dates cannot tell day from month, the format another file of the export shows plainly."""
    plain = {s.date_formats[0] for s in sources if len(s.date_formats) == 1}
    for source in sources:
        settled = [f for f in source.date_formats if f in plain]
        if len(source.date_formats) > 1 and len(settled) == 1:
            source.date_formats = settled


def _keys(sources: list[SourceFile]) -> dict[str, tuple[SourceFile, str, str]]:
    """Per ID-like column name (*_id, unique in its file): a file keyed by it that also names the account,
    so a row holding such a key can reach its account by a lookup."""
    keys = {}
    for source in sources:
        account = next((c for c in source.columns if contract_name(c, "contracts") == "account_id"), None)
        for column in source.columns:
            name = normal(column)
            values = source.frame[column].dropna()
            if account and name.endswith("_id") and column != account and len(values) and values.is_unique:
                keys.setdefault(name, (source, column, account))
    return keys


def _write(export: Path, sources: list[SourceFile], snapshots: list[SourceFile]) -> str:
    lines = [
        f"# Draft mapping for {export.name}/, written by `workbench map --draft`. Check every line, fill in each",
        "# TODO, then run: workbench validate --data EXPORT --mapping THIS_FILE  (docs/mapping.md: every key)",
    ]
    for snapshot in snapshots:
        lines += [line.format(file=snapshot.path.name) for line in SNAPSHOT_NOTE]
    lines.append("tables:")
    keys = _keys(sources)
    for table in TABLES:
        source = next((s for s in sources if s.table == table), None)
        if source is None:
            continue
        lines += _table_lines(source, keys, sources)
    unused = [s.path.name for s in sources if s.table is None]
    if unused:
        lines.append(
            f"# Not mapped (no contract table looks like them; use them through `lookup:` or ignore): "
            f"{', '.join(unused)}"
        )
    missing = [t for t, table in TABLES.items() if table.required and not any(s.table == t for s in sources)]
    for table in missing:
        lines += [f"  {table}:", f"    file: TODO.csv  # TODO: no file looks like the required {table} table"]
    return "\n".join(lines) + "\n"


def _table_lines(source: SourceFile, keys: dict, sources: list[SourceFile]) -> list[str]:
    table = TABLES[source.table]
    lines = [f"  {source.table}:", f"    file: {source.path.name}"]
    if source.date_formats:
        note = (
            f"  # TODO: the values fit {' and '.join(source.date_formats)} alike; check"
            if len(source.date_formats) > 1
            else ""
        )
        lines.append(f'    date_format: "{source.date_formats[0]}"{note}')
    conditions, notes = [], []
    trials = [
        c for c in source.columns if source.frame[c].astype(str).str.fullmatch(r"(?i)\s*(free\s*)?trial\s*").any()
    ]
    if trials:
        value = source.frame.loc[source.frame[trials[0]].astype(str).str.contains("(?i)trial"), trials[0]].iloc[0]
        conditions.append(f"{_quote(trials[0])}: {{ne: {_quote(value)}}}")
        notes.append("TODO: keep free trials out? (remove that condition to study them)")
    derived = ("end_date", "outcome") if source.table == "contracts" else ()
    for column, target in source.renames.items():
        blank = int(source.frame[column].isna().sum())
        if target in table.required_columns and target not in derived and blank:
            conditions.append(f"{_quote(column)}: {{not_empty: true}}")
            notes.append(f"{blank} of {len(source.frame)} rows sampled have no {column}")
    if conditions:
        lines.append(f"    where: {{{', '.join(conditions)}}}  # {'; '.join(notes)}")
    if source.renames:
        lines.append("    rename:")
        lines += [f"      {_quote(k)}: {v}" for k, v in source.renames.items()]
    present = set(source.renames.values()) | {normal(c) for c in source.columns}
    lookups = []
    for column in source.columns:
        name = normal(column)
        owner = keys.get(name)
        if owner and owner[0] is not source and "account_id" not in present and source.table != "accounts":
            other, key, account = owner
            lookups.append(
                f"      account_id: {{file: {other.path.name}, key: {_quote(key)}, value: "
                f"{_quote(account)}, from: {_quote(source.renames.get(column, column))}}}"
            )
    if lookups:
        lines += ["    lookup:  # these rows name another file's key: reach the account through it"] + lookups[:1]
        present.add("account_id")
    periods = [c for c in source.columns if normal(c) in PERIOD_NAMES]
    value_maps = []
    for column in source.columns:
        target = "billing_period" if column in periods else source.renames.get(column, normal(column))
        if target in VALUE_TARGETS:
            distinct = source.frame[column].dropna().unique()
            if 0 < len(distinct) <= 20:
                value_maps.append(
                    f"      {_quote(source.renames.get(column, column))}:  # TODO: map onto {VALUE_TARGETS[target]}"
                )
                value_maps += [f"        {_quote(v)}: TODO" for v in sorted(map(str, distinct))]
    if value_maps:
        lines += ["    values:"] + value_maps
    if source.table == "contracts" and ("outcome" not in present or "end_date" not in present):
        lines.append("    derive: terms  # the rows are subscriptions: outcomes derived from which term follows which")
        subscription = next((c for c in source.columns if normal(c) in ("subscription_id", "contract_id")), None)
        if subscription:
            lines.append(
                f"    group_by: {_quote(source.renames.get(subscription, subscription))}  # accounts may hold "
                f"several subscriptions at once"
            )
        if periods:
            lines += [
                f"    term_column: {_quote(periods[0])}",
                "    cut: true  # one row per subscription: cut into its billing terms",
            ]
        elif "end_date" not in present:
            lines.append("    term: TODO  # monthly, quarterly, annual or N months: the export has no end date")
        lines.append("    export_date: TODO  # YYYY-MM-DD, the day the export was taken")
    absent = [c for c in table.required_columns if c not in present]
    if "arr" in absent and any(normal(c) == "mrr" for c in source.columns):
        lines.append(
            f"    compute: {{arr: {_quote(next(c for c in source.columns if normal(c) == 'mrr'))} * 12}}  "
            f"# from monthly revenue"
        )
        absent.remove("arr")
    if source.table == "surveys" and "survey" in absent:
        lines.append("    constants: {survey: TODO}  # nps, csat or ces: which survey these scores answer")
        absent.remove("survey")
    if source.table == "contracts" and any(c in absent for c in ("outcome", "end_date")):
        absent = [c for c in absent if c not in ("outcome", "end_date")]  # derived
    for column in absent:
        lines.append(f"    # TODO: no column looks like {column} (required); rename one, compute it or add a constant")
    return lines


YAML_WORDS = {"true", "false", "yes", "no", "on", "off", "null", "y", "n", "~"}


def _quote(value) -> str:
    """A YAML scalar that reads back as this exact text (TRUE, no and 1.5 are quoted)."""
    text = str(value)
    plain = re.fullmatch(r"[A-Za-z_][A-Za-z0-9_ ]*", text) and text.strip() == text and text.lower() not in YAML_WORDS
    return text if plain else '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
