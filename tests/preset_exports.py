"""A planted world written as the systems CS teams export from write it, in each preset's exact columns.

`system_export(folder, world, systems)` writes the world's tables as those systems hold them (Salesforce by Data
Loader or as Fivetran lands it, Pendo, Amplitude and Mixpanel events, Delighted and Qualtrics responses) and the
tables none of them holds (health scores, goals, referrals) in the contract's own form. Salesforce's ids are
given to every account (001...) and contact (003...), in every table. It returns the folder and the world's
tables with those ids: the truth the presets must read back. Each system's file carries what real exports do
beside the rows the workbench reads: bookkeeping columns, deleted records, leads, upgrades, unfinished answers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd

from workbench.generate import World, generate

COVERS = {
    "salesforce": ("accounts", "contracts", "contacts", "activities"),
    "salesforce_fivetran": ("accounts", "contracts", "contacts", "activities"),
    "hubspot": ("accounts", "contracts", "contacts", "activities", "surveys"),
    "pendo": ("usage",),
    "amplitude": ("usage",),
    "mixpanel": ("usage",),
    "delighted": ("surveys",),
    "qualtrics": ("surveys",),
}
ROLES = {
    "decision_maker": ["Economic Buyer", "Decision Maker", "Executive Sponsor"],
    "champion": ["Influencer", "Technical Buyer", "Evaluator"],
    "end_user": ["Business User"],
    "other": ["Other", "Partner Rep"],  # Partner Rep: a picklist value the preset does not list
}
CONTACT_DAY = "2020-01-01T09:30:00.000Z"


def system_export(folder: Path, world: World, systems: tuple[str, ...]) -> tuple[Path, dict[str, pd.DataFrame]]:
    tables = _salesforce_ids(generate(world))
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(world.seed)
    covered = set()
    for system in systems:
        WRITERS[system](tables, folder, rng)
        covered |= set(COVERS[system])
    for name, frame in tables.items():
        if name not in covered and name != "truth":
            frame.to_csv(folder / f"{name}.csv", index=False)
    return folder, tables


def _salesforce_ids(tables: dict[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    out = {}
    for name, frame in tables.items():
        frame = frame.copy()
        for column, prefix in (("account_id", "001"), ("contact_id", "003")):
            if column in frame:
                frame[column] = (prefix + frame[column].astype("string")).where(frame[column].notna())
        out[name] = frame
    return out


def _day(dates) -> pd.Series:
    return pd.to_datetime(pd.Series(dates)).dt.strftime("%Y-%m-%d")


def _owner(csm: pd.Series) -> pd.Series:
    return ("005" + csm.astype("string").str.replace(" ", "", regex=False)).where(csm.notna())


def _salesforce_objects(tables, rng) -> dict[str, pd.DataFrame]:
    """The world as Salesforce holds it, one frame per object, fields by their API names."""
    accounts = tables["accounts"]
    account = pd.DataFrame(
        {
            "Id": accounts["account_id"],
            "Name": accounts["account_name"],
            "OwnerId": _owner(accounts["csm"]),
            "Industry": accounts["industry"],
            "BillingCountry": accounts["region"],
            "Type": "Customer - Direct",
        }
    )
    terms = tables["contracts"].sort_values(["account_id", "start_date"]).reset_index(drop=True)
    first = ~terms["account_id"].duplicated()
    start = pd.to_datetime(terms["start_date"])
    # A third of renewals are closed a fortnight before the term they buy starts, as CSMs close them early.
    early = ~first & (rng.random(len(terms)) < 1 / 3)
    won = pd.DataFrame(
        {
            "Id": "006" + terms["contract_id"],
            "AccountId": terms["account_id"],
            "Name": "Term " + terms["contract_id"],
            "Type": np.where(first, "New Business", "Renewal"),
            "StageName": "Closed Won",
            "CloseDate": _day(start - pd.to_timedelta(np.where(early, 14, 0), unit="D")),
            "Amount": terms["arr"],
            "IsWon": "true",
            "IsClosed": "true",
            "ContractId": "800" + terms["contract_id"],
            "TotalOpportunityQuantity": terms["seats"],
        }
    )
    churned = terms.loc[terms["outcome"] == "churned"]
    lost = pd.DataFrame(
        {
            "Id": "006L" + churned["contract_id"],
            "AccountId": churned["account_id"],
            "Name": "Renewal of " + churned["contract_id"],
            "Type": "Renewal",
            "StageName": "Closed Lost",
            "CloseDate": _day(churned["end_date"]),
            "Amount": churned["arr"],
            "IsWon": "false",
            "IsClosed": "true",
            "ContractId": "",
            "TotalOpportunityQuantity": churned["seats"],
        }
    )
    upgraded = terms.sample(frac=0.1, random_state=1)
    upgrades = pd.DataFrame(  # bought mid-term: not a term of its own
        {
            "Id": "006U" + upgraded["contract_id"],
            "AccountId": upgraded["account_id"],
            "Name": "Upgrade " + upgraded["contract_id"],
            "Type": "Existing Customer - Upgrade",
            "StageName": "Closed Won",
            "CloseDate": _day(pd.to_datetime(upgraded["start_date"]) + pd.Timedelta(days=100)),
            "Amount": 5000.0,
            "IsWon": "true",
            "IsClosed": "true",
            "ContractId": "",
            "TotalOpportunityQuantity": 2,
        }
    )
    contract = pd.DataFrame(
        {
            "Id": "800" + terms["contract_id"],
            "AccountId": terms["account_id"],
            "StartDate": _day(terms["start_date"]),
            "EndDate": _day(terms["end_date"]),
            "ContractTerm": 12,
            "Status": "Activated",
        }
    )
    people = tables["contacts"]
    contact = pd.DataFrame(
        {
            "Id": people["contact_id"],
            "AccountId": people["account_id"],
            "Name": people["name"],
            "Email": people["email"],
            "Title": "",
            "CreatedDate": CONTACT_DAY,
        }
    )
    choice = rng.integers(0, 3, len(people))
    role = [ROLES[r][c % len(ROLES[r])] for r, c in zip(people["role"], choice, strict=True)]
    first_opportunity = won.loc[first.to_numpy()].set_index("AccountId")["Id"]
    roles = pd.DataFrame(
        {
            "Id": "00K" + people["contact_id"],
            "OpportunityId": people["account_id"].map(first_opportunity),
            "ContactId": people["contact_id"],
            "Role": role,
            "IsPrimary": np.where(people["role"] == "decision_maker", "true", "false"),
        }
    )
    roles = pd.concat([roles, roles.loc[people["role"].to_numpy() == "decision_maker"]])  # on a renewal too
    touches = tables["activities"]
    human = touches["kind"] == "human"
    told = touches.loc[human | (touches["channel"] == "email")]  # in-app guides and webinars live elsewhere
    meeting = told["channel"].isin(["meeting", "qbr"])
    lead = told["contact_id"].isna() & (rng.random(len(told)) < 0.3)
    who = told["contact_id"].where(~lead, "00Q" + pd.Series(np.arange(len(told)), index=told.index).astype(str))
    common = {
        "AccountId": told["account_id"],
        "WhoId": who,
        "ActivityDate": _day(told["date"]),
        "Subject": told["channel"].str.upper(),
        "OwnerId": _owner(told["csm"].fillna("Marketing")),
    }
    task = pd.DataFrame(
        {
            "Id": "00T" + pd.Series(np.arange(len(told)), index=told.index).astype(str),
            **common,
            "Type": told["channel"].map({"call": "Call", "email": "Email"}),
            "TaskSubtype": np.where(told["kind"] == "automated", "ListEmail", told["channel"].str.title()),
            "Status": "Completed",
        }
    ).loc[~meeting]
    on_leads = pd.DataFrame(  # a task on a lead, with no account: left out
        {
            "Id": ["00Tlead"],
            "AccountId": [""],
            "WhoId": ["00Qlead"],
            "ActivityDate": ["2026-01-05"],
            "Subject": ["CALL"],
            "OwnerId": ["005CSM1"],
            "Type": ["Call"],
            "TaskSubtype": ["Call"],
            "Status": ["Completed"],
        }
    )
    event = pd.DataFrame(
        {
            "Id": "00U" + pd.Series(np.arange(len(told)), index=told.index).astype(str),
            **common,
            "Type": told["channel"].map({"meeting": "Meeting", "qbr": "QBR"}),
            "StartDateTime": _day(told["date"]) + "T15:00:00.000Z",
        }
    ).loc[meeting]
    return {
        "Account": account,
        "Opportunity": pd.concat([won, lost, upgrades], ignore_index=True),
        "Contract": contract,
        "Contact": contact,
        "OpportunityContactRole": roles,
        "Task": pd.concat([task, on_leads], ignore_index=True),
        "Event": event,
    }


def _salesforce(tables, folder, rng) -> None:
    for name, frame in _salesforce_objects(tables, rng).items():
        frame.to_csv(folder / f"{name}.csv", index=False)


def snake(name: str) -> str:
    """A Salesforce API name as Fivetran lands it: CloseDate -> close_date, OpportunityContactRole ->
    opportunity_contact_role."""
    out = ""
    for i, char in enumerate(name):
        if char.isupper() and i and (name[i - 1].islower() or (i + 1 < len(name) and name[i + 1].islower())):
            out += "_"
        out += char.lower()
    return out


def _salesforce_fivetran(tables, folder, rng) -> None:
    (folder / "salesforce").mkdir()
    for name, frame in _salesforce_objects(tables, rng).items():
        landed = frame.rename(columns=snake).assign(
            is_deleted="false", _fivetran_deleted="false", _fivetran_synced="2026-11-01 03:12:45.120000+00:00"
        )
        gone = landed.head(3).assign(is_deleted="true")  # deleted in Salesforce, kept by Fivetran
        gone["id"] = gone["id"].astype(str) + "X"
        if "contact_id" in gone and name == "Contact":
            gone["contact_id"] = gone["id"]
        pd.concat([landed, gone], ignore_index=True).to_csv(folder / "salesforce" / f"{snake(name)}.csv", index=False)


BUYING_ROLES = {
    "decision_maker": ["DECISION_MAKER", "BUDGET_HOLDER", "EXECUTIVE_SPONSOR;CHAMPION"],
    "champion": ["CHAMPION", "INFLUENCER"],
    "end_user": ["END_USER"],
    "other": ["OTHER", "LEGAL_AND_COMPLIANCE"],  # a buying role the preset does not list
}


def _hubspot(tables, folder, rng) -> None:
    out = folder / "hubspot"
    out.mkdir()
    accounts = tables["accounts"]
    pd.DataFrame(
        {
            "id": accounts["account_id"],
            "is_deleted": "false",
            "_fivetran_synced": "2026-11-01 03:12:45",
            "property_name": accounts["account_name"],
            "property_industry": accounts["industry"],
            "property_country": accounts["region"],
            "property_hubspot_owner_id": _owner(accounts["csm"]),
        }
    ).to_csv(out / "company.csv", index=False)
    terms = tables["contracts"].sort_values(["account_id", "start_date"]).reset_index(drop=True)
    first = ~terms["account_id"].duplicated()
    won = pd.DataFrame(
        {
            "deal_id": "9" + terms["contract_id"],
            "is_deleted": "false",
            "deal_pipeline_id": "default",
            "deal_pipeline_stage_id": "closedwon",
            "property_dealname": "Term " + terms["contract_id"],
            "property_amount": terms["arr"],
            "property_closedate": _day(terms["start_date"]) + " 17:00:00",
            "property_dealtype": np.where(first, "newbusiness", "existingbusiness"),
            "property_hs_is_closed_won": "true",
        }
    )
    churned = terms.loc[terms["outcome"] == "churned"]
    lost = won.loc[churned.index].assign(
        deal_id=lambda f: f["deal_id"] + "L",
        deal_pipeline_stage_id="closedlost",
        property_hs_is_closed_won="false",
        property_closedate=_day(churned["end_date"]).to_numpy() + " 17:00:00",
        property_dealtype="existingbusiness",
    )
    deals = pd.concat([won, lost], ignore_index=True)
    deals.to_csv(out / "deal.csv", index=False)
    account_of = pd.concat([terms["account_id"], churned["account_id"]], ignore_index=True)
    pd.DataFrame({"deal_id": deals["deal_id"], "company_id": account_of, "type_id": 5}).to_csv(
        out / "deal_company.csv", index=False
    )
    people = tables["contacts"]
    choice = rng.integers(0, 3, len(people))
    role = [BUYING_ROLES[r][c % len(BUYING_ROLES[r])] for r, c in zip(people["role"], choice, strict=True)]
    contact = pd.DataFrame(
        {
            "_fivetran_deleted": "false",
            "id": people["contact_id"],
            "property_associatedcompanyid": people["account_id"],
            "property_email": people["email"],
            "property_firstname": people["name"],
            "property_createdate": "2020-01-01 09:30:00",
            "property_hs_buying_role": role,
        }
    )
    loose = contact.head(1).assign(id="003loose", property_associatedcompanyid="")  # on no company: left out
    pd.concat([contact, loose], ignore_index=True).to_csv(out / "contact.csv", index=False)
    touches = tables["activities"].loc[lambda f: f["kind"] == "human"].reset_index(drop=True)
    ids = "e" + pd.Series(np.arange(len(touches))).astype(str)
    pd.DataFrame(
        {
            "id": ids,
            "type": touches["channel"].map({"call": "CALL", "email": "EMAIL", "meeting": "MEETING", "qbr": "MEETING"}),
            "timestamp": _day(touches["date"]) + " 14:00:00",
            "owner_id": _owner(touches["csm"]),
            "active": "true",
        }
    ).to_csv(out / "engagement.csv", index=False)
    pd.DataFrame({"engagement_id": ids, "company_id": touches["account_id"], "type_id": 8}).to_csv(
        out / "engagement_company.csv", index=False
    )
    with_person = touches["contact_id"].notna()
    pd.DataFrame({"engagement_id": ids[with_person], "contact_id": touches.loc[with_person, "contact_id"]}).to_csv(
        out / "engagement_contact.csv", index=False
    )
    answers = tables["surveys"]
    pd.DataFrame(
        {
            "id": answers["response_id"],
            "property_hs_survey_type": answers["survey"].str.upper(),
            "property_hs_value": answers["score"].astype(int),
            "property_hs_submission_timestamp": _day(answers["date"]) + " 16:45:00",
            "property_hs_contact_id": answers["contact_id"],
        }
    ).to_csv(out / "feedback_submission.csv", index=False)


def _usage_rows(tables) -> pd.DataFrame:
    usage = tables["usage"]
    return usage.loc[usage["events"] > 0].reset_index(drop=True)


def _pendo(tables, folder, rng) -> None:
    usage = _usage_rows(tables)
    (folder / "pendo").mkdir()
    pd.DataFrame(
        {
            "account_id": usage["account_id"],
            "visitor_id": "visitor-" + usage["contact_id"].fillna("anonymous"),
            "feature_id": usage["feature"],
            "timestamp": _day(usage["date"]) + "T13:00:00Z",
            "num_events": usage["events"].astype(int),
            "num_minutes": 3,
            "remote_ip": "10.0.0.1",
            "_fivetran_synced": "2026-11-01 03:12:45+00:00",
        }
    ).to_csv(folder / "pendo" / "feature_event.csv", index=False)


def _one_row_per_event(tables) -> pd.DataFrame:
    usage = _usage_rows(tables)
    return usage.loc[usage.index.repeat(usage["events"].astype(int))].reset_index(drop=True)


def _amplitude(tables, folder, rng) -> None:
    events = _one_row_per_event(tables)
    (folder / "amplitude").mkdir()
    groups = [json.dumps({"company": [a]}) for a in events["account_id"]]
    pd.DataFrame(
        {
            "id": np.arange(len(events)),
            "device_id": "device",
            "user_id": events["contact_id"].fillna(""),
            "event_time": _day(events["date"]) + " 11:15:00.000000",
            "event_type": events["feature"],
            "groups": groups,
            "amplitude_id": 1,
        }
    ).to_csv(folder / "amplitude" / "event.csv", index=False)


def _mixpanel(tables, folder, rng) -> None:
    events = _one_row_per_event(tables)
    (folder / "mixpanel").mkdir()
    properties = [json.dumps({"plan": "pro", "company_id": a}) for a in events["account_id"]]
    pd.DataFrame(
        {
            "_fivetran_id": np.arange(len(events)),
            "name": events["feature"],
            "time": _day(events["date"]) + "T08:00:00Z",
            "distinct_id": events["contact_id"].fillna(""),
            "properties": properties,
        }
    ).to_csv(folder / "mixpanel" / "event.csv", index=False)


def _delighted(tables, folder, rng) -> None:
    answers = tables["surveys"]
    (folder / "delighted").mkdir()
    response = pd.DataFrame(
        {
            "id": answers["response_id"],
            "person_id": "p" + answers["contact_id"].fillna("unknown"),
            "survey_type": answers["survey"],
            "score": answers["score"].astype(int),
            "comment": "",
            "created_at": _day(answers["date"]) + "T15:20:11Z",
            "person_properties": [json.dumps({"account_id": a, "plan": "Pro"}) for a in answers["account_id"]],
        }
    )
    smileys = response.head(5).assign(survey_type="smileys", id=lambda f: f["id"] + "S", score=3)
    pd.concat([response, smileys], ignore_index=True).to_csv(folder / "delighted" / "response.csv", index=False)


def _qualtrics(tables, folder, rng) -> None:
    answers = tables["surveys"]
    answers = answers.loc[answers["survey"] == "nps"]
    rows = pd.DataFrame(
        {
            "StartDate": _day(answers["date"]) + " 10:20:31",
            "EndDate": _day(answers["date"]) + " 10:22:31",
            "Status": "0",
            "Progress": "100",
            "Duration (in seconds)": "120",
            "Finished": "1",
            "RecordedDate": _day(answers["date"]) + " 10:22:31",
            "ResponseId": answers["response_id"],
            "RecipientEmail": "",
            "ExternalReference": answers["contact_id"].fillna(""),
            "DistributionChannel": "email",
            "UserLanguage": "EN",
            "NPS": answers["score"].astype(int).astype(str),
            "NPS_NPS_GROUP": "",
            "account_id": answers["account_id"],
        }
    )
    header = pd.DataFrame(
        [
            {c: c for c in rows} | {"ResponseId": "Response ID", "NPS": "How likely are you to recommend us?"},
            {c: json.dumps({"ImportId": c.lower()}) for c in rows} | {"ResponseId": '{"ImportId":"_recordId"}'},
        ]
    )
    unfinished = rows.head(2).assign(Finished="0", NPS="", ResponseId=lambda f: f["ResponseId"] + "U")
    pd.concat([header, rows, unfinished], ignore_index=True).to_csv(folder / "qualtrics_responses.csv", index=False)


WRITERS = {
    "salesforce": _salesforce,
    "salesforce_fivetran": _salesforce_fivetran,
    "hubspot": _hubspot,
    "pendo": _pendo,
    "amplitude": _amplitude,
    "mixpanel": _mixpanel,
    "delighted": _delighted,
    "qualtrics": _qualtrics,
}
