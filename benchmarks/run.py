"""`make bench`: time every stage of a study at growing scale, beside straightforward references.

Prints a table and writes it as JSON to benchmarks/results/. For the in-process stages, peak memory
is this process's high-water mark (resident set) after each stage, so it only grows; the study runs
as `workbench study` in its own process and its peak is that of the study and its kernels together
(their proportional memory, which counts the pages they share once: memory.py).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import resource
import subprocess
import sys
import tempfile
import time
from collections import deque
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import roc_auc_score

from benchmarks.memory import TreePeak, machine_mb
from workbench import Study
from workbench import prepared as kept_studies
from workbench.generate import ACCOUNTS_AT_A_TIME, World, write_in_chunks
from workbench.inputs.loader import load
from workbench.judge.signals import validity
from workbench.measure import snapshot
from workbench.measure.columns import SIGNALS
from workbench.measure.pointintime import days
from workbench.stats.auc import bootstrap_auc

RESULTS = Path(__file__).resolve().parent / "results"
AS_OF = World.as_of  # where the generated worlds end
STUDY = "study end to end (all notebooks)"
EXTRAS = "lead time + behaviour (share of study)"
PAGE_DONE = re.compile(r"^\[\d+/\d+\] (?P<page>\S+) done in (?P<seconds>[\d.]+) s")
# (what, accounts: a size, "largest" in the run or None for any, stage, measured column, limit, unit,
#  whether the limit is a ceiling); the first five from the issue "Fast at both ends", the rest from "Scale"
TARGETS = [
    ("study, 1k accounts", 1_000, STUDY, "seconds", 10.0, "s", True),
    ("study, 100k accounts", 100_000, STUDY, "seconds", 60.0, "s", True),
    ("study peak memory, 100k accounts", 100_000, STUDY, "peak_mb", 4096.0, "MB", True),
    ("study, 1M accounts", 1_000_000, STUDY, "seconds", 600.0, "s", True),
    ("study peak memory, 1M accounts", 1_000_000, STUDY, "peak_mb", 8192.0, "MB", True),
    ("snapshot throughput", "largest", "snapshot: usage window sums", "rows_per_second", 10e6, "rows/s", False),
    ("2,000 bootstrap AUCs on 100k", None, "bootstrap: 2,000 AUCs on 100k", "seconds", 2.0, "s", True),
    ("lead time + behaviour, share of the 100k study", 100_000, EXTRAS, "share", 0.20, "share", True),
]
SPARK_STUDY = "study end to end, engine spark"
IN_PROCESS_ACCOUNTS = 200_000  # above this only the generator and the study (in its own process) are measured
CEILING = 0.85  # of the machine's memory: a study that needs more is stopped and reported, not left to swap or die
SPARK_TARGET = "a study with engine: spark gives the DuckDB run's figures"


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def row(accounts: int, stage: str, seconds: float, peak: float | None = None, note: str = "") -> dict:
    """One line of the table; a reference and its speed-up are added where a stage has one."""
    return {
        "accounts": accounts,
        "stage": stage,
        "seconds": round(seconds, 3),
        "peak_mb": None if peak is None else round(peak),
        "reference_seconds": None,
        "speedup": None,
        "note": note,
    }


@contextmanager
def kept_studies_in(folder: str):
    """Prepared studies kept in `folder` while the block runs (the benchmarks keep none otherwise)."""
    before = os.environ.get(kept_studies.VARIABLE)
    os.environ[kept_studies.VARIABLE] = folder
    try:
        yield
    finally:
        os.environ[kept_studies.VARIABLE] = before if before is not None else "off"


class Stages:
    def __init__(self, accounts: int):
        self.accounts, self.rows = accounts, []

    def time(self, stage: str, work, reference=None, note: str = ""):
        start = time.perf_counter()
        result = work()
        seconds = time.perf_counter() - start
        line = row(self.accounts, stage, seconds, peak_mb(), note)
        if reference is not None:
            line["reference_seconds"] = round(reference(), 3)
            line["speedup"] = round(line["reference_seconds"] / max(seconds, 1e-9), 1)
        self.rows.append(line)
        print(
            f"  {stage:44} {seconds:9.2f} s"
            + (f"   reference {line['reference_seconds']:9.2f} s  x{line['speedup']}" if reference else "")
            + (f"   {note}" if note else ""),
            flush=True,
        )
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


def bench(accounts: int, features: int, work_dir: Path, with_study: bool, with_spark: bool) -> list[dict]:
    print(f"\n{accounts:,} accounts, {features} usage feature(s)", flush=True)
    stages = Stages(accounts)
    folder = work_dir / f"world_{accounts}_{features}"
    world = World(accounts=accounts, seed=1, features=features)
    stages.time("generate and write parquet", lambda: write_in_chunks(world, folder, "parquet"))
    usage_rows = pq.ParquetFile(folder / "usage.parquet").metadata.num_rows
    stages.rows[-1]["note"] = f"{usage_rows:,} usage rows, in chunks of {ACCOUNTS_AT_A_TIME:,} accounts"
    print(f"  {'':44} {usage_rows:,} usage rows", flush=True)
    if accounts > IN_PROCESS_ACCOUNTS:
        print(f"  (the in-process stages need the whole world in this process: skipped above {IN_PROCESS_ACCOUNTS:,})")
        return stages.rows + (
            study(accounts, folder, work_dir / f"report_{accounts}_{features}" / AS_OF) if with_study else []
        )
    data = stages.time("load and validate", lambda: load(folder))
    frame = snapshot.decisions(data["contracts"], AS_OF)

    def usage_window():
        data.usage.window_sums(frame["account_id"], days(frame["observation_date"]), 90)

    stages.time("snapshot: usage window sums", usage_window, reference=lambda: reference_usage_snapshot(folder, frame))
    throughput = usage_rows / max(stages.rows[-1]["seconds"], 1e-9)
    stages.rows[-1]["rows_per_second"] = round(throughput)
    stages.rows[-1]["note"] = f"{throughput / 1e6:.1f}M usage rows/s (DuckDB, {len(frame):,} decisions)"
    print(f"  {'':44} {throughput / 1e6:9.1f} M usage rows per second", flush=True)
    measured = stages.time(
        "snapshot: every signal", lambda: snapshot.measure(data, frame), note=f"{len(frame):,} decisions"
    )
    signals = [s for s in SIGNALS if s in measured]
    stages.time("signal validity (DeLong, 9 signals)", lambda: validity(measured, signals))

    rng = np.random.default_rng(1)
    positive = rng.random(100_000) < 0.85
    score = rng.normal(size=100_000) + 0.5 * positive
    stages.time(
        "bootstrap: 2,000 AUCs on 100k",
        lambda: bootstrap_auc(score, positive, 2000),
        reference=lambda: reference_bootstrap(score, positive),
    )
    prepared = stages.time("Study.load: check, measure every decision", lambda: Study.load(folder, AS_OF))
    stages.time("  lead time: 6 horizons", prepared.lead_time)
    stages.time("  behaviour metrics (DuckDB)", prepared.behaviour)
    stages.time("  capacity: detection, touches, books", prepared.capacity)
    del prepared
    with tempfile.TemporaryDirectory() as kept, kept_studies_in(kept):
        stages.time("Study.load, kept for later loads (cold)", lambda: Study.load(folder, AS_OF))
        warm = stages.time("Study.load of the unchanged folder (warm)", lambda: Study.load(folder, AS_OF))
        stages.time("  its validity()", warm.validity)
        del warm
    if with_study:
        report = work_dir / f"report_{accounts}_{features}" / AS_OF
        stages.rows += study(accounts, folder, report)
        added = sum(r["seconds"] for r in stages.rows if r["stage"].startswith(("  lead time", "  behaviour")))
        whole = next(r["seconds"] for r in stages.rows if r["stage"] == STUDY)
        stages.rows.append(row(accounts, EXTRAS, added, note=f"{added:.1f} s of {whole:.1f} s"))
        stages.rows[-1]["share"] = round(added / whole, 3)
        print(f"  {EXTRAS:44} {added / whole:9.1%}", flush=True)
        if with_spark:
            spark_report = work_dir / f"report_{accounts}_{features}_spark" / AS_OF
            spark = study(accounts, folder, spark_report, ["--engine", "spark"], SPARK_STUDY)[0]
            differing = different_figures(report / "results.json", spark_report / "results.json")
            spark["differing_figures"] = len(differing)
            spark["note"] = f"{len(differing)} figures differ from the DuckDB run's: {differing[:5]}"
            print(f"  {'':44} {spark['note']}", flush=True)
            stages.rows.append(spark)
    return stages.rows


def different_figures(duckdb_results: Path, spark_results: Path) -> list[str]:
    """The paths in results.json whose values differ between two runs (the time each was written aside)."""
    found = []

    def walk(a, b, path):
        if isinstance(a, dict) and isinstance(b, dict):
            for key in sorted(set(a) | set(b)):
                if path + "/" + key != "/run/generated_at":
                    walk(a.get(key), b.get(key), path + "/" + key)
        elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
            for i, (x, y) in enumerate(zip(a, b)):
                walk(x, y, f"{path}[{i}]")
        elif a != b:
            found.append(path)

    walk(json.loads(duckdb_results.read_text()), json.loads(spark_results.read_text()), "")
    return found


def study(accounts: int, folder: Path, out: Path, options: tuple = (), stage: str = STUDY) -> list[dict]:
    """`workbench study` as a user runs it, in its own process, so its memory is its own: the peak is the
    summed proportional memory of the study and its notebook kernels (memory.py), sampled while they run."""
    command = [sys.executable, "-m", "workbench", "study", "--data", str(folder), "--as-of", AS_OF, "--out", str(out)]
    command += list(options)
    start = time.perf_counter()
    pages, tail = [], deque(maxlen=20)
    ceiling = CEILING * machine_mb()
    with (
        subprocess.Popen(command, stderr=subprocess.PIPE, text=True) as process,
        TreePeak(process.pid, ceiling_mb=ceiling) as peak,
    ):
        for line in process.stderr:
            tail.append(line)
            done = PAGE_DONE.match(line)
            if done:
                pages.append((done["page"], float(done["seconds"])))
    seconds = time.perf_counter() - start
    if peak.stopped:
        note = (
            f"stopped after {seconds:.0f} s, when its memory passed {ceiling:,.0f} MB ({CEILING:.0%} of the machine's)"
        )
        print(f"  {stage:44} {note}", flush=True)
        return [{**row(accounts, stage, seconds, peak.proportional_mb, note), "stopped": True}]
    if process.returncode:
        raise SystemExit(f"workbench study failed on {folder}:\n" + "".join(tail))
    rows = [
        row(
            accounts,
            stage,
            seconds,
            peak.proportional_mb,
            f"resident {peak.summed_mb:,.0f} MB summed over the processes (shared pages in each), largest single "
            f"process {peak.single_mb:,.0f} MB"
            if peak.single_mb
            else "",
        )
    ]
    print(f"  {stage:44} {seconds:9.2f} s   peak {rows[0]['peak_mb']} MB (study and kernels, PSS)", flush=True)
    for page, page_seconds in pages:
        html_file = out / f"{page}.html"
        size = f"page {html_file.stat().st_size / 1e6:.2f} MB" if html_file.exists() else ""
        rows.append(row(accounts, f"  notebook {page} (run + HTML)", page_seconds, note=size))
        print(f"  {rows[-1]['stage']:44} {page_seconds:9.2f} s   {size}", flush=True)
    folder_size = sum(f.stat().st_size for f in out.iterdir() if f.is_file()) if out.exists() else 0
    print(f"  {'report folder':44} {folder_size / 1e6:9.2f} MB", flush=True)
    return rows


def verdicts(table: pd.DataFrame) -> pd.DataFrame:
    """Each target measured in this run: met, or missed by how much."""
    found = []
    for what, accounts, stage, column, limit, unit, ceiling in TARGETS:
        rows = table.loc[table["stage"] == stage]
        if accounts is not None:
            rows = rows.loc[rows["accounts"] == (table["accounts"].max() if accounts == "largest" else accounts)]
        if rows.empty or column not in rows or pd.isna(rows[column].iloc[-1]):
            if isinstance(accounts, int):
                found.append(
                    {
                        "target": f"{what} {'<' if ceiling else '>'} {_amount(limit, unit)}",
                        "measured": "-",
                        "verdict": f"not measured: run with --sizes {accounts}",
                    }
                )
            continue
        measured = float(rows[column].iloc[-1])
        if "stopped" in rows and rows["stopped"].fillna(False).astype(bool).iloc[-1]:
            verdict = "MISSED: " + rows["note"].iloc[-1]
            found.append({"target": f"{what} < {_amount(limit, unit)}", "measured": "-", "verdict": verdict})
            continue
        miss = measured / limit - 1 if ceiling else 1 - measured / limit
        at = f" at {rows['accounts'].iloc[-1]:,} accounts" if accounts == "largest" else ""
        found.append(
            {
                "target": f"{what}{at} {'<' if ceiling else '>'} {_amount(limit, unit)}",
                "measured": _amount(measured, unit),
                "verdict": "met" if miss <= 0 else f"MISSED by {miss:.0%}",
            }
        )
    found.append(_spark_verdict(table))
    return pd.DataFrame(found)


def _spark_verdict(table: pd.DataFrame) -> dict:
    rows = table.loc[table["stage"] == SPARK_STUDY]
    if rows.empty:
        return {"target": SPARK_TARGET, "measured": "-", "verdict": "not measured: run with a study and --spark"}
    differing, accounts = int(rows["differing_figures"].iloc[-1]), int(rows["accounts"].iloc[-1])
    return {
        "target": SPARK_TARGET,
        "measured": f"{differing} figures differ at {accounts:,} accounts ({rows['seconds'].iloc[-1]:.0f} s)",
        "verdict": "met" if differing == 0 else "MISSED",
    }


def _amount(value: float, unit: str) -> str:
    if unit == "share":
        return f"{value:.0%}"
    if unit == "rows/s":
        return f"{value / 1e6:.1f}M rows/s"
    return f"{value:,.{1 if value < 100 else 0}f} {unit}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sizes", default="1000,10000,100000", help="accounts per world, comma-separated")
    parser.add_argument("--features", type=int, default=1, help="usage features per contact and month")
    parser.add_argument("--no-study", action="store_true", help="skip the end-to-end study runs")
    parser.add_argument(
        "--spark",
        action="store_true",
        help="also run the smallest size's study with engine spark and compare its figures (needs Java 17)",
    )
    parser.add_argument("--work-dir", default="/tmp/workbench-bench")
    args = parser.parse_args()
    work_dir = Path(args.work_dir)
    rows = []
    sizes = [int(s) for s in args.sizes.split(",")]
    for accounts in sizes:
        rows += bench(accounts, args.features, work_dir, not args.no_study, args.spark and accounts == min(sizes))
    table = pd.DataFrame(rows)
    shown = table.drop(columns=["note", "rows_per_second", "share", "differing_figures"], errors="ignore")
    print("\n" + shown.to_string(index=False))
    targets = verdicts(table)
    if not targets.empty:
        print("\n" + targets.to_string(index=False))
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"bench-{datetime.now():%Y%m%d-%H%M%S}.json"
    path.write_text(
        json.dumps(
            {
                "machine": {
                    "processor": platform.processor() or platform.machine(),
                    "cpus": __import__("os").cpu_count(),
                    "python": platform.python_version(),
                },
                "targets": targets.to_dict("records"),
                "rows": rows,
            },
            indent=1,
            default=str,
        )
    )
    print(f"\nWritten to {path}")


if __name__ == "__main__":
    main()
