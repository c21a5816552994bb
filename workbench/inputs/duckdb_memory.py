"""How much memory DuckDB may use in a process before it spills to disk: the runner's limit and each kernel's
share of it. Apart from stored.py, which reads it, so that `workbench study` can give its kernels their share
before it loads DuckDB or pandas."""

from __future__ import annotations

import os

VARIABLE = "WORKBENCH_DUCKDB_MEMORY"  # set by the user, or by `workbench study` for its kernels
# Per process (the runner and each kernel hold a connection): enough that checking does not spill, little
# enough that the kernels' shares, together, stay within the runner's (docs/performance.md).
RUNNER = "1GB"
SHARED_MB = 1024


def limit() -> str:
    """This process's limit: the variable's, or the runner's."""
    return os.environ.get(VARIABLE, RUNNER)


def kernel_share(kernels: int) -> str:
    """Each of `kernels` kernels' share of the runner's memory (at least 256 MB), unless the user set the limit."""
    return os.environ.get(VARIABLE, f"{max(256, SHARED_MB // max(1, kernels))}MB")
