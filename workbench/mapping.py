"""Mapping files: load a CRM or CS-platform export as it is, onto the contract's tables.

A mapping is YAML with one entry per contract table::

    tables:
      contacts:
        file: crm_people.csv          # or files: [a.csv, b.csv], concatenated
        date_format: "%d-%m-%Y"
        rename: {Contact ID: contact_id, Company: account_id, Title: role}
        values:
          role:                        # exact values, or regular expressions under `patterns`
            patterns: {"(?i)chief|vp|head of": decision_maker, "(?i)admin|owner": champion}
            default: end_user
        constants: {survey: nps}
        rescale: {score: [1, 5, 0, 10]}   # from [low, high] onto [low, high], where the analyst says so
        where: {survey_type: [Relationship NPS]}   # keep only rows with these values
      contracts:
        file: subscriptions.csv
        derive: terms                  # rows are subscription terms: see `terms_from_subscriptions`
        export_date: "2026-11-01"     # a term ending after this is still open

Usage rows may carry a contact_id: account-level usage is their sum, as the contract says. Tables
the mapping does not name are read from NAME.csv / NAME.parquet as usual.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import re2
import yaml

from .contract import TABLES
from .errors import DataError, Problem
from .loader import _read, _Source, read_file
from .schema import problems

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
        "constants": _COLUMN_MAP,
        "values": {"type": "object", "additionalProperties": {
            "type": "object", "properties": {"patterns": _COLUMN_MAP, "default": _TEXT},
            "additionalProperties": _TEXT}},
        "rescale": {"type": "object", "additionalProperties": {
            "type": "array", "items": {"type": "number"}, "minItems": 4, "maxItems": 4}},
        "where": {"type": "object", "additionalProperties": {"type": "array", "items": _TEXT}},
        "derive": {"enum": ["terms"]},
        "export_date": {"type": "string", "pattern": r"^\d{4}-\d{2}-\d{2}$", "description": "a date YYYY-MM-DD"},
    },
}
SCHEMA = {"type": "object", "required": ["tables"], "additionalProperties": False,
          "properties": {"tables": {"type": "object", "additionalProperties": False,
                                    "properties": {name: TABLE_SCHEMA for name in TABLES}}}}
_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False


def read_sources(folder: Path, mapping_path: Path, allow_outside_data: bool = False
                 ) -> dict[str, _Source | Problem | None]:
    spec = _read_mapping(mapping_path)
    sources: dict[str, _Source | Problem | None] = {}
    for name, table in TABLES.items():
        entry = spec.get(name)
        sources[name] = (_read(folder, table) if entry is None
                         else _mapped(folder, mapping_path, name, entry, allow_outside_data))
    return sources


def _read_mapping(path: Path) -> dict:
    try:
        spec = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except OSError as error:
        raise DataError([Problem(str(path), None, f"the mapping file could not be read ({error.strerror})",
                                 "a readable YAML file", "check the --mapping path")]) from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise DataError([Problem(str(path), None, f"the mapping file is not valid YAML: {error}",
                                 "YAML as in data/mapping_example.yml", "correct the YAML syntax")]) from None
    broken = problems(spec, SCHEMA)
    if broken:
        raise DataError([Problem(str(path), None, f"the mapping file is not valid: {sentence}",
                                 "the keys and value types described in data/mapping_example.yml",
                                 "correct the mapping file") for sentence in broken])
    return spec["tables"]


def _mapped(folder: Path, mapping_path: Path, name: str, entry: dict, allow_outside_data: bool
            ) -> _Source | Problem:
    files = entry.get("files") or [entry.get("file", f"{name}.csv")]
    date_format = entry.get("date_format", "%Y-%m-%d")
    parts = []
    for file in files:
        path = folder / file
        if not allow_outside_data and not path.resolve().is_relative_to(folder.resolve()):
            return Problem(str(mapping_path), None, f"the file '{file}' named for '{name}' lies outside the data "
                           f"folder {folder}", "a file inside the data folder (no absolute path, no '..')",
                           "copy the file into the data folder, or pass --allow-outside-data if you mean it")
        if not path.exists():
            return Problem(str(path), None, f"the file named for '{name}' in {mapping_path.name} does not exist",
                           "an existing file in the data folder", "correct the file name in the mapping file")
        part = read_file(path, date_format, entry.get("encoding", "utf-8-sig"))
        if isinstance(part, Problem):
            return part
        parts.append(part)
    frame = pd.concat([p.frame for p in parts], ignore_index=True)
    for column, allowed in (entry.get("where") or {}).items():
        if column not in frame:
            return Problem(parts[0].label, str(column), "the mapping filters on a column the file does not have",
                           f"a column '{column}'", "correct `where:` in the mapping file")
        frame = frame.loc[frame[column].astype("str").isin([str(v) for v in allowed])].reset_index(drop=True)
    frame = frame.rename(columns={str(k): str(v) for k, v in (entry.get("rename") or {}).items()})
    for column, value in (entry.get("constants") or {}).items():
        frame[column] = str(value)
    for column, value_map in (entry.get("values") or {}).items():
        if column in frame:
            mapped = _map_values(frame[column], value_map)
            if isinstance(mapped, str):
                return Problem(str(mapping_path), column, mapped, "a regular expression without look-around or "
                               "back-references (RE2 syntax, which runs in linear time)",
                               f"rewrite the pattern under tables.{name}.values.{column}.patterns")
            frame[column] = mapped
    for column, (low, high, new_low, new_high) in (entry.get("rescale") or {}).items():
        if column in frame:
            values = pd.to_numeric(frame[column], errors="coerce")
            frame[column] = (new_low + (values - low) * (new_high - new_low) / (high - low)).round().where(values.notna())
    if entry.get("derive") == "terms":
        frame = terms_from_subscriptions(frame, date_format, entry.get("export_date"))
        date_format = "%Y-%m-%d"
    label = parts[0].label if len(parts) == 1 else " + ".join(p.label for p in parts)
    # With several files, row numbers count through the concatenation; say so in the label.
    return _Source(label, frame, parts[0].row_word if len(parts) == 1 else "row", parts[0].row_offset
                   if len(parts) == 1 else 1, date_format)


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
            reason = error.args[0].decode(errors="replace") if error.args and isinstance(error.args[0], bytes) else error
            return f"the pattern {str(pattern)!r} cannot be used: {reason}"
        matching = set(distinct[[compiled.search(value) is not None for value in distinct]])
        mapped = mapped.mask(mapped.isna() & text.isin(list(matching)), str(target))
    fallback = value_map.get("default")
    return mapped.fillna(str(fallback)) if fallback is not None else mapped.fillna(text).where(column.notna())


def terms_from_subscriptions(rows: pd.DataFrame, date_format: str, export_date=None) -> pd.DataFrame:
    """Contracts from subscription rows (account_id, start_date, end_date, arr): a term followed by another
    starting within 31 days of its end was renewed, with the next term's ARR as renewal_arr; a term
    without a successor churned when it ended by the export date, and is open otherwise."""
    start = pd.to_datetime(rows["start_date"], format=date_format, errors="coerce")
    end = pd.to_datetime(rows["end_date"], format=date_format, errors="coerce")
    terms = rows.assign(_start=start, _end=end).sort_values(["account_id", "_start"], kind="stable")
    following = terms.groupby("account_id", sort=False)
    next_start, next_arr = following["_start"].shift(-1), following["arr"].shift(-1)
    renewed = next_start.notna() & ((next_start - terms["_end"]).dt.days.abs() <= 31)
    cutoff = pd.Timestamp(export_date) if export_date else max(terms["_end"].max(), terms["_start"].max())
    ended = terms["_end"] <= cutoff
    terms["outcome"] = np.select([renewed, ended], ["renewed", "churned"], "open")
    terms["renewal_arr"] = next_arr.where(renewed, other="0").where(renewed | ended)
    if "contract_id" not in terms:
        terms["contract_id"] = terms["account_id"].astype("str") + ":" + terms["_start"].dt.strftime("%Y-%m-%d")
    terms["start_date"], terms["end_date"] = terms["_start"].dt.strftime("%Y-%m-%d"), terms["_end"].dt.strftime("%Y-%m-%d")
    return terms.drop(columns=["_start", "_end"]).sort_index()
