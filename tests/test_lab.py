"""The analyst's notebook in a real JupyterLab, driven by headless Chromium: every cell runs and shows."""

import json
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed")
TOKEN = "workbench-test"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def lab(tmp_path):
    """JupyterLab as `make lab` starts it, on a copy of explore.ipynb beside the project's data (saving in the
    browser writes the copy, never the project's notebook)."""
    (tmp_path / "notebooks").mkdir()
    shutil.copy(ROOT / "notebooks" / "explore.ipynb", tmp_path / "notebooks")
    (tmp_path / "data").symlink_to(ROOT / "data")
    port = free_port()
    log = (tmp_path / "lab.log").open("w")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "jupyterlab",
            "--no-browser",
            "--allow-root",
            f"--port={port}",
            "--ip=127.0.0.1",
            f"--IdentityProvider.token={TOKEN}",
            f"--ServerApp.root_dir={tmp_path / 'notebooks'}",
            "--LabApp.news_url=",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=tmp_path / "notebooks",
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            urllib.request.urlopen(f"{url}/api/status?token={TOKEN}", timeout=1)
            break
        except OSError:
            time.sleep(0.5)
    else:
        server.kill()
        pytest.fail(f"JupyterLab did not start: {(tmp_path / 'lab.log').read_text()[-2000:]}")
    yield url, tmp_path / "notebooks" / "explore.ipynb"
    server.terminate()
    server.wait(timeout=30)


def test_explore_runs_in_jupyterlab_and_every_output_shows(lab):
    from playwright.sync_api import sync_playwright

    url, saved = lab
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        failed_requests = []
        page.on("response", lambda r: r.status >= 400 and failed_requests.append(r.url))
        page.goto(f"{url}/lab/tree/explore.ipynb?token={TOKEN}")
        page.wait_for_selector(".jp-Notebook .jp-Cell", timeout=120_000)
        # The kernel has started once the status bar names it idle (the notebook's own indicator says idle
        # before a kernel exists, and "Run All" then runs nothing).
        page.wait_for_function(
            "() => /Python 3.*\\| Idle/.test(document.querySelector('#jp-main-statusbar').textContent)",
            timeout=180_000,
        )
        page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
        page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
        # Done once the saved copy shows every code cell run (the page holds only the cells near the view).
        for _ in range(150):
            page.keyboard.press("Control+s")
            page.wait_for_timeout(2000)
            code = [c for c in json.loads(saved.read_text())["cells"] if c["cell_type"] == "code"]
            if all(c["execution_count"] for c in code) or any(
                o["output_type"] == "error" for c in code for o in c["outputs"]
            ):
                break
        # The chart drew: JupyterLab keeps only cells near the view in the page, so scroll until it is there.
        drawn = False
        for _ in range(60):
            if page.locator(".js-plotly-plot .main-svg").count():
                drawn = True
                break
            page.locator(".jp-WindowedPanel-outer").first.evaluate("e => e.scrollBy(0, 600)")
            page.wait_for_timeout(250)
        page.keyboard.press("Control+s")  # the last cell's outputs as they stand once it ran
        page.wait_for_timeout(2000)
        browser.close()
    code = [cell for cell in json.loads(saved.read_text())["cells"] if cell["cell_type"] == "code"]
    assert [cell["execution_count"] for cell in code] == list(range(1, len(code) + 1))
    outputs = [output for cell in code for output in cell["outputs"]]
    assert [o for o in outputs if o["output_type"] == "error" or o.get("name") == "stderr"] == []
    assert all(cell["outputs"] for cell in code)  # every code cell shows something
    assert drawn
    assert failed_requests == []
