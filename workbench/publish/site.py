"""The index pages that link a run's notebooks (and, across runs, the report site)."""

from __future__ import annotations

import html
from pathlib import Path

from ..tables import value_label
from ..words import join_words
from .folders import SITE_GENERATOR, may_write_site, write_atomically
from .history import runs

PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">{generator}<title>{title}</title>
<style>
body {{font-family: system-ui, sans-serif; max-width: 60em; margin: 2em auto; padding: 0 1em; color: #111827;}}
table {{border-collapse: collapse;}} td, th {{padding: 4px 12px; border-bottom: 1px solid #e5e7eb; text-align: left;}}
.figure {{display: inline-block; margin: 0 2em 1em 0;}} .figure b {{display: block; font-size: 1.6em;}}
.needs {{color: #4b5563;}}
</style></head><body>
{body}
</body></html>
"""


def _percent(value) -> str:
    return "–" if value is None else f"{value:.1%}"


def headline_figures(results: dict) -> list[tuple[str, str]]:
    revenue = results.get("revenue") or {}
    return [
        ("Renewal decisions", f"{results.get('decisions', 0):,}"),
        ("Accounts", f"{results.get('accounts', 0):,}"),
        ("Churned", f"{results.get('churned', 0):,}"),
        ("GRR", _percent(revenue.get("grr"))),
        ("NRR", _percent(revenue.get("nrr"))),
        ("Earned growth rate", _percent(revenue.get("earned_growth_rate"))),
    ]


def write_run_index(folder: Path, results: dict, pages: list[tuple[str, str, list[str]]]) -> Path:
    """The run's index: its headline figures and its pages, each page the data could not fill marked with
    what it needs."""
    figures = "".join(
        f'<div class="figure">{html.escape(label)}<b>{html.escape(value)}</b></div>'
        for label, value in headline_figures(results)
    )
    signals = results.get("signals", [])
    measured = [value_label(s["signal"]) for s in signals if s.get("conclusion") != "not_judged"]
    predictive = [value_label(s["signal"]) for s in signals if s.get("predictive")]
    inverse = [value_label(s["signal"]) for s in signals if s.get("inverse")]
    verdict = (
        f"Of the signals judged ({join_words(measured)}), "
        + (f"{join_words(predictive)} predicted renewal" if predictive else "none predicted renewal")
        + (f"; {join_words(inverse)} ran against it" if inverse else "")
        + "."
        if measured
        else "No signal could be judged on this data."
    )
    revenue = results.get("revenue") or {}
    if revenue.get("grr") is not None and revenue.get("earned_growth_rate") is None:
        verdict += " The earned growth rate needs a referrals table."
    links = "".join(
        f'<li><a href="{html.escape(href)}">{html.escape(name)}</a>'
        + (f' <span class="needs">(not run: needs {html.escape(" and ".join(needs))})</span>' if needs else "")
        + "</li>"
        for name, href, needs in pages
    )
    body = (
        f"<h1>Customer success study as of {html.escape(results['as_of'])}</h1>"
        f"<p>Renewal decisions in the {results['window_months']} months to {html.escape(results['as_of'])}; "
        f"signals measured {results['horizon_days']} days before each renewal.</p>{figures}"
        f"<p>{html.escape(verdict)}</p>"
        f'<h2>Pages</h2><ul>{links}<li><a href="results.json">results.json</a> (machine-readable)</li></ul>'
    )
    path = folder / "index.html"
    path.write_text(
        PAGE.format(generator="", title=f"Study {html.escape(results['as_of'])}", body=body), encoding="utf-8"
    )
    return path


def write_site(reports_dir: Path, log=print) -> Path | None:
    """reports/index.html: every run with its headline figures and links, newest first. Written only
    where the folder has no index.html yet or the one there is the workbench's own."""
    reports_dir = Path(reports_dir)
    if not may_write_site(reports_dir):
        log(
            f"Not writing {reports_dir / 'index.html'}: a file of that name is there and the workbench did not "
            f"write it. The report itself is complete."
        )
        return None
    history = runs(reports_dir, log)
    labels = ["As of", *(label for label, _ in headline_figures({})), "Predicted renewal"]
    header = "".join(f"<th>{html.escape(label)}</th>" for label in labels)
    rows = []
    for run in reversed(history):
        predictive = (
            ", ".join(value_label(s["signal"]) for s in run.get("signals", []) if s.get("predictive")) or "none"
        )
        cells = [f'<a href="{html.escape(run["folder"])}/index.html">{html.escape(run["as_of"])}</a>']
        cells += [html.escape(value) for _, value in headline_figures(run)]
        cells.append(html.escape(predictive))
        rows.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    body = (
        f"<h1>Customer success studies</h1><p>{len(history)} runs. Each links to its pages; trends across runs "
        f"are in each run's summary.</p><table><tr>{header}</tr>{''.join(rows)}</table>"
    )
    path = reports_dir / "index.html"
    write_atomically(path, PAGE.format(generator=SITE_GENERATOR, title="Customer success studies", body=body))
    return path
