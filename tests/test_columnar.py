"""The prepared study's frames as Arrow files that each kernel maps: read back equal, as views on the file, once."""

import mmap
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmarks.memory import TreePeak
from workbench import columnar
from workbench.study import Study

AS_OF = "2026-10-31"

LINUX = Path("/proc/self/smaps_rollup").exists()


def every_kind(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    day = pd.Timestamp("2026-01-01") + pd.to_timedelta(rng.integers(0, 300, rows), unit="D")
    frame = pd.DataFrame(
        {
            "account_id": pd.Series([f"a{i % 7}" for i in range(rows)], dtype="str"),
            "arr": rng.normal(size=rows),
            "seats": rng.integers(0, 9, rows),
            "renewed": rng.random(rows) < 0.5,
            "observation_date": day.astype("datetime64[ns]"),
            "scored_on": day.astype("datetime64[us]"),
        }
    )
    frame.loc[::3, "arr"] = np.nan
    frame.loc[::4, "observation_date"] = pd.NaT
    frame.loc[::5, "account_id"] = None
    return frame


@pytest.fixture
def mapped_always(monkeypatch):
    monkeypatch.setattr(columnar, "MIN_ROWS", 0)


def test_frames_come_back_equal_as_read_only_views_on_their_files(tmp_path, mapped_always):
    frame = every_kind(500)
    by_day = frame.set_index("observation_date")
    objects = frame.assign(note=[{"n": i} for i in range(len(frame))])  # a Python object column: kept pickled
    saved = {"frame": frame, "again": frame, "by_day": by_day, "objects": objects, "empty": frame.iloc[:0]}
    back = columnar.load(columnar.dump(saved, tmp_path / "study.pickle"))
    for name, original in saved.items():
        pd.testing.assert_frame_equal(back[name], original)
    assert back["again"] is back["frame"]  # one frame referred to twice is still one frame
    assert sorted(p.name for p in tmp_path.glob("*.arrow")) == ["study.0.arrow", "study.1.arrow", "study.2.arrow"]
    base = back["frame"]["arr"].to_numpy()
    while isinstance(base, np.ndarray):
        base = base.base
    assert isinstance(base.obj, mmap.mmap)  # a view on the mapped file, not a copy
    back["frame"].loc[0, "arr"] = 5.0  # pandas copies a column before writing into it
    assert back["frame"].loc[0, "arr"] == 5.0 and frame.loc[0, "arr"] != 5.0


def test_small_frames_stay_in_the_pickle(tmp_path):
    columnar.dump({"frame": every_kind(columnar.MIN_ROWS - 1)}, tmp_path / "study.pickle")
    assert not list(tmp_path.glob("*.arrow"))


def test_a_study_saved_mapped_is_the_study(small_world, tmp_path, mapped_always):
    study = Study.load(small_world, AS_OF)
    back = columnar.load(study.save(tmp_path / "study.pickle"))
    for name in ("contracts", "decisions", "open_contracts", "open_people"):
        pd.testing.assert_frame_equal(getattr(back, name), getattr(study, name))
    for name, table in study.data.tables.items():
        pd.testing.assert_frame_equal(back.data[name], table)
    pd.testing.assert_frame_equal(back.validity().frame, study.validity().frame)


@pytest.mark.skipif(not LINUX, reason="the sampler reads /proc/<pid>/smaps_rollup")
def test_pages_two_processes_map_are_counted_once_in_proportional_memory(tmp_path):
    shared = tmp_path / "shared.bin"
    shared.write_bytes(b"\1" * (150 * 2**20))
    hold = (
        f"import mmap, time; f = open({str(shared)!r}, 'rb'); m = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ); "
        "touched = sum(m[i] for i in range(0, len(m), 4096)); time.sleep(1.5)"
    )
    parent = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {hold!r}]); {hold}; p.wait()"
    with subprocess.Popen([sys.executable, "-c", parent]) as process, TreePeak(process.pid, 0.05) as peak:
        process.wait()
    assert peak.summed_mb >= 300  # each process's resident memory counts the file
    assert 150 <= peak.proportional_mb < 230  # the machine holds it once
