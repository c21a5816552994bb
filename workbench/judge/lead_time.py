"""How early each signal warns: from a signal's verdicts at several horizons, the earliest it separated
renewals from churn, and the two practitioners' claims tested in words."""

from __future__ import annotations

import html

import pandas as pd

from .signals import capital, label

SEPARATED = ("predictive", "inverse")
TOO_LATE_DAYS = 30


def first_warning(lead: pd.DataFrame) -> pd.DataFrame:
    """Per signal: the longest horizon at which its interval excluded a coin toss (NaN where none did), the
    direction there, and the shortest horizon measured."""
    separated = lead.loc[lead["conclusion"].isin(SEPARATED)]
    earliest = separated.sort_values("horizon_days").groupby("signal").last()
    table = pd.DataFrame({"signal": lead["signal"].unique()})
    table["warns_from_days"] = table["signal"].map(earliest["horizon_days"])
    table["direction"] = table["signal"].map(earliest["conclusion"])
    return table.sort_values("warns_from_days", ascending=False, na_position="last").reset_index(drop=True)


def findings(lead: pd.DataFrame) -> list[str]:
    """Sentences of escaped HTML, each written from the intervals: which signals warn early, whether a usage
    drop comes too late, and whether 30 days before renewal is too late to act."""
    if lead.empty:
        return []
    horizons = sorted(lead["horizon_days"].unique())
    first = first_warning(lead).set_index("signal")
    said = []
    early = first.loc[first["warns_from_days"] >= 180]
    if len(early):
        names = ", ".join(f"{html.escape(label(s))} ({int(d)} days)" for s, d in early["warns_from_days"].items())
        said.append(f"Signals that already separated renewals from churn six months or more before renewal: {names}.")
    late = first.loc[first["warns_from_days"] < 180]
    if len(late):
        names = ", ".join(f"{html.escape(label(s))} ({int(d)} days)" for s, d in late["warns_from_days"].items())
        said.append(f"Signals that separated them only closer to renewal: {names}.")
    silent = first.index[first["warns_from_days"].isna()]
    if len(silent):
        said.append(
            "Never separated at any horizon measured "
            f"({', '.join(str(h) for h in horizons)} days): {html.escape(', '.join(label(s) for s in silent))}."
        )
    if "usage" in first.index:
        days = first.loc["usage", "warns_from_days"]
        if pd.isna(days):
            said.append("Does a usage drop come too late? Here usage did not warn at any horizon, early or late.")
        elif days <= 60:
            said.append(
                "Does a usage drop come too late? Here, yes: usage separated renewals from churn only from "
                f"{int(days)} days before renewal, when there is little time left to change the outcome."
            )
        else:
            said.append(
                "Does a usage drop come too late? Not here: usage already separated renewals from churn "
                f"{int(days)} days before renewal."
            )
    ahead = first.loc[first["warns_from_days"] > TOO_LATE_DAYS, "warns_from_days"]
    if len(ahead):
        best = ahead.idxmax()
        said.append(
            f"Is 30 days before renewal too late? {capital(html.escape(label(best)))} already warned "
            f"{int(ahead.max())} days ahead: waiting for the last month gives up "
            f"{int(ahead.max()) - TOO_LATE_DAYS} days in which the team could have acted."
        )
    else:
        said.append("Is 30 days before renewal too late? No signal here warned earlier than that.")
    return said
