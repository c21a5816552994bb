"""Past study runs in a reports folder: their headline figures over time."""

from __future__ import annotations

import json
import warnings
from datetime import date
from numbers import Number
from pathlib import Path

import pandas as pd

from .results import plain


def runs(reports_dir: str | Path, log=None) -> list[dict]:
    """results.json of every finished run below `reports_dir`, oldest first. An unreadable or malformed
    one is skipped with a warning: one damaged file must not stop every later study."""
    warn = log or (lambda message: warnings.warn(message, stacklevel=2))
    found = []
    for path in Path(reports_dir).glob("*/results.json"):
        if path.parent.name.startswith("."):
            continue
        try:
            results = json.loads(path.read_text(encoding="utf-8"))
            problem = malformed(results)
        except (OSError, ValueError) as error:
            problem = f"cannot be read ({error})"
        if problem:
            warn(f"Skipping the earlier run {path}: {problem}.")
            continue
        found.append({**results, "folder": path.parent.name})
    return sorted(found, key=lambda r: r["as_of"])


def malformed(results) -> str | None:
    """What keeps an earlier results.json from the trend and the site index, or None."""
    if not isinstance(results, dict):
        return "it is not a JSON object"
    try:
        date.fromisoformat(results.get("as_of"))
    except (TypeError, ValueError):
        return "its as_of is not a date written YYYY-MM-DD"
    for key in ("decisions", "churned"):
        if not isinstance(results.get(key, 0), int):
            return f"its {key} is not a whole number"
    revenue = results.get("revenue")
    if revenue is not None and (
        not isinstance(revenue, dict)
        or not all(
            v is None or isinstance(v, Number) for k, v in revenue.items() if k in ("grr", "nrr", "earned_growth_rate")
        )
    ):
        return "its revenue is not a set of numbers"
    signals = results.get("signals") or []
    if not isinstance(signals, list) or not all(
        isinstance(s, dict)
        and isinstance(s.get("signal"), str)
        and all(s.get(k) is None or isinstance(s.get(k), Number) for k in ("auc", "auc_ci_low", "auc_ci_high"))
        for s in signals
    ):
        return "its signals are not a list of named signals with numeric AUCs"
    return None


def trend(history: list[dict]) -> pd.DataFrame:
    """Long format, one row per run and measure: revenue rates and each signal's AUC with its interval."""
    rows = []
    for run in history:
        revenue = run.get("revenue") or {}
        for key, label in (("grr", "GRR"), ("nrr", "NRR"), ("earned_growth_rate", "Earned growth rate")):
            rows.append(
                {
                    "as_of": run["as_of"],
                    "kind": "revenue",
                    "measure": label,
                    "value": revenue.get(key),
                    "ci_low": None,
                    "ci_high": None,
                }
            )
        for signal in run.get("signals") or []:
            rows.append(
                {
                    "as_of": run["as_of"],
                    "kind": "signal",
                    "measure": signal["signal"],
                    "value": signal.get("auc"),
                    "ci_low": signal.get("auc_ci_low"),
                    "ci_high": signal.get("auc_ci_high"),
                }
            )
    frame = pd.DataFrame(rows, columns=["as_of", "kind", "measure", "value", "ci_low", "ci_high"])
    frame["as_of"] = pd.to_datetime(frame["as_of"])
    return frame.astype({"value": float, "ci_low": float, "ci_high": float})


def trend_to(reports_dir, as_of: str, revenue: dict, scoreboard: pd.DataFrame) -> tuple[int, pd.DataFrame]:
    """The runs in `reports_dir` dated before `as_of`, then this one: how many earlier runs, and their `trend`."""
    past = [run for run in runs(reports_dir) if run["as_of"] < as_of]
    current = {"as_of": as_of, "revenue": revenue, "signals": plain(scoreboard)}
    return len(past), trend([*past, current])
