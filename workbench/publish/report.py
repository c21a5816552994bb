"""Displaying findings in a notebook so they survive as a self-contained, offline HTML page.

Charts go out as a bundle: Plotly's own MIME type, which JupyterLab draws with its plotly extension,
and an HTML div drawn on the rendered page by plotly.js. The page's template loads plotly.js from
`PLOTLY_JS` beside it (one copy per report folder, written by `write_plotlyjs`), so pages open from the file
system with no network and the notebooks carry no copy of the library. Every string that came from
data is escaped before it reaches HTML.
"""

from __future__ import annotations

import html
import json
from collections.abc import Mapping
from pathlib import Path

import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import HTML, display
from plotly.offline import get_plotlyjs

from ..spec import StudySpec
from ..tables import Result, html_table
from ..tables import money as money  # the pages format money and rates as tables do
from ..tables import percent as percent
from . import first_screen as screen
from .history import runs

STYLE = """
<style>
.wb-finding {font-size: 1.05em; line-height: 1.5; margin: 0.4em 0;}
.wb-warning {border-left: 4px solid #d97706; background: #fffbeb; padding: 0.5em 0.8em; margin: 0.6em 0;}
.wb-headline {border-left: 4px solid #2563eb; background: #eff6ff; padding: 0.6em 0.9em; margin: 0.6em 0;}
.wb-missing {border-left: 4px solid #6b7280; background: #f3f4f6; padding: 0.6em 0.9em; margin: 0.6em 0;}
.wb-skipped {color: #4b5563; font-size: 0.95em; margin: 0.3em 0;}
table.wb-table {border-collapse: collapse; margin: 0.5em 0; font-size: 0.92em;}
table.wb-table th, table.wb-table td {padding: 3px 10px; border-bottom: 1px solid #e5e7eb; text-align: right;}
table.wb-table th:first-child, table.wb-table td:first-child {text-align: left;}
</style>
"""
COLORS = {
    "renewed": "#2563eb",
    "churned": "#dc2626",
    "green": "#16a34a",
    "yellow": "#ca8a04",
    "red": "#dc2626",
    "neutral": "#6b7280",
}

_chart_count = 0


PLOTLY_JS = "plotly.min.js"


def setup() -> None:
    """The report style, once at the top of the notebook (the rendered page's template loads plotly.js)."""
    pio.templates.default = "plotly_white"
    display(HTML(STYLE))


def open_page(parameters: Mapping):
    """Set the page up and load its study from its parameters cell, at the top of every page:
    ``study = report.open_page(globals())`` (`StudySpec.from_notebook`; the prepared study in `study_cache`
    where a run left one)."""
    setup()
    return StudySpec.from_notebook(parameters).load(saved=parameters.get("study_cache", ""))


def write_plotlyjs(folder: Path) -> Path:
    """plotly.js, the version plotly draws the figures with, beside the pages that load it."""
    path = Path(folder) / PLOTLY_JS
    path.write_text(get_plotlyjs(), encoding="utf-8")
    return path


# Trace attributes that carry values from data; plotly renders <a>, <b>, <br> in them as markup.
DATA_TEXT = ("x", "y", "z", "text", "hovertext", "name", "labels", "ids", "customdata", "legendgrouptitle")


def _escaped(value):
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, list):
        return [_escaped(v) for v in value]
    if isinstance(value, dict):
        return {k: _escaped(v) for k, v in value.items()}
    return value


def escape_data_text(spec: dict) -> dict:
    """The figure with every string that came from data escaped (trace values, names, tick labels), so plotly
    shows '<b>' as text; titles, templates and annotations are the workbench's own and keep their markup."""
    for trace in spec.get("data", []):
        for key in DATA_TEXT:
            if key in trace:
                trace[key] = _escaped(trace[key])
    for key, axis in spec.get("layout", {}).items():
        if key.startswith(("xaxis", "yaxis")) and isinstance(axis, dict) and "ticktext" in axis:
            axis["ticktext"] = _escaped(axis["ticktext"])
    return spec


def show(fig: go.Figure, caption: str | None = None) -> None:
    """Display a chart that renders in JupyterLab and in the offline HTML page; caption is text."""
    global _chart_count
    _chart_count += 1
    spec = json.dumps(escape_data_text(json.loads(pio.to_json(fig, validate=False))))
    payload = spec.replace("<", "\\u003c")  # no "</script>" from data can close the script early
    div = f"wb-chart-{_chart_count}"
    markup = (
        f'<div id="{div}" class="wb-chart" style="height:{fig.layout.height or 420}px"></div>'
        f'<script type="text/javascript">(function(){{var f={payload};'
        f'Plotly.newPlot("{div}", f.data, f.layout, {{responsive: true, displaylogo: false}});}})();</script>'
    )
    display({"application/vnd.plotly.v1+json": json.loads(spec), "text/html": markup}, raw=True)
    if caption:  # an output of its own: JupyterLab draws the chart from its plotly JSON and never shows its HTML
        display(HTML(f'<p class="wb-finding"><em>{html.escape(caption)}</em></p>'))


