"""The summary's first screen, for a CS leader: the month's figures as tiles (each with its change since the
previous run and a sparkline over the earlier runs), what predicts renewal here in words and colours, and the
largest renewals at risk to act on. Plain HTML and inline SVG: nothing to load, nothing fetched."""

from __future__ import annotations

import html
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..tables import money, percent

WORDS = {  # a scoreboard conclusion as a leader reads it, and its colour (never the colour alone)
    "predictive": ("predicts renewal here", "#15803d"),
    "inverse": ("runs against renewal here (higher, more churn)", "#b91c1c"),
    "ruled_out": ("ruled out", "#4b5563"),
    "inconclusive": ("not enough data yet", "#a16207"),
    "not_judged": ("not judged", "#4b5563"),
}
STYLE = """<style>
.wb-tiles {display: flex; flex-wrap: wrap; gap: 0.6em; margin: 0.4em 0 0.8em;}
.wb-tile {border: 1px solid #e5e7eb; border-radius: 6px; padding: 0.5em 0.8em; min-width: 9.5em; flex: 1 1 9.5em;}
.wb-tile .wb-label {font-size: 0.85em; color: #374151;}
.wb-tile .wb-value {font-size: 1.6em; font-weight: 600; color: #111827;}
.wb-tile .wb-change {font-size: 0.8em; color: #374151;}
.wb-verdicts {list-style: none; padding: 0; margin: 0.3em 0 0.8em;}
.wb-verdicts li {margin: 0.2em 0;}
.wb-chip {display: inline-block; border-radius: 4px; padding: 0 0.45em; color: #fff; font-size: 0.85em;}
.wb-small {font-size: 0.8em; color: #4b5563;}
@media print {.wb-tile, .wb-table, .plotly-graph-div {break-inside: avoid;} .modebar {display: none !important;}}
</style>"""


@dataclass
class Tile:
    label: str
    value: str
    change: str = ""
    series: list[float] = field(default_factory=list)


def _points(value, digits: int = 1) -> str:
    return f"{100 * value:+.{digits}f} pts"


def tiles(
    revenue: dict, due: pd.DataFrame, earlier: list[dict], has_referrals: bool, forecast: dict | None = None
) -> list[Tile]:
    """The month's figures: GRR, NRR, earned growth, logo churn, ARR renewing next quarter with the share at
    risk, and the renewal forecast (results.json `forecast`) with its interval; each with its change against the
    latest of the `earlier` runs (results.json) and their series."""
    previous = earlier[-1] if earlier else None
    since = f" since {previous['as_of']}" if previous else ""

    def rate(label: str, key: str, shown: bool = True) -> Tile:
        now = revenue.get(key) if shown else None
        past = [(run.get("revenue") or {}).get(key) for run in earlier]
        before = past[-1] if past else None
        change = (
            f"{_points(now - before)}{since}"
            if now is not None and before is not None
            else ("first run" if not earlier and now is not None else "")
        )
        return Tile(label, percent(now, 1), change, [*past, now])

    renewing = float(due["arr"].sum()) if len(due) else 0.0
    at_risk = float(due.loc[due["at_risk"], "arr"].sum()) if "at_risk" in due else None
    past_renewing = [(run.get("renewals_next_quarter") or {}).get("arr") for run in earlier]
    share = f"{at_risk / renewing:.0%} at risk" if at_risk is not None and renewing else "risk not flagged"
    return [
        rate("Gross revenue retention", "grr"),
        rate("Net revenue retention", "nrr"),
        rate("Earned growth rate", "earned_growth_rate", has_referrals)
        if has_referrals
        else Tile("Earned growth rate", "–", "needs a referrals table"),
        rate("Logo churn", "logo_churn"),
        Tile("ARR renewing next quarter", money(renewing, compact=True), share, [*past_renewing, renewing]),
        _forecast_tile(forecast, earlier),
    ]


def _forecast_tile(forecast: dict | None, earlier: list[dict]) -> Tile:
    if forecast is None:
        return Tile("Forecast to renew", "–", "needs four quarters of decided renewals")
    expected = forecast["expected_renewing_arr"]
    past = [(run.get("forecast") or {}).get("expected_renewing_arr") for run in earlier]
    interval = f"[{money(forecast['ci_low'], compact=True)}, {money(forecast['ci_high'], compact=True)}] 90%"
    return Tile("Forecast to renew", money(expected, compact=True), interval, [*past, expected])


def sparkline(series: list, width: int = 90, height: int = 22) -> str:
    """An inline SVG line of the finite values of `series`, oldest first; empty with fewer than two."""
    values = np.array([np.nan if v is None else float(v) for v in series], dtype=float)
    values = values[np.isfinite(values)]
    if len(values) < 2:
        return ""
    span = values.max() - values.min() or 1.0
    x = np.linspace(2, width - 2, len(values))
    y = height - 2 - (values - values.min()) / span * (height - 4)
    points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y))
    return (
        f'<svg width="{width}" height="{height}" role="img" aria-label="trend over {len(values)} runs">'
        f'<polyline fill="none" stroke="#2563eb" stroke-width="1.5" points="{points}"/></svg>'
    )


def tiles_html(found: list[Tile]) -> str:
    cells = "".join(
        f'<div class="wb-tile"><div class="wb-label">{html.escape(t.label)}</div>'
        f'<div class="wb-value">{html.escape(t.value)}</div>'
        f'<div class="wb-change">{html.escape(t.change)}</div>{sparkline(t.series)}</div>'
        for t in found
    )
    return f'{STYLE}<div class="wb-tiles">{cells}</div>'


def verdicts_html(board: pd.DataFrame, names: dict[str, str]) -> str:
    """One line per signal the report judges: its name, the conclusion in words on its colour, and in small
    type the interval and decisions behind it (or what more data would settle it)."""
    lines = []
    for row in board.itertuples():
        words, colour = WORDS[row.conclusion]
        if row.conclusion == "inconclusive" and pd.notna(getattr(row, "decisions_to_settle", np.nan)):
            more = max(int(row.decisions_to_settle) - int(row.n), 1)
            words = f"{words}: about {more:,} more decision{'s' if more != 1 else ''}"
        detail = (
            f"AUC {row.auc:.2f} [{row.auc_ci_low:.2f}, {row.auc_ci_high:.2f}], {row.n:,} decisions"
            if pd.notna(row.auc) and pd.notna(row.auc_ci_low)
            else (row.reason if isinstance(getattr(row, "reason", None), str) else "")
        )
        lines.append(
            f'<li>{html.escape(names.get(row.signal, row.signal))}: <span class="wb-chip" style="background:{colour}">'
            f'{html.escape(words)}</span> <span class="wb-small">{html.escape(detail)}</span></li>'
        )
    return f'<ul class="wb-verdicts">{"".join(lines)}</ul>'
