"""Faults and hostile input: every case ends in a clear message and a non-zero exit, and loses nothing.

Each case checks the exit code, the message, and that the data folder and the previous report are
byte-identical afterwards (folder_digest).
"""

import errno
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import pandas as pd
import pytest
from conftest import folder_digest

from workbench.cli import main
from workbench.publish import folders as publish
from workbench.publish import history
from workbench.publish.charts import short_labels
from workbench.publish.report import escape_data_text
from workbench.publish.results import REQUIRED
from workbench.publish.runner import StudyFailed, run_study

AS_OF = "2026-10-31"
RECORD_ALL = (
    "from workbench.publish.results import REQUIRED, record\n"
    "for key in REQUIRED[3:]:\n    record(results_dir, key, {'signals': [], 'attainment': {'bands': []}, "
    "'revenue': {}}.get(key, 0))\n"
)


def notebook_folder(folder: Path, *cells: str) -> Path:
    """A study folder with one notebook: a parameters cell, then `cells`."""
    folder.mkdir()
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    parameters = nbformat.v4.new_code_cell('results_dir = ""')
    parameters.metadata["tags"] = ["parameters"]
    notebook.cells = [parameters, *(nbformat.v4.new_code_cell(c) for c in cells)]
    nbformat.write(notebook, folder / "10_case.ipynb")
    return folder


def quiet(message):
    pass


@pytest.fixture
def previous(tmp_path):
    """A site with a previous report in it, as a published run leaves it."""
    out = tmp_path / "site" / AS_OF
    out.mkdir(parents=True)
    (out / "results.json").write_text(json.dumps({"as_of": AS_OF, "decisions": 3, "churned": 1, "signals": []}))
    (out / "index.html").write_text("<p>the previous report</p>")
    return out


def study(data, out, *extra) -> int:
    return main(["study", "--data", str(data), "--as-of", AS_OF, "--out", str(out), *extra])


# --- Output folders that cannot hurt -------------------------------------------------------------------------


@pytest.mark.parametrize("where", ["data", "parent", "inside", "cwd"])
def test_an_out_over_under_or_around_the_data_is_refused(small_world, tmp_path, monkeypatch, capsys, where):
    data = tmp_path / "work" / "data"
    shutil.copytree(small_world, data)
    monkeypatch.chdir(tmp_path / "work")
    out = {"data": data, "parent": data.parent, "inside": data / "report", "cwd": Path(".")}[where]
    before = folder_digest(tmp_path)
    assert study(data, out) == 2
    message = capsys.readouterr().err
    assert "nothing was written" in message.lower() and "Traceback" not in message
    assert folder_digest(tmp_path) == before and not (data / "report").exists()


def test_an_out_over_the_mapping_file_is_refused(small_world, tmp_path, capsys):
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("tables: {}\n")
    assert study(small_world, tmp_path, "--mapping", str(mapping)) == 2
    assert "which the study reads" in capsys.readouterr().err and mapping.exists()


def test_an_existing_folder_that_is_not_a_report_is_refused(small_world, tmp_path, capsys):
    out = tmp_path / "my_documents"
    out.mkdir()
    (out / "thesis.docx").write_text("years of work")
    assert study(small_world, out) == 2
    assert "is not a workbench report" in capsys.readouterr().err
    assert (out / "thesis.docx").read_text() == "years of work" and len(list(tmp_path.iterdir())) == 1


def test_a_foreign_site_index_is_never_overwritten(small_world, tmp_path):
    site = tmp_path / "site"
    site.mkdir()
    (site / "index.html").write_text("<h1>our intranet</h1>")
    folder = notebook_folder(tmp_path / "notebooks", RECORD_ALL)
    messages = []
    run_study(small_world, AS_OF, site / AS_OF, notebook_folder=folder, log=messages.append)
    assert (site / "index.html").read_text() == "<h1>our intranet</h1>"
    assert (site / AS_OF / "results.json").exists() and any("Not writing" in m for m in messages)
    assert {p.name for p in site.iterdir()} == {"index.html", AS_OF}  # no lock, staging or probe left


