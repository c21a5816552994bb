"""`make calibrate` (fourth part): the renewal forecast's intervals and errors on worlds where the truth is known.

Two cases, `--seeds` worlds each of `--accounts` accounts: the decision maker's health and goals drive churn (the
generator's defaults, `planted`), and nothing observable does (`null`). Each world's study forecasts every
earlier quarter from what was decided before it (the backtest); the newest backtested quarter of each world,
fitted on the most history, is that world's check. It prints:

- the share of worlds whose 90% interval covered the realized quarter (target: 86-94%), and the share over every
  backtested quarter;
- planted: the share of worlds where the forecast's error was smaller than last year's rate's (target: 80%);
- null: the same share (no better than a coin: about half), and the mean Brier scores beside the baseline's.

Writes the figures as JSON to benchmarks/results/ (runs the README quotes are kept in benchmarks/measured/).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from workbench import Study
from workbench.generate import World, generate, write

from .worlds import in_parallel, keep

CASES = ("planted", "null")


def one_world(case: str, seed: int, accounts: int, term_months: int, driver: float, drift: float) -> list[dict]:
    knobs = {"accounts": accounts, "seed": seed, "term_months": term_months, "sentiment_drift": drift}
    world = World.null(**knobs) if case == "null" else World(**knobs, decision_maker_effect=driver)
    with tempfile.TemporaryDirectory() as folder:
        found = Study.load(write(generate(world), Path(folder), "parquet"), world.as_of).forecast()
    if not found.made:
        return [{"case": case, "seed": seed, "made": False}]
    rows = found.backtest.assign(case=case, seed=seed, made=True, newest=False)
    rows.loc[rows["quarter"].idxmax(), "newest"] = True
    return rows.to_dict(orient="records")


def summarize(runs: pd.DataFrame) -> dict:
    made = runs.loc[runs["made"]]
    newest = made.loc[made["newest"].astype(bool)]
    beats = newest["abs_pct_error"] < newest["baseline_abs_pct_error"]
    return {
        "worlds": int(runs.groupby(["case", "seed"]).ngroups),
        "forecast_made": float(runs.groupby(["case", "seed"])["made"].max().mean()),
        "coverage_newest": float(newest["covered"].mean()),
        "coverage_newest_by_case": newest.groupby("case")["covered"].mean().to_dict(),
        "coverage_all_quarters": float(made["covered"].mean()),
        "quarters": int(len(made)),
        "beats_baseline": beats.groupby(newest["case"]).mean().to_dict(),
        "mape": newest.groupby("case")["abs_pct_error"].mean().to_dict(),
        "baseline_mape": newest.groupby("case")["baseline_abs_pct_error"].mean().to_dict(),
        "brier": newest.groupby("case")["brier"].mean().to_dict(),
        "baseline_brier": newest.groupby("case")["baseline_brier"].mean().to_dict(),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=50)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--term-months", type=int, default=12, choices=(1, 3, 12))
    parser.add_argument("--driver", type=float, default=1.3, help="the decision maker's effect in planted worlds")
    parser.add_argument("--drift", type=float, default=-2.0, help="sentiment change per year of first start")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    knobs = (args.accounts, args.term_months, args.driver, args.drift)
    jobs = [(case, seed, *knobs) for case in CASES for seed in range(args.seeds)]
    print(f"{len(jobs)} worlds of {args.accounts:,} accounts ({args.workers} at a time) ...", file=sys.stderr)
    started = time.time()
    runs = pd.DataFrame([row for rows in in_parallel(one_world, jobs, args.workers) for row in rows])
    summary = summarize(runs)
    print(
        f"90% intervals covered the newest backtested quarter in {summary['coverage_newest']:.0%} of worlds (target "
        f"86-94%; {summary['coverage_all_quarters']:.0%} of all {summary['quarters']} quarters). Error below last "
        f"year's rate's: {summary['beats_baseline']} (planted target >= 80%). MAPE {summary['mape']} against "
        f"{summary['baseline_mape']}; Brier {summary['brier']} against {summary['baseline_brier']}."
    )
    keep("forecast", args, started, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
