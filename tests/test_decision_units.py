"""decision_unit: accounts counts an account as churned only on a date it keeps no ARR after."""

import pandas as pd
from exports import MAPPING, billing_export

from workbench import Study

AS_OF = "2026-10-31"


def test_by_account_an_account_churns_only_when_no_subscription_runs_on(tmp_path):
    export, _ = billing_export(tmp_path / "export", accounts=150)
    (tmp_path / "mapping.yml").write_text(MAPPING)
    (tmp_path / "config.yml").write_text("decision_unit: accounts\n")
    terms = Study.load(export, AS_OF, mapping=tmp_path / "mapping.yml")
    accounts = Study.load(export, AS_OF, mapping=tmp_path / "mapping.yml", config=tmp_path / "config.yml")

    # From the export's own subscription rows, not from the terms the mapping derived: a paid subscription
    # cancelled on a day in the window is an account's churn where none of its paid subscriptions runs on.
    rows = pd.read_csv(export / "subscriptions.csv").query("plan == 'Pro'")
    started = pd.to_datetime(rows["started"], format="%d-%m-%Y")
    cancelled = pd.to_datetime(rows["cancelled"], format="%d-%m-%Y")
    ends = pd.DataFrame({"account_id": rows["customer_id"], "end_date": cancelled}).dropna().drop_duplicates()
    ends = ends.loc[(ends["end_date"] > accounts.window_start) & (ends["end_date"] <= AS_OF)]
    running = (
        ends.reset_index(drop=True)
        .reset_index()
        .merge(
            pd.DataFrame({"account_id": rows["customer_id"], "started": started, "cancelled": cancelled}),
            on="account_id",
        )
    )
    runs_on = (running["started"] <= running["end_date"]) & ~(running["cancelled"] <= running["end_date"])
    lost = ends.reset_index(drop=True).loc[lambda f: ~f.index.isin(running.loc[runs_on, "index"])]
    expected = set(zip(lost["account_id"], lost["end_date"]))

    churned = accounts.decisions.loc[~accounts.decisions["renewed"]]
    assert set(zip(churned["account_id"], churned["end_date"])) == expected
    assert 0 < len(expected) < (~terms.decisions["renewed"]).sum()  # fewer than the subscriptions that ended
    assert accounts.churned_accounts_staying == 0 < terms.churned_accounts_staying
    per_date = terms.decisions.groupby(["account_id", "end_date"]).size()
    assert len(accounts.decisions) == len(per_date)  # one decision per account and date its terms came up
    assert accounts.decisions["arr"].sum() == terms.decisions["arr"].sum()
    assert "churned only where the account kept no ARR" in accounts.decision_words
