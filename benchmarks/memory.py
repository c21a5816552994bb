"""Peak memory of a process and everything it starts (a study and its notebook kernels).

`getrusage(RUSAGE_CHILDREN)` cannot answer this: a child's high-water mark includes the parent's
memory at the moment it was forked, and it says nothing about children running at the same time.
So the tree is sampled from /proc instead (Linux; elsewhere the peaks stay None).

Two sums are kept. Resident memory counts a page in every process that maps it: the kernels all map the
same prepared study (columnar.py), so its sum counts the study once per kernel. Proportional memory
(PSS) divides each shared page among the processes that map it: its sum is what the tree takes from the
machine, and what the targets are judged on.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _processes() -> dict[int, tuple[int, int]]:
    """pid -> (parent pid, resident bytes) for every process we can read."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            resident = int((entry / "statm").read_text().split()[1]) * PAGE
        except (OSError, IndexError, ValueError):
            continue  # the process ended while we looked
        parent = int(stat.rsplit(")", 1)[1].split()[1])
        found[int(entry.name)] = (parent, resident)
    return found


def _proportional(pid: int, resident: int) -> int:
    """The process's proportional set size in bytes, or its resident size where the kernel cannot say."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) * 1024
    except (OSError, IndexError, ValueError):
        pass
    return resident


def tree_resident(root: int) -> tuple[int, int, int]:
    """(summed resident, largest single resident, summed proportional) bytes of `root` and its descendants."""
    processes = _processes()
    children: dict[int, list[int]] = {}
    for pid, (parent, _) in processes.items():
        children.setdefault(parent, []).append(pid)
    pending, sizes, shares = [root], [], []
    while pending:
        pid = pending.pop()
        if pid in processes:
            sizes.append(processes[pid][1])
            shares.append(_proportional(pid, processes[pid][1]))
        pending += children.get(pid, [])
    return sum(sizes), max(sizes, default=0), sum(shares)


class TreePeak:
    """Samples a process tree's memory in a background thread until stopped; asks the root to stop (SIGTERM) if
    the tree's proportional memory passes `ceiling_mb`, before the machine's out-of-memory killer picks a victim."""

    def __init__(self, root: int, interval: float = 0.25, ceiling_mb: float | None = None):
        self.root, self.interval, self.ceiling_mb = root, interval, ceiling_mb
        self.summed_mb = self.single_mb = self.proportional_mb = None
        self.stopped = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def __enter__(self) -> TreePeak:
        if Path("/proc/self/statm").exists():
            self.summed_mb = self.single_mb = self.proportional_mb = 0.0
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def _sample(self) -> None:
        while not self._stop.is_set():
            summed, single, proportional = tree_resident(self.root)
            self.summed_mb = max(self.summed_mb, summed / 2**20)
            self.single_mb = max(self.single_mb, single / 2**20)
            self.proportional_mb = max(self.proportional_mb, proportional / 2**20)
            if self.ceiling_mb and proportional / 2**20 > self.ceiling_mb and not self.stopped:
                self.stopped = True
                os.kill(self.root, signal.SIGTERM)
            self._stop.wait(self.interval)


def machine_mb() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**20
