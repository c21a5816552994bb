"""Mapping files: load a CRM, billing or CS-platform export as it is, onto the contract's tables.

The language is documented key by key in docs/mapping.md (a test keeps the page complete), checked
against SCHEMA before any file is read, and applied to each table's rows in this order: read the
file(s), keep the rows `where` allows, `rename` columns, `copy` columns, `lookup` columns in other files, `compute`
columns, set `constants`, map `values`, `rescale` scores, and `derive` contract terms.

Usage rows may carry a contact_id: account-level usage is their sum, as the contract says. Tables
the mapping does not name are read from NAME.csv / NAME.parquet as usual.
"""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd
import re2
import yaml

from ..errors import DataError, Problem
from . import presets
from .contract import TABLES
from .expressions import COMPARISONS, ExpressionError, compute, condition
from .files import Origin, Source, read_file, read_table
from .schema import problems
from .terms import TermsError, derive_terms

_TEXT = {"type": ["string", "number", "boolean"]}
_NAME = {"type": "string", "minLength": 1}


def _closed(required: list[str], properties: dict) -> dict:
    """The schema of a set of keys, `required` among them, and no other."""
    return {"type": "object", "additionalProperties": False, "required": required, "properties": properties}


PICKS = ("first", "latest", "nearest")
AGGREGATES = ("count", "sum", "max")
_COLUMN_MAP = {"type": "object", "additionalProperties": _TEXT}
TABLE_SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "file": {"type": "string", "minLength": 1},
        "files": {"type": "array", "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "encoding": {"type": "string", "minLength": 1},
        "date_format": {"type": "string", "minLength": 2},
        "rename": _COLUMN_MAP,
        "copy": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "constants": _COLUMN_MAP,
        "values": {
            "type": "object",
            "additionalProperties": {
                "type": "object",
                "properties": {"patterns": _COLUMN_MAP, "default": _TEXT, "warn_unlisted": {"type": "boolean"}},
                "additionalProperties": _TEXT,
            },
        },
        "pivot": _closed(["name", "value", "total"], {"name": _NAME, "value": _NAME, "total": _TEXT}),
        "rescale": {
            "type": "object",
            "additionalProperties": {"type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4},
        },
        "where": {
            "type": "object",
            "additionalProperties": {
                "oneOf": [
                    {"type": "array", "items": _TEXT},
                    {
                        "type": "object",
                        "additionalProperties": False,
                        "minProperties": 1,
                        "properties": {
                            "in": {"type": "array", "items": _TEXT},
                            "not_in": {"type": "array", "items": _TEXT},
                            "empty": {"type": "boolean"},
                            "not_empty": {"type": "boolean"},
                            "eq": _TEXT,
                            "ne": _TEXT,
                            **{test: {"type": ["number", "string"]} for test in COMPARISONS},
                        },
                    },
                ]
            },
        },
        "lookup": {
            "type": "object",
            "additionalProperties": _closed(
                ["file", "key", "value", "from"],
                {
                    "file": _NAME,
                    "key": _NAME,
                    "value": _NAME,
                    "from": _NAME,
                    "missing": {"enum": ["error", "empty", "keep"]},
                    "pick": {"enum": list(PICKS)},
                    "how": {"enum": list(AGGREGATES)},
                    "on_date": _closed(
                        ["from", "key"],
                        {
                            "from": _NAME,
                            "key": _NAME,
                            "within_days": {"type": "integer", "minimum": 0},
                            "date_format": {"type": "string", "minLength": 2},
                        },
                    ),
                },
            ),
        },
        "dedupe": {"oneOf": [{"enum": ["exact"]}, _closed(["key"], {"key": _NAME, "latest": _NAME})]},
        "extract": {
            "type": "object",
            "additionalProperties": _closed(["from", "pattern"], {"from": _NAME, "pattern": _NAME}),
        },
        "timezone": _NAME,
        "compute": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "derive": {"enum": ["terms"]},
        "export_date": {
            "oneOf": [
                {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "a date YYYY-MM-DD"},
                _closed(["latest"], {"latest": _NAME}),
            ]
        },
        "group_by": {"type": "string", "minLength": 1},
        "term": {"type": "string", "minLength": 1},
        "term_column": {"type": "string", "minLength": 1},
        "cut": {"type": "boolean"},
        "successor_days": {"type": "integer", "minimum": 0, "maximum": 366},
        "outcomes": {"enum": ["use"]},
    },
}
_PRESET = {"enum": list(presets.NAMES)}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "preset": {"oneOf": [_PRESET, {"type": "array", "minItems": 1, "items": _PRESET}]},
        "tables": {"type": "object", "additionalProperties": False, "properties": dict.fromkeys(TABLES, TABLE_SCHEMA)},
    },
}
VALUE_OPTIONS = ("patterns", "default", "warn_unlisted")  # keys of a `values` map that are not values
PART, POSITION = "__workbench_part__", "__workbench_position__"  # where each row came from, carried through
DERIVE_OPTIONS = ("export_date", "group_by", "term", "term_column", "cut", "successor_days", "outcomes")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def read_sources(
    folder: Path, mapping_path: Path | None, allow_outside_data: bool = False, preset: tuple[str, ...] = ()
) -> tuple[dict[str, Source | Problem | None], list[str]]:
    """Each table's rows as the mapping file and the presets make them (the file's `tables:` laid over the
    presets it and `preset` name), and a sentence for each preset table the export does not hold."""
    named, spec = _read_mapping(mapping_path) if mapping_path is not None else ([], {})
    chosen = list(dict.fromkeys([*preset, *named]))
    notes: list[str] = []
    if chosen:
        mapped, origin = presets.combined(chosen, folder)
        mapped = {table: presets.merged(mapped.get(table, {}), spec.get(table) or {}) for table in {**mapped, **spec}}
        spec, notes = presets.present(mapped, origin, folder, set(spec))
        mapping_path = mapping_path or Path(f"the {' + '.join(chosen)} preset")
        broken = problems({"tables": spec}, SCHEMA)
        if broken:  # an override that made a preset's table wrong
            raise DataError([_invalid(mapping_path, sentence) for sentence in broken])
    sources: dict[str, Source | Problem | None] = {}
    for name, table in TABLES.items():
        entry = spec.get(name)
        sources[name] = (
            read_table(folder, table)
            if entry is None
            else _mapped(folder, mapping_path, name, entry, allow_outside_data)
        )
    return sources, notes


