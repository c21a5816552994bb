"""The benchmark's own measuring: memory of a process tree, and target verdicts."""

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from benchmarks.memory import TreePeak
from benchmarks.run import SPARK_STUDY, SPARK_TARGET, STUDY, different_figures, verdicts

LINUX = Path("/proc/self/statm").exists()


@pytest.mark.skipif(not LINUX, reason="the sampler reads /proc")
def test_tree_peak_counts_grandchildren_running_at_once():
    # a child that starts a grandchild; each holds 150 MB at the same moment
    hold = "x = bytearray(150 * 2**20); import time; time.sleep(1.5)"
    parent = f"import subprocess, sys; p = subprocess.Popen([sys.executable, '-c', {hold!r}]); {hold}; p.wait()"
    with subprocess.Popen([sys.executable, "-c", parent]) as process, TreePeak(process.pid, 0.05) as peak:
        process.wait()
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
def test_a_tree_past_its_ceiling_is_asked_to_stop():
    hold = "x = bytearray(200 * 2**20); import time; time.sleep(30)"
    with subprocess.Popen([sys.executable, "-c", hold]) as process, TreePeak(process.pid, 0.05, ceiling_mb=100) as peak:
        assert process.wait(timeout=20) == -15  # SIGTERM, long before its 30 s
    # The ceiling reads the proportional figure; the summed one is read a moment apart, while the tree grows.
    assert peak.stopped and peak.proportional_mb > 100


def test_a_study_stopped_at_the_ceiling_is_a_miss_that_says_so():
    note = "stopped after 300 s, when its memory passed 20,000 MB (85% of the machine's)"
    table = pd.DataFrame(
        [{"accounts": 1_000_000, "stage": STUDY, "seconds": 300.0, "peak_mb": 20_100.0, "note": note, "stopped": True}]
    )
    found = verdicts(table).set_index("target")["verdict"]
    assert found["study, 1M accounts < 600 s"] == "MISSED: " + note
    assert found["study peak memory, 1M accounts < 8,192 MB"] == "MISSED: " + note
