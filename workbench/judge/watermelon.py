"""The watermelon effect: accounts green on the outside (the health score) that churn anyway."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..stats.rates import clustered_wilson

COLOURS = ("green", "yellow", "red")


def colour(score: pd.Series, red_below: float, green_from: float) -> pd.Series:
    labels = np.select([score >= green_from, score >= red_below, score < red_below], ["green", "yellow", "red"], "")
    return pd.Series(pd.Categorical(np.where(score.isna(), None, labels), categories=COLOURS), index=score.index)


def watermelon(
    decisions: pd.DataFrame, red_below: float, green_from: float, score: str = "health_score"
) -> pd.DataFrame:
    """Per colour of the overall score at observation: decisions, churn rate with CI, churned ARR and its share."""
    known = decisions.loc[decisions[score].notna()]
    known = known.assign(colour=colour(known[score], red_below, green_from), churned=~known["renewed"])
    known = known.assign(churned_arr=known["arr"].where(known["churned"], 0.0))
    grouped = known.groupby("colour", observed=False)
    table = pd.DataFrame(
        {
            "n": grouped.size(),
            "churned": grouped["churned"].sum().astype(int),
            "churned_arr": grouped["churned_arr"].sum(),
        }
    ).reindex(list(COLOURS), fill_value=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        table["churn_rate"] = table["churned"] / table["n"]
        table["share_of_churned_arr"] = table["churned_arr"] / table["churned_arr"].sum()
    low, high = clustered_wilson(known, "colour", "churned")
    table["ci_low"], table["ci_high"] = low.reindex(table.index), high.reindex(table.index)
    return table.rename_axis("colour").reset_index()
