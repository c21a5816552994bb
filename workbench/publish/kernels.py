"""A few warm kernels that run the study's notebooks side by side.

Starting a kernel and importing pandas, plotly and statsmodels into it costs more than most pages'
own work on a small study, so each kernel is started once, warmed while the runner checks the data,
and runs several pages one after another, its namespace reset between them (imports and the loaded
study stay: `Study.load` keeps what it read from the cache; the analyses a page computed go). Pages do
not depend on one another, so as many run at once as there are kernels, in their declared run
order (pages.py): the longest first, those that show an analysis the kernels share last.
"""

from __future__ import annotations

import ast
import os
import queue
import threading
import time
from concurrent.futures import FIRST_EXCEPTION, ThreadPoolExecutor, wait
from pathlib import Path

import nbformat
import papermill as pm
from jupyter_client.manager import AsyncKernelManager
from jupyter_core.utils import run_sync
from papermill.engines import NBClientEngine, papermill_engines

from .. import columnar
from ..inputs import duckdb_memory
from . import sharing
from .pages import run_order


def remote(function, *arguments) -> str:
    """The code a kernel runs to call `function` (a module's own, not a lambda) with `arguments` (literals: paths
    as strings), leaving no name behind in the page's namespace."""
    return f"__import__('importlib').import_module({function.__module__!r}).{function.__qualname__}(*{arguments!r})"


# Between pages: the namespace, and the analyses the page computed, let go and the memory handed back.
RESET = f"get_ipython().reset(new_session=True); {remote(sharing.between_pages)}"
BASE_MB = 400  # a warmed kernel before it reads the study: Python, pandas, statsmodels, plotly
KERNEL = "python3"


class _KeptOnFailure(NBClientEngine):
    """papermill's engine, saving the notebook only when it ends, or when it fails for any reason.

    papermill's own saving rewrites the whole notebook before every cell (a third of a small page's
    time); without it, a page whose kernel dies would leave nothing to look at.
    """

    @classmethod
    def execute_managed_notebook(cls, nb_man, kernel_name, kept_at: str = "", **kwargs):
        try:
            return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
        except BaseException:
            if kept_at:
                nbformat.write(nb_man.nb, kept_at)
            raise


ENGINE = "workbench"
papermill_engines.register(ENGINE, _KeptOnFailure)


# Ibis and its DuckDB backend, which the pages asking usage questions would otherwise load on first use.
USAGE_QUERIES = "import workbench.inputs.queries\n__import__('ibis').duckdb"
# What the imports made lives as long as the kernel: frozen, the garbage collector no longer walks it on each
# full collection (IPython runs one after every page, release_memory another).
FREEZE = "__import__('gc').freeze()"


def warm_up(notebooks: list[Path]) -> str:
    """The pages' own import statements (lines that are one import and nothing else), for each kernel to run
    first, then the usage queries' engine, all of it frozen out of the garbage collector's way."""
    lines = {
        line
        for notebook in notebooks
        for cell in nbformat.read(notebook, as_version=4).cells
        if cell.cell_type == "code"
        for line in cell.source.splitlines()
        if _only_an_import(line)
    }
    return "\n".join([*sorted(lines), USAGE_QUERIES, FREEZE])


def _only_an_import(line: str) -> bool:
    if not line.startswith(("import ", "from ")):
        return False
    try:
        statements = ast.parse(line).body
    except SyntaxError:
        return False
    return len(statements) == 1 and isinstance(statements[0], (ast.Import, ast.ImportFrom))


def default_jobs() -> int:
    """One kernel per core, at most four: beyond that, pages wait on memory more than on compute."""
    return max(1, min(4, os.cpu_count() or 1))


THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")


