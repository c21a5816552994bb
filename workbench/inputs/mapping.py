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

import numpy as np
import pandas as pd
import re2
import yaml

from ..errors import DataError, Problem
from .contract import TABLES
from .expressions import COMPARISONS, ExpressionError, compute, condition
from .files import Origin, Source, read_file, read_table
from .schema import problems
from .terms import TermsError, derive_terms

_TEXT = {"type": ["string", "number", "boolean"]}
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
                "properties": {"patterns": _COLUMN_MAP, "default": _TEXT},
                "additionalProperties": _TEXT,
            },
        },
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
            "additionalProperties": {
                "type": "object",
                "additionalProperties": False,
                "required": ["file", "key", "value", "from"],
                "properties": {
                    "file": {"type": "string", "minLength": 1},
                    "key": {"type": "string", "minLength": 1},
                    "value": {"type": "string", "minLength": 1},
                    "from": {"type": "string", "minLength": 1},
                    "missing": {"enum": ["error", "empty"]},
                },
            },
        },
        "compute": {"type": "object", "additionalProperties": {"type": "string", "minLength": 1}},
        "derive": {"enum": ["terms"]},
        "export_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "a date YYYY-MM-DD"},
        "group_by": {"type": "string", "minLength": 1},
        "term": {"type": "string", "minLength": 1},
        "term_column": {"type": "string", "minLength": 1},
        "cut": {"type": "boolean"},
        "successor_days": {"type": "integer", "minimum": 0, "maximum": 366},
        "outcomes": {"enum": ["use"]},
    },
}
SCHEMA = {
    "type": "object",
    "required": ["tables"],
    "additionalProperties": False,
    "properties": {
        "tables": {"type": "object", "additionalProperties": False, "properties": dict.fromkeys(TABLES, TABLE_SCHEMA)}
    },
}
PART, POSITION = "__workbench_part__", "__workbench_position__"  # where each row came from, carried through
DERIVE_OPTIONS = ("export_date", "group_by", "term", "term_column", "cut", "successor_days", "outcomes")
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def read_sources(
    folder: Path, mapping_path: Path, allow_outside_data: bool = False
) -> dict[str, Source | Problem | None]:
    spec = _read_mapping(mapping_path)
    sources: dict[str, Source | Problem | None] = {}
    for name, table in TABLES.items():
        entry = spec.get(name)
        sources[name] = (
            read_table(folder, table)
            if entry is None
            else _mapped(folder, mapping_path, name, entry, allow_outside_data)
        )
    return sources


def _read_mapping(path: Path) -> dict:
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
    if broken:
        raise DataError(
            [
                Problem(
                    str(path),
                    None,
                    f"the mapping file is not valid: {sentence}",
                    "the keys and value types described in docs/mapping.md",
                    "correct the mapping file",
                )
                for sentence in broken
            ]
        )
    return spec["tables"]


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
    for column, spec in (entry.get("lookup") or {}).items():
        looked_up = _lookup(folder, mapping_path, name, frame, spec, allow_outside_data)
        if isinstance(looked_up, Problem):
            return looked_up
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
            frame[column] = mapped
    for column, (low, high, new_low, new_high) in (entry.get("rescale") or {}).items():
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            frame[column] = (
                (new_low + (values - low) * (new_high - new_low) / (high - low)).round().where(values.notna())
            )
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
        str(entry["export_date"]) if entry.get("export_date") else None,
    )


def _inline(rule) -> str:
    """A rule as the mapping file writes it inline: {ne: Trial}."""
    if isinstance(rule, dict):
        return "{" + ", ".join(f"{k}: {_inline(v)}" for k, v in rule.items()) + "}"
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
            "correct the file name in the mapping file",
        )
    return path


def _lookup(
    folder: Path, mapping_path: Path, name: str, frame: pd.DataFrame, spec: dict, allow_outside_data: bool
) -> pd.Series | Problem:
    """A column looked up by key in another file (usage keyed by subscription, reaching its account). Every
    key must be found unless `missing: empty` says an unmatched one leaves its cell empty (a churn reason
    only churned subscriptions have)."""
    path = _source_path(folder, mapping_path, name, spec["file"], allow_outside_data)
    if isinstance(path, Problem):
        return path
    other = read_file(path)
    if isinstance(other, Problem):
        return other
    table = other.frame
    for column, where in ((spec["key"], path.name), (spec["value"], path.name), (spec["from"], f"the {name} table")):
        if column not in (table if where == path.name else frame):
            return Problem(
                str(mapping_path),
                column,
                f"the lookup names a column '{column}' that {where} does not have",
                f"a column '{column}' in {where}",
                "correct `lookup:` in the mapping file",
            )
    pairs = table[[spec["key"], spec["value"]]].dropna().astype(str).drop_duplicates()
    clash = pairs.loc[pairs[spec["key"]].duplicated(keep=False), spec["key"]].unique()
    if len(clash):
        return Problem(
            str(path),
            spec["key"],
            f"{len(clash)} {spec['key']} values each have several {spec['value']}s",
            f"one {spec['value']} per {spec['key']}",
            "correct the file, or look up by another key",
            tuple(("key", k) for k in clash[:5]),
            len(clash),
        )
    keys = frame[spec["from"]].astype("str").str.strip().where(frame[spec["from"]].notna())
    found = keys.map(pairs.set_index(spec["key"])[spec["value"]])
    unmatched = (keys.notna() & found.isna()).to_numpy()
    if unmatched.any() and spec.get("missing", "error") == "error":
        positions = np.flatnonzero(unmatched)
        return Problem(
            f"{name} (as mapped)",
            spec["from"],
            f"{len(positions)} rows have a {spec['from']} that {path.name} does not list under {spec['key']}",
            f"every {spec['from']} in {path.name}",
            f"add the missing keys to {path.name}, or filter those rows out with `where:`",
            tuple((f"row {p + 1}", str(keys.iloc[p])) for p in positions[:5]),
            len(positions),
        )
    return found


def _map_values(column: pd.Series, value_map: dict) -> pd.Series | str:
    """The column with its values mapped, or what is wrong with a pattern. Patterns run in RE2 (linear
    time: no pattern can hang the load), each once per distinct value."""
    text = column.astype("str").str.strip()
    patterns = value_map.get("patterns") or {}
    exact = {str(k): str(v) for k, v in value_map.items() if k not in ("patterns", "default")}
    mapped = text.map(exact)
    distinct = pd.Series(text.dropna().unique())
    for pattern, target in patterns.items():
        try:
            compiled = re2.compile(str(pattern), _RE2_OPTIONS)
        except re2.error as error:
            reason = (
                error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
            )
            return f"the pattern {str(pattern)!r} cannot be used: {reason}"
        matching = set(distinct[[compiled.search(value) is not None for value in distinct]])
        mapped = mapped.mask(mapped.isna() & text.isin(list(matching)), str(target))
    fallback = value_map.get("default")
    return mapped.fillna(str(fallback)) if fallback is not None else mapped.fillna(text).where(column.notna())
