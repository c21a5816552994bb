"""`workbench study`: run every study notebook with papermill and leave a complete report folder.

The output folder is checked and locked before any data is read (see publish). The run is written
in a staging folder of its own beside its destination and moved into place only when every notebook
has succeeded and recorded its part of results.json, so a reader never sees half a report. Whatever
stops a run (a failing cell, a dying kernel, a full disk, Ctrl-C or a termination signal) takes one
path: the previous report stays as it was, the executed notebooks are kept in `<out>.failed/` with
the reason, the staging folder is removed, and StudyFailed says what happened and what to do.
"""

from __future__ import annotations

import json
import pickle
import shutil
import sys
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import papermill as pm

from .. import __version__
from ..errors import DataError, UsageError
from ..spec import StudySpec
from . import sharing
from .folders import (
    check_destination,
    keep_failed,
    locked,
    make_parent,
    os_reason,
    publish,
    remove_empty,
    remove_leftovers,
    staging_folder,
)
from .kernels import Kernels, affordable, available_mb, by_length, default_jobs, remote
from .memory import release_memory
from .pages import missing, page
from .render import to_html, write_page_css
from .report import write_plotlyjs
from .results import REQUIRED, merge, plain
from .site import write_run_index, write_site

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"
EXIT_INTERRUPTED = 130


class StudyFailed(Exception):
    """A run did not finish; the message says where, why, and where its executed notebooks are kept."""

    def __init__(self, message: str, exit_code: int = 1):
        super().__init__(message)
        self.exit_code = exit_code


class Interrupted(BaseException):
    """Raised in the main thread by a termination signal, so a killed run takes the failure path."""


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def title(notebook: Path) -> str:
    return page(notebook.stem).title


def run_study(
    data,
    as_of: str,
    out=None,
    window_months: int = 12,
    horizon_days: int = 90,
    config=None,
    mapping=None,
    pseudonymize: bool = False,
    notebook_folder: Path = NOTEBOOKS,
    log=None,
    allow_outside_data: bool = False,
    jobs: int | None = None,
    engine: str | None = None,
    cache: bool = True,
    preset: str = "",
) -> Path:
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    out = Path(out or Path("reports") / as_of).absolute()
    out = out.parent.resolve() / out.name
    data = Path(data).resolve()
    protected = [data, *(Path(p) for p in (config, mapping) if p)]
    check_destination(out, protected)
    created = make_parent(out)
    try:
        with locked(out):
            check_destination(out, protected)  # again, now that no other run can change it
            remove_leftovers(out)
            staging = staging_folder(out)
            stage = ["checking the data"]
            spec = StudySpec(
                str(data),
                as_of,
                str(mapping or ""),
                str(config or ""),
                window_months,
                horizon_days,
                pseudonymize=pseudonymize,
                allow_outside_data=allow_outside_data,
                engine=engine or "",
                cache=cache,
                preset=preset,
            ).resolved()
            try:
                _run(spec, out, staging, stage, notebook_folder, log, jobs)
            except (DataError, UsageError):
                shutil.rmtree(staging, ignore_errors=True)
                raise
            except BaseException as error:  # noqa: BLE001 - every failure takes the one path below
                raise _failed(error, stage[0], staging, out) from None
    except (DataError, UsageError):
        remove_empty(created)
        raise
    write_site(out.parent, log)
    log(f"Study written to {out}; all runs: {out.parent / 'index.html'}")
    return out


