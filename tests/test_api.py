"""The public Python API: Study, Result, the decision-column registry, results.json's layout, the package's shape."""

import ast
import html
import json
import re
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

import workbench
from workbench import Result, Study
from workbench.errors import UsageError
from workbench.generate import World, generate, write
from workbench.measure.columns import COLUMNS
from workbench.publish import report
from workbench.publish.results import LAYOUT, REQUIRED, record
from workbench.tables import readable

AS_OF = "2026-10-31"
ROOT = Path(__file__).resolve().parent.parent
SHARED_CONTRACT = ROOT.parent / "shared" / "contract.md"  # the contract other programs build to
CONTRACT = ROOT / "docs" / "contract.md"  # its copy in the repository, for machines without ../shared
# Passages of the contract not yet built, each with the words the copy keeps until its issue lands: the copy is
# the contract as built, and a passage leaves this list with the change that builds it.
PENDING: dict[str, tuple[str, str]] = {}  # by issue: (the passage, the words kept until it lands)


def contract_as_built(text: str) -> str:
    for passage, built in PENDING.values():
        assert passage in text, f"the contract no longer says {passage[:60]!r}...: update PENDING"
        text = text.replace(passage, built)
    return text


@pytest.fixture(scope="module")
def study(small_world):
    return Study.load(small_world, AS_OF)


def test_an_analyst_tests_an_own_hypothesis_in_a_few_lines(small_world):
    # The generator plants support tickets that come faster the further an account is from its goal.
    study = Study.load(small_world, AS_OF)
    tickets = pd.read_csv(small_world / "support_tickets.csv")
    study.add_signal("tickets", tickets, date="opened", how="count", window_days=90)
    judged = study.validity(["tickets"]).frame.set_index("signal")
    assert judged.loc["tickets", "inverse"]  # more tickets, fewer renewals: planted, and found
    assert judged.loc["tickets", "n"] == len(study.decisions)
    assert "tickets" in study.signals and "tickets" in study.open_contracts


def test_an_added_signal_reads_as_the_registry_signals_do_in_every_table(small_world):
    study = Study.load(small_world, AS_OF)
    study.add_signal("tickets_30d", pd.read_csv(small_world / "support_tickets.csv"), date="opened", window_days=30)
    shown = readable(study.validity(["usage", "tickets_30d"]).frame)
    assert list(shown["Signal"]) == ["Product usage", "Tickets 30d"]
    assert set(shown["Conclusion"]) <= {"predictive", "inverse", "ruled out", "inconclusive", "not judged"}


def test_a_chart_caption_is_an_output_of_its_own_so_the_lab_shows_it(monkeypatch):
    shown = []
    monkeypatch.setattr(report, "display", lambda *outputs, raw=False: shown.extend(outputs))
    report.show(go.Figure(go.Bar(x=[1], y=[2])), caption="Churn <by> decile")
    chart, caption = shown
    assert "application/vnd.plotly.v1+json" in chart and "Churn" not in chart["text/html"]
    assert "Churn &lt;by&gt; decile" in caption.data


def test_an_analysts_null_signal_is_not_called_a_finding(tmp_path):
    # At 95%, one null world in twenty is flagged by chance: across five, at most one may be (P(2+) = 2%),
    # and the AUCs centre on a coin toss.
    aucs, flagged = [], 0
    for seed in range(1, 6):
        folder = write(generate(World(accounts=300, seed=seed, ticket_effect=0.0)), tmp_path / str(seed))
        study = Study.load(folder, AS_OF)
        study.add_signal("tickets", pd.read_csv(folder / "support_tickets.csv"), date="opened")
        row = study.validity(["tickets"]).frame.set_index("signal").loc["tickets"]
        aucs.append(row["auc"])
        flagged += bool(row["predictive"] or row["inverse"])
    assert flagged <= 1 and abs(np.mean(aucs) - 0.5) < 0.04, (flagged, aucs)


