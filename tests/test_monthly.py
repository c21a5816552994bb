"""The monthly study as a product: dated runs, the report site, history, privacy, scheduling."""

import json
from datetime import date

import pandas as pd
import pytest
from conftest import folder_digest

from workbench.cli import main
from workbench.generate import World, generate, write
from workbench.inputs.privacy import alias
from workbench.measure import snapshot
from workbench.publish import history
from workbench.publish.runner import latest_complete_month


@pytest.fixture(scope="module")
def two_months(tmp_path_factory):
    data = write(generate(World(accounts=300, seed=12, hostile_names=True)), tmp_path_factory.mktemp("data"))
    reports = tmp_path_factory.mktemp("reports")
    for as_of, private in (("2026-09-30", []), ("2026-10-31", ["--pseudonymize"])):  # the second month is private
        assert main(["study", "--data", str(data), "--as-of", as_of, "--out", str(reports / as_of), *private]) == 0
    return data, reports


def test_two_months_give_two_folders_an_index_and_a_trend(two_months):
    _, reports = two_months
    assert {p.name for p in reports.iterdir() if p.is_dir()} == {"2026-09-30", "2026-10-31"}
    index = (reports / "index.html").read_text()
    assert 'href="2026-09-30/index.html"' in index and 'href="2026-10-31/index.html"' in index
    assert index.index("2026-10-31") < index.index("2026-09-30")  # newest first
    runs = history.runs(reports)
    trend = history.trend(runs)
    assert set(trend["as_of"].dt.strftime("%Y-%m-%d")) == {"2026-09-30", "2026-10-31"}
    assert set(trend.loc[trend["kind"] == "revenue", "measure"]) == {"GRR", "NRR", "Earned growth rate"}
    summary = (reports / "2026-10-31" / "00_summary.html").read_text()
    assert "This run and 1 earlier run in the report folder" in summary


def test_each_run_keeps_its_parameters_in_its_executed_notebooks(two_months):
    _, reports = two_months
    for as_of in ("2026-09-30", "2026-10-31"):
        notebook = json.loads((reports / as_of / "10_signal_validity.ipynb").read_text())
        injected = [c for c in notebook["cells"] if "injected-parameters" in c["metadata"].get("tags", [])]
        assert injected and f'as_of = "{as_of}"' in "".join(injected[0]["source"])


def test_a_failed_month_leaves_the_site_and_the_previous_report_intact(two_months, tmp_path):
    data, reports = two_months
    before = folder_digest(reports)
    broken = tmp_path / "broken"
    broken.mkdir()
    for file in data.iterdir():
        (broken / file.name).write_bytes(file.read_bytes())
    (broken / "contracts.csv").write_text("contract_id,account_id\nK1,A000001\n")
    assert main(["study", "--data", str(broken), "--as-of", "2026-10-31", "--out", str(reports / "2026-10-31")]) == 2
    assert folder_digest(reports) == before


def test_pseudonymized_pages_and_notebooks_carry_no_real_names(two_months):
    data, reports = two_months
    out = reports / "2026-10-31"
    accounts = pd.read_csv(data / "accounts.csv")
    contacts = pd.read_csv(data / "contacts.csv")
    real = [name.split(" <")[0] for name in accounts["account_name"]] + [n.split("<")[0] for n in contacts["name"]]
    texts = [page_text(p) for p in out.iterdir() if p.suffix in (".html", ".ipynb")]
    shown = [name for name in real if any(f"{name}<" in t or f'{name}"' in t or f"{name} " in t for t in texts)]
    assert not shown, shown[:5]
    assert any("Account " in t for t in texts)
    assert json.loads((out / "results.json").read_text())["run"]["pseudonymized"] is True


def page_text(path) -> str:
    """A page, or a notebook's sources and outputs, as text."""
    if path.suffix == ".html":
        return path.read_text()
    parts = []
    for cell in json.loads(path.read_text())["cells"]:
        parts.append("".join(cell["source"]))
        for output in cell.get("outputs", []):
            for value in [*output.get("data", {}).values(), output.get("text", "")]:
                parts.append(
                    "".join(value)
                    if isinstance(value, list)
                    else value
                    if isinstance(value, str)
                    else json.dumps(value)
                )
    return "\n".join(parts)


def test_aliases_are_stable_and_distinct():
    ids = pd.Series([f"A{i:06d}" for i in range(5000)])
    first, again = alias(ids, "Account"), alias(ids.iloc[::-1], "Account").iloc[::-1]
    assert (first == again).all() and first.nunique() == len(ids)
    assert first.str.fullmatch(r"Account [0-9a-z]{7}").all()


def test_schedule_runs_the_latest_complete_month(tmp_path, monkeypatch):
    assert latest_complete_month(date(2026, 11, 22)) == "2026-10-31"
    assert latest_complete_month(date(2026, 3, 1)) == "2026-02-28"
    calls = []
    monkeypatch.setattr("workbench.publish.runner.run_study", lambda *args, **kwargs: calls.append(args))
    assert main(["schedule", "--data", "somewhere", "--reports", str(tmp_path), "--today", "2026-11-05"]) == 0
    ((data, as_of, out, window, horizon, *_),) = calls
    assert (data, as_of, out, window, horizon) == ("somewhere", "2026-10-31", str(tmp_path / "2026-10-31"), 12, 90)


def test_a_past_as_of_treats_later_decisions_as_open_then():
    contracts = pd.DataFrame(
        {
            "contract_id": ["k1", "k2", "k3"],
            "account_id": ["a", "b", "c"],
            "start_date": pd.to_datetime(["2025-12-01", "2025-09-01", "2026-01-01"]),
            "end_date": pd.to_datetime(["2026-12-01", "2026-09-01", "2027-01-01"]),
            "outcome": ["churned", "renewed", "open"],
        }
    )
    open_then = snapshot.open_contracts(contracts, "2026-10-31")
    assert list(open_then["contract_id"]) == ["k1", "k3"]
    decided = snapshot.decisions(contracts.assign(arr=1.0, renewal_arr=1.0), "2026-10-31")
    assert list(decided["contract_id"]) == ["k2"]
