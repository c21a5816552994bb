"""Stable aliases for people's and accounts' names, for reports that leave the CS team."""

from __future__ import annotations

import numpy as np
import pandas as pd

ALPHABET = np.array(list("0123456789abcdefghijklmnopqrstuvwxyz"))
ALIAS_DIGITS = 7


def alias(ids: pd.Series, prefix: str) -> pd.Series:
    """'<prefix> <7 characters>' from a stable hash of each ID: the same ID gets the same alias every run."""
    hashed = pd.util.hash_pandas_object(ids.astype(str), index=False).to_numpy()
    code = np.full(len(ids), prefix + " ", dtype=object)
    for place in range(ALIAS_DIGITS):
        code = code + ALPHABET[(hashed // np.uint64(36**place)) % np.uint64(36)].astype(object)
    return pd.Series(code, index=ids.index, dtype="str")


def pseudonymize(tables: dict[str, pd.DataFrame]) -> None:
    """Replace names in the loaded tables (never the files): account_name, and contacts' name and email."""
    accounts = tables["accounts"]
    if "account_name" in accounts:
        tables["accounts"] = accounts.assign(account_name=alias(accounts["account_id"], "Account"))
    contacts = tables.get("contacts")
    if contacts is not None:
        renamed = {c: alias(contacts["contact_id"], "Person") for c in ("name",) if c in contacts}
        if "email" in contacts:
            renamed["email"] = None
        tables["contacts"] = contacts.assign(**renamed)
