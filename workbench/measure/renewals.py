"""Renewals as a CSM works them: one row per account, however many subscriptions it renews."""

from __future__ import annotations

import pandas as pd

from ..tables import join_words


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


def reasons(table: pd.DataFrame) -> pd.Series:
    """Why each account of `renewals_due`'s table is at risk, in words ('' where it is not): a few rows, the
    ones a page lists."""
    parts = [table[flag].map({True: words}) for flag, words in FLAG_WORDS.items() if flag in table]
    if "weak_signals" in table:
        parts.append(("weak on " + table["weak_signals"].astype(str)).where(table["weak_signals"] != ""))
    if not parts:
        return pd.Series("", index=table.index, dtype=object)
    return pd.concat(parts, axis=1).apply(lambda row: "; ".join(row.dropna()), axis=1).astype(object)
