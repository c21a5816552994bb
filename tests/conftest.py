import hashlib
import os
from pathlib import Path

import pytest

from workbench.generate import World, generate, write

# Every study of the suite is prepared afresh (the kernels it starts inherit this): a test that changes how a
# study is measured must not be served one kept by another. tests/test_prepared.py turns the cache on.
os.environ["WORKBENCH_CACHE"] = "off"


def folder_digest(folder: Path) -> dict[str, str]:
    """Content hash of every file below `folder`: proves a run left it untouched."""
    return {
        str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


@pytest.fixture(scope="session")
def small_world(tmp_path_factory) -> Path:
    """A default world of 300 accounts, written once for the session; tests must not modify it."""
    return write(generate(World(accounts=300, seed=7)), tmp_path_factory.mktemp("small_world"))


@pytest.fixture
def world_copy(small_world, tmp_path) -> Path:
    """A private copy of the small world that a test may break."""
    target = tmp_path / "data"
    target.mkdir()
    for file in small_world.iterdir():
        (target / file.name).write_bytes(file.read_bytes())
    return target