def _invalid(path: Path, sentence: str) -> Problem:
    return Problem(
        str(path),
        None,
        f"the mapping file is not valid: {sentence}",
        "the keys and value types described in docs/mapping.md",
        "correct the mapping file",
    )


def _read_mapping(path: Path) -> tuple[list[str], dict]:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except OSError as error:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    f"the mapping file could not be read ({error.strerror})",
                    "a readable YAML file",
                    "check the --mapping path",
                )
            ]
        ) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    f"the mapping file is not valid YAML: {error}",
                    "YAML as in data/mapping_example.yml",
                    "correct the YAML syntax",
                )
            ]
        ) from None
    left = _todos(spec)
    if left:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    f"{where} is still TODO",
                    "a value in place of each TODO the draft left",
                    "fill it in (the comment beside it says what goes there; docs/mapping.md has every key)",
                )
                for where in left
            ]
        )
    broken = problems(spec, SCHEMA)
    if not broken and "tables" not in spec and "preset" not in spec:
        broken = ["it needs `tables:`, `preset:` or both"]
    if broken:
        raise DataError([_invalid(path, sentence) for sentence in broken])
    named = spec.get("preset") or []
    return ([named] if isinstance(named, str) else list(named)), spec.get("tables") or {}


def _todos(value, where: str = "") -> list[str]:
    """Where a drafted mapping still says TODO, as dotted paths."""
    if isinstance(value, dict):
        return [found for key, item in value.items() for found in _todos(item, f"{where}.{key}" if where else str(key))]
    if isinstance(value, list):
        return [found for i, item in enumerate(value) for found in _todos(item, f"{where}[{i}]")]
    return [where] if isinstance(value, str) and value.strip().upper().startswith("TODO") else []


