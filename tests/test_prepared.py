"""A prepared study kept between loads: reused only while nothing it was made from has changed."""

import multiprocessing
import os
import shutil

import pandas as pd
import pytest

from benchmarks.run import different_figures
from workbench import Study, prepared
from workbench.cli import main
from workbench.errors import UsageError

AS_OF = "2026-10-31"


@pytest.fixture
def cache(tmp_path, monkeypatch):
    folder = tmp_path / "cache"
    monkeypatch.setenv(prepared.VARIABLE, str(folder))
    return folder


def entries(folder):
    return sorted(e.name for e in folder.iterdir() if e.is_dir()) if folder.exists() else []


def test_an_unchanged_folder_is_read_back_and_a_changed_one_again(world_copy, cache):
    first = Study.load(world_copy, AS_OF)
    assert first.prepared["reused"] is False and len(entries(cache)) == 1
    again = Study.load(world_copy, AS_OF)
    assert again.prepared["reused"] is True
    pd.testing.assert_frame_equal(again.decisions, first.decisions)
    pd.testing.assert_frame_equal(again.scoreboard, first.scoreboard)
    assert again.behaviour().frame.equals(first.behaviour().frame)  # its stores read where they are kept
    Study.load(world_copy, AS_OF, window_months=6)  # other arguments: another study
    assert len(entries(cache)) == 2
    surveys = world_copy / "surveys.csv"
    lines = surveys.read_text().splitlines(keepends=True)
    surveys.write_text("".join(lines[:-1]))  # one answer fewer
    changed = Study.load(world_copy, AS_OF)
    assert changed.prepared["reused"] is False and len(entries(cache)) == 3


def test_cache_false_neither_reuses_nor_keeps(world_copy, cache):
    Study.load(world_copy, AS_OF)
    fresh = Study.load(world_copy, AS_OF, cache=False)
    assert fresh.prepared is None and len(entries(cache)) == 1


def test_an_entry_a_crash_left_half_written_is_never_read(world_copy, cache):
    Study.load(world_copy, AS_OF)
    (entry,) = [cache / name for name in entries(cache)]
    (entry / "complete").unlink()  # as if the writer died before its last file
    again = Study.load(world_copy, AS_OF)
    assert again.prepared["reused"] is False and (entry / "complete").exists()  # prepared afresh and kept


def _load(folder, cache_folder, queue):
    os.environ[prepared.VARIABLE] = str(cache_folder)
    study = Study.load(folder, AS_OF)
    queue.put((len(study.decisions), float(study.scoreboard["auc"].sum())))


def test_two_processes_preparing_the_same_study_keep_one_entry_both_can_read(world_copy, cache):
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    workers = [context.Process(target=_load, args=(world_copy, cache, queue)) for _ in range(2)]
    for worker in workers:
        worker.start()
    found = [queue.get(timeout=300) for _ in workers]
    for worker in workers:
        worker.join(timeout=60)
    assert found[0] == found[1] and len(entries(cache)) == 1
    assert Study.load(world_copy, AS_OF).prepared["reused"] is True


def test_the_cache_is_bounded_and_drops_what_was_used_longest_ago(world_copy, cache, monkeypatch):
    Study.load(world_copy, AS_OF)
    (old,) = [cache / name for name in entries(cache)]
    os.utime(old / "complete", (1, 1))  # used long ago
    monkeypatch.setenv(prepared.SIZE_VARIABLE, "0")
    Study.load(world_copy, AS_OF, window_months=6)
    assert old.name not in entries(cache) and len(entries(cache)) == 1  # the new entry stays however small the limit


def test_a_study_s_figures_are_the_same_with_and_without_the_cache(small_world, cache, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_world, data)
    for run in ("cold", "warm", "none"):
        arguments = ["study", "--data", str(data), "--as-of", AS_OF, "--out", str(tmp_path / run / AS_OF)]
        assert main(arguments + (["--no-cache"] if run == "none" else [])) == 0
    assert len(entries(cache)) == 1
    for run in ("warm", "none"):
        assert (
            different_figures(tmp_path / "cold" / AS_OF / "results.json", tmp_path / run / AS_OF / "results.json") == []
        )
    warm = (tmp_path / "warm" / AS_OF / "01_data_health.html").read_text()
    assert "reused the study prepared on" in warm
    assert "reused the study prepared on" not in (tmp_path / "cold" / AS_OF / "01_data_health.html").read_text()


def test_keeping_a_study_leaves_it_whole_even_where_writing_the_entry_fails(world_copy, cache, monkeypatch):
    kept = Study.load(world_copy, AS_OF)
    stores = [s for s in kept.data.stored.values() if s is not None]
    assert stores and all(cache not in s.database.parents and not s.kept for s in stores)  # its own, not the entry's
    entry = Study.load(world_copy, AS_OF)
    assert all(cache in s.database.parents and s.kept for s in entry.data.stored.values() if s is not None)

    def full(*_):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(prepared.columnar, "dump", full)
    unkept = Study.load(world_copy, AS_OF, window_months=6)
    assert len(entries(cache)) == 1 and unkept.prepared is None  # nothing half written is left, nor said kept
    assert len(unkept.behaviour().frame) and all(s.database.exists() for s in unkept.data.stored.values() if s)


def test_a_cache_limit_that_is_not_a_number_is_said_before_anything_is_read(world_copy, cache, monkeypatch):
    monkeypatch.setenv(prepared.SIZE_VARIABLE, "twenty gigabytes")
    with pytest.raises(UsageError, match="WORKBENCH_CACHE_MB .* not 'twenty gigabytes'"):
        Study.load(world_copy, AS_OF)
    assert entries(cache) == []
