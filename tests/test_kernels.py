"""Pages on shared warm kernels: each page starts clean, pages run side by side, and a failure stops the rest."""

from pathlib import Path

import nbformat
import pytest

from workbench.publish.kernels import Kernels, affordable, by_length, resource_shares, warm_up


def page(folder: Path, name: str, *cells: str) -> Path:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('marker = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(c) for c in cells)]
    path = folder / f"{name}.ipynb"
    nbformat.write(notebook, path)
    return path


def outputs(executed: Path) -> list[str]:
    cells = nbformat.read(executed, as_version=4).cells
    return [o.get("text", "") for c in cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"]


def run(kernels: Kernels, books: list[Path], out: Path, log=None) -> list[str]:
    stage, rendered = [""], []
    kernels.run(
        [(b, out / b.name) for b in books],
        {"marker": "set"},
        stage,
        log or (lambda message: None),
        lambda notebook, executed: rendered.append(notebook.stem),
    )
    return rendered


def test_a_page_on_a_used_kernel_starts_with_a_clean_namespace(tmp_path):
    books = [
        page(tmp_path, "a_first", "import os\nleft_behind = os.getpid()\nprint(left_behind)"),
        page(tmp_path, "b_second", "import os\nprint(os.getpid(), 'left_behind' in globals(), marker)"),
    ]
    out = tmp_path / "out"
    out.mkdir()
    with Kernels(1, books) as kernels:
        rendered = run(kernels, books, out)
    first_pid = outputs(out / "a_first.ipynb")[0].split()[0]
    second_pid, leaked, marker = outputs(out / "b_second.ipynb")[0].split()
    assert second_pid == first_pid  # the same kernel ran both pages ...
    assert leaked == "False" and marker == "set"  # ... and the second saw only its own parameters
    assert sorted(rendered) == ["a_first", "b_second"]
    assert nbformat.read(out / "b_second.ipynb", as_version=4).cells[1].execution_count == 2  # a new session


def test_pages_run_side_by_side_on_two_kernels(tmp_path):
    hold = "import time\nstarted = time.time()\ntime.sleep(2)\nprint(started, time.time())"
    books = [page(tmp_path, f"p{i}", hold) for i in range(2)]
    out = tmp_path / "out"
    out.mkdir()
    with Kernels(2, books) as kernels:
        run(kernels, books, out)
    spans = [[float(t) for t in outputs(out / f"p{i}.ipynb")[0].split()] for i in range(2)]
    assert max(start for start, _ in spans) < min(end for _, end in spans)  # each ran while the other did


def test_a_failing_page_stops_the_pages_behind_it_and_names_itself(tmp_path):
    books = [
        page(tmp_path, "a_fails", "raise ValueError('planted')"),
        *(page(tmp_path, f"b_later{i}", "x = 1") for i in range(3)),
    ]
    out = tmp_path / "out"
    out.mkdir()
    stage, seen = [""], []
    with Kernels(1, books) as kernels, pytest.raises(Exception, match="planted"):
        kernels.run([(b, out / b.name) for b in books], {}, stage, seen.append, lambda *a: None)
    assert stage[0] == "a_fails.ipynb"
    assert (out / "a_fails.ipynb").exists()  # kept, with its error, for the failure report
    assert not any("b_later" in line for line in seen)  # never started


def test_imports_are_warmed_and_long_pages_go_first(tmp_path):
    books = [
        page(tmp_path, "00_summary", "import json\nfrom pathlib import Path\nx = 1\nimport os; os._exit(1)"),
        page(tmp_path, "99_x", "from os import (\n    path,\n)"),
    ]
    # only lines that import and do nothing else, then the usage queries that pages load on first use
    assert warm_up(books).splitlines()[:3] == [
        "from pathlib import Path",
        "import json",
        "import workbench.inputs.queries",
    ]
    ordered = by_length([Path("00_summary.ipynb"), Path("50_capacity.ipynb"), Path("10_signal_validity.ipynb")])
    assert [p.stem for p in ordered] == ["10_signal_validity", "50_capacity", "00_summary"]


def test_as_many_kernels_as_the_free_memory_holds(tmp_path):
    cache = tmp_path / "study.pickle"
    for name, mb in (("study.pickle", 256), ("study.0.arrow", 512), ("study.1.arrow", 256), ("other.0.arrow", 999)):
        with open(tmp_path / name, "wb") as file:
            file.truncate(mb * 2**20)
    # a 1 GB study, its frames' files counted: a kernel needs about 2.4 GB with a page at work
    assert affordable(cache, 4096) == 1
    assert affordable(cache, 16_384) == 5
    assert affordable(cache, 100) == 1  # never none
    assert affordable(cache, None) >= 4  # where the system cannot say, the cores decide


def test_what_the_warm_up_imported_is_kept_out_of_the_garbage_collectors_way(tmp_path):
    frozen = "import gc\nprint(gc.get_freeze_count())"
    books = [page(tmp_path, "a_first", frozen), page(tmp_path, "b_second", frozen)]
    out = tmp_path / "out"
    out.mkdir()
    with Kernels(1, books) as kernels:
        run(kernels, books, out)
    counts = [int(outputs(out / f"{b.stem}.ipynb")[0]) for b in books]
    assert min(counts) > 10_000  # pandas, plotly and the rest, frozen before the first page and after a reset


def test_kernels_share_the_cores_for_their_numerical_threads(tmp_path, monkeypatch):
    monkeypatch.setattr("os.cpu_count", lambda: 4)
    monkeypatch.setenv("MKL_NUM_THREADS", "3")
    assert resource_shares(2) == {
        "OPENBLAS_NUM_THREADS": "2",
        "OMP_NUM_THREADS": "2",
        "MKL_NUM_THREADS": "3",
        "WORKBENCH_DUCKDB_MEMORY": "512MB",
    }
    assert (
        resource_shares(8)["OPENBLAS_NUM_THREADS"] == "1" and resource_shares(8)["WORKBENCH_DUCKDB_MEMORY"] == "256MB"
    )
    book = page(
        tmp_path,
        "a_threads",
        "import os\nfrom workbench.inputs import stored\nprint(os.environ['MKL_NUM_THREADS'], stored.MEMORY_LIMIT)",
    )
    out = tmp_path / "out"
    out.mkdir()
    with Kernels(2, [book]) as kernels:
        run(kernels, [book], out)
    assert outputs(out / "a_threads.ipynb") == ["3 512MB\n"]  # what the user set, and half the runner's memory
