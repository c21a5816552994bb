"""The mapping language on exports as they come: rows exported twice, several dated matches per key, a key
inside a structured cell, UTC timestamps of a business that bills at local midnight."""

import textwrap

import pandas as pd
import pytest

from workbench.errors import DataError
from workbench.inputs.loader import load

ACCOUNTS = "account_id,account_name\nA1,Acme\nA2,Globex\nA3,Initech\n"
CONTRACTS = (
    "contract_id,account_id,start_date,end_date,arr,outcome,plan\n"
    "C1,A1,2025-01-01,2026-01-01,1200,churned,plan:item_10;seats=5\n"
    "C2,A2,2025-02-01,2026-02-01,2400,renewed,plan:item_20;seats=9\n"
    "C3,A3,2025-03-01,2026-03-01,3600,churned,plan:item_10\n"
)
EVENTS = (  # several per account, dated: the reason is the one nearest the cancellation
    "customer,reason,logged\n"
    "A1,PRICE,2025-06-01\n"
    "A1,NO_VALUE,2025-12-28\n"
    "A3,ACQUIRED,2026-03-03\n"
    "A3,OTHER,2024-01-01\n"
    "A2,PRICE,2025-05-05\n"
)


REASONS = "{PRICE: value, NO_VALUE: value, ACQUIRED: external, OTHER: unknown}"


def export(tmp_path, mapping: str, **files) -> tuple:
    folder = tmp_path / "export"
    folder.mkdir(parents=True)
    for name, text in {"accounts.csv": ACCOUNTS, "contracts.csv": CONTRACTS, **files}.items():
        (folder / name).write_text(text)
    (tmp_path / "mapping.yml").write_text("tables:\n" + textwrap.indent(textwrap.dedent(mapping), "  "))
    return folder, tmp_path / "mapping.yml"


def reasons(tmp_path, lookup: str) -> list:
    folder, mapping = export(
        tmp_path,
        f"contracts:\n  lookup:\n    churn_reason: {lookup}\n  values: {{churn_reason: {REASONS}}}\n",
        **{"events.csv": EVENTS},
    )
    contracts = load(folder, mapping)["contracts"].sort_values("contract_id")
    return [None if pd.isna(reason) else reason for reason in contracts["churn_reason"]]


def test_rows_exported_twice_are_dropped_by_dedupe_and_counted(tmp_path):
    twice = ACCOUNTS + "A2,Globex\n"
    folder, mapping = export(tmp_path, "accounts:\n  dedupe: exact\n", **{"accounts.csv": twice})
    data = load(folder, mapping)
    assert len(data["accounts"]) == 3
    assert data.dropped["accounts"][1] == [("dedupe: exact", 1)]
    (tmp_path / "mapping.yml").write_text("tables:\n  accounts: {file: accounts.csv}\n")
    with pytest.raises(DataError, match="dedupe: exact"):
        load(folder, mapping)


def test_dedupe_by_key_keeps_the_latest_row(tmp_path):
    updated = "account_id,account_name,updated\nA1,Acme old,2025-01-01\nA1,Acme,2025-06-01\nA2,Globex,2025-01-01\n"
    updated += "A3,Initech,2025-01-01\n"
    folder, mapping = export(
        tmp_path, "accounts:\n  dedupe: {key: account_id, latest: updated}\n", **{"accounts.csv": updated}
    )
    accounts = load(folder, mapping)["accounts"]
    assert accounts.set_index("account_id").loc["A1", "account_name"] == "Acme"
    assert len(accounts) == 3


def test_a_lookup_picks_the_event_nearest_a_date_within_a_tolerance(tmp_path):
    nearest = (
        "{file: events.csv, key: customer, value: reason, from: account_id, pick: nearest, missing: empty,\n"
        "       on_date: {from: end_date, key: logged, within_days: 31}}"
    )
    assert reasons(tmp_path / "nearest", nearest) == ["value", None, "external"]
    latest = nearest.replace("pick: nearest", "pick: latest")  # on or before the end: A3's is after it
    assert reasons(tmp_path / "latest", latest) == ["value", None, None]
    first = "{file: events.csv, key: customer, value: reason, from: account_id, pick: first}"
    assert reasons(tmp_path / "first", first) == ["value", "value", "external"]