def _run(
    spec: StudySpec, out: Path, staging: Path, stage: list[str], notebook_folder: Path, log, chosen_jobs: int | None
) -> None:
    """Check and prepare the data, then run the pages: `chosen_jobs` at a time, or as many as there are
    cores (at most four) and, once the prepared study's size is known, as the free memory holds."""
    books = notebooks(notebook_folder)
    jobs = chosen_jobs or default_jobs()
    # Kernels start and import while the data is checked; any failure shuts them down.
    with Kernels(min(jobs, len(books)), books) as kernels:
        # Imported once the kernels are starting, whose own imports then overlap these.
        from ..study import no_decisions

        log(f"Checking the data in {spec.data} and measuring every decision's signals ...")
        # Bad config or bad data stops here, before anything is published; the notebooks share this work.
        study = spec.load()
        if len(study.decisions) == 0:
            raise UsageError(no_decisions(study))
        release_memory()  # what measuring freed
        cache = staging / ".cache" / "study.pickle"
        _start_scorecard(kernels, study, cache.parent)
        lacking = missing(study)
        results_dir = staging / ".results"
        stage[0] = "saving the prepared data for the notebooks"
        sharing.prepare(study, cache)
        del study  # the notebooks read the cache; holding it here too would double the peak memory
        release_memory()
        stage[0] = "fitting the goals' growth curves"
        sharing.share(str(cache), ["growth"], kept=False)
        release_memory()
        if not chosen_jobs:
            kernels.keep(affordable(cache, available_mb()))
        kernels.share(cache, [name for name in sharing.SHARED if name != "scorecard"])
        parameters = {
            **spec.notebook_parameters(),
            "results_dir": str(results_dir),
            "reports_dir": str(out.parent),
            "study_cache": str(cache),
            "report_folder": str(staging),
        }
        write_plotlyjs(staging)
        write_page_css(staging)
        log(
            f"Running {len(books)} notebooks, {len(kernels.managers)} at a time (the kernels first compute the "
            f"analyses several pages share: {', '.join(sharing.SHARED)}) ..."
        )
        stage[0] = "running the notebooks"

        def render(notebook: Path, executed: Path) -> None:
            to_html(executed, staging / f"{notebook.stem}.html", title(notebook))

        kernels.run([(n, staging / n.name) for n in by_length(books)], parameters, stage, log, render)
    pages = [(title(n), f"{n.stem}.html", [need.what for need in lacking.get(n.stem, [])]) for n in books]

    stage[0] = "assembling results.json"
    base = {"as_of": spec.as_of, "window_months": spec.window_months, "horizon_days": spec.horizon_days}
    results = merge(results_dir, base)
    unrecorded = [k for k in REQUIRED if k not in results]
    if unrecorded:
        raise _Incomplete(
            f"the notebooks did not record {', '.join(unrecorded)} for results.json, so the run is not "
            f"published; a notebook skipped the cell that records them"
        )
    results["run"] = {
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "workbench_version": __version__,
        "data_dir": spec.data,
        "config": spec.config or None,
        "mapping": spec.mapping or None,
        "preset": spec.preset or None,
        "pseudonymized": spec.pseudonymize,
    }
    shutil.rmtree(results_dir)
    shutil.rmtree(cache.parent)
    (staging / "results.json").write_text(json.dumps(plain(results), indent=2))
    write_run_index(staging, results, pages)
    stage[0] = "publishing the report"
    publish(staging, out)


def _start_scorecard(kernels: Kernels, study, folder: Path) -> None:
    """The scorecard needs only the decisions: a kernel learns it while the runner saves the study."""
    measured, shared = folder / "decisions.pickle", folder / "analyses"
    shared.mkdir(parents=True, exist_ok=True)
    with open(measured, "wb") as file:
        pickle.dump((study.decisions, study.config, len(study.tests)), file, protocol=pickle.HIGHEST_PROTOCOL)
    kernels.begin(["scorecard"], remote(sharing.share_scorecard, str(measured), str(shared)), shared)


class _Incomplete(Exception):
    pass


def _failed(error: BaseException, stage: str, staging: Path, out: Path) -> StudyFailed:
    """The one failure path: keep what ran, remove the staging folder, say what happened and what to do."""
    from nbclient.exceptions import DeadKernelError

    exit_code = 1
    if isinstance(error, pm.PapermillExecutionError):
        reason = f"{stage} failed in cell {error.exec_count}: {error.ename}: {error.evalue}"
    elif isinstance(error, DeadKernelError) or "Kernel died" in str(error):  # nbclient says so in a RuntimeError too
        reason = (
            f"{stage}: the notebook's kernel died (most often it ran out of memory). Run again with more "
            f"memory, or on a shorter --window-months or a segment"
        )
    elif isinstance(error, (KeyboardInterrupt, Interrupted)):
        reason, exit_code = f"the run was interrupted while {_while(stage)}", EXIT_INTERRUPTED
    elif isinstance(error, OSError):
        where = f" ({error.filename})" if error.filename else ""
        reason = (
            f"writing the report failed while {_while(stage)}: {os_reason(error)}{where}; free space or fix "
            f"the folder's permissions and run again"
        )
    elif isinstance(error, _Incomplete):
        reason = str(error)
    else:
        reason = (
            f"unexpected error while {_while(stage)}: {type(error).__name__}: {error}. This is a fault of the "
            f"workbench, not of your data: please report it with the kept notebooks"
        )
    try:
        kept = keep_failed(staging, out, reason)
    except OSError:
        kept = None
    shutil.rmtree(staging, ignore_errors=True)
    if kept is not None and (kept / stage).is_file():
        where = f"The executed notebook is kept at {kept / stage}; "
    else:
        where = f"The executed notebooks are kept at {kept}; " if kept else ""
    where += f"the previous report at {out} is untouched." if out.exists() else f"nothing was written to {out}."
    return StudyFailed(f"{reason}\n{where}", exit_code)


def _while(stage: str) -> str:
    return f"running {stage}" if stage.endswith(".ipynb") else stage


def latest_complete_month(today: date) -> str:
    """The last day of the month before `today`: the as-of date of a scheduled monthly run."""
    return (today.replace(day=1) - timedelta(days=1)).isoformat()
