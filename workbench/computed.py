"""The one cache every analysis of a `Study` goes through: each analysis computed on first use, then kept.

A run of `workbench study` gives its studies another kind of cache (publish/sharing.py), which shares the
analyses between its kernels; the study does not know which kind it holds.
"""

from __future__ import annotations

from collections.abc import Callable


class Computed:
    """Analyses by name, each computed once (`get_or_compute`) and kept until `forget`."""

    def __init__(self):
        self._kept: dict = {}

    def get_or_compute(self, name: str, compute: Callable[[], object]):
        """The analysis `name`: kept, or `compute()`d now and kept."""
        if name not in self._kept:
            self._kept[name] = compute()
        return self._kept[name]

    def forget(self) -> None:
        """Let every kept analysis go: each is computed again when next asked."""
        self._kept.clear()

    def __contains__(self, name: str) -> bool:
        return name in self._kept
