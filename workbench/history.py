"""Past study runs in a reports folder: their headline figures over time."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd


def runs(reports_dir: str | Path) -> list[dict]:
    """results.json of every finished run below `reports_dir`, oldest first (unreadable ones skipped)."""
    found = []
    for path in Path(reports_dir).glob("*/results.json"):
        if path.parent.name.startswith("."):
            continue
        try:
            results = json.loads(path.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(results, dict) and "as_of" in results:
            found.append({**results, "folder": path.parent.name})
    return sorted(found, key=lambda r: r["as_of"])


def trend(history: list[dict]) -> pd.DataFrame:
    """Long format, one row per run and measure: revenue rates and each signal's AUC with its interval."""
    rows = []
    for run in history:
        revenue = run.get("revenue") or {}
        for key, label in (("grr", "GRR"), ("nrr", "NRR"), ("earned_growth_rate", "Earned growth rate")):
            rows.append({"as_of": run["as_of"], "kind": "revenue", "measure": label, "value": revenue.get(key),
                         "ci_low": None, "ci_high": None})
        for signal in run.get("signals") or []:
            rows.append({"as_of": run["as_of"], "kind": "signal", "measure": signal["signal"], "value": signal.get("auc"),
                         "ci_low": signal.get("auc_ci_low"), "ci_high": signal.get("auc_ci_high")})
    frame = pd.DataFrame(rows, columns=["as_of", "kind", "measure", "value", "ci_low", "ci_high"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.astype({"value": float, "ci_low": float, "ci_high": float})