def _mapped(folder: Path, mapping_path: Path, name: str, entry: dict, allow_outside_data: bool) -> Source | Problem:
    files = entry.get("files") or [entry.get("file", f"{name}.csv")]
    date_format = entry.get("date_format", "%Y-%m-%d")
    parts = []
    for file in files:
        path = _source_path(folder, mapping_path, name, file, allow_outside_data)
        if isinstance(path, Problem):
            return path
        part = read_file(path, date_format, entry.get("encoding", "utf-8-sig"))
        if isinstance(part, Problem):
            return part
        parts.append(part)
    frame = pd.concat(
        [p.frame.assign(**{PART: i, POSITION: np.arange(len(p.frame))}) for i, p in enumerate(parts)], ignore_index=True
    )
    dropped = []
    if "dedupe" in entry:
        deduped = _dedupe(frame, entry["dedupe"], date_format, parts[0].label)
        if isinstance(deduped, Problem):
            return deduped
        if len(deduped) < len(frame):
            dropped.append((f"dedupe: {_inline(entry['dedupe'])}", len(frame) - len(deduped)))
        frame = deduped.reset_index(drop=True)
    for column, rule in (entry.get("where") or {}).items():
        if column not in frame:
            return Problem(
                parts[0].label,
                str(column),
                "the mapping filters on a column the file does not have",
                f"a column '{column}'",
                "correct `where:` in the mapping file",
            )
        try:
            kept = condition(frame[column], rule, date_format)
            if (~kept).any():
                dropped.append((f"where: {{{column}: {_inline(rule)}}}", int((~kept).sum())))
            frame = frame.loc[kept].reset_index(drop=True)
        except ExpressionError as error:
            return Problem(
                str(mapping_path),
                str(column),
                f"tables.{name}.where.{column}: {error}",
                "a number or a date written YYYY-MM-DD",
                "correct the condition in the mapping file",
            )
    frame = frame.rename(columns={str(k): str(v) for k, v in (entry.get("rename") or {}).items()})
    for column, source in (entry.get("copy") or {}).items():
        if source not in frame:
            return Problem(
                parts[0].label,
                str(source),
                f"tables.{name}.copy.{column}: the file has no column to copy (after `rename`)",
                f"one of: {', '.join(c for c in frame.columns if c not in (PART, POSITION))}",
                "correct `copy:` in the mapping file",
            )
        frame[str(column)] = frame[source]
    for column, spec in (entry.get("extract") or {}).items():
        extracted = _extract(frame, spec, f"tables.{name}.extract.{column}", str(mapping_path))
        if isinstance(extracted, Problem):
            return extracted
        frame[str(column)] = extracted
    for column, spec in (entry.get("lookup") or {}).items():
        looked_up = _lookup(folder, mapping_path, name, frame, spec, allow_outside_data, date_format)
        if isinstance(looked_up, Problem):
            return looked_up
        if spec.get("missing") == "keep" and column in frame:  # no match: the cell as it was
            looked_up = looked_up.where(looked_up.notna(), frame[column])
        frame[column] = looked_up
    for column, expression in (entry.get("compute") or {}).items():
        try:
            frame[column] = compute(frame, expression)
        except ExpressionError as error:
            return Problem(
                str(mapping_path),
                column,
                f"tables.{name}.compute.{column}: {error}",
                "arithmetic over columns, e.g. mrr * 12",
                "correct the expression in the mapping file",
            )
    for column, value in (entry.get("constants") or {}).items():
        frame[column] = str(value)
    unlisted_values: list[tuple[str, str, int, str]] = []
    for column, value_map in (entry.get("values") or {}).items():
        if column in frame:
            mapped = _map_values(frame[column], value_map)
            if isinstance(mapped, str):
                return Problem(
                    str(mapping_path),
                    column,
                    mapped,
                    "a regular expression without look-around or "
                    "back-references (RE2 syntax, which runs in linear time)",
                    f"rewrite the pattern under tables.{name}.values.{column}.patterns",
                )
            mapped, defaulted = mapped
            if value_map.get("warn_unlisted"):
                counts = frame[column].astype("str").str.strip()[defaulted].value_counts()
                became = str(value_map["default"])
                unlisted_values.extend((column, value, int(n), became) for value, n in counts.items())
            frame[column] = mapped
    for column, (low, high, new_low, new_high) in (entry.get("rescale") or {}).items():
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            frame[column] = (
                (new_low + (values - low) * (new_high - new_low) / (high - low)).round().where(values.notna())
            )
    if "pivot" in entry:
        pivoted = _pivoted(frame, entry["pivot"], f"tables.{name}.pivot", parts[0].label)
        if isinstance(pivoted, Problem):
            return pivoted
        frame = pivoted
    if "timezone" in entry:
        zoned = _local_dates(frame, name, entry["timezone"], date_format, str(mapping_path))
        if isinstance(zoned, Problem):
            return zoned
        frame, date_format = zoned, "%Y-%m-%d"
    if entry.get("derive") == "terms":
        try:
            frame, empty = derive_terms(
                frame,
                date_format,
                entry.get("export_date"),
                entry.get("group_by", "account_id"),
                entry.get("term"),
                entry.get("term_column"),
                entry.get("cut", False),
                entry.get("successor_days", 31),
                entry.get("outcomes"),
            )
        except TermsError as error:
            return Problem(
                str(mapping_path),
                None,
                f"tables.{name}: {error}",
                "subscription rows with a key, a start and an ARR (and an end or a billing period)",
                "correct the mapping (docs/mapping.md)",
            )
        date_format = "%Y-%m-%d"
        if empty:
            dropped.append(
                ("derive: terms with cut: true (a subscription that ends the day it starts has no term)", empty)
            )
    elif any(key in entry for key in DERIVE_OPTIONS):
        return Problem(
            str(mapping_path),
            None,
            f"tables.{name}: {', '.join(k for k in DERIVE_OPTIONS if k in entry)} only apply with `derive: terms`",
            "`derive: terms` beside them",
            "add it, or remove them",
        )
    label = parts[0].label if len(parts) == 1 else " + ".join(p.label for p in parts)
    renamed = {str(v): str(k) for k, v in (entry.get("rename") or {}).items()}
    origin = Origin(parts, frame.pop(PART).to_numpy(), frame.pop(POSITION).to_numpy(), renamed)
    return Source(
        label,
        frame.reset_index(drop=True),
        parts[0].row_word,
        parts[0].row_offset,
        date_format,
        origin,
        tuple(dropped),
        str(entry["export_date"]) if isinstance(entry.get("export_date"), str) else None,
        tuple(unlisted_values),
    )