def test_a_lookup_counts_or_sums_the_matches(tmp_path):
    folder, mapping = export(
        tmp_path,
        "contracts:\n  lookup:\n    seats: {file: events.csv, key: customer, value: reason, from: account_id,"
        " how: count}\n",
        **{"events.csv": EVENTS},
    )
    contracts = load(folder, mapping)["contracts"].sort_values("contract_id")
    assert contracts["seats"].tolist() == [2, 1, 2]


def test_several_matches_without_pick_or_how_say_how_to_choose(tmp_path):
    with pytest.raises(DataError, match="pick: first") as caught:
        reasons(tmp_path, "{file: events.csv, key: customer, value: reason, from: account_id}")
    assert "events.csv" in str(caught.value) and "A1" in str(caught.value)
    with pytest.raises(DataError, match="needs `on_date`"):
        reasons(tmp_path / "b", "{file: events.csv, key: customer, value: reason, from: account_id, pick: latest}")


def test_extract_takes_a_key_out_of_a_structured_cell_for_a_lookup(tmp_path):
    prices = "item,monthly\n10,100\n20,200\n"
    folder, mapping = export(
        tmp_path,
        """\
        contracts:
          extract: {item: {from: plan, pattern: "item_(\\\\d+)"}}
          lookup: {monthly: {file: prices.csv, key: item, value: monthly, from: item}}
          compute: {arr: monthly * 12}
        """,
        **{"prices.csv": prices},
    )
    contracts = load(folder, mapping)["contracts"].sort_values("contract_id")
    assert contracts["arr"].tolist() == [1200, 2400, 1200]


def test_utc_timestamps_become_the_business_s_local_dates(tmp_path):
    utc = CONTRACTS.replace("2025-01-01,2026-01-01", "2024-12-31T23:00:00Z,2025-12-31T23:00:00Z")
    folder, mapping = export(tmp_path, "contracts:\n  timezone: Europe/Berlin\n", **{"contracts.csv": utc})
    contracts = load(folder, mapping)["contracts"].set_index("contract_id")
    assert contracts.loc["C1", "start_date"] == pd.Timestamp("2025-01-01")
    assert contracts.loc["C1", "end_date"] == pd.Timestamp("2026-01-01")
    assert contracts.loc["C2", "start_date"] == pd.Timestamp("2025-02-01")  # a plain date stays that date
    (tmp_path / "mapping.yml").write_text("tables:\n  contracts: {timezone: Europe/Bonn}\n")
    with pytest.raises(DataError, match="'Europe/Bonn' is not a time zone"):
        load(folder, mapping)


def test_a_value_map_s_default_the_contract_refuses_is_named_beside_the_cell(tmp_path):
    contacts = "contact_id,account_id,title\nP1,A1,Chief Revenue Officer\nP2,A2,Analyst\n"
    folder, mapping = export(
        tmp_path,
        "contacts:\n  rename: {title: role}\n"
        "  values: {role: {Chief Revenue Officer: decision_maker, default: superuser}}\n",
        **{"contacts.csv": contacts},
    )
    with pytest.raises(DataError) as caught:
        load(folder, mapping)
    assert "line 3 (mapped to 'superuser'): 'Analyst'" in str(caught.value)
    assert "line 2" not in str(caught.value)


def test_a_file_in_another_encoding_says_so_with_its_line(tmp_path):
    usage = "account_id,date,events\nA1,2025-06-01,3\nA\xe9,2025-06-02,4\n".encode("latin-1")
    folder, mapping = export(tmp_path, "accounts: {file: accounts.csv}\n")
    (folder / "usage.csv").write_bytes(usage)
    with pytest.raises(DataError) as caught:
        load(folder, mapping)
    assert "usage.csv: the file is not UTF-8 text (first on line 3)" in str(caught.value)
    assert "encoding: latin-1" in str(caught.value)


