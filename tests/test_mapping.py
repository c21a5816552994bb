"""A messy CRM export (its own names, a BOM, day-first dates, job titles) loads through a mapping file."""

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from conftest import folder_digest

from workbench.cli import main
from workbench.errors import DataError
from workbench.inputs.loader import load

EXAMPLE = Path(__file__).resolve().parent.parent / "data" / "mapping_example.yml"
TITLES = {
    "decision_maker": "VP Customer Success",
    "champion": "RevOps Lead",
    "end_user": "Account Executive",
    "other": "Intern",
}


def read(path: Path) -> pd.DataFrame:
    """As the loader reads: "NA" is North America, not a missing value."""
    return pd.read_csv(path, keep_default_na=False, na_values=[""])


def day_first(column: pd.Series) -> pd.Series:
    return pd.to_datetime(column).dt.strftime("%d-%m-%Y").where(column.notna(), "")


@pytest.fixture
def crm_export(small_world, tmp_path) -> Path:
    """The small world as a CRM would export it, in the shape data/mapping_example.yml describes."""
    out = tmp_path / "export"
    out.mkdir()
    for name in ("usage", "health_scores", "goals", "goal_progress", "goal_inputs", "referrals"):
        shutil.copy(small_world / f"{name}.csv", out)
    accounts = read(small_world / "accounts.csv").rename(
        columns={
            "account_id": "Account ID",
            "account_name": "Account Name",
            "segment": "Segment",
            "csm": "Owner",
            "region": "Region",
            "industry": "Industry",
        }
    )
    (out / "crm_accounts.csv").write_bytes(b"\xef\xbb\xbf" + accounts.to_csv(index=False).encode())
    contracts = read(small_world / "contracts.csv")
    contracts["start_date"], contracts["end_date"] = (
        day_first(contracts["start_date"]),
        day_first(contracts["end_date"]),
    )
    contracts["outcome"] = contracts["outcome"].map({"renewed": "Closed Won", "churned": "Closed Lost", "open": "Open"})
    contracts["churn_reason"] = contracts["churn_reason"].map(
        {"value": "Product / Value", "external": "Acquired / Budget", "unknown": "Other"}
    )
    contracts = contracts.rename(
        columns={
            "contract_id": "Opportunity ID",
            "account_id": "Account ID",
            "start_date": "Term Start",
            "end_date": "Term End",
            "arr": "ARR (USD)",
            "outcome": "Stage",
            "renewal_arr": "Next Term ARR",
            "churn_reason": "Loss Reason",
        }
    )
    half = len(contracts) // 2
    contracts.iloc[:half].to_csv(out / "crm_opportunities_2025.csv", index=False)
    contracts.iloc[half:].to_csv(out / "crm_opportunities_2026.csv", index=False)
    contacts = read(small_world / "contacts.csv")
    contacts["role"] = contacts["role"].map(TITLES)
    contacts.rename(
        columns={
            "contact_id": "Contact ID",
            "account_id": "Account ID",
            "role": "Title",
            "name": "Full Name",
            "email": "Email",
        }
    ).to_csv(out / "crm_contacts.csv", index=False)
    surveys = read(small_world / "surveys.csv").drop(columns="survey")
    surveys["date"] = day_first(surveys["date"])
    surveys.rename(
        columns={
            "response_id": "Response ID",
            "account_id": "Account ID",
            "contact_id": "Contact ID",
            "date": "Submitted",
            "score": "Score",
        }
    ).to_csv(out / "nps_responses.csv", index=False)
    activities = read(small_world / "activities.csv")
    automated = activities["kind"] == "automated"
    activities["channel"] = np.where(
        automated,
        activities["channel"].map({"email": "Journey Email", "in_app": "In-App Guide", "webinar": "Webinar Invite"}),
        activities["channel"].map({"call": "Call", "email": "Email", "meeting": "Meeting", "qbr": "QBR"}),
    )
    activities["date"] = day_first(activities["date"])
    activities.drop(columns="kind").rename(
        columns={
            "account_id": "Account ID",
            "contact_id": "Contact ID",
            "date": "Activity Date",
            "channel": "Activity Type",
            "csm": "Owner",
        }
    ).to_csv(out / "cs_timeline.csv", index=False)
    return out