def test_a_site_index_the_workbench_wrote_is_kept_up_to_date(small_world, tmp_path):
    folder = notebook_folder(tmp_path / "notebooks", RECORD_ALL)
    for as_of in ("2026-09-30", AS_OF):
        run_study(small_world, as_of, tmp_path / "site" / as_of, notebook_folder=folder, log=quiet)
    index = (tmp_path / "site" / "index.html").read_text()
    assert publish.SITE_GENERATOR in index and "2026-09-30/index.html" in index and f"{AS_OF}/index.html" in index


def test_a_second_run_into_the_same_folder_is_refused_while_the_first_works(small_world, tmp_path, previous):
    slow = notebook_folder(tmp_path / "slow", "import time; time.sleep(4)", RECORD_ALL)
    failures = []

    def first():
        try:
            run_study(small_world, AS_OF, previous, notebook_folder=slow, log=quiet)
        except Exception as error:  # surfaced below
            failures.append(error)

    runner = threading.Thread(target=first)
    runner.start()
    lock = previous.parent / f".{previous.name}.lock"
    for _ in range(200):
        if lock.exists():
            break
        time.sleep(0.05)
    with pytest.raises(publish.OutputRefused, match=f"already writing .*process {os.getpid()}"):
        run_study(small_world, "2026-09-30", previous, window_months=6, notebook_folder=slow, log=quiet)
    runner.join()
    assert not failures
    results = json.loads((previous / "results.json").read_text())
    assert results["as_of"] == AS_OF and results["window_months"] == 12  # one run's report, whole
    assert not lock.exists()


def test_a_run_killed_outright_leaves_nothing_that_the_next_run_does_not_clean(small_world, tmp_path, previous):
    # SIGKILL between the two renames of publishing: the previous report sits in a `.previous` folder.
    parked = previous.parent / f".{previous.name}.x1.previous"
    parked.mkdir()
    previous.rename(parked / previous.name)
    (previous.parent / f".{previous.name}.x2.partial").mkdir()
    publish_before = folder_digest(parked / previous.name)
    broken = notebook_folder(tmp_path / "broken", "raise RuntimeError('planted')")
    with pytest.raises(StudyFailed):
        run_study(small_world, AS_OF, previous, notebook_folder=broken, log=quiet)
    assert folder_digest(previous) == publish_before  # restored, then untouched by the failed run
    assert sorted(p.name for p in previous.parent.iterdir()) == [AS_OF, f"{AS_OF}.failed"]


# --- One failure path for every failure -------------------------------------------------------------------


def failed_run(data, out, folder, **kwargs) -> StudyFailed:
    before = folder_digest(out.parent)
    with pytest.raises(StudyFailed) as caught:
        run_study(data, AS_OF, out, notebook_folder=folder, log=quiet, **kwargs)
    after = folder_digest(out.parent)
    assert {k: v for k, v in after.items() if not k.startswith(f"{out.name}.failed")} == before
    assert not list(out.parent.glob(".*"))  # no staging, lock or cache left behind
    return caught.value


def test_a_dying_kernel_takes_the_failure_path(small_world, tmp_path, previous):
    folder = notebook_folder(tmp_path / "notebooks", "import os; os._exit(1)")
    error = failed_run(small_world, previous, folder)
    assert "kernel died" in str(error) and error.exit_code == 1
    kept = previous.parent / f"{AS_OF}.failed"
    assert (kept / "10_case.ipynb").exists() and "kernel died" in (kept / "FAILED.txt").read_text()


def test_a_full_disk_while_rendering_takes_the_failure_path(small_world, tmp_path, previous, monkeypatch):
    def full(*args):
        raise OSError(errno.ENOSPC, "No space left on device", "page.html")

    monkeypatch.setattr("workbench.publish.runner.to_html", full)
    error = failed_run(small_world, previous, notebook_folder(tmp_path / "notebooks", RECORD_ALL))
    assert "the disk is full" in str(error) and "untouched" in str(error)


def test_a_failed_first_run_says_nothing_was_written_rather_than_a_previous_report_kept(small_world, tmp_path):
    out = tmp_path / "reports" / AS_OF
    out.parent.mkdir()
    error = failed_run(small_world, out, notebook_folder(tmp_path / "notebooks", "raise RuntimeError('planted')"))
    assert f"nothing was written to {out}" in str(error) and "previous report" not in str(error)
    assert not out.exists()


