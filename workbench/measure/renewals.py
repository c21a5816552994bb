"""Renewals as a CSM works them: one row per account, however many subscriptions it renews."""

from __future__ import annotations

import pandas as pd

from ..words import join_words


def per_account(contracts: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """One row per account of `contracts` (open contract terms): `arr` summed over its contracts, every
    other column as on its soonest-ending contract; account_id first."""
    chosen = [c for c in columns if c != "account_id"]
    return (
        contracts.sort_values("end_date", kind="stable")
        .groupby("account_id", sort=False, as_index=False)
        .agg({c: ("sum" if c == "arr" else "first") for c in chosen})
    )


def weak_signals(contracts: pd.DataFrame, decisions: pd.DataFrame, found: pd.DataFrame, share: float = 0.25):
    """For each row of `contracts`, the signals on which it sits where the decided renewals churned: in the
    lowest `share` of the decisions' values of a signal found `predictive`, the highest of one found `inverse`.

    `found` has one row per signal found (`signal`, `conclusion`, `name`: the words naming it); the result
    names them comma-separated in that order, and is an empty string where none flags (a missing value flags
    nothing: not measured is not evidence of risk)."""
    found = found.loc[found["signal"].isin(contracts.columns) & found["signal"].isin(decisions.columns)]
    flags = pd.DataFrame(
        {
            signal: contracts[signal] <= decisions[signal].quantile(share)
            if conclusion == "predictive"
            else contracts[signal] >= decisions[signal].quantile(1 - share)
            for signal, conclusion in zip(found["signal"], found["conclusion"])
        },
        index=contracts.index,
        dtype=object,
    )
    if flags.columns.empty:
        return pd.Series("", index=contracts.index, dtype=object)
    return flags.dot(pd.Index(found["name"] + ", ", dtype=object)).str.removesuffix(", ")


FLAG_WORDS = {  # a renewal's risk flag as a reader says it
    "hidden_risk": "red decision maker or champion behind a green score",
    "off_track": "goal projected to be missed",
}


def risk_words(flags, weak_on: list[str]) -> str:
    """What makes a renewal due at risk, as a sentence: one clause per flag assessed (`flags` names them)."""
    clauses = {
        **{flag: f"a {words}" for flag, words in FLAG_WORDS.items()},
        "weak_signals": f"{join_words(weak_on, 'or')} in the riskiest quarter of the decided renewals' values (the "
        "lowest where it went with renewal, the highest where it ran against it)",
    }
    said = [clauses[flag] for flag in flags]
    return f"At risk: {join_words(said, 'or')}." if said else "No risk flag can be assessed from this data."


def reasons(table: pd.DataFrame, red_people: pd.Series | None = None, goals: pd.Series | None = None) -> pd.Series:
    """Why each account of `renewals_due`'s table is at risk, in words ('' where it is not): per flag, the
    detail where it is known (`red_people`, `goals`: words by account id) and the flag's words otherwise."""
    details = {"hidden_risk": red_people, "off_track": goals}
    parts = []
    for flag, words in FLAG_WORDS.items():
        if flag not in table:
            continue
        known = table["account_id"].map(details[flag]) if details[flag] is not None else None
        said = known.fillna(words) if known is not None else pd.Series(words, index=table.index)
        parts.append(said.where(table[flag].astype(bool)))
    if "weak_signals" in table:
        parts.append(("weak on " + table["weak_signals"].astype(str)).where(table["weak_signals"] != ""))
    if not parts:
        return pd.Series("", index=table.index, dtype=object)
    return pd.concat(parts, axis=1).apply(lambda row: "; ".join(row.dropna()), axis=1).astype(object)


def red_people_words(hidden: pd.DataFrame) -> pd.Series:
    """Per account of `hidden_risk`'s table, its red people behind its green score, in words."""
    said = (
        "red: "
        + hidden["red_people"].astype(str)
        + " behind a green score of "
        + hidden["health_score"].map("{:.0f}".format)
    )
    return pd.Series(said.to_numpy(), index=hidden["account_id"]).groupby(level=0).first()


def goal_words(off_track: pd.DataFrame) -> pd.Series:
    """Per account of `off_track`'s table, its goal furthest from target at renewal, in words."""
    worst = off_track.sort_values("projected_at_renewal").drop_duplicates("account_id")
    said = (
        worst["metric"].astype(str).str.replace("_", " ")
        + " at "
        + worst["attainment_now"].map("{:.0%}".format)
        + " of its goal, projected "
        + worst["projected_at_renewal"].map("{:.0%}".format)
        + " at renewal"
    )
    return pd.Series(said.to_numpy(), index=worst["account_id"])
