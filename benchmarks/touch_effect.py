"""`make calibrate` (second part): is the touch effect right on worlds where CSMs act before the data show the risk?

Each world has 3,000 accounts; a decision maker's health turns red at some monthly reading and CSMs hear of it
`--seen-early` days before (a call, a drop between readings), answer after a delay, and hold routine reviews every
`--cadence` days whatever the risk; goal attainment drives churn as well. A planted world gives a timely answer
`--effect` log-odds of renewal (14 fewer churns per 100 episodes of a red buyer); its null twin gives none.
Over `--seeds` seeds of each it prints, for the effect after a red decision maker (the capacity page's headline):

- planted: the share of seeds whose interval lies below zero (target: at least 80%) and whose estimate is within
  10 points of the true mean change over the episodes judged (target: at least 90%);
- null: the share of seeds whose interval covers zero (target: at least 95%) and how many lie above zero
  (target: at most 1 of 20); and for every signal's effect, how many seeds state one (any direction).

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
from workbench.generate import RED_BELOW, World, generate, write
from workbench.judge.capacity import adjustment

from .worlds import in_parallel, keep

HEADLINE = "decision_maker_red"


def true_change(capacity, truth: pd.DataFrame, treated: str = "touched", untreated: str = "untouched") -> float:
    """The mean change in churn chance a timely answer (of the kind the truth's `p_churn_<treated>` and
    `p_churn_<untreated>` name) makes over the episodes the headline estimate judged."""
    judged, _ = adjustment(capacity.episodes, capacity.detection, HEADLINE, RED_BELOW)
    account = judged["account_id"]
    return float((account.map(truth[f"p_churn_{treated}"]) - account.map(truth[f"p_churn_{untreated}"])).mean())


def one_world(seed: int, effect: float, accounts: int, seen_early: int, cadence: int, dm: float) -> dict:
    world = World(
        accounts=accounts,
        seed=seed,
        touch_effect=effect,
        risk_seen_early_days=seen_early,
        routine_cadence_days=cadence,
        decision_maker_effect=dm,
    )
    tables = generate(world)
    with tempfile.TemporaryDirectory() as folder:
        study = Study.load(write(tables, Path(folder), "parquet"), world.as_of)
        capacity = study.capacity()
        row = {
            "seed": seed,
            "planted": effect != 0,
            "true_change": true_change(capacity, tables["truth"].set_index("account_id")),
        }
        for signal, found in capacity.effects.items():
            if found is not None:
                row.update({f"{signal}_{k}": found[k] for k in ("estimate", "ci_low", "ci_high", "n")})
                row[f"{signal}_placebo_covers"] = (
                    found["placebo"] is None or found["placebo"]["ci_low"] <= 0 <= found["placebo"]["ci_high"]
                )
    return row


def summarize(runs: pd.DataFrame) -> dict:
    planted, null = runs.loc[runs["planted"]], runs.loc[~runs["planted"]]
    low, high, estimate = (f"{HEADLINE}_{k}" for k in ("ci_low", "ci_high", "estimate"))
    signals = sorted({c.removesuffix("_ci_low") for c in runs if c.endswith("_ci_low")})
    return {
        "seeds": int(len(planted)),
        "planted_found": float((planted[high] < 0).mean()),
        "planted_within_10_points": float(((planted[estimate] - planted["true_change"]).abs() <= 0.10).mean()),
        "planted_mean_estimate": float(planted[estimate].mean()),
        "planted_mean_true_change": float(planted["true_change"].mean()),
        "null_covers_zero": float(((null[low] <= 0) & (null[high] >= 0)).mean()),
        "null_above_zero": int((null[low] > 0).sum()),
        "null_mean_estimate": float(null[estimate].mean()),
        "null_stated_by_signal": {
            s: int(((null[f"{s}_ci_low"] > 0) | (null[f"{s}_ci_high"] < 0)).sum()) for s in signals
        },
        "null_placebo_covers": {s: float(null[f"{s}_placebo_covers"].mean()) for s in signals},
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--effect", type=float, default=2.0, help="log-odds of renewal a timely answer adds")
    parser.add_argument("--seen-early", type=int, default=15, help="days CSMs hear of the risk before the data")
    parser.add_argument("--cadence", type=int, default=90, help="days between routine reviews")
    parser.add_argument("--decision-maker", type=float, default=2.5, help="how strongly a red buyer drives churn")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    knobs = (args.accounts, args.seen_early, args.cadence, args.decision_maker)
    jobs = [(seed, effect, *knobs) for effect in (args.effect, 0.0) for seed in range(args.seeds)]
    print(f"{len(jobs)} worlds of {args.accounts:,} accounts ({args.workers} at a time) ...", file=sys.stderr)
    started = time.time()
    runs = in_parallel(one_world, jobs, args.workers)
    summary = summarize(pd.DataFrame(runs))
    print(
        f"Planted ({args.seeds} seeds): found {summary['planted_found']:.0%} (target >= 80%), within 10 points "
        f"{summary['planted_within_10_points']:.0%} (target >= 90%); mean estimate "
        f"{100 * summary['planted_mean_estimate']:+.1f} per 100 against "
        f"{100 * summary['planted_mean_true_change']:+.1f}."
    )
    print(
        f"Null: covers zero {summary['null_covers_zero']:.0%} (target >= 95%), above zero {summary['null_above_zero']} "
        f"of {args.seeds} (target <= 1); mean {100 * summary['null_mean_estimate']:+.1f} per 100; any signal's effect "
        f"stated: {summary['null_stated_by_signal']}; placebo covers zero: {summary['null_placebo_covers']}."
    )
    keep("touch-effect", args, started, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
