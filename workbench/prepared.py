"""Prepared studies kept between loads: a study checked and measured once is read back in seconds when nothing it
was made from has changed.

An entry is keyed by everything a study is made from: every file of the data folder (its path, size,
modification time and a hash of its first and last megabyte), the mapping's and the config's contents, the
study's arguments and the workbench's own code. Any change gives another key, so a changed input is read again
and never served stale. Entries live in the user's cache folder (`WORKBENCH_CACHE` names another, or `off`),
not in the data folder. One process writes an entry at a time (a lock beside it); an entry is used only once
its last file, `complete`, exists, so a crash mid-write leaves nothing that is read. Past `WORKBENCH_CACHE_MB`
(default 20,000) the entries used longest ago are dropped, never one used in the last hour.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path

from . import __version__, columnar
from .errors import UsageError

VARIABLE, SIZE_VARIABLE = "WORKBENCH_CACHE", "WORKBENCH_CACHE_MB"
SAMPLE_BYTES = 1 << 20  # hashed from each end of every file
RECENT_SECONDS = 3600  # an entry used this recently is never dropped: a run may still be reading its stores
CODE = Path(__file__).resolve().parent


def root() -> Path | None:
    """The cache folder (None where the user turned it off)."""
    chosen = os.environ.get(VARIABLE, "")
    if chosen.lower() == "off":
        return None
    if chosen:
        return Path(chosen)
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "workbench" / "prepared"


def key(parameters: dict, engine: str, allow_outside_data: bool) -> str | None:
    """The entry's key for a study loaded with `parameters` (Study.parameters) on `engine`; None where the cache
    is off or what the study is made from cannot all be seen (a warehouse's table, files a mapping reads outside
    the data folder)."""
    if engine == "warehouse" or allow_outside_data or _root_or_none() is None:
        return None
    limit_bytes()  # a limit that is not a number is said before anything is read
    try:
        return _key(parameters, engine)
    except OSError:  # a file that cannot be read: loading says which, and nothing is kept
        return None


def _key(parameters: dict, engine: str) -> str:
    digest = hashlib.sha256(json.dumps({**parameters, "engine": engine, "version": __version__}).encode())
    for name in ("mapping", "config"):
        if parameters[name]:
            digest.update(Path(parameters[name]).read_bytes())
    folder = Path(parameters["data"])
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        _file(digest, path, str(path.relative_to(folder)))
    for path in sorted([*CODE.rglob("*.py"), *CODE.rglob("*.yml")]):  # other code (or presets): another study
        digest.update(path.read_bytes())
    return digest.hexdigest()[:40]


def _file(digest, path: Path, name: str) -> None:
    stat = path.stat()
    digest.update(f"{name}\0{stat.st_size}\0{stat.st_mtime_ns}\0".encode())
    with open(path, "rb") as file:
        digest.update(file.read(SAMPLE_BYTES))
        if stat.st_size > 2 * SAMPLE_BYTES:
            file.seek(-SAMPLE_BYTES, os.SEEK_END)
            digest.update(file.read(SAMPLE_BYTES))


def read(entry_key: str):
    """The study kept under `entry_key`, or None."""
    folder = _root_or_none()
    if folder is None:
        return None
    entry = folder / entry_key
    if not (entry / "complete").exists():
        return None
    (entry / "complete").touch()  # used now: dropped last
    study = columnar.load(entry / "study.pickle")
    study.prepared = {**study.prepared, "reused": True}
    return study


def keep(study, entry_key: str) -> None:
    """Keep `study` under `entry_key`: its stores' files linked (or copied) into the entry, its frames written as
    Arrow files beside its pickle, which reads the stores there. The study itself, and its stores, stay as they
    were, so a failure to write leaves it whole and the cache without the entry."""
    folder = _root_or_none()
    if folder is None:
        return
    entry = folder / entry_key
    stores = [s for s in study.data.stored.values() if s is not None and s.database is not None]
    where = [(s.database, s.kept) for s in stores]
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with _locked(folder / f"{entry_key}.lock"):
            if (entry / "complete").exists():
                return  # another process kept it meanwhile
            shutil.rmtree(entry, ignore_errors=True)  # what a crash left half written
            entry.mkdir()
            study.prepared = {"at": time.strftime("%Y-%m-%d %H:%M"), "reused": False}
            try:
                for stored in stores:  # as the kept pickle holds them: in the entry, never moved out of it
                    stored.database, stored.kept = stored.copy_to(entry), True
                columnar.dump(study, entry / "study.pickle")
            finally:
                for stored, (database, kept) in zip(stores, where):
                    stored.database, stored.kept = database, kept
            (entry / "complete").touch()
    except OSError:
        shutil.rmtree(entry, ignore_errors=True)  # a full or read-only cache: the study works without it
        study.prepared = None
        return
    with contextlib.suppress(OSError):  # another process dropping the same entries meanwhile
        _drop_oldest(folder, keep=entry)


def _root_or_none() -> Path | None:
    try:
        return root()
    except RuntimeError:  # no home folder to find the cache in
        return None


@contextmanager
def _locked(path: Path):
    with open(path, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def limit_bytes() -> float:
    """The cache's size limit (`WORKBENCH_CACHE_MB`, default 20,000 MB), in bytes."""
    given = os.environ.get(SIZE_VARIABLE, "20000")
    try:
        megabytes = float(given)
    except ValueError:
        megabytes = float("nan")
    if not megabytes >= 0:
        raise UsageError(
            f"{SIZE_VARIABLE} is the prepared studies' cache limit in megabytes (such as 20000), not {given!r}"
        )
    return megabytes * 2**20


def _drop_oldest(folder: Path, keep: Path) -> None:
    """Drop the entries used longest ago while the cache holds more than its limit."""
    limit = limit_bytes()
    entries = [e for e in folder.iterdir() if e.is_dir() and (e / "complete").exists()]
    sizes = {e: sum(p.stat().st_size for p in e.rglob("*") if p.is_file()) for e in entries}
    total = sum(sizes.values())
    now = time.time()
    for entry in sorted(entries, key=lambda e: (e / "complete").stat().st_mtime):
        if total <= limit:
            break
        if entry == keep or now - (entry / "complete").stat().st_mtime < RECENT_SECONDS:
            continue
        with _locked(folder / f"{entry.name}.lock"):
            (entry / "complete").unlink(missing_ok=True)
            shutil.rmtree(entry, ignore_errors=True)
        total -= sizes[entry]
