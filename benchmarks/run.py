"""`make bench`: time every stage of a study at growing scale, beside straightforward references.

Prints a table and writes it as JSON to benchmarks/results/. Peak memory is the process's
high-water mark (resident set) after each stage, so it only grows; the study's kernels are
separate processes and are reported as `peak_children_mb`.
"""
from __future__ import annotations

import argparse
import json
import platform
import resource
import time
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score

from workbench import snapshot
from workbench.auc import bootstrap_auc
from workbench.generate import World, generate, write
from workbench.loader import load
from workbench.pointintime import days
from workbench.signals import validity
from workbench.study import run_study

RESULTS = Path(__file__).resolve().parent / "results"
TARGETS = {"study_100000": 300.0, "study_10000": 60.0, "snapshot_rows_per_second": 10e6, "bootstrap_2000_on_100k": 2.0}


def peak_mb(who=resource.RUSAGE_SELF) -> float:
    return resource.getrusage(who).ru_maxrss / 1024


class Stages:
    def __init__(self, accounts: int):
        self.accounts, self.rows = accounts, []

    def time(self, stage: str, work, reference=None, note: str = ""):
        start = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - start
        row = {"accounts": self.accounts, "stage": stage, "seconds": round(seconds, 3), "peak_mb": round(peak_mb()),
               "reference_seconds": None, "speedup": None, "note": note}
        if reference is not None:
            row["reference_seconds"] = round(reference(), 3)
            row["speedup"] = round(row["reference_seconds"] / max(seconds, 1e-9), 1)
        self.rows.append(row)
        print(f"  {stage:40} {seconds:9.2f} s" + (f"   reference {row['reference_seconds']:9.2f} s  x{row['speedup']}"
                                                    if reference else "") + (f"   {note}" if note else ""), flush=True)
        return result


def reference_usage_snapshot(folder: Path, decisions: pd.DataFrame, sample: int = 500) -> float:
    """Seconds a per-account groupby-apply in pandas would take for all decisions, measured on a sample of
    accounts (only their usage rows are read, so the reference fits in memory at any size) and scaled."""
    chosen = decisions.sample(min(sample, len(decisions)), random_state=0)
    usage = pd.read_parquet(folder / "usage.parquet", filters=[("account_id", "in", list(chosen["account_id"]))])
    usage["date"] = pd.to_datetime(usage["date"])
    by_account = dict(tuple(usage.groupby("account_id")))
    start = time.perf_counter()
    for account, day in zip(chosen["account_id"], chosen["observation_date"]):
        rows = by_account.get(account)
        if rows is not None:
            rows.loc[(rows["date"] <= day) & (rows["date"] > day - pd.Timedelta(days=90)), "events"].sum()
    return (time.perf_counter() - start) * len(decisions) / len(chosen)


def reference_bootstrap(score: np.ndarray, positive: np.ndarray, resamples: int = 2000, measured: int = 40) -> float:
    """Seconds for `resamples` calls of scikit-learn's roc_auc_score on resampled cases (measured on a few)."""
    rng = np.random.default_rng(0)
    start = time.perf_counter()
    for _ in range(measured):
        index = rng.integers(0, len(score), len(score))
        roc_auc_score(positive[index], score[index])
    return (time.perf_counter() - start) * resamples / measured


def bench(accounts: int, features: int, work_dir: Path, with_study: bool) -> list[dict]:
    print(f"\n{accounts:,} accounts, {features} usage feature(s)", flush=True)
    stages = Stages(accounts)
    tables = stages.time("generate", lambda: generate(World(accounts=accounts, seed=1, features=features)))
    usage_rows = len(tables["usage"])
    folder = work_dir / f"world_{accounts}_{features}"
    stages.time("write parquet", lambda: write(tables, folder, "parquet"), note=f"{usage_rows:,} usage rows")
    del tables
    data = stages.time("load and validate", lambda: load(folder))
    frame = snapshot.decisions(data["contracts"], "2026-10-31")

    def usage_window():
        data.usage.window_sums(frame["account_id"], days(frame["observation_date"]), 90)

    stages.time("snapshot: usage window sums", usage_window,
                reference=lambda: reference_usage_snapshot(folder, frame))
    throughput = usage_rows / max(stages.rows[-1]["seconds"], 1e-9)
    stages.rows[-1]["note"] = f"{throughput / 1e6:.1f}M usage rows/s (DuckDB, {len(frame):,} decisions)"
    print(f"  {'':40} {throughput / 1e6:9.1f} M usage rows per second", flush=True)
    measured = stages.time("snapshot: every signal", lambda: snapshot.measure(data, frame),
                           note=f"{len(frame):,} decisions")
    signals = [s for s in snapshot.SIGNALS if s in measured]
    stages.time("signal validity (DeLong, 9 signals)", lambda: validity(measured, signals))

    rng = np.random.default_rng(1)
    positive = rng.random(100_000) < 0.85
    score = rng.normal(size=100_000) + 0.5 * positive
    stages.time("bootstrap: 2,000 AUCs on 100k", lambda: bootstrap_auc(score, positive, 2000),
                reference=lambda: reference_bootstrap(score, positive))
    if with_study:
        marks = []
        out = work_dir / f"report_{accounts}_{features}" / "2026-10-31"
        stages.time("study end to end (all notebooks)", lambda: run_study(
            folder, "2026-10-31", out, log=lambda m: marks.append((time.perf_counter(), m))))
        for (start, message), (end, _) in zip(marks, marks[1:]):
            if message.startswith("["):
                stages.rows.append({"accounts": accounts, "stage": f"  notebook {message.split('] ')[1]} (run + HTML)",
                                    "seconds": round(end - start, 3), "peak_mb": None, "reference_seconds": None,
                                    "speedup": None, "note": ""})
                print(f"  {stages.rows[-1]['stage']:40} {end - start:9.2f} s", flush=True)
        stages.rows[-1 - len([m for m in marks if m[1].startswith('[')])]["peak_children_mb"] = round(
            peak_mb(resource.RUSAGE_CHILDREN))
    return stages.rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="accounts per world, comma-separated")
    parser.add_argument("--features", type=int, default=1, help="usage features per contact and month")
    parser.add_argument("--no-study", action="store_true", help="skip the end-to-end study runs")
    parser.add_argument("--work-dir", default="/tmp/workbench-bench")
    args = parser.parse_args()
    work_dir = Path(args.work_dir)
    rows = []
    for accounts in (int(s) for s in args.sizes.split(",")):
        rows += bench(accounts, args.features, work_dir, not args.no_study)
    table = pd.DataFrame(rows)
    print("\n" + table.drop(columns=["note"]).to_string(index=False))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(json.dumps({"machine": {"processor": platform.processor() or platform.machine(),
                                            "cpus": __import__("os").cpu_count(), "python": platform.python_version()},
                                "targets": TARGETS, "rows": rows}, indent=1, default=str))
    print(f"\nWritten to {path}")


if __name__ == "__main__":
    main()
