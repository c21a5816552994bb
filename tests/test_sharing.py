"""The run layer's sharing: analyses one kernel computes are read, not computed again, by the others."""

import ast
import inspect
import os
import pickle
import re
import subprocess
import sys
import threading
import time
from dataclasses import fields
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from workbench import Study, columnar
from workbench.computed import Computed
from workbench.judge.signals import label
from workbench.measure import goals
from workbench.measure.columns import COLUMNS, Column
from workbench.publish import sharing
from workbench.publish.kernels import remote
from workbench.publish.memory import release_memory
from workbench.publish.pages import PAGES, run_order
from workbench.publish.results import LAYOUT
from workbench.spec import StudySpec
from workbench.study import saved

AS_OF = "2026-10-31"
WORKBENCH = Path(__file__).resolve().parent.parent / "workbench"


def prepared(small_world, tmp_path) -> Path:
    return sharing.prepare(Study.load(small_world, AS_OF), tmp_path / "cache" / "study.pickle")


def test_a_study_computes_each_analysis_once_through_its_cache(small_world):
    study = Study.load(small_world, AS_OF)
    assert isinstance(study.analyses, Computed) and "revenue" not in study.analyses
    assert study.revenue() is study.revenue() and "revenue" in study.analyses
    study.analyses.forget()
    assert "revenue" not in study.analyses and study.revenue() == study.revenue()


def test_an_analysis_one_kernel_shared_is_read_by_the_others_not_computed_again(small_world, tmp_path):
    cache = prepared(small_world, tmp_path)
    sharing.share(str(cache), ["revenue"])
    left = cache.parent / "analyses" / "revenue.pickle"
    assert pickle.loads(left.read_bytes()) == saved(cache).revenue()
    left.write_bytes(pickle.dumps("as the other kernel left it"))
    other = columnar.load(cache)  # another kernel's copy of the same study
    assert other.revenue() == "as the other kernel left it"
    assert other.off_track() is not None  # what nobody shared is computed as before


def test_between_pages_a_kernel_lets_its_analyses_go_and_reads_the_shared_ones_again(small_world, tmp_path):
    cache = prepared(small_world, tmp_path)
    kernel = Study.load(small_world, AS_OF, cache=str(cache))
    sharing.share(str(cache), ["revenue"])
    assert kernel.revenue() == pickle.loads((cache.parent / "analyses" / "revenue.pickle").read_bytes())
    (cache.parent / "analyses" / "revenue.pickle").write_bytes(pickle.dumps("as the file holds it"))
    kernel.lead_time()
    sharing.between_pages()  # as the runner has each kernel do after a page
    assert "lead_time" not in kernel.analyses and saved(cache) is kernel  # the study itself stays
    assert kernel.revenue() == "as the file holds it"  # read again, not computed again


def test_the_growth_model_is_fitted_on_first_use_and_once_for_every_kernel_of_a_run(small_world, tmp_path, monkeypatch):
    study = Study.load(small_world, AS_OF)
    assert "growth" not in study.analyses and study.has_goals  # loading does not fit it
    cache = sharing.prepare(study, tmp_path / "cache" / "study.pickle")
    sharing.share(str(cache), ["growth"], kept=False)  # as `workbench study` does, before the kernels start
    fitted = goals.growth_model(study.data["goals"], study.data["goal_progress"], study.as_of)
    monkeypatch.setattr(goals, "growth_model", lambda *_: pytest.fail("a kernel fitted the growth model again"))
    kernel = columnar.load(cache)
    pd.testing.assert_frame_equal(kernel.growth.goals, fitted.goals)
    assert (kernel.growth.intercept, kernel.growth.slope) == (fitted.intercept, fitted.slope)
    assert kernel.capacity() is not None and kernel.off_track() is not None  # which read it


def test_the_scorecard_begun_from_the_measured_decisions_is_the_study_s(small_world, tmp_path):
    study = Study.load(small_world, AS_OF)
    measured, folder = tmp_path / "decisions.pickle", tmp_path / "analyses"
    measured.write_bytes(pickle.dumps((study.decisions, study.config, len(study.tests))))
    sharing.mark(folder, ["scorecard"], os.getpid())
    sharing.share_scorecard(str(measured), str(folder))
    assert not (folder / "scorecard.computing").exists()  # no page waits for it any more
    early = pickle.loads((folder / "scorecard.pickle").read_bytes())
    learned = study.scorecard()
    assert early.proposed == learned.proposed and early.reason == learned.reason
    pd.testing.assert_frame_equal(early.components, learned.components)
    assert early.comparison == learned.comparison