def test_messy_export_loads_as_the_contract_tables(crm_export, small_world):
    mapped, native = load(crm_export, EXAMPLE), load(small_world)
    for name in ("accounts", "contracts", "contacts", "surveys"):
        left = mapped[name].sort_values(mapped[name].columns[0]).reset_index(drop=True)
        right = native[name].sort_values(native[name].columns[0]).reset_index(drop=True)
        pd.testing.assert_frame_equal(left[right.columns], right, check_dtype=False)
    for name in ("activities", "usage", "health_scores"):
        left, right = mapped.stored[name].to_frame(), native.stored[name].to_frame()
        assert len(right) > 100
        left, right = (f.sort_values(list(right.columns), ignore_index=True) for f in (left, right[left.columns]))
        pd.testing.assert_frame_equal(left, right, check_dtype=False)


def test_messy_export_produces_a_study(crm_export, tmp_path):
    before = folder_digest(crm_export)
    out = tmp_path / "report"
    assert (
        main(
            ["study", "--data", str(crm_export), "--as-of", "2026-10-31", "--out", str(out), "--mapping", str(EXAMPLE)]
        )
        == 0
    )
    assert (out / "results.json").exists()
    assert folder_digest(crm_export) == before


def test_mapped_errors_name_the_source_file(crm_export):
    path = crm_export / "crm_contacts.csv"
    contacts = read(path)
    contacts.loc[3, "Account ID"] = "A-unknown"
    contacts.to_csv(path, index=False)
    with pytest.raises(DataError) as caught:
        load(crm_export, EXAMPLE)
    (problem,) = [p for p in caught.value.problems if p.file.endswith("crm_contacts.csv")]
    assert problem.column == "account_id" and "not in the accounts table" in problem.message
    assert problem.rows == (("line 5", "A-unknown"),)


def test_a_broken_mapping_file_is_a_clear_error(crm_export, tmp_path, capsys):
    broken = tmp_path / "mapping.yml"
    broken.write_text("tables:\n  acounts:\n    file: x.csv\n")
    assert main(["validate", "--data", str(crm_export), "--mapping", str(broken)]) == 2
    err = capsys.readouterr().err
    assert "unknown key 'acounts' (did you mean 'accounts'?)" in err and "Traceback" not in err


def test_contracts_derive_from_subscription_rows_and_scores_rescale(small_world, tmp_path):
    out = tmp_path / "export"
    shutil.copytree(small_world, out)
    contracts = read(out / "contracts.csv")
    (out / "contracts.csv").unlink()
    subscriptions = contracts[["account_id", "start_date", "end_date", "arr"]].sample(frac=1, random_state=0)
    subscriptions.to_csv(out / "subscriptions.csv", index=False)
    surveys = read(out / "surveys.csv")
    (out / "surveys.csv").unlink()
    csat = surveys.assign(score=(surveys["score"] / 2.5 + 1).round(), kind="relationship")
    pd.concat([csat, csat.assign(kind="support", response_id=csat["response_id"] + "s")]).drop(columns="survey").to_csv(
        out / "csat.csv", index=False
    )
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "tables:\n"
        "  contracts: {file: subscriptions.csv, derive: terms, export_date: '2026-10-31'}\n"
        "  surveys: {file: csat.csv, constants: {survey: nps}, rescale: {score: [1, 5, 0, 10]},\n"
        "            where: {kind: [relationship]}}\n"
    )
    data = load(out, mapping)
    derived = data["contracts"].set_index(["account_id", "start_date"]).sort_index()
    truth = load(small_world)["contracts"].set_index(["account_id", "start_date"]).sort_index()
    assert (derived["outcome"] == truth["outcome"]).all()
    decided = truth["outcome"] != "open"
    pd.testing.assert_series_equal(derived.loc[decided, "renewal_arr"], truth.loc[decided, "renewal_arr"])
    assert len(data["surveys"]) == len(surveys) and data["surveys"]["score"].between(0, 10).all()


DOCS = Path(__file__).resolve().parent.parent / "docs" / "mapping.md"


def schema_keys(schema) -> set[str]:
    """Every key the mapping schema accepts, at any depth."""
    found = set()
    if isinstance(schema, dict):
        for key, value in schema.get("properties", {}).items():
            found.add(key)
            found |= schema_keys(value)
        for nested in ("additionalProperties", "items"):
            found |= schema_keys(schema.get(nested))
        for option in schema.get("oneOf", []):
            found |= schema_keys(option)
    return found


def test_the_reference_page_documents_every_key_the_language_accepts():
    from workbench.inputs.contract import TABLES
    from workbench.inputs.mapping import SCHEMA

    page = DOCS.read_text()
    keys = schema_keys(SCHEMA) - set(TABLES) - {"tables"}
    missing = sorted(k for k in keys if f"`{k}`" not in page)
    assert not missing, f"docs/mapping.md does not document {missing}"
    assert len(keys) >= 25


