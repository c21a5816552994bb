"""`make calibrate`: are the report's verdicts as honest as they claim? Measured on generated worlds.

For each book shape (one decision per account; several correlated decisions per account, as concurrent
subscriptions that churn together; monthly terms) and size, it generates null worlds (nothing observable
drives renewal) and planted worlds (the default: the decision maker's sentiment and goal attainment
drive it), runs the study's preparation and scoreboard on each, and prints:

- the report-wide false-alarm rate: the share of null worlds in which the report states any finding
  (a signal of its family called predictive or inverse), with its binomial 95% interval; the target is
  at most 5%;
- coverage: the share of single-signal 95% intervals (clustered by account, unadjusted) that cover the
  true AUC of 0.5 in null worlds, for the signals the report judges (a withheld one states no interval);
  the target is 95% within 2 points;
- power: the share of planted worlds in which each planted driver is called predictive.

Prints a table and writes it as JSON to benchmarks/results/. Long: run it outside `make test`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.signals import validity

RESULTS = Path(__file__).resolve().parent / "results"
SHAPES = {
    "one decision per account": {},
    "3 correlated decisions per account": {"products": 3, "outcome_correlation": 0.8},
    "monthly terms": {"term_months": 1},
}
PLANTED = ("health_decision_maker", "goal_attainment")
FINDINGS = ("predictive", "inverse")


def one_world(shape: str, accounts: int, seed: int, null: bool) -> dict:
    """The scoreboard's findings in one generated world, and its single-signal intervals' coverage of 0.5."""
    knobs = dict(accounts=accounts, seed=seed, **SHAPES[shape])
    world = World.null(**knobs) if null else World(**knobs)
    with tempfile.TemporaryDirectory() as folder:
        study = Study.load(write(generate(world), Path(folder), "parquet"), world.as_of)
    board = study.scoreboard
    stated = board.loc[board["auc_ci_low"].notna(), "signal"]  # the intervals the report states
    single = validity(study.decisions, list(stated), family_size=1)
    judged = single.dropna(subset=["auc_ci_low"])
    return {
        "shape": shape,
        "accounts": accounts,
        "seed": seed,
        "null": null,
        "decisions": len(study.decisions),
        "finding": bool(board["conclusion"].isin(FINDINGS).any()),
        "intervals": len(judged),
        "covering": int(((judged["auc_ci_low"] <= 0.5) & (judged["auc_ci_high"] >= 0.5)).sum()),
        **{f"predictive_{s}": bool(board.set_index("signal")["conclusion"].get(s) == "predictive") for s in PLANTED},
    }


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (shape, accounts), part in runs.groupby(["shape", "accounts"], sort=False):
        null, planted = part.loc[part["null"]], part.loc[~part["null"]]
        row = {"shape": shape, "accounts": accounts, "decisions_per_world": part["decisions"].mean()}
        if len(null):
            alarms = int(null["finding"].sum())
            low, high = proportion_confint(alarms, len(null), method="wilson")
            covered, total = int(null["covering"].sum()), int(null["intervals"].sum())
            row.update(
                null_worlds=len(null),
                false_alarm_rate=alarms / len(null),
                false_alarm_ci_low=low,
                false_alarm_ci_high=high,
                coverage=covered / total if total else np.nan,
                intervals=total,
            )
        if len(planted):
            row["planted_worlds"] = len(planted)
            for signal in PLANTED:
                row[f"power_{signal}"] = planted[f"predictive_{signal}"].mean()
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[200, 1000, 10_000])
    parser.add_argument("--worlds", type=int, default=100, help="null and planted worlds per shape and size")
    parser.add_argument("--worlds-large", type=int, default=20, help="worlds per shape at sizes of 10,000 and more")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    jobs = [
        (shape, size, seed, null)
        for size in args.sizes
        for shape in args.shapes
        for seed in range(args.worlds if size < 10_000 else args.worlds_large)
        for null in (True, False)
    ]
    print(f"{len(jobs)} worlds ({args.workers} at a time) ...", file=sys.stderr, flush=True)
    started, done, found = time.time(), 0, []
    with ProcessPoolExecutor(args.workers) as pool:
        for result in pool.map(one_world, *zip(*jobs), chunksize=4):
            found.append(result)
            done += 1
            if done % 20 == 0 or done == len(jobs):
                print(f"  {done}/{len(jobs)} worlds, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    table = summarize(pd.DataFrame(found))
    pd.set_option("display.width", 200)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    worst = table["false_alarm_ci_high"].max() if "false_alarm_ci_high" in table else np.nan
    print(
        f"\nReport-wide false alarms: at most {table['false_alarm_rate'].max():.1%} of null worlds in any shape "
        f"(target <= 5%; highest upper 95% bound {worst:.1%}). Coverage of single 95% intervals: "
        f"{table['coverage'].min():.1%} to {table['coverage'].max():.1%} (target 93% to 97%)."
    )
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"calibrate-{datetime.now():%Y%m%d-%H%M%S}.json"
    out.write_text(
        json.dumps(
            {"arguments": vars(args), "seconds": time.time() - started, "summary": table.to_dict(orient="records")},
            indent=1,
            default=float,
        )
    )
    print(f"Written to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
