"""Presets read the exports of the systems CS teams use (tests/preset_exports.py writes a planted world in their
exact columns) with no hand-written mapping, and the planted truth comes back."""

import json
import shutil

import pandas as pd
import pytest
import yaml
from preset_exports import system_export

from workbench.cli import main
from workbench.errors import DataError
from workbench.generate import World
from workbench.inputs import presets
from workbench.inputs.loader import load
from workbench.judge.quality import warnings

WORLD = World(accounts=80, seed=5)


@pytest.fixture(scope="module")
def exports(tmp_path_factory):
    """One folder per system, each written from the same world, and that world's tables."""
    made = {}
    for system in (
        "salesforce",
        "salesforce_fivetran",
        "hubspot",
        "pendo",
        "amplitude",
        "mixpanel",
        "delighted",
        "qualtrics",
    ):
        folder, truth = system_export(tmp_path_factory.mktemp(system), WORLD, (system,))
        made[system] = folder
    return made, truth


def by(frame: pd.DataFrame, *columns) -> pd.DataFrame:
    return frame[list(columns)].astype(str).sort_values(list(columns), ignore_index=True)


@pytest.mark.parametrize("shape", ["salesforce", "salesforce_fivetran"])
def test_salesforce_in_either_shape_reads_back_the_planted_world(exports, shape):
    made, truth = exports
    data = load(made[shape], preset=("salesforce",))
    pd.testing.assert_frame_equal(
        by(data["accounts"], "account_id", "account_name", "region"),
        by(truth["accounts"], "account_id", "account_name", "region"),
    )
    contacts = data["contacts"].set_index("contact_id")["role"]
    assert contacts.sort_index().equals(truth["contacts"].set_index("contact_id")["role"].sort_index())
    # Every term, with its dates from the Contract though a third of renewals closed early, and its outcome;
    # only terms that end after the last close seen are open where the world decided them.
    terms = data["contracts"].assign(contract_id=lambda f: f["contract_id"].str[3:]).set_index("contract_id")
    world = truth["contracts"].set_index("contract_id").loc[terms.index]
    assert len(terms) == len(truth["contracts"])
    assert (terms["start_date"] == pd.to_datetime(world["start_date"])).all()
    assert (terms["end_date"] == pd.to_datetime(world["end_date"])).all()
    seen = terms["end_date"] <= pd.to_datetime(data["contracts"]["closed_on"]).max() - pd.Timedelta(days=31)
    assert (terms.loc[seen, "outcome"] == world.loc[seen, "outcome"]).all() and seen.mean() > 0.3
    assert (terms["outcome"] != "churned").sum() >= (world["outcome"] != "churned").sum()  # never churned early
    renewed = terms["outcome"] == "renewed"
    assert (terms.loc[renewed, "renewal_arr"] == world.loc[renewed, "renewal_arr"]).all()
    # Touches: calls, emails and meetings by people, list emails automated; leads are not contacts.
    touches = data.stored["activities"].to_frame()
    told = truth["activities"].loc[lambda f: (f["kind"] == "human") | (f["channel"] == "email")]
    pd.testing.assert_frame_equal(
        by(touches, "account_id", "contact_id", "kind", "channel"),
        by(told, "account_id", "contact_id", "kind", "channel"),
    )
    said = "\n".join(str(w) for w in warnings(data))
    assert "'Partner Rep'" in said and '"Partner Rep: other"' in said
    assert "Existing Customer - Replacement" in said  # the upgrades left out, counted by their rule


def test_a_salesforce_export_without_contracts_or_tasks_still_loads_and_says_what_it_left(exports, tmp_path):
    made, truth = exports
    folder = tmp_path / "crm"
    shutil.copytree(made["salesforce"], folder)
    for name in ("Contract.csv", "Task.csv", "Event.csv"):
        (folder / name).unlink()
    data = load(folder, preset=("salesforce",))
    assert not data.has("activities")
    assert any("Task.csv" in str(w) and "activities was not read" in str(w) for w in warnings(data))
    terms = data["contracts"]
    assert len(terms) == len(truth["contracts"])
    assert ((terms["end_date"] - terms["start_date"]).dt.days.between(365, 366)).all()  # a year from the close


