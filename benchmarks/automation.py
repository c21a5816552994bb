"""`make calibrate` (third part): human or automated, told apart on worlds where the truth is known.

Worlds of 3,000 accounts as in benchmarks/touch_effect.py (CSMs hear of a red buyer early, reviews on a cadence),
where an automated playbook also fires on a `--playbook` share of red buyers within 2 days of the data showing it
and other automated touches are rare (`--bot-days`). Three cases, `--seeds` seeds each: a person's answer works
and the playbook does not (human only), both work alike (equal), neither does (null). Over the headline's
episodes (a red decision maker) it prints the share of seeds in which:

- human only: the automated interval covers zero and human minus automated lies below zero (target: 80%);
- equal: the automated interval lies below zero and the difference covers zero (target: 80%);
- null: all three intervals (automated, a person after automated, the difference) cover zero (target: 95%).

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
from workbench.judge.capacity import AUTOMATION

from .touch_effect import true_change
from .worlds import in_parallel, keep

CASES = {"human only": (2.0, 0.0), "equal": (2.0, 2.0), "null": (0.0, 0.0)}


def covers(found: dict | None) -> bool:
    return found is None or found["ci_low"] <= 0 <= found["ci_high"]


def one_world(case: str, seed: int, accounts: int, playbook: float, bot_days: float) -> dict:
    human, automated = CASES[case]
    world = World(
        accounts=accounts,
        seed=seed,
        touch_effect=human,
        automated_effect=automated,
        playbook_share=playbook,
        bot_touch_days=bot_days,
        risk_seen_early_days=15,
        routine_cadence_days=90,
        decision_maker_effect=2.5,
    )
    tables = generate(world)
    with tempfile.TemporaryDirectory() as folder:
        capacity = Study.load(write(tables, Path(folder), "parquet"), world.as_of).capacity()
    automation = capacity.automation or {}
    row = {"case": case, "seed": seed, "estimated": automation.get("automated_touch_effect") is not None}
    for name in AUTOMATION:
        found = automation.get(name)
        row[f"{name}_covers"] = covers(found)
        row[f"{name}_below"] = found is not None and found["ci_high"] < 0
        row[f"{name}_estimate"] = None if found is None else found["estimate"]
    truth = tables["truth"].set_index("account_id")
    row["true_automated"] = true_change(capacity, truth, "automated", "not_automated")
    row.update({k: v for k, v in automation.get("reach", {}).items() if k != "signal"})
    return row


def summarize(runs: pd.DataFrame) -> dict:
    by = dict(list(runs.groupby("case")))
    human, equal, null = by["human only"], by["equal"], by["null"]
    return {
        "human_only_as_stated": float(
            (human["automated_touch_effect_covers"] & human["human_minus_automated_below"]).mean()
        ),
        "equal_as_stated": float(
            (equal["automated_touch_effect_below"] & equal["human_minus_automated_covers"]).mean()
        ),
        "null_all_cover": float(null[[f"{n}_covers" for n in AUTOMATION]].all(axis=1).mean()),
        "estimated_share": float(runs["estimated"].mean()),
        "mean_estimates": runs.groupby("case")[[f"{n}_estimate" for n in AUTOMATION]].mean().to_dict(orient="index"),
        "mean_true_automated": runs.groupby("case")["true_automated"].mean().to_dict(),
        "reach": runs.groupby("case")[["automated_share", "automated_median_days", "human_share", "human_median_days"]]
        .mean()
        .to_dict(orient="index"),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--accounts", type=int, default=3000)
    parser.add_argument("--playbook", type=float, default=0.6, help="share of red buyers the playbook answers")
    parser.add_argument("--bot-days", type=float, default=365.0, help="mean days between other automated touches")
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    knobs = (args.accounts, args.playbook, args.bot_days)
    jobs = [(case, seed, *knobs) for case in CASES for seed in range(args.seeds)]
    print(f"{len(jobs)} worlds of {args.accounts:,} accounts ({args.workers} at a time) ...", file=sys.stderr)
    started = time.time()
    runs = in_parallel(one_world, jobs, args.workers)
    summary = summarize(pd.DataFrame(runs))
    print(
        f"Human only: as stated in {summary['human_only_as_stated']:.0%} of seeds (target >= 80%); equal: "
        f"{summary['equal_as_stated']:.0%} (target >= 80%); null: all three cover zero in "
        f"{summary['null_all_cover']:.0%} (target >= 95%). Mean estimates: {summary['mean_estimates']}; true "
        f"automated effect: {summary['mean_true_automated']}; reach: {summary['reach']}."
    )
    keep("automation", args, started, summary)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