def export_with_subscriptions(small_world, out: Path) -> Path:
    """Usage keyed by subscription, contracts in monthly revenue, trials to filter out."""
    shutil.copytree(small_world, out)
    contracts = read(out / "contracts.csv")
    contracts["subscription_id"] = "S-" + contracts["contract_id"]
    contracts["mrr"] = contracts["arr"] / 12
    trials = contracts.head(3).assign(
        contract_id=lambda f: f["contract_id"] + "T",
        subscription_id=lambda f: "S-trial-" + f["contract_id"],
        mrr=0.0,
        plan="Trial",
    )
    pd.concat([contracts.assign(plan="Pro"), trials]).drop(columns="arr").to_csv(out / "contracts.csv", index=False)
    usage = read(out / "usage.csv")
    first = contracts.drop_duplicates("account_id").set_index("account_id")["subscription_id"]
    usage.assign(subscription_id=usage["account_id"].map(first)).drop(columns="account_id").to_csv(
        out / "usage.csv", index=False
    )
    return out


def test_where_lookup_and_compute_load_a_billing_export(small_world, tmp_path):
    export = export_with_subscriptions(small_world, tmp_path / "export")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "tables:\n"
        "  contracts:\n"
        "    where: {plan: {not_in: [Trial]}, mrr: {gt: 0}, start_date: {ge: '2000-01-01', not_empty: true}}\n"
        "    compute: {arr: mrr * 12}\n"
        "  usage:\n"
        "    lookup: {account_id: {file: contracts.csv, key: subscription_id, value: account_id,\n"
        "                          from: subscription_id}}\n"
    )
    data = load(export, mapping)
    truth = load(small_world)
    assert len(data["contracts"]) == len(truth["contracts"])
    assert np.allclose(
        data["contracts"].sort_values("contract_id")["arr"], truth["contracts"].sort_values("contract_id")["arr"]
    )
    assert data.usage.rows == truth.usage.rows


def test_an_unmatched_lookup_key_is_named(small_world, tmp_path):
    export = export_with_subscriptions(small_world, tmp_path / "export")
    usage = read(export / "usage.csv")
    usage.loc[3, "subscription_id"] = "S-nowhere"
    usage.to_csv(export / "usage.csv", index=False)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "tables:\n  contracts: {compute: {arr: mrr * 12}}\n  usage:\n    lookup: {account_id: {file: "
        "contracts.csv, key: subscription_id, value: account_id, from: subscription_id}}\n"
    )
    with pytest.raises(DataError, match="1 rows have a subscription_id that contracts.csv does not list") as caught:
        load(export, mapping)
    assert "S-nowhere" in str(caught.value)


@pytest.mark.parametrize(
    "expression, words",
    [
        ("__import__('os').system('true')", "numbers, column names"),
        ("mrr.real", "numbers, column names"),
        ("mrr > 3", "numbers, column names"),
        ("mrr * (12", "is not arithmetic"),
        ("revenue * 12", "names a column 'revenue'"),
    ],
)
def test_a_computed_column_is_arithmetic_and_nothing_else(small_world, tmp_path, expression, words):
    export = export_with_subscriptions(small_world, tmp_path / "export")
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(f'tables:\n  contracts:\n    compute: {{arr: "{expression}"}}\n')
    with pytest.raises(DataError, match=re.escape(words)):
        load(export, mapping)


def test_conditions_and_expressions_on_their_own():
    from workbench.inputs.expressions import compute, condition

    frame = pd.DataFrame(
        {"Monthly Revenue": ["10", "x", "", "2.5"], "closed": ["01-02-2024", "", "31-12-2023", "05-05-2025"]}
    )
    assert compute(frame, "`Monthly Revenue` * 12 + 1").tolist()[::3] == [121.0, 31.0]
    assert compute(frame, "`Monthly Revenue` * 12").isna().tolist() == [False, True, True, False]
    assert condition(frame["closed"], {"ge": "2024-01-01"}, "%d-%m-%Y").tolist() == [True, False, False, True]
    assert condition(frame["closed"], {"empty": True}, "%d-%m-%Y").tolist() == [False, True, False, False]
    assert condition(frame["Monthly Revenue"], {"not_in": ["x"], "not_empty": True, "lt": 5}, "").tolist() == [
        False,
        False,
        False,
        True,
    ]