def test_added_signals_read_only_rows_dated_by_the_observation_date(study):
    first = study.decisions.iloc[0]
    later = pd.DataFrame(
        {
            "account_id": [first["account_id"]] * 3,
            "date": [first["observation_date"] + pd.Timedelta(days=d) for d in (-10, 1, 30)],
            "value": [5.0, 100.0, 1000.0],
        }
    )
    study.add_signal("probe_sum", later, how="sum", value="value")
    study.add_signal("probe_latest", later, how="latest", value="value")
    assert study.decisions.loc[0, "probe_sum"] == 5.0 and study.decisions.loc[0, "probe_latest"] == 5.0
    with pytest.raises(UsageError, match="value="):
        study.add_signal("probe_mean", later, how="mean")
    with pytest.raises(UsageError, match="no column"):
        study.add_signal("probe_count", later, date="opened")
    with pytest.raises(UsageError, match="already"):
        study.add_signal("nps", later)


def test_an_analysts_day_first_dates_are_read_as_written_or_refused(small_world):
    """Day-first text dates are never guessed month-first: refused with an example without date_format, read
    exactly with it; the dates whose day is 12 or less are the ones a guess would move."""
    study = Study.load(small_world, AS_OF)
    tickets = pd.read_csv(small_world / "support_tickets.csv")
    day_first = tickets.assign(opened=pd.to_datetime(tickets["opened"]).dt.strftime("%d-%m-%Y"))
    assert (pd.to_datetime(tickets["opened"]).dt.day <= 12).any()
    with pytest.raises(UsageError, match=r"not written YYYY-MM-DD .* e\.g\. row 0: '\d\d-\d\d-\d{4}'.*date_format="):
        study.add_signal("tickets", day_first, date="opened")
    study.add_signal("tickets", day_first, date="opened", date_format="%d-%m-%Y")
    study.add_signal("tickets_iso", tickets, date="opened")
    assert study.decisions["tickets"].equals(study.decisions["tickets_iso"])
    with pytest.raises(UsageError, match=r"not written as '%m-%d-%Y'"):
        study.add_signal("tickets_us", day_first, date="opened", date_format="%m-%d-%Y")
    study.add_signal("tickets", tickets.iloc[:0], date="opened", replace=True)  # a cell run again
    assert study.decisions["tickets"].isna().all() and study.signals.count("tickets") == 1  # nothing exported: missing
    with pytest.raises(UsageError, match="replace=True"):
        study.add_signal("tickets", tickets, date="opened")


def test_what_cannot_be_a_signal_is_refused_in_the_workbench_s_own_words(study):
    tickets = pd.DataFrame({"account_id": ["A1"], "date": ["2026-01-01"], "priority": ["high"]})
    refused = {
        "the outcome": (lambda: study.validity(["renewal_arr"]), "outcome or derived from it"),
        "text": (lambda: study.validity(["segment"]), "not numeric .* as a segment"),
        "a misspelling": (lambda: study.validity(["nsp"]), "did you mean 'nps'"),
        "a name, not a list": (lambda: study.validity("nps"), "a list of names"),
        "a text value": (lambda: study.add_signal("p", tickets, how="mean", value="priority"), "not numeric"),
        "an outcome's name": (lambda: study.add_signal("renewed", tickets), "outcome"),
        "a window in text": (lambda: study.add_signal("p", tickets, window_days="90"), "window_days="),
    }
    for what, (call, words) in refused.items():
        with pytest.raises(UsageError, match=words):
            call()
        assert "p" not in study.decisions, what


def test_every_column_of_the_decisions_is_declared(study):
    described = study.describe().frame.set_index("column")
    undeclared = [c for c in study.decisions if c not in COLUMNS and c not in study.columns]
    assert not undeclared, undeclared
    assert described.loc["usage", "point_in_time_rule"].startswith("events dated in the 90 days")
    assert set(study.signals) - {c for c in study.columns if study.columns[c].signal} <= set(
        study.config["extra_signals"]
    )


