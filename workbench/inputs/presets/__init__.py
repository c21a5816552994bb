"""Presets: complete mappings of the exports CS teams have, one YAML file per system and shape in this folder,
written in the mapping language (docs/mapping.md) with comments that say what each reads (docs/presets.md).

A study names presets (`--preset salesforce --preset pendo`, or `preset:` in a mapping file, whose `tables:`
then override any part of them). Presets combine: each supplies its tables, the first to name a table keeps it.
A table whose files the export does not hold is left out with a note (a CRM export without tasks has no
activities), except accounts and contracts, whose absence is the loader's error; so is a lookup that may find
nothing (`missing: empty` or `keep`) when its file is absent (Salesforce's Contract).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pandas as pd
import yaml

from ..contract import TABLES

FOLDER = Path(__file__).resolve().parent
REQUIRED = ("accounts", "contracts")
# A preset's shapes, the default first: the one whose first file the export holds is used.
SHAPES = {
    "salesforce": ("salesforce", "salesforce_fivetran"),
    "hubspot": ("hubspot",),
    "pendo": ("pendo",),
    "amplitude": ("amplitude",),
    "mixpanel": ("mixpanel",),
    "delighted": ("delighted",),
    "qualtrics": ("qualtrics",),
}
NAMES = tuple(SHAPES)
_TABLE_LINE = re.compile(r"^  ([a-z_]+):\s*$")


@cache  # read once a process: shape, combined and recognized each ask for every preset
def text(shape: str) -> str:
    return (FOLDER / f"{shape}.yml").read_text(encoding="utf-8")


def tables(shape: str) -> dict:
    return yaml.safe_load(text(shape))["tables"]


def files(entry: dict) -> list[str]:
    """The files a table's entry reads: its own and those it looks up."""
    own = entry.get("files") or [entry.get("file")]
    return [*own, *(spec["file"] for spec in (entry.get("lookup") or {}).values())]


def shape(name: str, folder: Path | None = None) -> str:
    """The shape of preset `name` that `folder` holds (its first table's file is there), else the default."""
    for candidate in SHAPES[name]:
        first = next(iter(tables(candidate).values()))
        if folder is not None and (folder / files(first)[0]).exists():
            return candidate
    return SHAPES[name][0]


def combined(names: list[str], folder: Path | None = None) -> tuple[dict, dict]:
    """The tables the presets `names` map, in order (the first to name a table keeps it), and which preset
    each came from."""
    found: dict = {}
    origin: dict = {}
    for name in names:
        for table, entry in tables(shape(name, folder)).items():
            if table not in found:
                found[table], origin[table] = entry, name
    return found, origin


def merged(base: dict, overrides: dict) -> dict:
    """`base` with `overrides` laid over it: a mapping merged key by key, anything else replaced, and a key
    set to null removed."""
    result = dict(base)
    for key, value in overrides.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = merged(result[key], value)
        else:
            result[key] = value
    return result


def present(mapped: dict, origin: dict, folder: Path, overridden: set) -> tuple[dict, list[str]]:
    """The preset tables whose files `folder` holds, and a sentence for each left out. Tables the analyst's
    mapping names are kept as written: a file missing there is an error worth seeing."""
    kept: dict = {}
    notes: list[str] = []
    for table, entry in mapped.items():
        entry = dict(entry)
        lookups = entry.get("lookup") or {}
        optional = [
            c
            for c, spec in lookups.items()
            if spec.get("missing") in ("empty", "keep") and not (folder / spec["file"]).exists()
        ]
        if optional:
            entry["lookup"] = {c: spec for c, spec in lookups.items() if c not in optional}
        if "files" in entry:
            entry["files"] = [f for f in entry["files"] if (folder / f).exists()] or entry["files"]
        absent = [f for f in files(entry) if not (folder / f).exists()]
        if absent and table not in overridden and table not in REQUIRED:
            notes.append(
                f"the {origin[table]} preset reads {table} from {', '.join(files(entry))}; "
                f"{', '.join(absent)} {'is' if len(absent) == 1 else 'are'} not in the export, so {table} "
                "was not read"
            )
        else:
            kept[table] = entry
    return kept, notes


def written(names: list[str], folder: Path | None = None) -> str:
    """A complete, commented mapping file for the presets `names` (`workbench map --preset`), each preset's
    comments and tables as its file has them; loading it gives `combined(names, folder)`."""
    lines = [
        f"# A mapping for an export of {' + '.join(names)}, written by "
        f"`workbench map {' '.join(f'--preset {n}' for n in names)}`.",
        "# Change any key (docs/mapping.md says what each does, docs/presets.md what each preset reads), then:",
        "#   workbench validate --data EXPORT --mapping THIS_FILE",
        "tables:",
    ]
    taken: dict = {}
    for name in names:
        head, blocks = _blocks(text(shape(name, folder)))
        lines += ["", *(f"  {line}" if line else "" for line in head)]
        for table, block in blocks:
            if table in taken:
                lines.append(f"  # {table}: the {taken[table]} preset's is used (listed first)")
                continue
            taken[table] = name
            lines += block
    return "\n".join(lines).rstrip() + "\n"


def _blocks(source: str) -> tuple[list[str], list[tuple[str, list[str]]]]:
    """A preset file's leading comments and its tables, each with the comment lines just above it."""
    head, blocks, pending = [], [], []
    inside = False
    for line in source.splitlines():
        if not inside:
            if line.startswith("tables:"):
                inside = True
            else:
                head.append(line)
            continue
        table = _TABLE_LINE.match(line)
        if table:
            blocks.append((table.group(1), [*pending, line]))
            pending = []
        elif blocks and line.startswith("    "):
            blocks[-1][1].append(line)
        elif line.strip():
            pending.append(line)
    return head, blocks


def recognized(folder: Path) -> list[str]:
    """The presets whose first table's file `folder` holds with the columns the preset needs of it (those it
    filters on, and those it renames to a required column of the contract)."""
    found = []
    for name in NAMES:
        table, entry = next(iter(tables(shape(name, folder)).items()))
        path = folder / files(entry)[0]
        if path.suffix == ".csv" and path.exists():
            header = set(pd.read_csv(path, nrows=0, encoding="utf-8-sig").columns)
            required = set(TABLES[table].required_columns)
            needed = {k for k, v in (entry.get("rename") or {}).items() if v in required} | set(
                entry.get("where") or {}
            )
            if needed <= header:
                found.append(name)
    return found