def test_a_subscription_billing_export_loads_through_one_mapping_with_its_planted_terms(tmp_path):
    from exports import MAPPING, billing_export

    export, truth = billing_export(tmp_path / "export")
    before = folder_digest(export)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(MAPPING)
    data = load(export, mapping)
    columns = ["account_id", "start_date", "end_date", "arr", "outcome", "renewal_arr", "churn_reason"]
    got = data["contracts"][columns].assign(
        churn_reason=lambda f: f["churn_reason"].fillna("-"), renewal_arr=lambda f: f["renewal_arr"].fillna(-1.0)
    )
    want = truth[columns].assign(
        churn_reason=lambda f: f["churn_reason"].fillna("-"), renewal_arr=lambda f: f["renewal_arr"].fillna(-1.0)
    )
    order = columns
    pd.testing.assert_frame_equal(
        got.sort_values(order).reset_index(drop=True), want.sort_values(order).reset_index(drop=True), check_dtype=False
    )
    assert (truth.groupby("account_id").size() > 1).any() and (truth["outcome"] == "churned").sum() > 10
    assert data["accounts"]["segment"].isin(["Enterprise", "SMB"]).all()
    assert data["surveys"]["score"].notna().all() and (data["surveys"]["survey"] == "csat").all()
    assert data.usage.rows > 0 and folder_digest(export) == before
    assert main(["validate", "--data", str(export), "--mapping", str(mapping), "--as-of", "2026-10-31"]) == 0


def test_a_drafted_mapping_with_its_todos_filled_runs_a_full_study(tmp_path, capsys):
    """workbench map --draft on an export it has never seen: what it gets right, then a study."""
    import yaml
    from exports import billing_export

    export, truth = billing_export(tmp_path / "export", accounts=60)
    draft = tmp_path / "draft.yml"
    assert main(["map", "--draft", str(export), "--out", str(draft)]) == 0
    text = draft.read_text()
    tables = yaml.safe_load(text)["tables"]
    right = {
        "files": {t: tables[t]["file"] for t in tables}
        == {
            "accounts": "customers.csv",
            "contracts": "subscriptions.csv",
            "usage": "feature_usage.csv",
            "surveys": "tickets.csv",
        },
        "dates": all(tables[t]["date_format"] == "%d-%m-%Y" for t in ("contracts", "usage", "surveys")),
        "renames": tables["contracts"]["rename"]
        == {
            "subscription_id": "contract_id",
            "customer_id": "account_id",
            "started": "start_date",
            "cancelled": "end_date",
        },
        "usage reaches its account": tables["usage"]["lookup"]["account_id"]["value"] == "customer_id",
        "terms by subscription": tables["contracts"]["group_by"] == "contract_id" and tables["contracts"]["cut"],
        "arr from mrr": tables["contracts"]["compute"] == {"arr": "mrr * 12"},
        "trials kept out": tables["contracts"]["where"] == {"plan": {"ne": "Trial"}},
    }
    assert all(right.values()), right
    assert text.count("TODO") == 7  # the header, two billing periods and their note, export date, survey kind, trials
    assert main(["validate", "--data", str(export), "--mapping", str(draft)]) == 2  # TODOs left: refused, with where
    filled = (
        text.replace("Monthly: TODO", "Monthly: monthly")
        .replace("Yearly: TODO", "Yearly: annual")
        .replace("export_date: TODO", "export_date: '2026-11-01'")
        .replace("survey: TODO", "survey: csat")
    )
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(filled)
    capsys.readouterr()
    out = tmp_path / "reports" / "2026-10-31"
    assert (
        main(["study", "--data", str(export), "--mapping", str(mapping), "--as-of", "2026-10-31", "--out", str(out)])
        == 0
    )
    results = json.loads((out / "results.json").read_text())
    window = truth.loc[
        truth["outcome"].isin(["renewed", "churned"])
        & (truth["end_date"] > "2025-10-31")
        & (truth["end_date"] <= "2026-10-31")
    ]
    assert results["decisions"] == len(window)
    assert results["churned"] == int((window["outcome"] == "churned").sum())
    assert results["accounts"] == window["account_id"].nunique()


def test_errors_count_lines_in_each_source_file_and_quote_the_cell_as_written(crm_export, capsys):
    second = crm_export / "crm_opportunities_2026.csv"
    rows = read(second)
    rows.loc[4, "Term End"] = "31-02-2026"  # no such day
    rows.loc[6, "Stage"] = "Closed Wonn"
    rows.to_csv(second, index=False)
    assert main(["validate", "--data", str(crm_export), "--mapping", str(EXAMPLE)]) == 2
    message = capsys.readouterr().err
    assert "crm_opportunities_2026.csv line 6: '31-02-2026'" in message  # header is line 1, row 4 is line 6
    assert "crm_opportunities_2026.csv line 8: 'Closed Wonn'" in message


