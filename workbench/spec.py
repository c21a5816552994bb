"""What a study is run on, in one object: the command line, `run_study`, the pages' parameters and `Study.load`
all read the run's parameters from a `StudySpec`, so a new one is added here once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# A page's parameters cell names the data folder `data_dir` (papermill's users pass it so); the others are
# the spec's own names.
NOTEBOOK_NAMES = {"data": "data_dir"}
RUN_ONLY = ("cache",)  # a page reads the study its run saved; standing alone it keeps the default


@dataclass(frozen=True)
class StudySpec:
    """The data folder, the study's date and every choice a study is loaded with (`Study.load`'s arguments)."""

    data: str
    as_of: str
    mapping: str = ""
    config: str = ""
    window_months: int = 12
    horizon_days: int = 90
    segment: str = ""
    pseudonymize: bool = False
    allow_outside_data: bool = False
    engine: str = ""
    preset: str = ""  # presets, comma-separated (salesforce,pendo): inputs/presets
    cache: bool = True  # reuse the study prepared from the same inputs (prepared.py)

    def resolved(self) -> StudySpec:
        """The same spec with its files as absolute paths, as a run hands it to its pages."""
        absolute = {name: str(Path(getattr(self, name)).resolve()) for name in ("data", "mapping", "config")}
        return StudySpec(**{**asdict(self), **{k: v for k, v in absolute.items() if getattr(self, k)}})

    def load(self, saved: str = ""):
        """The study this spec describes (`Study.load`); `saved`: a file a run saved the study in for its pages."""
        from .study import Study

        arguments = asdict(self)
        kept = arguments.pop("cache")
        return Study.load(arguments.pop("data"), arguments.pop("as_of"), cache=saved or kept, **arguments)

    def notebook_parameters(self) -> dict:
        """The spec as a page's parameters cell names it."""
        return {NOTEBOOK_NAMES.get(k, k): v for k, v in asdict(self).items() if k not in RUN_ONLY}

    @classmethod
    def from_notebook(cls, parameters: Mapping) -> StudySpec:
        """The spec a page's parameters cell holds (`parameters`: its namespace; names it lacks keep their
        defaults)."""
        names = {NOTEBOOK_NAMES.get(f.name, f.name): f.name for f in fields(cls)}
        return cls(**{name: parameters[given] for given, name in names.items() if given in parameters})
