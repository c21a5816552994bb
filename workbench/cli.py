"""The `workbench` command: generate, validate, study."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
from dataclasses import fields
from datetime import date
from pathlib import Path

import pandas as pd

from .errors import DataError, UsageError
from .inputs.engines import ENGINES
from .inputs.presets import NAMES as PRESET_NAMES

EXIT_DATA, EXIT_FAILED = 2, 1

# papermill validates notebooks with jsonschema, whose optional IRI checker (rfc3987_syntax) compiles
# ~35 grammars on import: a second of every run, for a format no notebook schema uses
# (python-jsonschema/jsonschema#1428). Marked absent, jsonschema simply skips that one format.
sys.modules.setdefault("rfc3987_syntax", None)


def _iso_date(text: str) -> str:
    try:
        value = date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None
    if not 1900 <= value.year <= 2199:
        raise argparse.ArgumentTypeError(f"{text} is outside the years 1900 to 2199")
    return value.isoformat()


def _whole(maximum: int, unit: str):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
        if not 0 < value <= maximum:
            raise argparse.ArgumentTypeError(f"{value} is out of range: from 1 to {maximum:,} {unit}")
        return value

    return parse


_positive = _whole(10_000_000, "")
_months = _whole(240, "months (20 years)")
_days = _whole(3660, "days (10 years)")
_jobs = _whole(64, "notebooks at a time")
NO_CACHE = (
    "check and measure everything again, neither reusing nor keeping the prepared study (by default a study "
    "prepared from the same files, mapping, config and arguments is reused; WORKBENCH_CACHE names its folder)"
)
ENGINE = "where usage is queried: duckdb (this machine), spark, or warehouse (default: the config's, else duckdb)"
JOBS = "notebooks run at a time, each in its own kernel (default: one per core, at most 4; 1 uses least memory)"


def _knob(text: str) -> tuple[str, str]:
    name, _, value = text.partition("=")
    if not value:
        raise argparse.ArgumentTypeError(f"'{text}': write a knob as NAME=VALUE, e.g. nps_effect=1.5")
    return name.strip(), value.strip()


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="workbench", description=__doc__)
    commands = main.add_subparsers(dest="command", required=True)

    generate = commands.add_parser("generate", help="write a synthetic data folder in the contract")
    generate.add_argument("--out", required=True, help="folder to write the tables into")
    generate.add_argument("--accounts", type=_positive, default=1000)
    generate.add_argument("--seed", type=int, default=42)
    generate.add_argument("--as-of", type=_iso_date, default="2026-10-31", help="the last day the world has data for")
    generate.add_argument("--format", choices=["csv", "parquet"], default="csv")
    generate.add_argument(
        "--knob",
        type=_knob,
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="set a planted truth, e.g. --knob nps_effect=1.5 (see workbench.generate.World)",
    )
    generate.add_argument("--null-world", action="store_true", help="start from a world where nothing drives renewal")

    validate = commands.add_parser("validate", help="check a data folder against the contract")
    validate.add_argument("--data", required=True)
    validate.add_argument("--mapping")
    validate.add_argument("--preset", **PRESET)
    validate.add_argument(
        "--as-of", type=_iso_date, help="also count the renewal decisions a study on this date would judge"
    )
    validate.add_argument("--window-months", type=_months, default=12)
    validate.add_argument("--allow-outside-data", action="store_true", help=OUTSIDE)

    mapping = commands.add_parser("map", help="draft a mapping file for an export folder the workbench has not seen")
    mapping.add_argument("--draft", metavar="EXPORT_FOLDER", help="the export's folder of CSV/Parquet files")
    mapping.add_argument(
        "--preset",
        **{
            **PRESET,
            "help": "write the complete mapping of a known export (with --draft: in the shape that folder holds)",
        },
    )
    mapping.add_argument("--out", help="write the draft here (a new file) instead of printing it")

    study = commands.add_parser("study", help="run the study notebooks and write a report folder")
    study.add_argument("--data", required=True)
    study.add_argument("--as-of", required=True, type=_iso_date)
    study.add_argument("--out")
    study.add_argument("--window-months", type=_months, default=12)
    study.add_argument("--horizon-days", type=_days, default=90)
    study.add_argument("--config")
    study.add_argument("--mapping")
    study.add_argument("--preset", **PRESET)
    study.add_argument(
        "--pseudonymize",
        action="store_true",
        help="replace account and contact names with stable aliases in every page and notebook",
    )
    study.add_argument("--allow-outside-data", action="store_true", help=OUTSIDE)
    study.add_argument("--jobs", type=_jobs, help=JOBS)
    study.add_argument("--engine", choices=ENGINES, help=ENGINE)
    study.add_argument("--no-cache", action="store_true", help=NO_CACHE)

    schedule = commands.add_parser("schedule", help="run the study for the latest complete month (for cron)")
    schedule.add_argument("--data", required=True)
    schedule.add_argument(
        "--reports", default="reports", help="the report site's folder; the run goes in <reports>/<as_of>/"
    )
    schedule.add_argument("--today", type=_iso_date, help="pretend today is this date (default: today)")
    for name in ("--config", "--mapping"):
        schedule.add_argument(name)
    schedule.add_argument("--preset", **PRESET)
    schedule.add_argument("--window-months", type=_months, default=12)
    schedule.add_argument("--horizon-days", type=_days, default=90)
    schedule.add_argument("--pseudonymize", action="store_true")
    schedule.add_argument("--allow-outside-data", action="store_true", help=OUTSIDE)
    schedule.add_argument("--jobs", type=_jobs, help=JOBS)
    schedule.add_argument("--engine", choices=ENGINES, help=ENGINE)
    schedule.add_argument("--no-cache", action="store_true", help=NO_CACHE)
    return main


PRESET = {
    "action": "append",
    "default": [],
    "choices": PRESET_NAMES,
    "metavar": "NAME",
    "help": f"the data folder is this system's export (repeat to combine): {', '.join(PRESET_NAMES)}; docs/presets.md",
}
OUTSIDE = "let a mapping file read files outside the data folder (absolute paths, '..')"


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from .publish.runner import Interrupted

    def interrupt(number, frame):
        raise Interrupted(signal.Signals(number).name)

    handle = threading.current_thread() is threading.main_thread()
    previous = signal.signal(signal.SIGTERM, interrupt) if handle else None
    try:
        return _command(args)
    except (KeyboardInterrupt, Interrupted):
        print("workbench: interrupted; nothing was published.", file=sys.stderr)
        return 130
    except Exception as error:  # noqa: BLE001 - a fault is reported in words, never as a traceback
        if os.environ.get("WORKBENCH_DEBUG"):
            raise
        print(
            f"workbench: unexpected error: {type(error).__name__}: {error}\nThis is a fault of the workbench, not "
            f"of your data; nothing was published. Set WORKBENCH_DEBUG=1 to see the traceback and please report it.",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        if handle:
            signal.signal(signal.SIGTERM, previous)


def _command(args) -> int:
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "validate":
            return _validate(args)
        if args.command == "map":
            return _map(args)
        if args.command == "schedule":
            from .publish.runner import latest_complete_month

            args.as_of = latest_complete_month(date.fromisoformat(args.today) if args.today else date.today())
            args.out = str(Path(args.reports) / args.as_of)
        return _study(args)
    except DataError as error:
        print(error, file=sys.stderr)
        print("\nNothing was written. Fix the data (or the mapping file) and run again.", file=sys.stderr)
        return EXIT_DATA
    except UsageError as error:
        print(f"workbench: {error}", file=sys.stderr)
        return EXIT_DATA


def _generate(args) -> int:
    from .generate import World, write_in_chunks

    known = {f.name: f.type for f in fields(World)}
    knobs = {}
    for name, value in args.knob:
        if name not in known or name in ("accounts", "seed", "as_of"):
            raise UsageError(
                f"unknown knob '{name}'; knobs: {', '.join(k for k in known if k not in ('accounts', 'seed', 'as_of'))}"
            )
        try:
            knobs[name] = (
                (value.lower() in ("1", "true", "yes"))
                if known[name] == "bool"
                else value
                if known[name] == "str"
                else (int(value) if known[name] == "int" else float(value))
            )
        except ValueError:
            raise UsageError(f"knob '{name}': '{value}' is not a number") from None
    base = dict(accounts=args.accounts, seed=args.seed, as_of=args.as_of, **knobs)
    try:
        world = World.null(**base) if args.null_world else World(**base)
    except ValueError as error:
        raise UsageError(f"knob: {error}") from None
    out = write_in_chunks(world, args.out, args.format, progress=lambda note: print(note, file=sys.stderr, flush=True))
    print(f"Wrote a synthetic world of {args.accounts:,} accounts (seed {args.seed}) to {out}")
    return 0


def _map(args) -> int:
    from .inputs.draft import draft
    from .inputs.presets import written

    export = Path(args.draft) if args.draft else None
    if export is not None and not export.is_dir():
        raise UsageError(f"--draft {export}: not a folder; give the folder that holds the export's files")
    if export is None and not args.preset:
        raise UsageError("map needs --draft EXPORT_FOLDER (a draft from the files), --preset NAME, or both")
    text = written(args.preset, export) if args.preset else draft(export)
    if not args.out:
        print(text, end="")
        return 0
    out = Path(args.out)
    if out.exists():
        raise UsageError(f"--out {out} exists; the draft never replaces a file: choose a new name")
    out.write_text(text, encoding="utf-8")
    print(
        f"Mapping written to {out}. "
        + ("" if args.preset else "Fill in each TODO, then: ")
        + f"workbench validate --data {export or 'EXPORT'} --mapping {out}",
        file=sys.stderr,
    )
    return 0


def _validate(args) -> int:
    from .inputs.loader import load
    from .judge.quality import profile, warnings

    data = load(args.data, args.mapping, args.allow_outside_data, preset=tuple(args.preset))
    table = profile(data)
    print(f"{'table':15}{'rows':>12}  {'dates':23}  empty cells")
    for row in table.itertuples():
        span = f"{row.first_date:%Y-%m-%d} to {row.last_date:%Y-%m-%d}" if pd.notna(row.first_date) else "–"
        rows = f"{row.rows:,}" if row.rows else "not supplied"
        empty = f"{row.empty_cells:.1%}" if pd.notna(row.empty_cells) else ""
        print(f"{row.table:15}{rows:>12}  {span:23}  {empty}")
    found = warnings(data, args.as_of, args.window_months)
    if args.as_of:
        from .measure.snapshot import decisions

        window = decisions(data["contracts"], args.as_of, args.window_months)
        print(
            f"\nRenewal decisions in the {args.window_months} months to {args.as_of}: {len(window):,} "
            f"({int((window['outcome'] == 'churned').sum()):,} churned)"
        )
    for problem in found:
        print(f"\n{problem}")
    print(
        f"\nThe data meets the contract ({len(found)} warning{'s' if len(found) != 1 else ''}; "
        "warnings do not stop a study)."
    )
    return 0


def _study(args) -> int:
    from .publish.runner import StudyFailed, run_study

    try:
        run_study(
            args.data,
            args.as_of,
            args.out,
            args.window_months,
            args.horizon_days,
            args.config,
            args.mapping,
            args.pseudonymize,
            allow_outside_data=args.allow_outside_data,
            jobs=args.jobs,
            engine=args.engine,
            cache=not args.no_cache,
            preset=",".join(args.preset),
        )
    except StudyFailed as error:
        print(f"workbench study failed: {error}", file=sys.stderr)
        return error.exit_code
    return 0