def test_an_unexpected_error_takes_the_failure_path(small_world, tmp_path, previous, monkeypatch):
    def broken(*args):
        raise ZeroDivisionError("planted")

    monkeypatch.setattr("workbench.publish.runner.write_run_index", broken)
    error = failed_run(small_world, previous, notebook_folder(tmp_path / "notebooks", RECORD_ALL))
    assert "ZeroDivisionError: planted" in str(error) and "fault of the workbench" in str(error)


def test_a_run_that_did_not_record_every_result_is_not_published(small_world, tmp_path, previous):
    folder = notebook_folder(
        tmp_path / "notebooks", "from workbench.publish.results import record\nrecord(results_dir, 'decisions', 0)"
    )
    error = failed_run(small_world, previous, folder)
    unrecorded = str(error).split("did not record ")[1].split(" for results.json")[0].split(", ")
    assert set(unrecorded) == set(REQUIRED) - {"as_of", "window_months", "horizon_days", "decisions"}


def test_an_output_folder_that_cannot_be_written_is_found_before_the_data_is_loaded(
    small_world, tmp_path, monkeypatch, capsys
):
    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr("workbench.publish.folders.tempfile.mkstemp", read_only)
    monkeypatch.setattr("workbench.study.Study.load", lambda *a, **k: pytest.fail("the data was loaded"))
    assert study(small_world, tmp_path / "reports" / AS_OF) == 2
    assert "read-only" in capsys.readouterr().err
    assert not (tmp_path / "reports").exists()  # the folders it made for the run are gone again


def test_a_killed_study_keeps_the_previous_report(small_world, tmp_path, previous):
    before = folder_digest(previous)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "workbench",
            "study",
            "--data",
            str(small_world),
            "--as-of",
            AS_OF,
            "--out",
            str(previous),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    seen = ""
    while "started" not in seen:  # the notebooks have started: the most work in flight
        line = process.stderr.readline()
        assert line, seen
        seen += line
    process.send_signal(signal.SIGTERM)
    seen += process.communicate(timeout=120)[1]
    assert process.returncode == 130 and "interrupted" in seen and "Traceback" not in seen
    assert folder_digest(previous) == before
    assert not list(previous.parent.glob(".*"))


def test_zero_decisions_stop_at_once_with_the_window_and_what_to_change(small_world, tmp_path, capsys):
    out = tmp_path / "reports" / AS_OF
    assert main(["study", "--data", str(small_world), "--as-of", "2035-01-31", "--out", str(out)]) == 2
    message = capsys.readouterr().err
    assert "no renewal decision to judge" in message and "(2034-01-31, 2035-01-31]" in message
    assert "Choose an --as-of" in message and not (tmp_path / "reports").exists()


def test_a_malformed_earlier_results_json_is_skipped_with_a_warning(tmp_path):
    for name, text in (
        ("2026-08-31", "{not json"),
        ("2026-09-30", json.dumps({"as_of": 20260930})),
        ("2026-07-31", json.dumps({"as_of": "2026-07-31", "signals": "nps"})),
        (AS_OF, json.dumps({"as_of": AS_OF, "decisions": 5, "signals": [{"signal": "nps", "auc": 0.6}]})),
    ):
        (tmp_path / name).mkdir()
        (tmp_path / name / "results.json").write_text(text)
    skipped = []
    found = history.runs(tmp_path, skipped.append)
    assert [r["as_of"] for r in found] == [AS_OF] and len(skipped) == 3
    assert history.trend(found)["measure"].tolist()[-1] == "nps"


# --- Every input checked before use ------------------------------------------------------------------------


