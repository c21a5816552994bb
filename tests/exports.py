"""Exports as real systems write them, with the truth they were made from.

`billing_export` writes a subscription-billing SaaS export: accounts with TRUE/FALSE strings and a
byte-order mark; subscriptions (several per account at once, monthly and annual, free trials at ARR 0,
running ones with no end date) with DD-MM-YYYY dates and monthly revenue; feature usage keyed by
subscription; support tickets with a 1-5 satisfaction score, some blank; churn events with reason codes.
It returns the folder and the contract terms the export stands for, worked out here from how each
subscription was planted, not by the workbench.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

EXPORT_DATE = pd.Timestamp("2026-11-01")
REASONS = {"PRICE": "value", "NO_VALUE": "value", "ACQUIRED": "external", "OTHER": "unknown"}
MAPPING = (Path(__file__).resolve().parent.parent / "data" / "mapping_billing_example.yml").read_text()


def day_first(dates) -> list[str]:
    return [d.strftime("%d-%m-%Y") if pd.notna(d) else "" for d in pd.to_datetime(pd.Series(dates))]


def billing_export(folder: Path, accounts: int = 120, seed: int = 0) -> tuple[Path, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    ids = [f"cus_{i:04d}" for i in range(accounts)]
    customers = pd.DataFrame(
        {
            "Customer ID": ids,
            "Company": [f"Company {i}" for i in range(accounts)],
            "Enterprise": np.where(rng.random(accounts) < 0.3, "TRUE", "FALSE"),
            "Owner": rng.choice(["Ana", "Ben"], accounts),
        }
    )
    (folder / "customers.csv").write_bytes(b"\xef\xbb\xbf" + customers.to_csv(index=False).encode())

    subscriptions, truth, events = [], [], []
    for account in ids:
        for product in range(int(rng.integers(1, 4))):  # up to three at once
            sub = f"sub_{account}_{product}"
            months = int(rng.choice([1, 12], p=[0.6, 0.4]))
            start = pd.Timestamp("2024-01-01") + pd.Timedelta(days=int(rng.integers(0, 600)))
            mrr = float(rng.integers(5, 200) * 10)
            terms = []  # billing terms anchored on the start day (31 Jan, 28 Feb, 31 Mar), up to the export
            while not terms or terms[-1][1] <= EXPORT_DATE:
                terms.append(
                    (
                        start + pd.DateOffset(months=months * len(terms)),
                        start + pd.DateOffset(months=months * (len(terms) + 1)),
                    )
                )
            churned = rng.random() < 0.35 and len(terms) > 1
            if churned:
                terms = terms[: int(rng.integers(1, len(terms)))]  # cancelled at a term's end, before the export
            cancelled = terms[-1][1] if churned else pd.NaT
            reason = rng.choice(list(REASONS)) if churned else None
            subscriptions.append(
                {
                    "subscription_id": sub,
                    "customer_id": account,
                    "plan": "Pro",
                    "mrr": mrr,
                    "billing_period": "Monthly" if months == 1 else "Yearly",
                    "started": start,
                    "cancelled": cancelled,
                }
            )
            for k, (begin, end) in enumerate(terms):
                last = k == len(terms) - 1
                outcome = ("churned" if churned else "open") if last else "renewed"
                truth.append(
                    {
                        "contract_id": f"{sub}-{k + 1}",
                        "account_id": account,
                        "start_date": begin,
                        "end_date": end,
                        "arr": mrr * 12,
                        "outcome": outcome,
                        "renewal_arr": {"renewed": mrr * 12, "churned": 0.0}.get(outcome, np.nan),
                        "churn_reason": REASONS[reason] if outcome == "churned" else None,
                    }
                )
            if churned:
                events.append({"subscription_id": sub, "reason_code": reason})
        if rng.random() < 0.5:  # a free trial that never converted: ARR 0, no end date
            subscriptions.append(
                {
                    "subscription_id": f"trial_{account}",
                    "customer_id": account,
                    "plan": "Trial",
                    "mrr": 0.0,
                    "billing_period": "Monthly",
                    "started": pd.Timestamp("2026-09-15"),
                    "cancelled": pd.NaT,
                }
            )
    pd.DataFrame(events).to_csv(folder / "churn_events.csv", index=False)
    table = pd.DataFrame(subscriptions)
    table["started"], table["cancelled"] = day_first(table["started"]), day_first(table["cancelled"])
    table.sample(frac=1, random_state=seed).to_csv(folder / "subscriptions.csv", index=False)

    paid = pd.DataFrame(subscriptions).query("plan == 'Pro'")
    months = pd.date_range("2024-01-01", "2026-10-01", freq="MS")
    usage = pd.DataFrame(
        [
            (s, d, f, int(rng.poisson(20)))
            for s in paid["subscription_id"]
            for d in months[::3]
            for f in ("reports", "exports")
        ],
        columns=["subscription_id", "day", "feature", "count"],
    )
    usage["day"] = day_first(usage["day"])
    usage.to_csv(folder / "feature_usage.csv", index=False)

    tickets = pd.DataFrame(
        {
            "ticket_id": [f"t{i}" for i in range(3 * accounts)],
            "customer_id": rng.choice(ids, 3 * accounts),
            "closed": day_first(pd.Timestamp("2025-01-01") + pd.to_timedelta(rng.integers(0, 640, 3 * accounts), "D")),
            "satisfaction": rng.integers(1, 6, 3 * accounts).astype(float),
        }
    )
    tickets.loc[rng.random(len(tickets)) < 0.3, "satisfaction"] = np.nan  # blank: no answer
    tickets.to_csv(folder / "tickets.csv", index=False)
    return folder, pd.DataFrame(truth)


def contract_export(folder: Path, keep: tuple[str, ...], accounts: int = 300, seed: int = 11, **knobs) -> Path:
    """A world in the contract's own tables, with only the tables a system exports (`keep`, besides accounts
    and contracts): a CRM and CS platform without product usage, say."""
    from workbench.generate import World, generate, write

    tables = generate(World(accounts=accounts, seed=seed, **knobs))
    kept = {name: frame for name, frame in tables.items() if name in ("accounts", "contracts", "truth", *keep)}
    return write(kept, folder)


def crm_export(folder: Path, seed: int = 11) -> Path:
    """A CRM and CS platform export: accounts, contracts, contacts with roles, NPS, health scores and activities;
    no product usage, no goals."""
    return contract_export(folder, ("contacts", "surveys", "health_scores", "activities"), seed=seed)


def thin_export(folder: Path, seed: int = 12) -> Path:
    """Accounts, contracts, usage by account alone (no person, no feature) and NPS answers by account alone."""
    path = contract_export(folder, ("usage", "surveys"), seed=seed)
    usage = pd.read_csv(path / "usage.csv")
    usage.groupby(["account_id", "date"], as_index=False)["events"].sum().to_csv(path / "usage.csv", index=False)
    surveys = pd.read_csv(path / "surveys.csv")
    surveys.loc[surveys["survey"] == "nps"].drop(columns="contact_id").to_csv(path / "surveys.csv", index=False)
    return path
