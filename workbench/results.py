"""results.json: each notebook records its part; the study merges the parts."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd


def plain(value):
    """JSON-ready: numpy and pandas scalars to Python, NaN and NA to None, frames to records."""
    if isinstance(value, pd.DataFrame):
        return [plain(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def record(results_dir: str | None, key: str, value) -> None:
    """Keep `value` under `key` for the study's results.json (a no-op when run interactively)."""
    if not results_dir:
        return
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(plain(value), indent=1))


def merge(results_dir: Path, base: dict) -> dict:
    """`base` plus every recorded part, keyed by its file name."""
    merged = dict(base)
    for part in sorted(Path(results_dir).glob("*.json")):
        merged[part.stem] = json.loads(part.read_text())
    return merged
