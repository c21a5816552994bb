"""The benchmark's own measuring: memory of a process tree, and target verdicts."""

import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

from benchmarks import memory
from benchmarks.memory import TreePeak
from benchmarks.run import SPARK_STUDY, SPARK_TARGET, STUDY, different_figures, verdicts

LINUX = Path("/proc/self/statm").exists()


@pytest.mark.skipif(not LINUX, reason="the sampler reads /proc")
def test_tree_peak_counts_grandchildren_running_at_once(tmp_path):
    # A child that starts a grandchild; each holds 150 MB until told to end, so both are held at once however
    # slowly a loaded machine starts them (no sleeps to race).
    hold = tmp_path / "hold.py"
    hold.write_text(
        "import pathlib, subprocess, sys, time\n"
        "folder, role = pathlib.Path(sys.argv[1]), sys.argv[2]\n"
        "if role == 'child':\n"
        "    grandchild = subprocess.Popen([sys.executable, __file__, str(folder), 'grandchild'])\n"
        "    while not (folder / 'grandchild').exists():\n"
        "        time.sleep(0.01)\n"
        "x = bytearray(150 * 2**20)\n"
        "x[::4096] = b'1' * len(x[::4096])  # touched, so resident\n"
        "(folder / role).touch()\n"
        "while not (folder / 'done').exists():\n"
        "    time.sleep(0.01)\n"
        "if role == 'child':\n"
        "    grandchild.wait()\n"
    )
    with (
        subprocess.Popen([sys.executable, str(hold), str(tmp_path), "child"]) as process,
        TreePeak(process.pid, 0.01) as peak,
    ):
        deadline = time.monotonic() + 60
        while not (tmp_path / "child").exists() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.2)  # twenty samples while both hold their memory
        (tmp_path / "done").touch()
        process.wait(timeout=60)
    assert 150 <= peak.single_mb < 290
    assert peak.summed_mb >= 300


def test_verdicts_say_met_or_by_how_much_missed():
    table = pd.DataFrame(
        [
            {"accounts": 1_000, "stage": STUDY, "seconds": 9.0, "peak_mb": 900.0},
            {"accounts": 100_000, "stage": STUDY, "seconds": 75.0, "peak_mb": 4505.6},
            {"accounts": 100_000, "stage": "snapshot: usage window sums", "seconds": 1.0, "rows_per_second": 12e6},
        ]
    )
    found = verdicts(table).set_index("target")["verdict"]
    assert found["study, 1k accounts < 10.0 s"] == "met"
    assert found["study, 100k accounts < 60.0 s"] == "MISSED by 25%"
    assert found["study peak memory, 100k accounts < 4,096 MB"] == "MISSED by 10%"
    assert found["snapshot throughput at 100,000 accounts > 10.0M rows/s"] == "met"
    # a size the run left out is named with how to measure it, and so is the Spark run
    assert found["study, 1M accounts < 600 s"] == "not measured: run with --sizes 1000000"
    assert found[SPARK_TARGET] == "not measured: run with a study and --spark"
    assert "2,000 bootstrap AUCs on 100k < 2.0 s" not in found  # measured in no row, tied to no size
    spark = {"accounts": 1_000, "stage": SPARK_STUDY, "seconds": 50.0, "peak_mb": 3000.0}
    for differing, verdict in ((0, "met"), (3, "MISSED")):
        with_spark = pd.concat([table, pd.DataFrame([{**spark, "differing_figures": differing}])])
        assert verdicts(with_spark).set_index("target")["verdict"][SPARK_TARGET] == verdict


def test_figures_that_differ_are_named(tmp_path):
    first, second = tmp_path / "a.json", tmp_path / "b.json"
    first.write_text('{"run": {"generated_at": "1"}, "signals": [{"auc": 0.61}, {"auc": 0.7}]}')
    second.write_text('{"run": {"generated_at": "2"}, "signals": [{"auc": 0.61}, {"auc": 0.71}]}')
    assert different_figures(first, second) == ["/signals[1]/auc"]
    assert different_figures(first, first) == []


@pytest.mark.skipif(not LINUX, reason="the sampler reads /proc")
def test_a_tree_past_its_ceiling_is_asked_to_stop(monkeypatch):
    # What the sampler asks, on readings we give it: not a machine's figures, which vary with its load.
    readings = iter([(50, 50, 50), (90, 90, 90), (130, 120, 110), *[(130, 120, 110)] * 1000])
    monkeypatch.setattr(memory, "tree_resident", lambda root: [mb * 2**20 for mb in next(readings)])
    asked = []
    monkeypatch.setattr(memory.os, "kill", lambda pid, sig: asked.append((pid, sig)))
    with TreePeak(4242, 0.001, ceiling_mb=100) as peak:
        while not peak.stopped:
            time.sleep(0.001)
    assert asked == [(4242, signal.SIGTERM)]  # asked once, the root, when the proportional figure passed 100
    assert (peak.summed_mb, peak.single_mb, peak.proportional_mb) == (130, 120, 110)


def test_a_study_stopped_at_the_ceiling_is_a_miss_that_says_so():
    note = "stopped after 300 s, when its memory passed 20,000 MB (85% of the machine's)"
    table = pd.DataFrame(
        [{"accounts": 1_000_000, "stage": STUDY, "seconds": 300.0, "peak_mb": 20_100.0, "note": note, "stopped": True}]
    )
    found = verdicts(table).set_index("target")["verdict"]
    assert found["study, 1M accounts < 600 s"] == "MISSED: " + note
    assert found["study peak memory, 1M accounts < 8,192 MB"] == "MISSED: " + note
