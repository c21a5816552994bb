"""Memory a finished step freed, handed back to the system: light to import, for the runner and its kernels."""

from __future__ import annotations

import contextlib
import ctypes
import gc
import sys


def release_memory() -> None:
    """Hand freed memory back to the system (glibc and Arrow's allocator keep it otherwise), so the next page
    starts lean."""
    gc.collect()
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    if "pyarrow" in sys.modules:  # pandas' string columns live in Arrow's own memory pool
        sys.modules["pyarrow"].default_memory_pool().release_unused()