def test_a_result_displays_itself_readably(study):
    shown = html.unescape(study.validity()._repr_html_())
    headers = re.findall(r"<th[^>]*>([^<]*)</th>", shown)
    assert "Decision maker's health" in shown and "Smallest AUC detectable" in headers
    assert not [h for h in headers if "_" in h]
    assert re.search(r"0\.\d\d \[0\.\d\d, 0\.\d\d\]", shown)  # estimate and interval in one cell
    assert ">True<" not in shown and ">False<" not in shown
    result = study.validity()
    assert isinstance(result, Result) and len(result) == len(study.family)
    assert result["auc"].equals(result.frame["auc"])


def test_a_loaded_study_has_let_its_stores_go_and_opens_them_again_when_asked(small_world):
    study = Study.load(small_world, AS_OF)
    stores = [s for s in study.data.stored.values() if s is not None]
    assert stores and all(s._duckdb is None for s in stores)  # measured: their DuckDB buffers are freed
    assert study.data.usage._connection is None
    assert len(study.behaviour()) and study.capacity() is not None  # usage and activities asked again


def test_the_cache_is_used_only_for_the_same_arguments(small_world, tmp_path):
    study = Study.load(small_world, AS_OF)
    cache = study.save(tmp_path / "cache" / "study.pickle")
    again = Study.load(small_world, AS_OF, cache=str(cache))
    assert again.parameters == study.parameters and len(again.decisions) == len(study.decisions)
    segment = study.decisions["segment"].dropna().iloc[0]
    narrower = Study.load(small_world, AS_OF, cache=str(cache), segment=segment)
    assert narrower.config["segment"] == segment and len(narrower.decisions) < len(study.decisions)
    earlier = Study.load(small_world, "2026-04-30", cache=str(cache))
    assert earlier.as_of == pd.Timestamp("2026-04-30")


@pytest.mark.skipif(not SHARED_CONTRACT.exists(), reason="../shared/contract.md is not beside this checkout")
def test_the_contract_copy_is_the_contract_as_built():
    assert CONTRACT.read_text() == contract_as_built(SHARED_CONTRACT.read_text()), (
        "copy ../shared/contract.md to docs/contract.md, less the passages PENDING names"
    )


def test_results_layout_holds_every_key_of_the_contract():
    example = json.loads(re.search(r"## 3\. Results out.*?```json\n(.*?)```", CONTRACT.read_text(), re.S).group(1))
    assert set(example) <= set(LAYOUT) and set(example) <= set(REQUIRED)
    with pytest.raises(KeyError, match="LAYOUT"):
        record("", "not_a_key", 1)


def module_imports() -> dict[str, set[str]]:
    """workbench's import graph, module by module, from the source (relative imports resolved)."""
    graph = {}
    for path in (ROOT / "workbench").rglob("*.py"):
        name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        targets = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
                targets |= {f"{module}.{a.name}" for a in node.names} | {module}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("workbench"):
                targets |= {node.module} | {f"{node.module}.{a.name}" for a in node.names}
        graph[name] = targets
    return {name: {t for t in targets if t in graph and t != name} for name, targets in graph.items()}


def test_the_package_has_no_import_cycle():
    graph = module_imports()
    state: dict[str, int] = {}

    def visit(node, path):
        state[node] = 1
        for target in graph[node]:
            if target == "workbench" or state.get(target) == 2:
                continue
            assert state.get(target) != 1, " -> ".join([*path, target])
            visit(target, [*path, target])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [node])


def test_subpackages_depend_downwards_only():
    order = ["stats", "inputs", "measure", "judge", "publish"]
    for name, targets in module_imports().items():
        parts = name.split(".")
        if len(parts) < 3 or parts[1] not in order:
            continue
        for target in targets:
            layer = target.split(".")[1] if target.count(".") >= 1 else ""
            if layer in order:
                assert order.index(layer) <= order.index(parts[1]), f"{name} imports {target}"


