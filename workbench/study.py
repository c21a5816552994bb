"""`workbench study`: run every study notebook with papermill and leave a complete report folder.

The run is written beside its destination and moved into place only when every notebook has
succeeded, so a reader never sees half a report. A failed run keeps its executed notebooks in
`<out>.failed/` for diagnosis and leaves the previous report untouched.
"""
from __future__ import annotations

import json
import shutil
import sys
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

import papermill as pm

from . import __version__
from .render import to_html
from .results import merge, plain
from .site import write_run_index, write_site
from .study_data import prepare, save

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
REQUIRED_KEYS = ("as_of", "window_months", "horizon_days", "decisions", "churned", "signals", "attainment", "revenue")


class StudyFailed(Exception):
    """A notebook failed; the message says which, why, and where its executed copy is kept."""


def notebooks(folder: Path = NOTEBOOKS) -> list[Path]:
    return sorted(folder.glob("[0-9][0-9]_*.ipynb"))


def title(notebook: Path) -> str:
    return notebook.stem.split("_", 1)[1].replace("_", " ").capitalize()


def run_study(data, as_of: str, out=None, window_months: int = 12, horizon_days: int = 90, config=None,
              mapping=None, pseudonymize: bool = False, notebook_folder: Path = NOTEBOOKS, log=None) -> Path:
    log = log or (lambda message: print(message, file=sys.stderr, flush=True))
    out = Path(out or Path("reports") / as_of).resolve()
    data = Path(data).resolve()
    log(f"Checking the data in {data} and measuring every decision's signals ...")
    # Bad config or bad data stops here, before anything is written; the notebooks share this work.
    study = prepare(data, as_of, window_months, horizon_days, config, mapping, pseudonymize=pseudonymize)

    staging = out.parent / f".{out.name}.partial"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    results_dir = staging / ".results"
    cache = save(study, staging / ".cache" / "study.pickle")
    del study  # the notebooks read the cache; holding it here too would double the peak memory
    parameters = {
        "data_dir": str(data), "as_of": as_of, "window_months": window_months, "horizon_days": horizon_days,
        "config": str(Path(config).resolve()) if config else "", "mapping": str(Path(mapping).resolve()) if mapping else "",
        "results_dir": str(results_dir), "reports_dir": str(out.parent), "pseudonymize": pseudonymize,
        "study_cache": str(cache),
    }
    pages = []
    books = notebooks(notebook_folder)
    for number, notebook in enumerate(books, 1):
        log(f"[{number}/{len(books)}] {notebook.stem}")
        executed = staging / notebook.name
        try:
            pm.execute_notebook(notebook, executed, parameters=parameters, kernel_name="python3",
                                progress_bar=True, cwd=str(notebook_folder))
        except pm.PapermillExecutionError as error:
            failed = _keep_failed(staging, out)
            raise StudyFailed(
                f"{notebook.name} failed in cell {error.exec_count}: {error.ename}: {error.evalue}\n"
                f"The executed notebook is kept at {failed / notebook.name}; "
                f"the previous report at {out} is untouched.") from None
        page = to_html(executed, staging / f"{notebook.stem}.html", title(notebook))
        pages.append((title(notebook), page.name))

    base = {"as_of": as_of, "window_months": window_months, "horizon_days": horizon_days}
    results = merge(results_dir, base)
    missing = [k for k in REQUIRED_KEYS if k not in results]
    if missing:
        failed = _keep_failed(staging, out)
        raise StudyFailed(f"the notebooks did not record {missing} for results.json; see {failed}")
    results["run"] = {"generated_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                      "workbench_version": __version__, "data_dir": str(data),
                      "config": parameters["config"] or None, "mapping": parameters["mapping"] or None,
                      "pseudonymized": pseudonymize}
    shutil.rmtree(results_dir)
    shutil.rmtree(cache.parent)
    (staging / "results.json").write_text(json.dumps(plain(results), indent=2))
    write_run_index(staging, results, pages)
    _replace(staging, out)
    write_site(out.parent)
    log(f"Study written to {out}; all runs: {out.parent / 'index.html'}")
    return out


def _keep_failed(staging: Path, out: Path) -> Path:
    """Keep the executed notebooks for diagnosis, not the data cache (gigabytes at scale)."""
    failed = out.parent / f"{out.name}.failed"
    shutil.rmtree(failed, ignore_errors=True)
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    staging.rename(failed)
    return failed


def _replace(staging: Path, out: Path) -> None:
    """Swap the finished run into place; the old folder is removed only after the new one is there."""
    previous = out.parent / f".{out.name}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    if out.exists():
        out.rename(previous)
    staging.rename(out)
    shutil.rmtree(previous, ignore_errors=True)
    shutil.rmtree(out.parent / f"{out.name}.failed", ignore_errors=True)


def latest_complete_month(today: date) -> str:
    """The last day of the month before `today`: the as-of date of a scheduled monthly run."""
    return (today.replace(day=1) - timedelta(days=1)).isoformat()
