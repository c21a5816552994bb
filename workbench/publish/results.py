"""results.json: its layout, declared here once; each notebook records its part and the study merges them.

`LAYOUT` names every top-level key with what it holds; `record` refuses a key it does not name, the
study refuses to publish without the `REQUIRED` ones, and a test checks the layout against the
contract (../shared/contract.md, section 3).
"""

from __future__ import annotations

import json
from pathlib import Path

from ..tables import plain
from .pages import recorded_keys

LAYOUT = {
    "as_of": "the study's date (YYYY-MM-DD)",
    "window_months": "months of decisions judged, ending at as_of",
    "horizon_days": "days before renewal at which signals are measured",
    "decisions": "renewal decisions in the window",
    "churned": "churned decisions",
    "accounts": "distinct accounts behind the decisions",
    "churned_accounts": "distinct accounts with a churned decision",
    "signals": "one row per judged signal: n, accounts, churned, auc with its interval, conclusion, verdict",
    "attainment": "churn and expansion by attainment band, landmarks, the growth curve's projection check",
    "revenue": "GRR, NRR, earned growth rate and the dollar renewal rate, with the last month's figures",
    "lead_time": "each signal judged at longer horizons (null until computed)",
    "scorecard": "the proposed scorecard and its out-of-time test (null where none is proposed)",
    "capacity": "detection lag and the human-touch effect (null without an activities table)",
    "forecast": "next quarter's renewing ARR with its interval and backtest (null with under four decided quarters)",
    "scorecard_test": "the proposed scorecard's out-of-time test, whether or not a score was proposed",
    "renewals_next_quarter": "contracts, ARR and accounts at risk renewing in the next quarter",
    "data_health": "rows, span and empty cells per table, and the data checks' warnings",
    "stakeholders": "per-stakeholder views, hidden risk and decision-maker coverage",
    "run": "when and with what the study ran",
}
# The contract's keys: a run without one of them is not published (the runner's own, then each page's).
REQUIRED = ("as_of", "window_months", "horizon_days", *recorded_keys())


def record(results_dir: str | None, key: str, value) -> None:
    """Keep `value` (a Result, a frame, a dict or a number) under `key` for the study's results.json
    (a no-op when run interactively); `key` must be one of `LAYOUT`."""
    if key not in LAYOUT:
        raise KeyError(f"results.json has no key {key!r}: add it to workbench.publish.results.LAYOUT first")
    if not results_dir:
        return
    value = getattr(value, "frame", value)
    folder = Path(results_dir)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{key}.json").write_text(json.dumps(plain(value), indent=1))


def merge(results_dir: Path, base: dict) -> dict:
    """`base` plus every recorded part, keyed by its file name."""
    merged = dict(base)
    for part in sorted(Path(results_dir).glob("*.json")):
        merged[part.stem] = json.loads(part.read_text())
    return merged