def _pivoted(frame: pd.DataFrame, spec: dict, where: str, label: str) -> pd.DataFrame | Problem:
    """One row per measure (a CS platform's scorecard history) made one row per account, person and date: the
    `total` measure's value as `score`, every other measure's as `component_<measure>`."""
    for column in (spec["name"], spec["value"]):
        if column not in frame:
            return Problem(
                label,
                column,
                f"{where}: the rows have no column '{column}' (after `rename`)",
                f"one of: {', '.join(c for c in frame.columns if c not in (PART, POSITION))}",
                "correct `pivot:` in the mapping file",
            )
    measure = frame[spec["name"]].astype("str").str.strip()
    slug = "component_" + measure.str.lower().str.replace(r"[^a-z0-9]+", "_", regex=True).str.strip("_")
    frame = frame.assign(_measure=np.where(measure == str(spec["total"]).strip(), "score", slug))
    keys = [c for c in ("account_id", "contact_id", "date") if c in frame]  # columns of one measure drop out
    grouped = frame.groupby(keys, dropna=False, sort=False)
    wide = frame.groupby([*keys, "_measure"], dropna=False, sort=False)[spec["value"]].first().unstack("_measure")
    origin = grouped[[PART, POSITION]].first()  # each row points at its first measure in the export
    return wide.join(origin).reset_index().rename_axis(columns=None)


def _inline(rule) -> str:
    """A rule as the mapping file writes it inline: {ne: Trial}."""
    if isinstance(rule, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in rule.items()) + "}"
    if isinstance(rule, list):
        return "[" + ", ".join(_inline(v) for v in rule) + "]"
    return str(rule).lower() if isinstance(rule, bool) else str(rule)


