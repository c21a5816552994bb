"""Output folders that cannot hurt: where a study may write, one run at a time, published whole.

A study writes only into folders it can prove are its own: a new or empty folder, or an earlier
workbench report (one that holds a results.json with an `as_of`). It never writes over, into or
around the data it reads, nor over the folder it runs from. Each destination has a lock, so a
second run into the same folder is refused while the first works; each run stages in a folder of
its own beside the destination and is moved into place only when it is complete.
"""

from __future__ import annotations

import errno
import fcntl
import json
import os
import shutil
import tempfile
from contextlib import contextmanager
from pathlib import Path

from ..errors import UsageError

FAILURE_NOTE = "FAILED.txt"  # in <out>.failed/: why the run failed; also marks the folder as ours
SITE_GENERATOR = '<meta name="generator" content="workbench-site">'
LEGACY_SITE_TITLE = "<title>Customer success studies</title>"


class OutputRefused(UsageError):
    """The output folder is not one a study may write to; nothing was written."""


def is_report(folder: Path) -> bool:
    """A folder that a workbench study published: it holds a results.json with an as_of."""
    try:
        results = json.loads((folder / "results.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return isinstance(results, dict) and "as_of" in results


def is_failed_run(folder: Path) -> bool:
    return (folder / FAILURE_NOTE).is_file()


def check_destination(out: Path, protected: list[Path], cwd: Path | None = None) -> None:
    """Refuse an --out that would overwrite or delete anything the workbench did not write.

    `protected` are the inputs (the data folder, a mapping or config file): the output may not be one
    of them, contain one, or lie inside the data folder."""
    out = out.resolve()
    cwd = (cwd or Path.cwd()).resolve()
    fix = "choose a new folder for the report, e.g. --out reports/<as-of date>"
    for path in protected:
        path = path.resolve()
        if out == path or out in path.parents:
            raise OutputRefused(f"--out {out} would replace {path}, which the study reads; nothing was written. {fix}")
        if path.is_dir() and path in out.parents:
            raise OutputRefused(
                f"--out {out} lies inside the data folder {path}, which the workbench never "
                f"writes to; nothing was written. {fix}"
            )
    if out == cwd or out in cwd.parents or out == Path.home().resolve() or out == Path(out.anchor):
        raise OutputRefused(
            f"--out {out} is the current folder, one of its parents or your home folder; replacing it "
            f"would delete everything below it. Nothing was written. {fix}"
        )
    if out.exists() or out.is_symlink():
        if out.is_symlink() or not out.is_dir():
            raise OutputRefused(f"--out {out} exists and is not a folder; nothing was written. {fix}")
        if not is_report(out) and any(out.iterdir()):
            raise OutputRefused(
                f"--out {out} exists and is not a workbench report (it has no results.json from an "
                f"earlier study), so replacing it could delete your files. Nothing was written. {fix}"
            )


@contextmanager
def locked(out: Path, what: str = "a study"):
    """Hold the lock of destination `out` (a hidden file beside it) for the duration of the block.

    A second holder is refused at once with the first one's process id. The lock file is removed by
    its holder on release; holders check that the file they locked is still the one at the path."""
    lock = out.parent / f".{out.name}.lock"
    while True:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(descriptor, 64).decode(errors="replace").strip() or "unknown"
            os.close(descriptor)
            raise OutputRefused(
                f"{what} is already writing {out} (process {holder}); wait for it to finish or "
                f"choose another --out. Nothing was written."
            ) from None
        try:
            same = os.fstat(descriptor).st_ino == os.stat(lock).st_ino
        except FileNotFoundError:
            same = False
        if same:
            break
        os.close(descriptor)  # the holder before us removed this file as we opened it: lock the new one
    os.ftruncate(descriptor, 0)
    os.write(descriptor, str(os.getpid()).encode())
    try:
        yield
    finally:
        try:
            os.unlink(lock)
        finally:
            os.close(descriptor)


def make_parent(out: Path) -> list[Path]:
    """Create the folders above `out` that are missing; return them (outermost first) so a run that
    writes nothing can remove exactly those again. A folder that cannot be written is refused now,
    before any data is loaded."""
    created = [p for p in reversed(out.parents) if not p.exists()]
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        probe = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".probe", dir=out.parent)
    except OSError as error:
        remove_empty(created)
        raise OutputRefused(
            f"cannot write to {out.parent}: {os_reason(error)}. Nothing was written; choose a folder "
            f"you can write to with --out, or fix its permissions."
        ) from None
    os.close(probe[0])
    os.unlink(probe[1])
    return created


def remove_empty(folders: list[Path]) -> None:
    for folder in reversed(folders):
        try:
            folder.rmdir()
        except OSError:
            return


def staging_folder(out: Path) -> Path:
    """A folder of this run's own beside `out`, on the same file system so publishing is a rename. It gets
    the permissions any new folder gets here (mkdtemp's are owner-only: a web server could not read the
    published report)."""
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".partial", dir=out.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)
    return staging