def test_the_public_api_is_documented_in_numpydoc():
    assert set(workbench.__all__) >= {"Study", "Result"}
    for name in ("load", "validity", "add_signal"):
        doc = getattr(Study, name).__doc__
        assert "Parameters\n        ----------" in doc and "Returns\n        -------" in doc, name
    public = [m for m in vars(Study) if not m.startswith("_")]
    assert all(getattr(Study, m).__doc__ for m in public if m != "segment_note"), public


def test_a_long_result_shows_its_first_rows_and_says_how_many_it_has():
    from workbench.tables import SHOWN_ROWS, Result

    long = Result(pd.DataFrame({"account_id": [f"A{i}" for i in range(50)], "arr": range(50)}), "Fifty accounts.")
    shown = long._repr_html_()
    assert shown.count("<tr") == SHOWN_ROWS + 1 and f"The first {SHOWN_ROWS} of 50 rows" in shown
    assert "A49" not in shown and "A49" in long.frame["account_id"].tolist()
    assert f"The first {SHOWN_ROWS} of 50 rows" in repr(long)
    short = Result(long.frame.head(3))
    assert "The first" not in short._repr_html_() and short._repr_html_().count("<tr") == 4


def test_a_wrong_argument_is_the_workbench_s_own_error_shown_without_a_traceback(small_world, study):
    with pytest.raises(UsageError, match=r"as_of='2026-13-31' is not a date; write it YYYY-MM-DD") as caught:
        Study.load(small_world, "2026-13-31")
    assert caught.value._render_traceback_() == [f"UsageError: {caught.value}"]  # what JupyterLab shows
    with pytest.raises(UsageError, match=r"renewals_due: days='90'; expected a whole number of days"):
        study.renewals_due(days="90")


def test_a_strong_inverse_signal_beats_a_useless_health_score_when_compared(small_world):
    # The generator plants support tickets that come faster the further an account is from its goal: fewer
    # tickets, more renewals. Compared raw, AUC 0.35 would rank it below a coin-toss health score.
    study = Study.load(small_world, AS_OF)
    study.add_signal("tickets_compared", pd.read_csv(small_world / "support_tickets.csv"), date="opened")
    compared = study.compare(["tickets_compared"]).frame.set_index("signal").loc["tickets_compared"]
    assert compared["direction"] == "lower renews" and compared["auc"] > 0.5
    assert compared["ci_low"] > 0 and compared["conclusion"] == "exploratory"
    assert "predictive" not in study.compare(["tickets_compared"]).frame
    with pytest.raises(UsageError, match="did you mean 'health_score'"):
        study.compare(["nps"], reference="health_scor")


def test_a_study_shows_itself_as_a_card_of_what_it_holds(study):
    card = study._repr_html_()
    assert "Renewal decisions" in card and f"{len(study.decisions):,}" in card and "usage" in card
    assert "compare()" in card and "goal progress" in card and "goal_progress" not in card


def test_revenue_is_a_dict_that_displays_as_labelled_figures(study):
    revenue = study.revenue()
    assert isinstance(revenue, dict) and 0 < revenue["grr"] <= 1
    shown = html.unescape(revenue._repr_html_())
    assert "GRR" in shown and f"{revenue['grr']:.1%}" in shown and "$" in shown
    assert "Grr" not in shown and "nan" not in shown


def test_an_analysts_count_before_the_table_begins_is_missing_even_with_undated_rows(small_world):
    """A blank date must not move the table's first day to the beginning of time: counts before the first
    dated row stay missing, not zero."""
    study = Study.load(small_world, AS_OF)
    tickets = pd.read_csv(small_world / "support_tickets.csv")
    begins = pd.to_datetime(tickets["opened"]).quantile(0.5)
    late = tickets.loc[pd.to_datetime(tickets["opened"]) >= begins]
    undated = pd.concat([late, late.head(1).assign(opened=None)], ignore_index=True)
    study.add_signal("tickets_late", late, date="opened")
    study.add_signal("tickets_undated", undated, date="opened")
    before = study.decisions["observation_date"] < begins
    assert before.any() and study.decisions.loc[before, "tickets_late"].isna().all()
    assert study.decisions.loc[before, "tickets_undated"].isna().all()