def test_an_export_s_own_outcomes_are_used_only_when_the_mapping_says_so():
    from workbench.inputs.terms import TermsError, derive_terms

    rows = pd.DataFrame(
        {
            "account_id": ["a", "a", "b"],
            "start_date": ["2025-01-01", "2026-01-01", "2025-03-01"],
            "end_date": ["2026-01-01", "2027-01-01", "2026-03-01"],
            "arr": ["100", "120", "50"],
            "outcome": ["churned", None, None],
            "renewal_arr": [0.0, None, None],
        }
    )
    with pytest.raises(TermsError, match="outcomes: use"):
        derive_terms(rows, "%Y-%m-%d", "2026-11-01")
    terms, _ = derive_terms(rows, "%Y-%m-%d", "2026-11-01", outcomes="use")
    assert terms["outcome"].tolist() == ["churned", "open", "churned"]  # the export's word stands for a
    assert terms["renewal_arr"].iloc[0] == 0 and np.isnan(terms["renewal_arr"].iloc[1])
    assert terms["renewal_arr"].iloc[2] == 0


def test_nothing_after_the_export_date_decides_a_term(tmp_path):
    """An export date set months before the export's last rows: every term that ends after it is open, and
    the terms that end by it keep the outcomes they were planted with."""
    from exports import MAPPING, billing_export

    export, truth = billing_export(tmp_path / "export", accounts=150)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(MAPPING.replace('export_date: "2026-11-01"', 'export_date: "2026-05-01"'))
    terms = load(export, mapping)["contracts"]
    export_date = pd.Timestamp("2026-05-01")
    after = terms["end_date"] > export_date
    assert after.sum() > 50 and (terms.loc[after, "outcome"] == "open").all()
    assert terms.loc[after, "renewal_arr"].isna().all()
    known = truth.loc[truth["end_date"] <= export_date]
    got = terms.loc[~after].merge(known, on=["account_id", "end_date", "arr"], suffixes=("", "_planted"))
    assert len(got) == len(known) and (got["outcome"] == got["outcome_planted"]).all()


def test_a_study_after_the_export_date_is_refused_with_the_date_to_use(tmp_path):
    from exports import MAPPING, billing_export

    from workbench import Study
    from workbench.errors import UsageError

    export, _ = billing_export(tmp_path / "export", accounts=60)
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(MAPPING.replace('export_date: "2026-11-01"', 'export_date: "2026-05-01"'))
    with pytest.raises(UsageError, match="after the export date .*2026-05-01.* as of 2026-05-01 or earlier"):
        Study.load(export, "2026-05-02", mapping=mapping)
    assert Study.load(export, "2026-05-01", mapping=mapping).decisions["end_date"].max() <= pd.Timestamp("2026-05-01")


def test_a_scorecard_history_of_one_row_per_measure_loads_as_scores_with_their_components(small_world, tmp_path):
    export = tmp_path / "export"
    shutil.copytree(small_world, export)
    scores = read(small_world / "health_scores.csv")
    measures = {"score": "Overall Score", "component_usage": "Usage", "component_survey": "Survey"}
    scores = scores[["account_id", "contact_id", "date", *measures]]
    long = scores.melt(["account_id", "contact_id", "date"], list(measures), "Measure", "Score").dropna(
        subset=["Score"]
    )
    long["Measure"] = long["Measure"].map(measures)
    long.assign(Trend="Up").rename(columns={"account_id": "Company ID", "date": "Time Stamp"}).sample(
        frac=1, random_state=3
    ).to_csv(export / "scorecard_history.csv", index=False)
    (export / "health_scores.csv").unlink()
    mapping = tmp_path / "mapping.yml"
    mapping.write_text(
        "tables:\n  health_scores:\n    file: scorecard_history.csv\n"
        "    rename: {Company ID: account_id, Time Stamp: date}\n"
        "    pivot: {name: Measure, value: Score, total: Overall Score}\n"
    )
    read_back = load(export, mapping).stored["health_scores"].to_frame()
    native = load(small_world).stored["health_scores"].to_frame()[list(read_back.columns)]
    key = ["account_id", "contact_id", "day"]
    left, right = (f.sort_values(key, ignore_index=True) for f in (read_back, native))
    pd.testing.assert_frame_equal(left, right, check_dtype=False)
