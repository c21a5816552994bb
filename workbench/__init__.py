"""Customer Success analytics workbench: what actually predicts renewal, with honest statistics.

Start from `Study`: ``Study.load(folder, as_of=...)``, then ``study.validity()``.
"""

__version__ = "0.1.0"

__all__ = ["Result", "Study", "StudySpec", "__version__"]


def __getattr__(name: str):
    # Loaded on first use, so that `workbench study` starts its notebook kernels before it imports the
    # analyses (a second of imports the kernels' own start-up then overlaps).
    if name == "Study":
        from .study import Study

        return Study
    if name == "StudySpec":
        from .spec import StudySpec

        return StudySpec
    if name == "Result":
        from .tables import Result

        return Result
    raise AttributeError(f"module 'workbench' has no attribute {name!r}")
