"""Analyses shared between the kernels of one `workbench study` run.

The runner saves the prepared study once (`prepare`); each kernel reads it and, through the study's cache, finds
an analysis another kernel computed in the run's `analyses` folder instead of computing it again. A kernel
that computes one for the others marks it first (`<name>.computing`, holding its process id), so a page that
needs it waits for the result rather than computing it a second time; a mark whose process is gone is ignored.
Each analysis is left as a pickle whose large frames are Arrow files every kernel maps (columnar.py), so the
kernels hold one copy between them. This module is the only place that knows about those files.
"""

from __future__ import annotations

import os
import pickle
import time
import weakref
from pathlib import Path
from typing import TYPE_CHECKING

from .. import columnar
from ..computed import Computed
from .memory import release_memory
from .pages import shared_analyses

if TYPE_CHECKING:  # the study's analyses import the statistics: the runner starts its kernels first
    from ..study import Study

SHARED = shared_analyses()  # computed once per run by the kernels between them, heaviest first (pages.py)
_LIVE: weakref.WeakSet = weakref.WeakSet()


class SharedAnalyses(Computed):
    """A study's cache in a run: analyses another kernel left in `folder` are read, not computed; after each
    analysis computed here, the study's data hand back their DuckDB buffers, which it no longer needs."""

    def __init__(self, folder: Path, study: Study):
        super().__init__()
        self.folder, self._study = folder, study
        _LIVE.add(self)

    def __getstate__(self):
        return {"folder": self.folder, "_study": self._study}  # what a kernel computed stays its own

    def __setstate__(self, state):
        self.__dict__.update(state, _kept={})
        _LIVE.add(self)

    def get_or_compute(self, name: str, compute):
        if name not in self._kept:
            left = self.folder / f"{name}.pickle"
            _wait_while_computed_elsewhere(left)
            if left.exists():
                self._kept[name] = columnar.load(left)
            else:
                self._kept[name] = compute()
                self._study.data.close_stores()
        return self._kept[name]

    def leave(self, name: str) -> None:
        """Leave the analysis `name` (computed here) for the other kernels, and hold it as they do: mapped from
        its files, not as a copy of its own."""
        self._kept[name] = columnar.load(_leave(self.folder, name, self._kept[name]))

    def done(self, names) -> None:
        """Nobody waits for `names` any more: computed, or failed (then the page that shows one computes it
        again and fails in view)."""
        for name in names:
            (self.folder / f"{name}.computing").unlink(missing_ok=True)


def prepare(study: Study, path: Path) -> Path:
    """Save `study` for the run's kernels in `path`, its analyses to be shared in the `analyses` folder beside
    it."""
    study.analyses = SharedAnalyses(path.parent / "analyses", study)
    study.analyses.folder.mkdir(parents=True, exist_ok=True)
    return study.save(path)


def mark(folder: Path, names, pid: int) -> None:
    """Mark `names` as being computed by process `pid`, before any page can ask for them."""
    folder.mkdir(parents=True, exist_ok=True)
    for name in names:
        (folder / f"{name}.computing").write_text(str(pid))


def share(cache: str, analyses: list[str], kept: bool = True) -> None:
    """Compute `analyses` (names of the study's methods, or of its `growth` property) of the study saved in
    `cache` and leave each for the other kernels. `kept`: through the study this process keeps for its pages;
    otherwise read for this alone and let go (the runner fits the growth model so, before the kernels start)."""
    from ..study import saved

    study = saved(Path(cache)) if kept else columnar.load(Path(cache))
    shared = study.analyses
    try:
        for name in analyses:
            analysis = getattr(study, name)
            if callable(analysis):  # a method; `growth` is a property
                analysis()
            shared.leave(name)
    finally:
        shared.done(analyses)


def share_scorecard(decisions: str, folder: str) -> None:
    """The scorecard of the decisions, settings and number of tests pickled in `decisions`, left in `folder` for
    the run's kernels: it needs only the decisions, so a kernel learns it while the runner saves the study."""
    from ..study import proposed_scorecard

    folder = Path(folder)
    try:
        with open(decisions, "rb") as file:
            measured, settings, tests = pickle.load(file)
        _leave(folder, "scorecard", proposed_scorecard(measured, settings, tests))
    finally:
        (folder / "scorecard.computing").unlink(missing_ok=True)


def between_pages() -> None:
    """Let go of what the last page computed or read (each page's own analyses are shown by no other; the shared
    ones are mapped again from their files when next asked) and hand the memory back."""
    for shared in list(_LIVE):
        shared.forget()
    release_memory()


def _leave(folder: Path, name: str, analysis) -> Path:
    """`analysis` pickled in `folder` under `name`, its large frames as Arrow files. The Arrow files keep the
    partial pickle's name, process id and all: two kernels that both computed an analysis (one whose mark went
    stale) never write the same file, nor one the other's readers have mapped."""
    partial = columnar.dump(analysis, folder / f".{name}.{os.getpid()}.partial")
    return partial.replace(folder / f"{name}.pickle")  # a reader never sees half of it


def _wait_while_computed_elsewhere(left: Path) -> None:
    """While another kernel of the run computes this analysis (its `.computing` mark names the process), wait
    for its result rather than compute it a second time; go on if that process is gone."""
    note = left.with_suffix(".computing")
    while note.exists() and not left.exists():
        try:
            computing = int(note.read_text())
            if computing == os.getpid():
                return  # this process is the one computing it
            os.kill(computing, 0)
        except (OSError, ValueError):
            return
        time.sleep(0.2)