def _source_path(folder: Path, mapping_path: Path, name: str, file: str, allow_outside_data: bool) -> Path | Problem:
    """The path of a file the mapping names, confined to the data folder unless the user allows otherwise."""
    path = folder / file
    if not allow_outside_data and not path.resolve().is_relative_to(folder.resolve()):
        return Problem(
            str(mapping_path),
            None,
            f"the file '{file}' named for '{name}' lies outside the data folder {folder}",
            "a file inside the data folder (no absolute path, no '..')",
            "copy the file into the data folder, or pass --allow-outside-data if you mean it",
        )
    if not path.exists():
        return Problem(
            str(path),
            None,
            f"the file named for '{name}' in {mapping_path.name} does not exist",
            "an existing file in the data folder",
            "put the file in the data folder, or correct its name in the mapping file "
            "(the files each preset reads: docs/presets.md)",
        )
    return path


def _lookup(
    folder: Path,
    mapping_path: Path,
    name: str,
    frame: pd.DataFrame,
    spec: dict,
    allow_outside_data: bool,
    date_format: str,
) -> pd.Series | Problem:
    """A column looked up by key in another file (usage keyed by subscription, reaching its account). Every
    key must be found unless `missing: empty` says an unmatched one leaves its cell empty (a churn reason
    only churned subscriptions have). A key with several rows in the file needs `pick` (one of them) or
    `how` (all of them, counted, summed or the largest); `on_date` compares a date of each row with one of
    the file's."""
    path = _source_path(folder, mapping_path, name, spec["file"], allow_outside_data)
    if isinstance(path, Problem):
        return path
    other = read_file(path)
    if isinstance(other, Problem):
        return other
    table = other.frame
    on = spec.get("on_date")
    needed = [(spec["key"], path.name), (spec["value"], path.name), (spec["from"], f"the {name} table")]
    if on:
        needed += [(on["key"], path.name), (on["from"], f"the {name} table")]
    for column, where in needed:
        if column not in (table if where == path.name else frame):
            return Problem(
                str(mapping_path),
                column,
                f"the lookup names a column '{column}' that {where} does not have",
                f"a column '{column}' in {where}",
                "correct `lookup:` in the mapping file",
            )
    misuse = _lookup_misuse(spec)
    if misuse:
        return Problem(
            str(mapping_path),
            spec["value"],
            misuse,
            "pick or how, as docs/mapping.md shows",
            "correct `lookup:` in the mapping file",
        )
    keys = _text(frame[spec["from"]])
    if not (spec.get("pick") or spec.get("how") or on):
        found = _one_per_key(table, spec, path)
        if isinstance(found, Problem):
            return found
        found = keys.map(found)
    else:
        found = _matched(frame, table, keys, spec, date_format, path, name)
        if isinstance(found, Problem):
            return found
        if spec.get("how"):
            return found
    unmatched = (keys.notna() & found.isna()).to_numpy()
    if unmatched.any() and spec.get("missing", "error") == "error":
        positions = np.flatnonzero(unmatched)
        return Problem(
            f"{name} (as mapped)",
            spec["from"],
            f"{len(positions)} rows have a {spec['from']} that {path.name} does not list under {spec['key']}"
            + (" within the dates on_date allows" if on else ""),
            f"every {spec['from']} in {path.name}",
            f"add the missing keys to {path.name}, filter those rows out with `where:`, or set `missing: empty`",
            tuple((f"row {p + 1}", str(keys.iloc[p])) for p in positions[:5]),
            len(positions),
        )
    return found


def _lookup_misuse(spec: dict) -> str | None:
    if spec.get("pick") and spec.get("how"):
        return "a lookup takes `pick` (one match) or `how` (all of them), not both"
    if spec.get("pick") in ("latest", "nearest") and not spec.get("on_date"):
        return f"`pick: {spec['pick']}` compares dates: it needs `on_date` (this table's date and the file's)"
    if spec.get("how") and spec.get("missing"):
        return "`missing` does not apply with `how` (no match counts 0; a sum or maximum of none is empty)"
    return None


def _one_per_key(table: pd.DataFrame, spec: dict, path: Path) -> pd.Series | Problem:
    pairs = table[[spec["key"], spec["value"]]].dropna().astype(str).drop_duplicates()
    clash = pairs.loc[pairs[spec["key"]].duplicated(keep=False), spec["key"]].unique()
    if len(clash):
        return Problem(
            str(path),
            spec["key"],
            f"{len(clash)} {spec['key']} values each have several {spec['value']}s",
            f"one {spec['value']} per {spec['key']}, or `pick:` / `how:` to say which or how many",
            "add `pick: first`, `pick: latest` or `pick: nearest` with `on_date:`, or `how: count` (docs/mapping.md)",
            tuple(("key", k) for k in clash[:5]),
            len(clash),
        )
    return pairs.set_index(spec["key"])[spec["value"]]


