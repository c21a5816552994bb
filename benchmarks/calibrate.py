"""`make calibrate`: are the report's verdicts as honest as they claim? Measured on generated worlds.

For each book shape (one decision per account; several correlated decisions per account, as concurrent
subscriptions that churn together; monthly terms) it generates null worlds, where nothing observable drives
renewal: no signal, no human touch that changes the outcome, no book size that slows the team's answers (each
world has an activities table). On each it computes what the pages state and prints:

- the report-wide false-alarm rate: the share of null worlds in which any page states any finding, with its
  binomial 95% interval (target: at most 5%), and beside it each kind of statement on its own: a scoreboard
  signal predictive or inverse, a lead-time horizon other than the study's judged so, a scorecard proposed,
  a touch effect (a person's after any signal, or automation's) or a book-size slowdown whose interval
  excludes zero, an exploratory view given a verdict;
- coverage per horizon: the share of single-signal 95% intervals (clustered by account, unadjusted) of the
  signals the report judges that cover the true AUC of 0.5 (target: 94% to 96%);
- power: in planted worlds (the default world: the decision maker's sentiment and goal attainment drive
  renewal), at 1,000 accounts, the share in which each planted driver is called predictive at the study's
  horizon.

Prints a table and writes it as JSON to benchmarks/results/ (the runs the README quotes are kept in
benchmarks/measured/). Long: run it outside `make test`.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from workbench import Study
from workbench.generate import World, generate, write
from workbench.judge.capacity import AUTOMATION
from workbench.judge.signals import validity
from workbench.measure import snapshot

from .worlds import in_parallel, keep

SHAPES = {
    "one decision per account": {},
    "3 correlated decisions per account": {"products": 3, "outcome_correlation": 0.8},
    "monthly terms": {"term_months": 1},
}
PLANTED = ("health_decision_maker", "goal_attainment")
FINDINGS = ("predictive", "inverse")
STATEMENTS = ("scoreboard", "lead_time", "scorecard", "touch_effect", "slowdown", "views")
HORIZONS = (30, 60, 90, 180, 270, 365)


def excludes_zero(found: dict | None) -> bool:
    return found is not None and (found["ci_low"] > 0 or found["ci_high"] < 0)


def automation_effects(capacity) -> list:
    """Automation's three intervals (automated, a person after it, the difference) where estimated."""
    found = capacity.automation or {}
    return [found.get(name) for name in AUTOMATION]


def statements(study: Study) -> dict[str, bool]:
    """Per kind of statement, whether some page of this study's report states it as a finding."""
    board = study.scoreboard
    lead = study.lead_time().frame
    capacity = study.capacity()
    views = [study.stakeholder_views().frame] if study.data.has("contacts") else []
    if study.data.usage is not None:
        views.append(study.behaviour().frame)
    return {
        "scoreboard": bool(board["conclusion"].isin(FINDINGS).any()),
        "lead_time": bool(lead.loc[lead["horizon_days"] != study.horizon_days, "conclusion"].isin(FINDINGS).any()),
        "scorecard": bool(study.scorecard().proposed),
        "touch_effect": capacity is not None
        and any(excludes_zero(e) for e in [*capacity.effects.values(), *automation_effects(capacity)]),
        "slowdown": capacity is not None and capacity.slowdown is not None and capacity.slowdown["ci_low"] > 0,
        "views": any(
            view.loc[view.get("exploratory", pd.Series(True, index=view.index)).astype(bool), "conclusion"]
            .isin(FINDINGS)
            .any()
            for view in views
        ),
    }