@pytest.mark.parametrize(
    "text, expected",
    [
        ("min_events: ten", "min_events: 'ten' is not a whole number"),
        ("scorecard_weights: 5", "scorecard_weights: 5 is not a set of key: value entries"),
        ("segmnt: Enterprise", "unknown key 'segmnt' (did you mean 'segment'?)"),
        ("extra_signals: seats", "extra_signals: 'seats' is not a list"),
        ("health_red_below: 120", "out of range"),
        ("[1, 2]", "is not a set of key: value entries"),
    ],
)
def test_a_config_is_checked_against_its_schema(small_world, tmp_path, capsys, text, expected):
    config = tmp_path / "study.yml"
    config.write_text(text)
    assert study(small_world, tmp_path / "out", "--config", str(config)) == 2
    message = capsys.readouterr().err
    assert expected in message and "Traceback" not in message and not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    "entry, expected",
    [
        ("accounts: {file: /etc/passwd}", "lies outside the data folder"),
        ("accounts: {file: ../outside.csv}", "lies outside the data folder"),
        (
            "contacts: {values: {role: {patterns: {'^(a+)+$(?<!b)': champion}}}}",
            "cannot be used: invalid perl operator",
        ),
        ("contacts: {values: {role: {patterns: {'(unclosed': champion}}}}", "cannot be used: missing )"),
        (
            "contracts: {where: {outcome: renewed}}",
            "where.outcome: 'renewed' is not a list or a set of key: value entries",
        ),
        ("contracts: {where: {arr: {gt: 1, above: 2}}}", "unknown key 'above'"),
        ("usage: {lookup: {account_id: {file: ../x.csv, key: k, value: v, from: f}}}", "lies outside the data folder"),
        ("contracts: {renam: {a: b}}", "unknown key 'renam' (did you mean 'rename'?)"),
        ("contracts: {rescale: {arr: [1, 2]}}", "rescale.arr: [1, 2] has 2 entries: expected 4"),
        ("contracts: {derive: months}", "'months' is not one of 'terms'"),
        ("contracts: {files: csv}", "files: 'csv' is not a list"),
        ("contrcts: {file: x.csv}", "unknown key 'contrcts' (did you mean 'contracts'?)"),
    ],
)
def test_a_mapping_is_checked_before_any_file_is_read(small_world, tmp_path, capsys, entry, expected):
    data = tmp_path / "data"
    shutil.copytree(small_world, data)
    (tmp_path / "outside.csv").write_text("account_id\nsecret-line\n")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(f"tables:\n  {entry}\n")
    before = folder_digest(tmp_path)
    started = time.monotonic()
    assert main(["validate", "--data", str(data), "--mapping", str(mapping)]) == 2
    message = capsys.readouterr().err
    assert expected in message, message
    assert "secret-line" not in message and "root:" not in message and "Traceback" not in message
    assert time.monotonic() - started < 60 and folder_digest(tmp_path) == before


def test_a_file_outside_the_data_folder_is_read_only_when_the_user_says_so(small_world, tmp_path):
    data = tmp_path / "data"
    shutil.copytree(small_world, data)
    shutil.move(data / "accounts.csv", tmp_path / "accounts_elsewhere.csv")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text("tables:\n  accounts: {file: ../accounts_elsewhere.csv}\n")
    assert main(["validate", "--data", str(data), "--mapping", str(mapping)]) == 2
    assert main(["validate", "--data", str(data), "--mapping", str(mapping), "--allow-outside-data"]) == 0


def test_binary_padded_and_overlong_content_is_refused_with_the_reason(world_copy, capsys):
    accounts = world_copy / "accounts.csv"
    accounts.write_bytes(accounts.read_bytes() + b"\x00" * 1_000_000)
    with open(world_copy / "usage.csv", "ab") as usage:
        usage.write(b"A000001,," + b"9" * 2_000_000 + b",x,1\n")
    before = folder_digest(world_copy)
    assert main(["validate", "--data", str(world_copy)]) == 2
    message = capsys.readouterr().err
    assert "accounts.csv: the file holds NUL bytes" in message
    assert "usage.csv: line" in message and "bytes long" in message and "unclosed quote" in message
    assert folder_digest(world_copy) == before


def test_a_pipe_named_like_a_table_is_refused_without_hanging(world_copy, capsys):
    (world_copy / "referrals.csv").unlink()
    os.mkfifo(world_copy / "referrals.csv")
    assert main(["validate", "--data", str(world_copy)]) == 2
    assert "not a regular file" in capsys.readouterr().err


def test_duckdb_gives_its_whole_reason(world_copy, capsys):
    usage = world_copy / "usage.csv"
    usage.write_bytes(usage.read_bytes() + b'A000001,,2026-01-05,"caf,3\nA000001,,2026-01-06,x,3\n')  # unclosed quote
    assert main(["validate", "--data", str(world_copy)]) == 2
    message = capsys.readouterr().err
    assert "usage.csv" in message and len(message.split("could not be read:")[1].split("expected:")[0]) > 60


def test_a_file_in_another_encoding_is_named_as_such(world_copy, capsys):
    usage = world_copy / "usage.csv"
    usage.write_bytes(usage.read_bytes() + "A000001,,2026-01-05,caf\xe9,3\n".encode("latin-1"))
    assert main(["validate", "--data", str(world_copy)]) == 2
    message = capsys.readouterr().err
    assert "usage.csv: the file is not UTF-8 text (first on line" in message and "encoding: latin-1" in message