def test_a_page_waits_for_an_analysis_another_live_process_computes_and_only_then(tmp_path):
    left, note = tmp_path / "scorecard.pickle", tmp_path / "scorecard.computing"
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"]) as other:
        note.write_text(str(other.pid))
        threading.Timer(0.5, lambda: left.write_bytes(b"done")).start()
        started = time.perf_counter()
        sharing._wait_while_computed_elsewhere(left)
        assert left.exists() and time.perf_counter() - started >= 0.4  # it waited for the result
        left.unlink()
        other.kill()
    other.wait()
    started = time.perf_counter()
    sharing._wait_while_computed_elsewhere(left)  # the computing process is gone: go on and compute
    note.write_text(str(os.getpid()))
    sharing._wait_while_computed_elsewhere(left)  # this process is the one computing it
    assert time.perf_counter() - started < 5 and not left.exists()  # a wrong wait would last until killed


def test_a_kernel_is_sent_a_call_of_a_real_function_that_leaves_no_name_behind():
    code = remote(sharing.share, "/tmp/study.pickle", ["revenue"])
    call = ast.parse(code).body[0].value
    assert isinstance(call, ast.Call) and call.func.attr == "share"
    namespace = {}
    exec(remote(release_memory), namespace)  # noqa: S102 - our own call
    assert set(namespace) == {"__builtins__"}


def test_computing_code_imports_no_publishing_and_the_study_no_run_mechanics():
    for path in WORKBENCH.rglob("*.py"):
        if path.parent.name == "publish" or path.name in ("cli.py", "__main__.py"):
            continue
        tree = ast.parse(path.read_text())
        imported = [
            (node.module or "") if isinstance(node, ast.ImportFrom) else alias.name
            for node in ast.walk(tree)
            if isinstance(node, (ast.Import, ast.ImportFrom))
            for alias in node.names
        ]
        assert not any("publish" in name for name in imported), path
    study = (WORKBENCH / "study.py").read_text()
    for mechanic in ("os.getpid", "os.kill", ".computing", "release_memory", "close_stores", "lookup.forget"):
        assert mechanic not in study, mechanic


def test_each_page_records_exactly_the_keys_its_registry_entry_declares():
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    for declared in PAGES:
        cells = nbformat.read(notebooks / f"{declared.notebook}.ipynb", as_version=4).cells
        code = "\n".join(cell.source for cell in cells if cell.cell_type == "code")
        recorded = set(re.findall(r'record\(\s*results_dir,\s*"([a-z_]+)"', code))
        assert recorded == set(declared.records) | set(declared.also_records), declared.notebook
        assert set(declared.records) | set(declared.also_records) <= set(LAYOUT), declared.notebook
    assert set(run_order()) == {p.notebook for p in PAGES} and len({p.run_order for p in PAGES}) == len(PAGES)


def test_the_run_s_parameters_are_spelled_out_once_in_the_spec():
    loaded_with = set(inspect.signature(Study.load).parameters) - {"data", "as_of"}
    assert loaded_with == {f.name for f in fields(StudySpec)} - {"data", "as_of"}
    spec = StudySpec("data/sample", "2026-10-31", window_months=6, engine="duckdb")
    assert StudySpec.from_notebook({**spec.notebook_parameters(), "results_dir": ""}) == spec
    notebooks = Path(__file__).resolve().parent.parent / "notebooks"
    for declared in PAGES:
        cells = nbformat.read(notebooks / f"{declared.notebook}.ipynb", as_version=4).cells
        parameters = next(c for c in cells if "parameters" in c.metadata.get("tags", []))
        defined = {target.id for node in ast.parse(parameters.source).body for target in node.targets}
        assert set(spec.notebook_parameters()) <= defined, declared.notebook
        assert "report.open_page(globals())" in "\n".join(c.source for c in cells), declared.notebook


def test_a_signal_is_one_registry_entry(small_world, monkeypatch):
    def per_seat(asked):
        return {"arr_per_seat": (asked.frame["arr"] / asked.frame["seats"]).to_numpy()}

    toy = Column(
        "arr_per_seat",
        "ARR per seat",
        "the term's ARR over its seats",
        "contracts",
        "the term as sold",
        "{:,.0f}",
        True,
        said="ARR per seat",
        measure=per_seat,
        needs=("contracts",),
    )
    monkeypatch.setitem(COLUMNS, toy.name, toy)
    study = Study.load(small_world, AS_OF)
    expected = study.decisions["arr"] / study.decisions["seats"]
    pd.testing.assert_series_equal(study.decisions["arr_per_seat"], expected, check_names=False)
    assert "arr_per_seat" in study.signals and "arr_per_seat" in set(study.validity()["signal"])
    assert label("arr_per_seat") == "ARR per seat" and "arr_per_seat" in set(study.describe()["column"])