def coverage(study: Study) -> dict[str, int]:
    """Per horizon: single-signal 95% intervals of the signals the report judges, and those covering 0.5 (a
    signal the scoreboard does not judge, as goal attainment on monthly terms, has no true AUC of 0.5 to cover:
    attainment grows with a goal's age, and a subscription's last decision is its churn)."""
    found = {}
    board = study.scoreboard
    judged = set(board.loc[board["conclusion"] != "not_judged", "signal"])
    measured = dict(
        snapshot.measure_at_horizons(study.data, study._decided, study.as_of, study.window_months, list(HORIZONS))
    )
    for horizon, frame in measured.items():
        single = validity(frame, [s for s in study.family if s in frame and s in judged], family_size=1).dropna(
            subset=["auc_ci_low"]
        )
        found[f"intervals_{horizon}"] = len(single)
        found[f"covering_{horizon}"] = int(((single["auc_ci_low"] <= 0.5) & (single["auc_ci_high"] >= 0.5)).sum())
    return found


def one_world(shape: str, accounts: int, seed: int, null: bool) -> dict:
    """What the report states in one generated world (null: every statement is a false alarm)."""
    knobs = dict(accounts=accounts, seed=seed, **SHAPES[shape])
    world = World.null(book_slowdown=0.0, **knobs) if null else World(**knobs)
    with tempfile.TemporaryDirectory() as folder:
        study = Study.load(write(generate(world), Path(folder), "parquet"), world.as_of)
        row = {"shape": shape, "accounts": accounts, "seed": seed, "null": null, "decisions": len(study.decisions)}
        if null:
            stated = statements(study)
            row.update(stated, anything=any(stated.values()), **coverage(study))
        else:
            conclusions = study.scoreboard.set_index("signal")["conclusion"]
            row.update({f"predictive_{s}": bool(conclusions.get(s) == "predictive") for s in PLANTED})
    return row


def rate(hits: int, worlds: int) -> tuple[float, float, float]:
    low, high = proportion_confint(hits, worlds, method="wilson")
    return hits / worlds, low, high


def summarize(runs: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for (shape, accounts, null), part in runs.groupby(["shape", "accounts", "null"], sort=False):
        row = {
            "shape": shape,
            "accounts": accounts,
            "worlds": len(part),
            "decisions_per_world": part["decisions"].mean(),
        }
        if null:
            row["report_wide"], row["report_wide_ci_low"], row["report_wide_ci_high"] = rate(
                int(part["anything"].sum()), len(part)
            )
            row.update({s: part[s].mean() for s in STATEMENTS})
            for horizon in HORIZONS:
                total = int(part[f"intervals_{horizon}"].sum())
                row[f"coverage_{horizon}"] = part[f"covering_{horizon}"].sum() / total if total else np.nan
        else:
            row.update({f"power_{s}": part[f"predictive_{s}"].mean() for s in PLANTED})
        rows.append(row)
    return pd.DataFrame(rows)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=400, help="accounts per null world")
    parser.add_argument("--worlds", type=int, default=200, help="null worlds per shape")
    parser.add_argument("--planted-accounts", type=int, default=1000)
    parser.add_argument("--planted-worlds", type=int, default=20, help="planted worlds per shape")
    parser.add_argument("--shapes", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    jobs = [(shape, args.accounts, seed, True) for shape in args.shapes for seed in range(args.worlds)]
    jobs += [
        (shape, args.planted_accounts, seed, False) for shape in args.shapes for seed in range(args.planted_worlds)
    ]
    print(f"{len(jobs)} worlds ({args.workers} at a time) ...", file=sys.stderr, flush=True)
    started = time.time()
    found = in_parallel(one_world, jobs, args.workers, every=20, chunksize=4)
    table = summarize(pd.DataFrame(found))
    pd.set_option("display.width", 250)
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    null = table.loc[table["report_wide"].notna()] if "report_wide" in table else table.iloc[:0]
    if len(null):
        covered = null[[f"coverage_{h}" for h in HORIZONS]]
        print(
            f"\nReport-wide false alarms: at most {null['report_wide'].max():.1%} of null worlds in any shape "
            f"(target <= 5%; highest upper 95% bound {null['report_wide_ci_high'].max():.1%}, target <= 8%). "
            f"Coverage of single 95% intervals, any horizon: {covered.min().min():.1%} to {covered.max().max():.1%} "
            "(target 94% to 96%)."
        )
    keep("calibrate", args, started, table.to_dict(orient="records"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
