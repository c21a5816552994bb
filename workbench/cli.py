"""The `workbench` command: generate, validate, study."""
from __future__ import annotations

import argparse
import sys
from dataclasses import fields
from datetime import date

from .errors import DataError, UsageError

EXIT_DATA, EXIT_FAILED = 2, 1


def _iso_date(text: str) -> str:
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a date written YYYY-MM-DD") from None


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{value} must be above 0")
    return value


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
    generate.add_argument("--knob", type=_knob, action="append", default=[], metavar="NAME=VALUE",
                          help="set a planted truth, e.g. --knob nps_effect=1.5 (see workbench.generate.World)")
    generate.add_argument("--null-world", action="store_true", help="start from a world where nothing drives renewal")

    validate = commands.add_parser("validate", help="check a data folder against the contract")
    validate.add_argument("--data", required=True)
    validate.add_argument("--mapping")

    study = commands.add_parser("study", help="run the study notebooks and write a report folder")
    study.add_argument("--data", required=True)
    study.add_argument("--as-of", required=True, type=_iso_date)
    study.add_argument("--out")
    study.add_argument("--window-months", type=_positive, default=12)
    study.add_argument("--horizon-days", type=_positive, default=90)
    study.add_argument("--config")
    study.add_argument("--mapping")
    return main


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "validate":
            return _validate(args)
        return _study(args)
    except DataError as error:
        print(error, file=sys.stderr)
        print("\nNothing was written. Fix the data (or the mapping file) and run again.", file=sys.stderr)
        return EXIT_DATA
    except UsageError as error:
        print(f"workbench: {error}", file=sys.stderr)
        return EXIT_DATA


def _generate(args) -> int:
    from .generate import World, generate, write

    known = {f.name: f.type for f in fields(World)}
    knobs = {}
    for name, value in args.knob:
        if name not in known or name in ("accounts", "seed", "as_of"):
            raise UsageError(f"unknown knob '{name}'; knobs: {', '.join(k for k in known if k not in ('accounts', 'seed', 'as_of'))}")
        try:
            knobs[name] = (value.lower() in ("1", "true", "yes")) if known[name] == "bool" else (
                int(value) if known[name] == "int" else float(value))
        except ValueError:
            raise UsageError(f"knob '{name}': '{value}' is not a number") from None
    base = dict(accounts=args.accounts, seed=args.seed, as_of=args.as_of, **knobs)
    world = World.null(**base) if args.null_world else World(**base)
    out = write(generate(world), args.out, args.format)
    print(f"Wrote a synthetic world of {args.accounts:,} accounts (seed {args.seed}) to {out}")
    return 0


def _validate(args) -> int:
    from .loader import load

    data = load(args.data, args.mapping)
    for name, frame in data.tables.items():
        print(f"{name:14} {len(frame):>10,} rows")
    for name in data.missing:
        print(f"{name:14} {'not supplied':>10}: the analyses that need it will be skipped")
    print("The data meets the contract.")
    return 0


def _study(args) -> int:
    from .study import StudyFailed, run_study

    try:
        run_study(args.data, args.as_of, args.out, args.window_months, args.horizon_days, args.config, args.mapping)
    except StudyFailed as error:
        print(f"workbench study failed: {error}", file=sys.stderr)
        return EXIT_FAILED
    return 0
