"""What the calibration benchmarks share: generated worlds studied a few at a time, and their figures kept."""

from __future__ import annotations

import json
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def in_parallel(work, jobs: list[tuple], workers: int, every: int = 10, chunksize: int = 1) -> list:
    """`work(*job)` for every job, `workers` processes at a time, in the jobs' order; progress on stderr every
    `every` worlds."""
    started, found = time.time(), []
    with ProcessPoolExecutor(workers) as pool:
        for done, result in enumerate(pool.map(work, *zip(*jobs), chunksize=chunksize), 1):
            found.append(result)
            if done % every == 0 or done == len(jobs):
                print(f"  {done}/{len(jobs)} worlds, {time.time() - started:.0f} s", file=sys.stderr, flush=True)
    return found


def keep(name: str, arguments, started: float, summary) -> Path:
    """The run's arguments, seconds since `started` and summary as JSON in RESULTS/<name>-<time>.json."""
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"{name}-{datetime.now():%Y%m%d-%H%M%S}.json"
    record = {"arguments": vars(arguments), "seconds": time.time() - started, "summary": summary}
    out.write_text(json.dumps(record, indent=1, default=float))
    print(f"Written to {out}")
    return out
