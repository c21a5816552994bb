"""Every page of a study, on the exports real teams have, reads as a reader expects (see page_audit)."""

import json

import pytest
from exports import MAPPING, billing_export, crm_export, thin_export
from page_audit import faults

from workbench.cli import main

AS_OF = "2026-10-31"


def billing(folder):
    export, _ = billing_export(folder, accounts=150)
    subscriptions = export / "subscriptions.csv"
    same_day = "sub_same_{0},cus_000{0},Pro,50.0,Monthly,03-03-2025,03-03-2025\n"  # cancelled the day it began
    subscriptions.write_text(subscriptions.read_text() + "".join(same_day.format(i) for i in range(3)))
    (folder.parent / "mapping.yml").write_text(MAPPING)
    return export, ["--mapping", str(folder.parent / "mapping.yml")]


def billing_by_account(folder):
    export, options = billing(folder)
    (folder.parent / "config.yml").write_text("decision_unit: accounts\n")
    return export, [*options, "--config", str(folder.parent / "config.yml")]


SHAPES = {
    "billing: accounts, subscriptions, usage, CSAT": billing,
    "billing, one decision per account and date": billing_by_account,
    "CRM and CS platform, no usage": lambda folder: (crm_export(folder), []),
    "thin: usage and NPS by account": lambda folder: (thin_export(folder), []),
}
NOT_RUN = {
    "billing: accounts, subscriptions, usage, CSAT": {"Stakeholder health", "Goal attainment", "Capacity"},
    "billing, one decision per account and date": {"Stakeholder health", "Goal attainment", "Capacity"},
    "CRM and CS platform, no usage": {"Goal attainment"},
    "thin: usage and NPS by account": {"Stakeholder health", "Goal attainment", "Capacity"},
    "full": set(),
}


def study(data, out, options=()) -> dict:
    assert main(["study", "--data", str(data), "--as-of", AS_OF, "--out", str(out), *options]) == 0
    return json.loads((out / "results.json").read_text())


@pytest.mark.parametrize("shape", SHAPES)
def test_every_page_of_an_export_reads_true(shape, tmp_path):
    data, options = SHAPES[shape](tmp_path / "export")
    out = tmp_path / AS_OF
    results = study(data, out, options)
    assert faults(out) == []
    index = (out / "index.html").read_text()
    not_run = {line.split("</a>")[0].rsplit(">", 1)[1] for line in index.split("<li>") if "not run: needs" in line}
    assert not_run == NOT_RUN[shape]
    assert all(s["conclusion"] != "not_judged" or s["reason"] for s in results["signals"])
    if shape.startswith("billing,"):
        summary = " ".join((out / "00_summary.html").read_text().split())
        assert "an account's terms coming up on one date, churned only where the account kept no ARR" in summary
    if shape.startswith("billing:"):  # every row a mapping rule left out is counted where the data is described
        health = " ".join((out / "01_data_health.html").read_text().split())
        assert "subscriptions.csv: 3 rows left out of the contracts table by the mapping's rule derive: terms" in health
        assert "left out of the contracts table by the mapping's rule where: {plan: {ne: Trial}}" in health
        assert "usage.csv: " not in health.replace("feature_usage.csv: ", "")  # the export's own file is named
        assert "repeat another row" not in health  # two subscriptions' usage of one account and day: not a repeat
        signal = " ".join((out / "10_signal_validity.html").read_text().split())
        for page in (health, signal):  # most observation dates of a monthly book fall before their own term
            assert "before their own term's start" in page and "--horizon-days 14" in page


def test_every_page_of_a_full_study_reads_true(small_world, tmp_path):
    out = tmp_path / AS_OF
    study(small_world, out)
    assert faults(out) == [] and "not run" not in (out / "index.html").read_text()


def test_every_page_reads_true_where_only_a_signal_can_flag_risk(tmp_path):
    """No contacts, person health or goals, but activities and an NPS the world makes predictive: the capacity
    page has no at-risk decision to time, and the summary flags renewals by NPS alone."""
    from workbench.generate import World, generate, write

    left_out = ("contacts", "health_scores", "goals", "goal_progress", "goal_inputs")
    world = generate(World(accounts=600, seed=1, nps_effect=2.0))
    data = write({name: frame for name, frame in world.items() if name not in left_out}, tmp_path / "export")
    out = tmp_path / AS_OF
    results = study(data, out)
    assert faults(out) == []
    assert results["renewals_next_quarter"]["at_risk"] is not None
    assert "At risk: NPS in the riskiest quarter" in " ".join((out / "00_summary.html").read_text().split())