def _matched(frame, table, keys: pd.Series, spec: dict, date_format: str, path: Path, name: str):
    """Each row's match in `table` as `pick` chooses it, or its matches as `how` sums them up; with
    `on_date`, only matches within `within_days` of the row's date count, and `latest` takes the latest
    dated on or before it. A Problem names the dates that could not be read."""
    on = spec.get("on_date") or {}
    matches = pd.DataFrame(
        {
            "key": _text(table[spec["key"]]),
            "value": table[spec["value"]],
            "order": np.arange(len(table)),
        }
    ).dropna(subset=["key"])
    rows = pd.DataFrame({"key": keys, "row": np.arange(len(frame))}).dropna(subset=["key"])
    if on:
        theirs = _dated(table[on["key"]], on.get("date_format", date_format), str(path))
        ours = _dated(frame[on["from"]], date_format, f"{name} (as mapped)")
        for dates in (theirs, ours):
            if isinstance(dates, Problem):
                return dates
        matches["date"], rows["date"] = theirs.reindex(matches.index), ours.to_numpy()[rows["row"]]
    paired = rows.merge(matches, on="key", suffixes=("", "_match"))
    if on:
        apart = (paired["date_match"] - paired["date"]).dt.days
        keep = paired["date_match"].notna() & paired["date"].notna()
        if "within_days" in on:
            keep &= apart.abs() <= on["within_days"]
        if spec.get("pick") == "latest":
            keep &= apart <= 0
        paired = paired.loc[keep].assign(apart=apart.abs())
    how = spec.get("how")
    if how == "count":
        return paired.groupby("row").size().reindex(np.arange(len(frame)), fill_value=0).astype(float)
    if how:
        numbers = pd.to_numeric(paired["value"], errors="coerce")
        return numbers.groupby(paired["row"]).agg(how).reindex(np.arange(len(frame)))
    order = {"first": ["order"], "latest": ["date_match", "order"], "nearest": ["apart", "order"]}
    ascending = {"first": [True], "latest": [False, True], "nearest": [True, True]}
    pick = spec.get("pick", "first")
    chosen = paired.sort_values(order[pick], ascending=ascending[pick], kind="stable").drop_duplicates("row")
    return chosen.set_index("row")["value"].reindex(np.arange(len(frame)))


def _text(column: pd.Series) -> pd.Series:
    """The cells as stripped text, missing where they are."""
    return column.astype("str").str.strip().where(column.notna())


def _dated(column: pd.Series, date_format: str, where: str) -> pd.Series | Problem:
    """A lookup's `on_date` column read with its format, or the Problem naming it."""
    dates = _dates(column, date_format)
    if isinstance(dates, str):
        return Problem(
            where,
            str(column.name),
            f"lookup on_date: {dates}",
            f"dates written {date_format}",
            "set date_format (on_date.date_format for the file's dates) in the mapping file",
        )
    return dates


def _dates(column: pd.Series, date_format: str) -> pd.Series | str:
    text = _text(column)
    dates = pd.to_datetime(text, format=date_format, errors="coerce")
    bad = text.notna() & dates.isna()
    if bad.any():
        return f"{int(bad.sum())} cells are not dates written {date_format} (first: {text[bad].iloc[0]!r})"
    return dates


def _dedupe(frame: pd.DataFrame, spec, date_format: str, label: str) -> pd.DataFrame | Problem:
    """`frame` without rows repeated exactly (`exact`), or one row per `key`: the first, or the one with
    the `latest` date."""
    columns = [c for c in frame.columns if c not in (PART, POSITION)]
    if spec == "exact":
        return frame.loc[~frame.duplicated(subset=columns)]
    for column in (spec["key"], spec.get("latest")):
        if column is not None and column not in frame:
            return Problem(
                label,
                column,
                "`dedupe` names a column the file does not have (it names the export's own columns)",
                f"one of: {', '.join(map(str, columns))}",
                "correct `dedupe:` in the mapping file",
            )
    if "latest" not in spec:
        return frame.loc[~frame.duplicated(subset=[spec["key"]])]
    dates = _dates(frame[spec["latest"]], date_format)
    if isinstance(dates, str):
        return Problem(
            label, spec["latest"], dates, f"dates written {date_format}", "set date_format, or dedupe by another column"
        )
    latest = dates.groupby(frame[spec["key"]], dropna=False).transform("max")
    chosen = frame.loc[(dates == latest) | latest.isna()]
    return chosen.loc[~chosen.duplicated(subset=[spec["key"]], keep="last")]


