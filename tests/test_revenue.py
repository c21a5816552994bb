"""Revenue metrics against values computed by hand on a tiny book of business."""

import pandas as pd
import pytest

from workbench.judge.attainment import attainment_bands
from workbench.judge.revenue import cohort_revenue, renewal_rate


def annual(account, arr, outcome, renewal):
    """A term that covers the window's first day and was decided in the window; its successor when renewed."""
    rows = [(account, "2025-06-01", "2026-06-01", arr, outcome, renewal)]
    if outcome == "renewed":
        rows.append((account, "2026-06-01", "2027-06-01", renewal, "open", None))
    return rows


def test_grr_nrr_and_earned_growth_by_hand_on_an_annual_book():
    # churned 100, contracted 200 -> 150, expanded 300 -> 420, flat 400 -> 400
    rows = (
        annual("churned", 100.0, "churned", 0.0)
        + annual("contracted", 200.0, "renewed", 150.0)
        + annual("expanded", 300.0, "renewed", 420.0)
        + annual("flat", 400.0, "renewed", 400.0)
    )
    contracts = pd.DataFrame(rows, columns=["account_id", "start_date", "end_date", "arr", "outcome", "renewal_arr"])
    contracts[["start_date", "end_date"]] = contracts[["start_date", "end_date"]].apply(pd.to_datetime)
    referrals = pd.DataFrame(
        {
            "account_id": ["flat", "flat", "expanded"],
            "date": pd.to_datetime(["2026-03-01", "2024-01-01", "2026-10-31"]),
            "arr": [50.0, 999.0, 30.0],
        }
    )
    result = cohort_revenue(contracts, referrals, "2025-10-31", "2026-10-31")
    assert result["grr"] == pytest.approx((0 + 150 + 300 + 400) / 1000)
    assert result["nrr"] == pytest.approx((0 + 150 + 420 + 400) / 1000)
    # only referrals dated inside (start, end] count: 50 + 30
    assert result["earned_growth_rate"] == pytest.approx(0.97 + 80 / 1000 - 1)
    assert result["churned_arr"] == 100 and result["contraction_arr"] == 50 and result["expansion_arr"] == 120
    assert result["logo_churn"] == 0.25
    decided = contracts.loc[contracts["outcome"] != "open"]
    assert renewal_rate(decided) == pytest.approx(result["grr"])  # for annual terms the two agree


def test_no_account_under_contract_at_the_start_gives_no_rates():
    contracts = pd.DataFrame(
        {
            "account_id": ["late"],
            "start_date": pd.to_datetime(["2026-05-01"]),
            "end_date": pd.to_datetime(["2027-05-01"]),
            "arr": [10.0],
            "outcome": ["open"],
            "renewal_arr": [None],
        }
    )
    result = cohort_revenue(contracts, None, "2025-10-31", "2026-10-31")
    assert result["grr"] is None and result["nrr"] is None and result["earned_growth_rate"] is None


def test_attainment_bands_are_in_contract_order_with_edges_inclusive_below():
    decisions = pd.DataFrame(
        {
            "goal_attainment": [0.49, 0.5, 0.79, 0.8, 0.99, 1.0, 1.7, None],
            "renewed": [False, True, True, False, True, True, True, False],
            "expanded": [False, False, False, False, False, True, True, False],
        }
    )
    bands = attainment_bands(decisions)
    assert list(bands["band"]) == ["<50%", "50-80%", "80-100%", ">=100%"]
    assert list(bands["n"]) == [1, 2, 2, 2]
    assert list(bands["churn_rate"]) == [1.0, 0.0, 0.5, 0.0]
    assert list(bands["expansion_rate"]) == [0.0, 0.0, 0.0, 1.0]