def remove_leftovers(out: Path) -> None:
    """Staging folders of runs of ours into this destination that were killed outright (SIGKILL, power
    loss): we hold the destination's lock, so no live run owns them. A run killed in the middle of
    publishing left the previous report inside a `.previous` folder: it goes back in place first."""
    for previous in out.parent.glob(f".{out.name}.*.previous"):
        if (previous / out.name).is_dir() and not out.exists():
            (previous / out.name).rename(out)
        shutil.rmtree(previous, ignore_errors=True)
    for staging in out.parent.glob(f".{out.name}.*.partial"):
        shutil.rmtree(staging, ignore_errors=True)


def publish(staging: Path, out: Path) -> None:
    """Swap the finished run into place; the previous report is removed only after the new one is there."""
    previous = None
    if out.exists():
        previous = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".previous", dir=out.parent))
        out.rename(previous / out.name)
    staging.rename(out)
    if previous is not None:
        shutil.rmtree(previous, ignore_errors=True)
    failed = failed_folder(out)
    if is_failed_run(failed):
        shutil.rmtree(failed, ignore_errors=True)


def failed_folder(out: Path) -> Path:
    return out.parent / f"{out.name}.failed"


def keep_failed(staging: Path, out: Path, reason: str) -> Path | None:
    """Move what a failed run wrote to <out>.failed/ (replacing an earlier failed run, never a folder of
    someone else's) with the reason beside it; None when the run had written nothing worth keeping."""
    shutil.rmtree(staging / ".cache", ignore_errors=True)
    shutil.rmtree(staging / ".results", ignore_errors=True)
    if not any(staging.glob("*.ipynb")):
        shutil.rmtree(staging, ignore_errors=True)
        return None
    failed = failed_folder(out)
    if failed.exists() and not is_failed_run(failed):
        failed = Path(tempfile.mkdtemp(prefix=f"{out.name}.failed-", dir=out.parent))
        failed.rmdir()
    elif failed.exists():
        shutil.rmtree(failed)
    (staging / FAILURE_NOTE).write_text(reason + "\n", encoding="utf-8")
    staging.rename(failed)
    return failed


def may_write_site(reports_dir: Path) -> bool:
    """The site index goes only where there is none yet, or where the one there is the workbench's."""
    index = reports_dir / "index.html"
    if not index.exists():
        return True
    try:
        head = index.read_text(encoding="utf-8", errors="replace")[:2000]
    except OSError:
        return False
    return SITE_GENERATOR in head or LEGACY_SITE_TITLE in head


def write_atomically(path: Path, text: str) -> None:
    """Write `text` to `path` so that a reader sees the old file or the new one, never half of one."""
    descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def os_reason(error: OSError) -> str:
    """An OSError in words a person acts on."""
    if error.errno == errno.ENOSPC:
        return "the disk is full"
    if error.errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        return "the folder is read-only or you may not write there"
    return error.strerror or str(error)