def test_timezone_aware_parquet_dates_load_as_their_local_day(world_copy):
    surveys = pd.read_csv(world_copy / "surveys.csv", dtype=str, keep_default_na=False, na_values=[""])
    surveys["date"] = pd.to_datetime(surveys["date"]).dt.tz_localize("America/New_York") + pd.Timedelta(hours=23)
    surveys["score"] = surveys["score"].astype(float)
    (world_copy / "surveys.csv").unlink()
    surveys.to_parquet(world_copy / "surveys.parquet")
    assert main(["validate", "--data", str(world_copy)]) == 0


def test_revenue_that_overflows_is_refused(world_copy, capsys):
    contracts = pd.read_csv(world_copy / "contracts.csv", dtype=str, keep_default_na=False, na_values=[""])
    contracts.loc[:1, "arr"] = "1e308"
    contracts.to_csv(world_copy / "contracts.csv", index=False)
    assert main(["validate", "--data", str(world_copy)]) == 2
    assert "sum overflows" in capsys.readouterr().err


@pytest.mark.parametrize(
    "arguments",
    [
        ["--window-months", "999999"],
        ["--horizon-days", "99999999"],
        ["--as-of", "0001-01-01"],
        ["--window-months", "0"],
    ],
)
def test_out_of_range_arguments_are_usage_errors(small_world, tmp_path, capsys, arguments):
    with pytest.raises(SystemExit) as caught:
        main(["study", "--data", str(small_world), "--as-of", AS_OF, "--out", str(tmp_path / "x"), *arguments])
    message = capsys.readouterr().err
    assert caught.value.code == 2 and "out" in message and "Traceback" not in message


# --- Labels escaped wherever a string from data is drawn ----------------------------------------------------


def test_strings_from_data_are_escaped_in_every_trace_attribute():
    spec = {
        "data": [
            {
                "type": "heatmap",
                "y": ['<a href="http://x">A</a>', "B&C"],
                "name": "<b>bold</b>",
                "text": [["<br>"]],
                "hovertemplate": "%{y}<br>%{x}",
            }
        ],
        "layout": {"title": {"text": "ours <b>bold</b>"}, "yaxis": {"ticktext": ["<i>x</i>"]}},
    }
    escaped = escape_data_text(spec)
    trace = escaped["data"][0]
    assert (
        trace["y"] == ['&lt;a href="http://x"&gt;A&lt;/a&gt;', "B&amp;C"] and trace["name"] == "&lt;b&gt;bold&lt;/b&gt;"
    )
    assert trace["text"] == [["&lt;br&gt;"]] and escaped["layout"]["yaxis"]["ticktext"] == ["&lt;i&gt;x&lt;/i&gt;"]
    assert trace["hovertemplate"] == "%{y}<br>%{x}" and escaped["layout"]["title"]["text"] == "ours <b>bold</b>"


def test_shortened_labels_stay_unique():
    names = pd.Series(
        [
            "Acme Corporation International Holdings North",
            "Acme Corporation International Holdings South",
            "Short",
            "Short",
        ]
    )
    labels = short_labels(names, 40)
    assert len(set(labels)) == 4 and all(len(label) <= 44 for label in labels)
    assert labels[0].endswith("…") and labels[3] == "Short (2)"


def test_stores_of_processes_that_died_are_swept_and_nothing_else(small_world, monkeypatch, tmp_path):
    from workbench.inputs import stored
    from workbench.inputs.loader import load

    monkeypatch.setattr(stored.tempfile, "tempdir", str(tmp_path))
    parent = stored.stores()
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = parent / f"{ended.stdout.strip()}-usage-abc"
    mine = parent / f"{os.getpid()}-usage-def"
    foreign = parent / "notes"
    for folder in (dead, mine, foreign):
        folder.mkdir(parents=True)
        (folder / "usage.duckdb").write_text("x")
    data = load(small_world)
    assert not dead.exists() and mine.exists() and foreign.exists()
    assert data.usage.database.parent.parent == parent and data.health_scores.database.parent.parent == parent
    del data
    assert sorted(p.name for p in parent.iterdir()) == sorted([mine.name, foreign.name])