def _extract(frame: pd.DataFrame, spec: dict, where: str, mapping_path: str) -> pd.Series | Problem:
    """The first group of `pattern` (or the whole match when it has none) in each cell of `from`; empty
    where it does not match. RE2: linear time, once per distinct value."""
    if spec["from"] not in frame:
        return Problem(
            mapping_path,
            spec["from"],
            f"{where}: the table has no column '{spec['from']}' (after `rename`)",
            f"one of: {', '.join(str(c) for c in frame.columns if c not in (PART, POSITION))}",
            "correct `extract:` in the mapping file",
        )
    try:
        compiled = re2.compile(spec["pattern"], _RE2_OPTIONS)
    except re2.error as error:
        return Problem(
            mapping_path,
            spec["from"],
            f"{where}: the pattern {spec['pattern']!r} cannot be used: {_re2_reason(error)}",
            "a regular expression without look-around or back-references (RE2 syntax)",
            "rewrite the pattern",
        )
    text = frame[spec["from"]].astype("str").where(frame[spec["from"]].notna())
    distinct = text.dropna().unique()
    group = 1 if compiled.groups else 0
    found = {value: (match.group(group) if (match := compiled.search(value)) else None) for value in distinct}
    return text.map(found)


def _local_dates(frame: pd.DataFrame, name: str, zone: str, date_format: str, mapping_path: str):
    """The table's date columns as calendar dates in `zone`: each cell a timestamp, read with `date_format`
    where it has a time (its own offset, or UTC without one), else as ISO 8601. A cell that is no timestamp
    is left as written, for the contract's check to quote."""
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return Problem(
            mapping_path,
            None,
            f"tables.{name}.timezone: '{zone}' is not a time zone",
            "an IANA time zone name, such as Europe/Berlin, America/New_York or UTC",
            "correct `timezone:` in the mapping file",
        )
    timed = any(code in date_format for code in ("%H", "%z", "%I"))
    frame = frame.copy()
    for column in (c.name for c in TABLES[name].columns if c.kind == "date" and c.name in frame):
        text = _text(frame[column])
        stamps = pd.to_datetime(text, format=date_format if timed else "ISO8601", errors="coerce", utc=True)
        local = stamps.dt.tz_convert(zone).dt.strftime("%Y-%m-%d")
        frame[column] = local.where(stamps.notna(), text)
    return frame


def _map_values(column: pd.Series, value_map: dict) -> tuple[pd.Series, pd.Series] | str:
    """The column with its values mapped, and which non-empty cells only `default` mapped (what `warn_unlisted`
    warns of); or what is wrong with a pattern. Patterns run in RE2 (linear time: no pattern can hang the load),
    each once per distinct value."""
    text = column.astype("str").str.strip()
    patterns = value_map.get("patterns") or {}
    exact = {str(k): str(v) for k, v in value_map.items() if k not in VALUE_OPTIONS}
    mapped = text.map(exact)
    distinct = pd.Series(text.dropna().unique())
    for pattern, target in patterns.items():
        try:
            compiled = re2.compile(str(pattern), _RE2_OPTIONS)
        except re2.error as error:
            return f"the pattern {str(pattern)!r} cannot be used: {_re2_reason(error)}"
        matching = set(distinct[[compiled.search(value) is not None for value in distinct]])
        mapped = mapped.mask(mapped.isna() & text.isin(list(matching)), str(target))
    fallback = value_map.get("default")
    if fallback is None:
        return mapped.fillna(text).where(column.notna()), pd.Series(False, index=column.index)
    return mapped.fillna(str(fallback)), mapped.isna() & column.notna() & (text != "")


def _re2_reason(error) -> str:
    return error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else str(error)