def test_hubspot_reads_back_the_planted_world(exports):
    made, truth = exports
    data = load(made["hubspot"], preset=("hubspot",))
    pd.testing.assert_frame_equal(
        by(data["accounts"], "account_id", "region"), by(truth["accounts"], "account_id", "region")
    )
    contacts = data["contacts"].set_index("contact_id")["role"]
    assert contacts.sort_index().equals(truth["contacts"].set_index("contact_id")["role"].sort_index())
    terms = data["contracts"].assign(contract_id=lambda f: f["contract_id"].str[1:]).set_index("contract_id")
    world = truth["contracts"].set_index("contract_id").loc[terms.index]
    assert len(terms) == len(world) and (terms["start_date"] == pd.to_datetime(world["start_date"])).all()
    seen = terms["end_date"] <= terms["start_date"].max() - pd.Timedelta(days=31)
    assert (terms.loc[seen, "outcome"] == world.loc[seen, "outcome"]).all() and seen.mean() > 0.3
    touches = data.stored["activities"].to_frame()
    human = truth["activities"].loc[lambda f: f["kind"] == "human"].replace({"channel": {"qbr": "meeting"}})
    pd.testing.assert_frame_equal(
        by(touches, "account_id", "contact_id", "kind", "channel", "csm"),
        by(
            human.assign(csm=lambda f: "005" + f["csm"].str.replace(" ", "")),
            "account_id",
            "contact_id",
            "kind",
            "channel",
            "csm",
        ),
    )
    answers = truth["surveys"].assign(date=lambda f: pd.to_datetime(f["date"]))
    pd.testing.assert_frame_equal(
        by(data["surveys"], "response_id", "account_id", "contact_id", "date", "survey", "score"),
        by(answers, "response_id", "account_id", "contact_id", "date", "survey", "score"),
    )
    assert any("LEGAL_AND_COMPLIANCE" in str(w) for w in warnings(data))


@pytest.mark.parametrize("system", ["pendo", "amplitude", "mixpanel"])
def test_product_analytics_events_are_the_planted_usage(exports, system):
    made, truth = exports
    data = load(made[system], preset=(system,))
    read = data.stored["usage"].to_frame().groupby("account_id")["events"].sum()
    planted = truth["usage"].groupby("account_id")["events"].sum()
    planted = planted[planted > 0]
    assert {str(k): float(v) for k, v in read.items()} == {str(k): float(v) for k, v in planted.items()}
    assert not any("repeat another row" in str(w) for w in warnings(data))  # events are not an export twice


@pytest.mark.parametrize("system", ["delighted", "qualtrics"])
def test_survey_tools_give_the_planted_answers(exports, system):
    made, truth = exports
    data = load(made[system], preset=(system,))
    answers = truth["surveys"].assign(date=lambda f: pd.to_datetime(f["date"]))
    pd.testing.assert_frame_equal(
        by(data["surveys"], "response_id", "account_id", "date", "survey", "score"),
        by(answers, "response_id", "account_id", "date", "survey", "score"),
    )


def test_map_writes_the_mapping_a_preset_stands_for_and_a_mapping_file_overrides_it(exports, tmp_path, capsys):
    made, _ = exports
    out = tmp_path / "mapping.yml"
    assert main(["map", "--preset", "salesforce", "--preset", "pendo", "--out", str(out)]) == 0
    written = yaml.safe_load(out.read_text())
    assert written["tables"] == presets.combined(["salesforce", "pendo"])[0]
    assert "# Roles come from the contact's role" in out.read_text()  # the preset's comments come along
    assert main(["map", "--draft", str(made["salesforce_fivetran"])]) == 0
    drafted = capsys.readouterr().out
    assert "salesforce export" in drafted and "salesforce/opportunity.csv" in drafted
    overriding = tmp_path / "override.yml"
    overriding.write_text(
        "preset: salesforce\ntables:\n  contacts:\n    values:\n      role: {Partner Rep: champion}\n"
    )
    data = load(made["salesforce"], overriding)
    assert (data["contacts"]["role"] == "champion").sum() > 0
    assert not any("Partner Rep" in str(w) for w in warnings(data))
    (tmp_path / "unknown.yml").write_text("preset: salesfarce\n")
    with pytest.raises(DataError, match="salesfarce"):
        load(made["salesforce"], tmp_path / "unknown.yml")


@pytest.mark.parametrize(
    "systems, named",
    [
        (("salesforce", "pendo", "delighted"), ("salesforce", "pendo", "delighted")),
        (("salesforce_fivetran", "pendo", "qualtrics"), ("salesforce", "pendo", "qualtrics")),
        (("hubspot", "pendo"), ("hubspot", "pendo")),
    ],
)
def test_a_study_of_crm_analytics_and_survey_exports_finds_the_planted_drivers(tmp_path, systems, named):
    folder, _ = system_export(tmp_path / "export", World(accounts=1500, seed=8, nps_effect=1.5), systems)
    out = tmp_path / "report"
    arguments = ["study", "--data", str(folder), "--as-of", "2026-10-31", "--out", str(out)]
    assert main([*arguments, *(f"--preset={name}" for name in named)]) == 0
    results = json.loads((out / "results.json").read_text())
    found = {s["signal"]: s["conclusion"] for s in results["signals"]}
    assert found["health_decision_maker"] == "predictive"
    assert found["nps"] == "predictive"
    assert found["goal_attainment"] == "predictive"
    assert results["run"]["preset"] == ",".join(named)


def test_an_event_exported_twice_is_still_a_repeat(exports, tmp_path):
    made, _ = exports
    folder = tmp_path / "pendo"
    shutil.copytree(made["pendo"], folder)
    events = pd.read_csv(folder / "pendo" / "feature_event.csv", dtype=str)
    pd.concat([events, events.head(4)]).to_csv(folder / "pendo" / "feature_event.csv", index=False)
    repeats = [w for w in warnings(load(folder, preset=("pendo",))) if "repeat another row" in w.message]
    assert len(repeats) == 1 and repeats[0].message.startswith("4 rows")
