"""How early each signal warns: the study's horizon first, then each earlier one in turn for the signals found
there (a fixed sequence, so the report keeps its level), and the two practitioners' claims tested in words."""

from __future__ import annotations

import html

import pandas as pd

from .signals import EXPLORATORY, capital, label

SEPARATED = ("predictive", "inverse")
TOO_LATE_DAYS = 30


def gatekeep(lead: pd.DataFrame, horizon_days: int) -> pd.DataFrame:
    """`lead` (one row per signal and horizon, each horizon judged over the report's signals) with a verdict
    only where the fixed sequence reaches: a signal is judged at the study's horizon, and at each longer one
    only while it was found at every horizon before it. Each test runs at the level of the report's intervals,
    so a signal's chain adds no chance of a false finding to its test at the study's horizon. The horizons it
    does not reach, and those nearer renewal than the study's, keep their numbers with `conclusion`
    exploratory and no `predictive`/`inverse`."""
    chain = sorted(h for h in lead["horizon_days"].unique() if h >= horizon_days)
    found = (
        lead.pivot(index="signal", columns="horizon_days", values="conclusion")
        .reindex(columns=chain)
        .isin(SEPARATED)
        .astype(int)
    )
    reached = found.cumprod(axis=1).shift(1, axis=1, fill_value=1).astype(bool)
    tested = reached.stack().rename("tested").reset_index()
    judged = lead.merge(tested, on=["signal", "horizon_days"], how="left")["tested"].fillna(False).to_numpy(bool)
    out = lead.copy()
    out.loc[~judged & (out["conclusion"] != "not_judged"), "conclusion"] = EXPLORATORY  # not judged keeps its reason
    for verdict in SEPARATED:
        out[verdict] = out[verdict].astype(object).where(judged, None)
    return out


def first_warning(lead: pd.DataFrame) -> pd.DataFrame:
    """Per signal: the longest horizon its fixed sequence reached with the interval excluding a coin toss (NaN
    where it was not found at the study's horizon), and the direction there."""
    separated = lead.loc[lead["conclusion"].isin(SEPARATED)]
    earliest = separated.sort_values("horizon_days").groupby("signal").last()
    table = pd.DataFrame({"signal": lead["signal"].unique()})
    table["warns_from_days"] = table["signal"].map(earliest["horizon_days"])
    table["direction"] = table["signal"].map(earliest["conclusion"])
    return table.sort_values("warns_from_days", ascending=False, na_position="last").reset_index(drop=True)


def findings(lead: pd.DataFrame, horizon_days: int) -> list[str]:
    """Sentences of escaped HTML, each following from the fixed sequence (`gatekeep`): which signals warn early,
    whether a usage drop comes too late, and whether 30 days before renewal is too late to act. Horizons nearer
    renewal than the study's are exploratory: their numbers are quoted, never a verdict."""
    if lead.empty:
        return []
    longer = sorted(h for h in lead["horizon_days"].unique() if h > horizon_days)
    first = first_warning(lead).set_index("signal")
    said = []
    early = first.loc[first["warns_from_days"] > horizon_days]
    if len(early):
        names = ", ".join(f"{html.escape(label(s))} ({int(d)} days)" for s, d in early["warns_from_days"].items())
        said.append(f"Signals that already separated renewals from churn earlier than the study's horizon: {names}.")
    only = first.index[first["warns_from_days"] == horizon_days]
    if len(only):
        said.append(
            f"Found at the study's horizon ({horizon_days} days before renewal) but not at "
            f"{longer[0] if longer else 'any earlier'} days: {html.escape(', '.join(label(s) for s in only))}."
        )
    silent = first.index[first["warns_from_days"].isna()]
    if len(silent):
        said.append(
            f"Not found at the study's horizon ({horizon_days} days), so not judged at any other: "
            f"{html.escape(', '.join(label(s) for s in silent))}."
        )
    if "usage" in first.index:
        days = first.loc["usage", "warns_from_days"]
        if pd.isna(days):
            said.append(
                f"Does a usage drop come too late? Usage did not warn {horizon_days} days before renewal, when the "
                f"team could still act{_nearer(lead, 'usage', horizon_days)}."
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
    elif first["warns_from_days"].notna().any():
        said.append("Is 30 days before renewal too late? No signal here warned earlier than that.")
    else:
        said.append(
            "Is 30 days before renewal too late? No signal warned at the study's horizon, so this data cannot say."
        )
    return said


def _nearer(lead: pd.DataFrame, signal: str, horizon_days: int) -> str:
    """'; nearer renewal its AUC is ... (exploratory)', at the horizon nearest renewal, where one was measured."""
    nearer = lead.loc[(lead["signal"] == signal) & (lead["horizon_days"] < horizon_days)].dropna(subset=["auc"])
    if nearer.empty:
        return ""
    row = nearer.sort_values("horizon_days").iloc[0]
    return (
        f"; nearer renewal its AUC is {row['auc']:.2f} [{row['auc_ci_low']:.2f}, {row['auc_ci_high']:.2f}] at "
        f"{int(row['horizon_days'])} days (exploratory: numbers, not a verdict of this report)"
    )