def say(template: str, **values) -> None:
    """A finding in words; `values` (from data) are escaped, the template is ours."""
    display(HTML(f'<p class="wb-finding">{fill(template, **values)}</p>'))


def headline(template: str, **values) -> None:
    display(HTML(f'<div class="wb-headline">{fill(template, **values)}</div>'))


def warn(template: str, **values) -> None:
    display(HTML(f'<div class="wb-warning">⚠ {fill(template, **values)}</div>'))


SKIPPED, MISSING = "wb-skipped", "wb-missing"


def skip(what: str, because: str, **values) -> None:
    """A part of the page this data cannot show, and why. On the rendered page a section that holds nothing
    else is dropped, and its note joins the list of what the page could not show."""
    display(HTML(f'<p class="{SKIPPED}">Not shown: {fill(what, **values)}, because {fill(because, **values)}.</p>'))


def needs(study, notebook: str) -> bool:
    """True where the data holds what the page needs (see `pages`); otherwise one note that says what is
    missing and what to export to switch the page on, and False."""
    from .pages import page

    lacking = page(notebook).missing(study)
    if lacking:
        what = " and ".join(need.what for need in lacking)
        export = "; ".join(need.export for need in lacking)
        display(
            HTML(
                f'<div class="{MISSING}"><b>This page needs {html.escape(what)}</b>, which this data does not have. '
                f"To switch it on, export {html.escape(export)}.</div>"
            )
        )
    return not lacking


def fill(template: str, **values) -> str:
    return template.format(**{k: html.escape(str(v)) for k, v in values.items()})


def table(result, formats: dict[str, str] | None = None, caption: str | None = None) -> None:
    """A result (or a frame) as an escaped, readable HTML table: labels for headers, an estimate and its
    interval in one cell, yes/no for booleans; `formats` overrides a column's format spec ('{:.1%}')."""
    frame = result.frame[result.shown] if isinstance(result, Result) else result
    caption = caption if caption is not None else getattr(result, "caption", "")
    display(HTML(html_table(frame, formats, caption or "")))


def long_table(
    frame, name: str, report_folder: str, rows: int = 25, caption: str = "", formats: dict[str, str] | None = None
) -> None:
    """The first `rows` rows of `frame` as a table; where there are more, all of them in `name`.csv in the report
    folder (written when the run has one), linked under the table, so a page stays small at any size of book."""
    if len(frame) <= rows:
        table(frame, formats, caption)
        return
    shown = f"{caption} The first {rows:,} of {len(frame):,} rows are shown.".strip()
    display(HTML(html_table(frame.head(rows), formats, shown)))
    if report_folder:
        frame.to_csv(Path(report_folder, f"{name}.csv"), index=False)
        say(f'<a href="{html.escape(name)}.csv">{html.escape(name)}.csv</a> beside this page holds all of them.')


def plural(count: int, one: str, many: str | None = None) -> str:
    """'1 row', '2 rows', '1,204 accounts' ('many' where the plural is not one + s)."""
    return f"{count:,} {one if count == 1 else (many or one + 's')}"


def first_screen(study, revenue: dict, due, reports_dir, has_referrals: bool) -> None:
    """The summary's first screen (first_screen.py): the month's tiles against the earlier runs in
    `reports_dir`, what predicts renewal here, and the five largest renewals at risk next quarter."""
    earlier = [run for run in runs(reports_dir) if run["as_of"] < f"{study.as_of:%Y-%m-%d}"]
    forecast = study.forecast().to_results()
    display(HTML(screen.tiles_html(screen.tiles(revenue, due.frame, earlier, has_referrals, forecast))))
    names = {signal: study.columns[signal].label if signal in study.columns else signal for signal in study.family}
    display(HTML("<p><b>What predicts renewal here</b></p>" + screen.verdicts_html(study.scoreboard, names)))
    frame = due.frame
    if "at_risk" not in frame:
        say("<b>Act on this month</b>: renewal risk cannot be flagged from this data (see Renewals due below).")
        return
    at_risk = frame.loc[frame["at_risk"]].head(5)
    if at_risk.empty:
        say("<b>Act on this month</b>: no account renewing next quarter shows a risk.")
        return
    shown = [c for c in ("account_name", "csm", "end_date", "arr") if c in at_risk]
    table(
        at_risk[[*shown, "why"]],
        caption="Act on this month: the five largest renewals at risk next quarter (ARR of all their renewing "
        "contracts), and why.",
    )
