"""`workbench study` end to end: the contract's folder, results.json, failure handling, offline pages."""

import html
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import folder_digest
from plotly.offline import get_plotlyjs

from workbench.cli import main
from workbench.generate import World, generate, write
from workbench.publish.runner import StudyFailed, notebooks, run_study

AS_OF = "2026-10-31"
CONTRACT_SIGNALS = {
    "nps",
    "usage",
    "health_score",
    "goal_attainment",
    "health_mean",
    "health_min",
    "health_decision_maker",
    "health_champion",
    "health_end_user",
}
HOSTILE = '<script>alert("x")</script>'


@pytest.fixture(scope="module")
def hostile_world(tmp_path_factory):
    return write(generate(World(accounts=400, seed=11, hostile_names=True)), tmp_path_factory.mktemp("hostile"))


@pytest.fixture(scope="module")
def report(hostile_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports") / AS_OF
    assert main(["study", "--data", str(hostile_world), "--as-of", AS_OF, "--out", str(out)]) == 0
    return out


def test_report_folder_has_every_page(report):
    names = {p.name for p in report.iterdir()}
    for notebook in notebooks():
        assert f"{notebook.stem}.ipynb" in names and f"{notebook.stem}.html" in names
    assert {"index.html", "results.json"} <= names
    assert not any(name.startswith(".") for name in names)


def test_results_follow_the_contract(report, hostile_world):
    results = json.loads((report / "results.json").read_text())
    assert results["as_of"] == AS_OF and results["window_months"] == 12 and results["horizon_days"] == 90
    contracts = pd.read_csv(hostile_world / "contracts.csv", parse_dates=["end_date"])
    window = contracts.loc[
        contracts["outcome"].isin(["renewed", "churned"])
        & (contracts["end_date"] > "2025-10-31")
        & (contracts["end_date"] <= AS_OF)
    ]
    assert results["decisions"] == len(window)
    assert results["churned"] == int((window["outcome"] == "churned").sum())
    assert results["accounts"] == window["account_id"].nunique()
    assert results["churned_accounts"] == window.loc[window["outcome"] == "churned", "account_id"].nunique()
    assert {"lead_time", "scorecard", "capacity"} <= set(results)

    assert {s["signal"] for s in results["signals"]} >= CONTRACT_SIGNALS
    for signal in results["signals"]:
        assert {
            "signal",
            "n",
            "accounts",
            "churned",
            "auc",
            "auc_ci_low",
            "auc_ci_high",
            "predictive",
            "inverse",
            "conclusion",
            "min_detectable_auc",
            "decisions_needed",
        } <= set(signal)
        low, high = signal["auc_ci_low"], signal["auc_ci_high"]
        assert signal["predictive"] is (low is not None and low > 0.5)
        assert signal["inverse"] is (high is not None and high < 0.5)
        assert signal["conclusion"] in ("predictive", "inverse", "ruled_out", "inconclusive", "not_judged")

    assert [b["band"] for b in results["attainment"]["bands"]] == ["<50%", "50-80%", "80-100%", ">=100%"]
    for band in results["attainment"]["bands"]:
        assert {"band", "n", "churn_rate", "expansion_rate"} <= set(band)

    referrals = pd.read_csv(hostile_world / "referrals.csv", parse_dates=["date"])
    referred = referrals.loc[(referrals["date"] > "2025-10-31") & (referrals["date"] <= AS_OF), "arr"].sum()
    arr, renewal = window["arr"], window["renewal_arr"].fillna(0)
    revenue = results["revenue"]
    assert revenue["grr"] == pytest.approx(renewal.clip(upper=arr).sum() / arr.sum(), abs=1e-3)
    assert revenue["nrr"] == pytest.approx(renewal.sum() / arr.sum(), abs=1e-3)
    assert revenue["earned_growth_rate"] == pytest.approx(
        renewal.sum() / arr.sum() + referred / arr.sum() - 1, abs=1e-3
    )
    assert revenue["renewal_rate"] == pytest.approx(revenue["grr"], abs=1e-9)  # an annual book
    projection = results["attainment"]["projection"]
    assert projection["from_month"] == 6 and 0 <= projection["band_accuracy"] <= 1


def test_pages_load_nothing_from_a_network_and_show_no_code(report):
    for page in report.glob("*.html"):
        text = page.read_text()
        remote = re.findall(r'<(?:script|link|img|iframe)[^>]+(?:src|href)="(?:https?:)?//', text)
        assert not remote, (page.name, remote[:3])
        assert "report.setup()" not in text and "from workbench" not in text  # no code cell source
        assert "Traceback" not in text


def test_strings_from_data_are_escaped(report):
    pages = {p.name: p.read_text() for p in report.glob("*.html")}
    for name, text in pages.items():
        assert HOSTILE not in text, name
        assert '<b onmouseover="x()">' not in text, name
        assert "<img src=x onerror" not in text, name


def test_pages_read_without_code_names_or_raw_booleans(report):
    for page in [*report.glob("*.html"), report.parent / "index.html"]:
        text = page.read_text()
        headers = [h.strip() for h in re.findall(r"<th[^>]*>([^<]*)</th>", text)]
        cells = [c.strip() for c in re.findall(r"<td[^>]*>([^<]*)</td>", text)]
        assert not [h for h in headers if re.search(r"[a-z]_[a-z]", h)], (page.name, headers)
        assert not [c for c in cells if c in ("True", "False", "nan", "NaN", "None")], page.name
    verdicts = re.findall(r"Of the signals judged \(([^)]*)\), ([^<]*)", (report / "index.html").read_text())
    assert verdicts and not [v for v in verdicts if re.search(r"[a-z]_[a-z]", " ".join(v))], verdicts


def test_one_copy_of_plotlyjs_and_the_stylesheet_per_report_folder_loaded_by_relative_path(report):
    assert (report / "plotly.min.js").stat().st_size > 1_000_000
    assert not re.search(r"url\((?!data:)|@import", (report / "page.css").read_text())  # nothing from a network
    for page in report.glob("[0-9]*.html"):
        assert 'src="plotly.min.js"' in page.read_text() and 'href="page.css"' in page.read_text()
        assert page.stat().st_size < 250_000, page.name  # the pages carry no copy of the library or the theme
    library = get_plotlyjs()[1000:1300]
    for notebook in report.glob("*.ipynb"):
        assert library not in notebook.read_text() and notebook.stat().st_size < 1_500_000


HEADLESS = [
    "chromium",
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--host-resolver-rules=MAP * ~NOTFOUND",
    "--virtual-time-budget=5000",
]
FIRST_SCREEN = """<script>window.addEventListener("load", () => {
  const box = (selector) => document.querySelector(selector);
  const bottom = (selector) => (box(selector) ? box(selector).getBoundingClientRect().bottom : -1);
  document.body.setAttribute("data-layout", JSON.stringify({
    tiles: bottom(".wb-tiles"), verdicts: bottom(".wb-verdicts"), act_on: bottom("table.wb-table"),
    tile_count: document.querySelectorAll(".wb-tile").length,
    overflow: box(".wb-tiles").scrollWidth - box(".wb-tiles").clientWidth}));
});</script>"""


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
@pytest.mark.parametrize("width", [1280, 390])
def test_the_summary_s_first_screen_holds_the_figures_the_verdicts_and_what_to_act_on(report, tmp_path, width):
    page = tmp_path / "00_summary.html"
    for name in ("page.css", "plotly.min.js"):
        shutil.copy(report / name, tmp_path / name)
    page.write_text((report / "00_summary.html").read_text().replace("</body>", FIRST_SCREEN + "</body>"))
    dom = subprocess.run(
        [
            *HEADLESS,
            f"--user-data-dir={tmp_path / 'profile'}",
            f"--window-size={width},900",
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    layout = json.loads(html.unescape(re.search(r'data-layout="([^"]*)"', dom).group(1)))
    assert layout["tile_count"] == 6 and layout["overflow"] <= 0  # the tiles wrap on a phone, none cut off
    if width == 1280:  # a leader sees the figures, what predicts and what to act on without scrolling
        assert 0 < layout["tiles"] < layout["verdicts"] < layout["act_on"] <= 900, layout
    else:
        assert 0 < layout["tiles"] < 900, layout


@pytest.mark.skipif(shutil.which("chromium") is None, reason="Debian's chromium is not installed")
def test_charts_draw_in_headless_chromium_with_the_network_off(report, tmp_path):
    page = report / "10_signal_validity.html"
    dom = subprocess.run(
        [*HEADLESS, f"--user-data-dir={tmp_path / 'profile'}", "--dump-dom", page.as_uri()],
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    charts = len(re.findall(r'class="wb-chart', dom))
    drawn = len(re.findall(r'class="main-svg"', dom))
    assert charts >= 3 and drawn >= charts  # plotly.js ran and drew an SVG in every chart


def one_notebook(folder: Path, name: str, code: str) -> Path:
    """A study folder with a single notebook: a parameters cell, then `code`."""
    folder.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('results_dir = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, nbformat.v4.new_code_cell(code)]
    nbformat.write(notebook, folder / name)
    return folder


def test_a_second_run_replaces_the_folder_as_a_whole(report, hostile_world, tmp_path):
    out = tmp_path / AS_OF
    shutil.copytree(report, out)
    (out / "stale.txt").write_text("left from an older run")
    folder = one_notebook(
        tmp_path / "notebooks",
        "10_minimal.ipynb",
        (
            "from workbench.publish.results import REQUIRED, record\n"
            "for key in REQUIRED[3:]:\n"
            "    record(results_dir, key, {'signals': [], 'attainment': {'bands': []}, 'revenue': {}}.get(key, 0))"
        ),
    )
    run_study(hostile_world, AS_OF, out, notebook_folder=folder, log=lambda message: None)
    assert not (out / "stale.txt").exists() and (out / "results.json").exists()
    names = {p.name for p in out.iterdir()}
    assert names == {"10_minimal.ipynb", "10_minimal.html", "index.html", "results.json", "plotly.min.js", "page.css"}
    umask = os.umask(0)
    os.umask(umask)
    assert out.stat().st_mode & 0o777 == 0o777 & ~umask  # readable as any new folder here, not owner-only


def test_a_failed_run_keeps_the_previous_report_and_the_failed_notebook(report, hostile_world, tmp_path):
    out = tmp_path / AS_OF
    shutil.copytree(report, out)
    before = folder_digest(out)
    folder = one_notebook(tmp_path / "notebooks", "10_broken.ipynb", "raise RuntimeError('planted failure')")
    with pytest.raises(StudyFailed, match="10_broken.ipynb failed .*planted failure") as caught:
        run_study(hostile_world, AS_OF, out, notebook_folder=folder, log=lambda message: None)
    assert folder_digest(out) == before
    kept = Path(str(out) + ".failed") / "10_broken.ipynb"
    assert kept.exists() and str(kept) in str(caught.value)
    assert not (kept.parent / ".cache").exists()


def test_cli_reports_a_failed_run_on_stderr(hostile_world, tmp_path, capsys, monkeypatch):
    def fail(*args, **kwargs):
        raise StudyFailed("10_signal_validity.ipynb failed in cell 3: ValueError: boom")

    monkeypatch.setattr("workbench.publish.runner.run_study", fail)
    code = main(["study", "--data", str(hostile_world), "--as-of", AS_OF, "--out", str(tmp_path / "x")])
    assert code == 1 and "boom" in capsys.readouterr().err


def test_bad_arguments_are_usage_errors(capsys):
    with pytest.raises(SystemExit) as caught:
        main(["study", "--data", "x", "--as-of", "31-10-2026"])
    assert caught.value.code == 2 and "is not a date written YYYY-MM-DD" in capsys.readouterr().err


def test_a_study_on_the_required_tables_alone_says_what_it_skipped(small_world, tmp_path):
    data = tmp_path / "minimal"
    data.mkdir()
    for name in ("accounts", "contracts"):
        shutil.copy(small_world / f"{name}.csv", data)
    out = tmp_path / AS_OF
    assert main(["study", "--data", str(data), "--as-of", AS_OF, "--out", str(out)]) == 0
    results = json.loads((out / "results.json").read_text())
    assert results["signals"] == [] and results["attainment"]["bands"] == [] and results["revenue"]["grr"] is not None
    needs = {
        "10_signal_validity": "a signal measured",
        "15_lead_time": "a signal measured",
        "20_stakeholder_health": "contacts with a person-level signal",
        "30_goal_attainment": "customer goals with their progress",
        "40_scorecard": "a signal measured",
        "50_capacity": "an activities table",
    }
    index = (out / "index.html").read_text()
    for page, what in needs.items():
        assert f"This page needs {what}" in (out / f"{page}.html").read_text(), page
        assert f"not run: needs {what}" in index, page
    assert "not run" not in index.split("Data health")[0]  # the summary runs on any data
    assert results["capacity"] is None