def resource_shares(kernels: int) -> dict[str, str]:
    """Each kernel's share of the cores for its numerical libraries' threads, unless the user set them (kernels
    whose threads each ran on every core computed the shared analyses slower than on a share each), and of the
    runner's DuckDB memory (kernels each given the runner's whole limit held more between them at the study's
    peak)."""
    share = str(max(1, (os.cpu_count() or 1) // max(1, kernels)))
    limits = {name: os.environ.get(name, share) for name in THREAD_VARIABLES}
    limits[duckdb_memory.VARIABLE] = duckdb_memory.kernel_share(kernels)
    return limits


def affordable(cache: Path, available_mb: float | None) -> int:
    """How many kernels this machine's free memory holds, each with the study read from `cache` and a
    page's working memory beside it (about as much again)."""
    if available_mb is None:
        return 1_000
    per_kernel = BASE_MB + 2 * columnar.size(cache) / 2**20
    return max(1, int(0.8 * available_mb // per_kernel))


def available_mb() -> float | None:
    """Memory the system can give without swapping (Linux's MemAvailable), or None where it cannot say."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def by_length(notebooks: list[Path]) -> list[Path]:
    """The pages in their run order (pages.py), then any others by name."""
    rank = {name: i for i, name in enumerate(run_order())}
    return sorted(notebooks, key=lambda n: (rank.get(n.stem, len(rank)), n.name))


class Kernels:
    """`size` started kernels; `run` executes notebooks on them, `size` at a time."""

    def __init__(self, size: int, notebooks: list[Path]):
        self.managers: list[AsyncKernelManager] = []
        self._clients: dict[int, object] = {}
        self._pending: dict[int, list[tuple[str, str, float]]] = {}
        self._idle: queue.Queue = queue.Queue()
        imports = warm_up(notebooks)
        for _ in range(size):
            # Asynchronous, as nbclient expects: with a blocking one it waits forever on a dead kernel.
            manager = AsyncKernelManager(kernel_name=KERNEL)
            # Errors only: its notice that loopback TCP is unencrypted would be noise on every run.
            run_sync(manager.start_kernel)(
                cwd=str(notebooks[0].parent),
                extra_arguments=["--IPKernelApp.log_level=ERROR"],
                env={**os.environ, **resource_shares(size)},
            )
            client = manager.blocking_client()
            client.start_channels(iopub=False, stdin=False, hb=False, control=False)
            self._clients[id(manager)] = client
            self.managers.append(manager)
            self._send(manager, imports)
            self._idle.put(manager)

    def __enter__(self) -> Kernels:
        return self

    def __exit__(self, *_) -> None:
        self.shutdown()

    def keep(self, size: int) -> None:
        """Shut down all but `size` kernels (at least one)."""
        while len(self.managers) > max(1, size):
            manager = self.managers.pop()
            self._clients.pop(id(manager)).stop_channels()
            run_sync(manager.shutdown_kernel)(now=True)
        self._idle = queue.Queue()
        for manager in self.managers:
            self._idle.put(manager)

    def begin(self, names: list[str], code: str, folder: Path, manager: AsyncKernelManager | None = None) -> None:
        """Have a kernel (the first, unless `manager` is given) run `code`, which computes the analyses `names`
        and leaves them in `folder` for the others; each is marked as being computed first, so that a page that
        needs one waits for it rather than computing it a second time."""
        manager = manager or self.managers[0]
        sharing.mark(folder, names, manager.provisioner.pid)  # before any page can ask for them
        request = (self._send(manager, code), ", ".join(names), time.perf_counter())
        self._pending.setdefault(id(manager), []).append(request)

    def share(self, cache: Path, analyses: list[str]) -> None:
        """Have the kernels read the saved study now and compute `analyses` (heaviest first) between them, leaving
        each for the others: dealt in turn, first to the kernels not already computing one (`begin`)."""
        dealt = sorted(self.managers, key=lambda m: bool(self._pending.get(id(m))))
        for i, manager in enumerate(dealt):
            part = analyses[i :: len(dealt)]
            if part:
                self.begin(part, remote(sharing.share, str(cache), part), cache.parent / "analyses", manager)

    def _send(self, manager: AsyncKernelManager, code: str) -> str:
        """Queue `code` in the kernel ahead of the next page's cells, without waiting for it."""
        return self._clients[id(manager)].execute(code, silent=True, store_history=False)

    def _await_shared(self, manager: AsyncKernelManager, log) -> None:
        """Wait for the analyses this kernel computes for the others, so that a page's time is its own.
        One that failed is left to the page that shows it, which computes it again and fails in view."""
        client = self._clients[id(manager)]
        for request, names, sent in self._pending.pop(id(manager), []):
            while True:
                try:
                    reply = client.get_shell_msg(timeout=1)
                except queue.Empty:
                    if not manager.has_kernel or not run_sync(manager.is_alive)():
                        return  # the page that follows meets the dead kernel and says so
                    continue
                if reply["parent_header"].get("msg_id") == request:
                    break
            if reply["content"]["status"] == "ok":
                log(f"  computed {names} in {time.perf_counter() - sent:.1f} s")

    def run(self, jobs: list[tuple[Path, Path]], parameters: dict, stage: list[str], log, after) -> None:
        """Execute each (notebook, executed) pair, then call `after(notebook, executed)` in the same worker.

        The first failure stops the rest: pages not started are cancelled, running ones are stopped,
        `stage[0]` says what failed (a page, or rendering it) and its error is raised here.
        """
        total, done, lock = len(jobs), [0], threading.Lock()
        waiting = list(reversed(jobs))  # popped from the end: the first job first
        stopping = threading.Event()

        def work(where: list[str]) -> None:
            if stopping.is_set():
                return
            manager, idle = self._idle.get(), False
            try:
                if stopping.is_set():  # a page failed while this one waited for a kernel
                    return
                self._await_shared(manager, log)
                # The next page goes to the kernel that is free first, not to the first one handed out: a kernel
                # still computing an analysis for the others would hold the longest page back.
                with lock:
                    notebook, executed = waiting.pop()
                started = time.perf_counter()
                log(f"  started {notebook.stem}")
                where[0] = notebook.name
                pm.execute_notebook(
                    notebook,
                    executed,
                    parameters=parameters,
                    kernel_name=KERNEL,
                    progress_bar=False,
                    km=manager,
                    request_save_on_cell_execute=False,
                    engine_name=ENGINE,
                    kept_at=str(executed),
                )
                self._send(manager, RESET)
                self._idle.put(manager)  # the next page runs on it while this one is rendered
                idle = True
                where[0] = f"rendering {notebook.stem}.html"
                after(notebook, executed)
                with lock:
                    done[0] += 1
                    log(f"[{done[0]}/{total}] {notebook.stem} done in {time.perf_counter() - started:.1f} s")
            except BaseException:
                stopping.set()  # the pages behind this one are not started
                raise
            finally:
                if not idle:
                    self._idle.put(manager)

        # A worker per kernel and one more per kernel for a page being rendered while its kernel runs the next.
        pool = ThreadPoolExecutor(max_workers=2 * len(self.managers), thread_name_prefix="page")
        places = {}
        try:  # a signal can stop the main thread anywhere here: the pages' threads must end before it goes on
            for _ in jobs:
                where = ["waiting for a kernel"]  # until the worker knows its page
                places[pool.submit(work, where)] = where
            wait(places, return_when=FIRST_EXCEPTION)
            failed = next((f for f in places if f.done() and not f.cancelled() and f.exception()), None)
            if failed is not None:
                stage[0] = places[failed][0]
                raise failed.exception()
        finally:
            if any(not f.done() for f in places):
                for future in places:
                    future.cancel()
                self.shutdown()  # pages still running stop with a dead kernel instead of running on
            pool.shutdown(wait=True)

    def shutdown(self) -> None:
        for manager in self.managers:
            client = self._clients[id(manager)]
            if client.channels_running:
                client.stop_channels()
            if manager.has_kernel:
                run_sync(manager.shutdown_kernel)(now=True)
