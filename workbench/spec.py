"""What a study is run on, in one object: the command line, `run_study`, the pages' parameters and `Study.load`
all read the run's parameters from a `StudySpec`, so a new one is added here once."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path

# A page's parameters cell names the data folder `data_dir` (papermill's users pass it so); the others are
# the spec's own names.
NOTEBOOK_NAMES = {"data": "data_dir"}


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

    def resolved(self) -> StudySpec:
        """The same spec with its files as absolute paths, as a run hands it to its pages."""
        absolute = {name: str(Path(getattr(self, name)).resolve()) for name in ("data", "mapping", "config")}
        return StudySpec(**{**asdict(self), **{k: v for k, v in absolute.items() if getattr(self, k)}})

    def load(self, cache: str = ""):
        """The study this spec describes (`Study.load`); `cache`: a prepared study saved with the same spec."""
        from .study import Study

        arguments = asdict(self)
        return Study.load(arguments.pop("data"), arguments.pop("as_of"), cache=cache, **arguments)

    def notebook_parameters(self) -> dict:
        """The spec as a page's parameters cell names it."""
        return {NOTEBOOK_NAMES.get(name, name): value for name, value in asdict(self).items()}

    @classmethod
    def from_notebook(cls, parameters: Mapping) -> StudySpec:
        """The spec a page's parameters cell holds (`parameters`: its namespace; names it lacks keep their
        defaults)."""
        names = {NOTEBOOK_NAMES.get(f.name, f.name): f.name for f in fields(cls)}
        return cls(**{name: parameters[given] for given, name in names.items() if given in parameters})