def test_the_draft_reads_a_bare_id_as_the_table_s_key_and_explains_a_snapshot_table(tmp_path, capsys):
    import yaml

    from workbench.cli import main

    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "customers.csv").write_text("id,name,owner\n1,Acme,Ana\n2,Globex,Ben\n")
    (folder / "subscriptions.csv").write_text(
        "subscription_id,customer_id,started,cancelled,arr\nS1,1,2025-01-01,2026-01-01,1200\nS2,2,2025-02-01,,2400\n"
    )
    (folder / "telco_churn.csv").write_text(  # a typical public churn table: no dates, a flag
        "customerID,tenure,Contract,MonthlyCharges,Churn\n7590-VHVEG,1,Month-to-month,29.85,No\n"
        "5575-GNVDE,34,One year,56.95,Yes\n"
    )
    draft = tmp_path / "draft.yml"
    assert main(["map", "--draft", str(folder), "--out", str(draft)]) == 0
    text = draft.read_text()
    tables = yaml.safe_load(text)["tables"]
    assert tables["accounts"]["file"] == "customers.csv" and tables["accounts"]["rename"]["id"] == "account_id"
    assert tables["contracts"]["derive"] == "terms"
    assert "telco_churn.csv looks like a snapshot churn table" in text and "cannot be" in text
    assert "point-in-time" in text and "start and end" in text
    assert all(entry.get("file") != "telco_churn.csv" for entry in tables.values())


def test_derive_terms_reads_every_date_with_the_table_s_format_even_where_a_guess_would_pass(tmp_path):
    """Day-first dates whose first values have a day of 12 or less: a reader that guessed the format from them
    would take 05-06-2025 for 6 May and still parse every row."""
    from workbench.inputs.terms import derive_terms

    rows = pd.DataFrame(
        {
            "account_id": ["A1", "A1", "A2", "A3"],
            "start_date": ["05-06-2024", "05-06-2025", "03-02-2025", "11-01-2025"],
            "end_date": ["05-06-2025", "05-06-2026", "03-02-2026", "11-01-2026"],
            "arr": ["1200", "1200", "600", "900"],
        }
    )
    terms, _ = derive_terms(rows, "%d-%m-%Y", "2026-11-01")
    terms = terms.sort_values(["account_id", "start_date"])
    for column in ("start_date", "end_date"):  # written out as YYYY-MM-DD for the contract's checks
        planted = pd.to_datetime(rows[column], format="%d-%m-%Y").dt.strftime("%Y-%m-%d")
        assert terms[column].tolist() == planted.tolist()
    assert terms["outcome"].tolist() == ["renewed", "churned", "churned", "churned"]


def test_a_where_rule_compares_dates_in_the_table_s_format():
    """A day-first export filtered from March: 5 February is left out and 2 May kept, as the format says, not
    as a month-first reading would have it."""
    from workbench.inputs.expressions import condition

    dates = pd.Series(["05-02-2025", "02-05-2025", ""])
    assert condition(dates, {"ge": "2025-03-01"}, "%d-%m-%Y").tolist() == [False, True, False]
    assert condition(dates, {"lt": "2025-03-01"}, "%d-%m-%Y").tolist() == [True, False, False]


def test_a_mapping_s_where_on_a_date_reads_the_table_s_date_format(tmp_path):
    day_first = (
        "contract_id,account_id,start_date,end_date,arr,outcome\n"
        "C1,A1,05-02-2025,05-02-2026,1200,churned\n"  # 5 February: before March, left out
        "C2,A2,02-05-2025,02-05-2026,2400,renewed\n"  # 2 May: kept
        "C3,A3,12-03-2025,12-03-2026,3600,churned\n"  # 12 March: kept
    )
    folder, mapping = export(
        tmp_path,
        "contracts:\n  date_format: '%d-%m-%Y'\n  where: {start_date: {ge: '2025-03-01'}}\n",
        **{"contracts.csv": day_first},
    )
    contracts = load(folder, mapping)["contracts"].sort_values("contract_id")
    assert contracts["contract_id"].tolist() == ["C2", "C3"]
    assert contracts["start_date"].dt.strftime("%Y-%m-%d").tolist() == ["2025-05-02", "2025-03-12"]
