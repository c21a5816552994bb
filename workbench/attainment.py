"""Goal attainment against renewal: bands taken at the observation date (a landmark)."""
from __future__ import annotations

import numpy as np
import pandas as pd

from .rates import clustered_wilson

BANDS = ("<50%", "50-80%", "80-100%", ">=100%")
EDGES = (-np.inf, 0.5, 0.8, 1.0, np.inf)


def band(attainment: pd.Series) -> pd.Series:
    """The contract's attainment band of each value (lower edges inclusive)."""
    return pd.cut(attainment, EDGES, labels=BANDS, right=False)


def attainment_bands(decisions: pd.DataFrame, column: str = "goal_attainment") -> pd.DataFrame:
    """Churn and expansion rate per band of attainment on the observation date, with intervals."""
    known = decisions.loc[decisions[column].notna()]
    known = known.assign(band=band(known[column]), churned=~known["renewed"],
                         expanded=known["expanded"] if "expanded" in known else False)
    grouped = known.groupby("band", observed=False)
    table = pd.DataFrame({"n": grouped.size(), "churned": grouped["churned"].sum().astype(int),
                          "expanded": grouped["expanded"].sum().astype(int)}).reindex(list(BANDS), fill_value=0)
    table.index.name = "band"
    with np.errstate(invalid="ignore", divide="ignore"):
        table["churn_rate"] = np.where(table["n"] > 0, table["churned"] / table["n"], np.nan)
        table["expansion_rate"] = np.where(table["n"] > 0, table["expanded"] / table["n"], np.nan)
    for event, name in (("churned", "churn"), ("expanded", "expansion")):
        low, high = clustered_wilson(known.assign(**{event: known[event].astype(bool)}), "band", event)
        table[f"{name}_ci_low"], table[f"{name}_ci_high"] = low.reindex(table.index), high.reindex(table.index)
    if "account_id" in known:
        table["accounts"] = known.groupby("band", observed=False)["account_id"].nunique().reindex(table.index).fillna(0)
    return table.reset_index()
