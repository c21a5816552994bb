"""Contract terms from subscription rows, as billing systems export them (`derive: terms` in a mapping).

A row is a subscription (or one term of it): a key (`group_by`, the account by default, a subscription
where accounts hold several at once), a start, an end (empty while it runs) and an ARR. The rows are
turned into the contract's terms: cut into billing terms where asked, ended by their billing period
where the export has no end, and decided as of the export date: a term followed in its group by one
starting on or after its end, within `successor_days`, and by the export date, was renewed (the next
term's ARR is its renewal_arr); a term without a successor churned when it ended by the export date;
every other term (ending after the export date, or followed only after it) is open.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

PERIODS = {
    "monthly": 1,
    "month": 1,
    "quarterly": 3,
    "quarter": 3,
    "semiannual": 6,
    "annual": 12,
    "annually": 12,
    "yearly": 12,
    "year": 12,
}
_MONTHS = re.compile(r"^\s*(\d+)\s*months?\s*$", re.IGNORECASE)


class TermsError(ValueError):
    """Rows that cannot be made into terms; the message says which and what to do."""


def period_months(values: pd.Series) -> pd.Series:
    """Billing periods in months from words (monthly, quarterly, annual) or 'N months'; NaN where unknown."""
    text = values.astype("str").str.strip().str.lower()
    known = text.map(PERIODS)
    counted = pd.to_numeric(text.str.extract(_MONTHS, expand=False), errors="coerce")
    return known.fillna(counted).where(values.notna())


def add_months(dates: np.ndarray, months: np.ndarray) -> np.ndarray:
    """`dates` plus whole `months`, the day kept where the month has it (31 Jan + 1 month = 28/29 Feb)."""
    dates = dates.astype("datetime64[D]")
    month = dates.astype("datetime64[M]")
    day = (dates - month.astype("datetime64[D]")).astype(int)
    target = month + months.astype(int)
    length = ((target + 1).astype("datetime64[D]") - target.astype("datetime64[D]")).astype(int)
    return target.astype("datetime64[D]") + np.minimum(day, length - 1)


def derive_terms(
    rows: pd.DataFrame,
    date_format: str,
    export_date=None,
    group_by: str = "account_id",
    term: str | None = None,
    term_column: str | None = None,
    cut: bool = False,
    successor_days: int = 31,
    outcomes: str | None = None,
) -> tuple[pd.DataFrame, int]:
    """The contract terms of subscription `rows` (see the module docstring), and how many rows gave none (with
    `cut`, a subscription that ends the day it starts); raises TermsError."""
    for column in (group_by, "start_date", "arr") + ((term_column,) if term_column else ()):
        if column not in rows:
            raise TermsError(f"derive: terms needs a column '{column}' (columns found: {', '.join(map(str, rows))})")
    if "outcome" in rows and outcomes != "use":
        raise TermsError(
            "the rows already have an outcome column: write `outcomes: use` to keep the outcomes the "
            "export has (terms without one are derived), or drop the column; outcomes are never "
            "overwritten silently"
        )
    start = pd.to_datetime(rows["start_date"], format=date_format, errors="coerce")
    end = (
        pd.to_datetime(rows["end_date"], format=date_format, errors="coerce")
        if "end_date" in rows
        else pd.Series(pd.NaT, index=rows.index)
    )
    months = _months(rows, term, term_column)
    if isinstance(export_date, dict):  # the latest day a column saw (a CRM's close dates; its ends are scheduled)
        if export_date["latest"] not in rows:
            raise TermsError(f"export_date: {{latest: {export_date['latest']}}} names no column of the rows")
        seen = rows[export_date["latest"]]
        day = pd.to_datetime(seen, format=date_format, errors="coerce")  # as the table writes dates, or ISO 8601
        iso = pd.to_datetime(seen, format="ISO8601", errors="coerce", utc=True).dt.tz_localize(None)
        cutoff = day.fillna(iso).max()
    else:
        cutoff = pd.Timestamp(export_date) if export_date else max(end.max(), start.max())
    frame = rows.assign(_start=start, _end=end, _months=months, _group=rows[group_by].astype("str"))
    empty = 0
    if cut:
        empty = int((end.notna() & start.notna() & (end <= start)).sum())
        frame = _cut(frame, cutoff)
    needs_end = frame["_end"].isna() & frame["_months"].notna() & frame["_start"].notna()
    if needs_end.any():
        frame.loc[needs_end, "_end"] = add_months(
            frame.loc[needs_end, "_start"].to_numpy(), frame.loc[needs_end, "_months"].to_numpy()
        )
    frame["_start"], frame["_end"] = (frame[c].astype("datetime64[ns]") for c in ("_start", "_end"))  # one unit
    return _decide(frame, cutoff, successor_days, outcomes == "use"), empty


def _months(rows: pd.DataFrame, term: str | None, term_column: str | None) -> pd.Series:
    if term_column:
        months = period_months(rows[term_column])
        unknown = rows[term_column].notna() & months.isna()
        if unknown.any():
            raise TermsError(
                f"{int(unknown.sum())} rows have a billing period in '{term_column}' that is not monthly, "
                f"quarterly, annual or 'N months' (e.g. {rows.loc[unknown, term_column].iloc[0]!r}); "
                f"map them with `values:`"
            )
        return months.astype(float)
    if term:
        months = period_months(pd.Series([term]))[0]
        if pd.isna(months):
            raise TermsError(f"term: {term!r} is not monthly, quarterly, annual or 'N months'")
        return pd.Series(float(months), index=rows.index)
    return pd.Series(np.nan, index=rows.index)


def _cut(frame: pd.DataFrame, cutoff: pd.Timestamp) -> pd.DataFrame:
    """Each subscription row cut into billing terms of its period, up to its end (or, while it runs, up to
    the term covering the export date). Every term but a row's last is renewed at the same ARR."""
    if frame["_months"].isna().any():
        raise TermsError("cut: true needs every row's billing period: give `term:` or `term_column:`")
    until = frame["_end"].fillna(cutoff + pd.Timedelta(days=1)).to_numpy().astype("datetime64[D]")
    begin = frame["_start"].to_numpy().astype("datetime64[D]")
    step = frame["_months"].to_numpy().astype(int)
    spans = ((until.astype("datetime64[M]") - begin.astype("datetime64[M]")).astype(int) // step + 2).clip(1)
    pieces = frame.loc[frame.index.repeat(spans)].copy()
    k = np.concatenate([np.arange(n) for n in spans]) if len(spans) else np.array([], dtype=int)
    origin = np.repeat(begin, spans)
    piece_step = np.repeat(step, spans)
    piece_start = add_months(origin, k * piece_step)
    piece_end = add_months(origin, (k + 1) * piece_step)
    row_until = np.repeat(until, spans)
    keep = piece_start < row_until
    ended_row = np.repeat(frame["_end"].notna().to_numpy(), spans)
    pieces["_start"] = piece_start.astype("datetime64[ns]")
    pieces["_end"] = np.where(ended_row, np.minimum(piece_end, row_until), piece_end).astype("datetime64[ns]")
    pieces["_piece"] = k
    pieces = pieces.loc[keep]
    if "contract_id" in pieces:
        pieces["contract_id"] = pieces["contract_id"].astype("str") + "-" + (pieces["_piece"] + 1).astype(str)
    return pieces.drop(columns="_piece").reset_index(drop=True)


def _decide(frame: pd.DataFrame, cutoff: pd.Timestamp, successor_days: int, use_given: bool) -> pd.DataFrame:
    """Each term's outcome from its successor in its group (`_group`, the key before any cutting)."""
    frame = frame.reset_index(drop=True).assign(_row=lambda f: np.arange(len(f)))
    key = frame["_group"]
    starts = (
        frame.loc[frame["_start"].notna(), ["_start", "_row"]]
        .assign(_key=key, arr=pd.to_numeric(frame["arr"], errors="coerce"))
        .sort_values("_start")
    )
    ends = frame.loc[frame["_end"].notna(), ["_end", "_row"]].assign(_key=key).sort_values("_end")
    # The first term of the same group starting on or after this one's end, within the tolerance.
    matched = pd.merge_asof(
        ends,
        starts.rename(columns={"_row": "_next", "arr": "_next_arr"}),
        left_on="_end",
        right_on="_start",
        by="_key",
        direction="forward",
        tolerance=pd.Timedelta(days=successor_days),
        allow_exact_matches=True,
    )
    matched = matched.loc[matched["_next"].ne(matched["_row"]) & matched["_next"].notna()]
    successor_arr = pd.Series(np.nan, index=frame.index)
    successor_arr[matched["_row"].to_numpy()] = matched["_next_arr"].to_numpy()
    successor_start = pd.Series(pd.NaT, index=frame.index, dtype="datetime64[ns]")
    successor_start[matched["_row"].to_numpy()] = matched["_start"].to_numpy()
    ended = (frame["_end"] <= cutoff).to_numpy()
    followed = successor_start.notna().to_numpy()
    # Nothing dated after the export date decides an outcome: a term that ends after it, or whose successor
    # starts after it, is open.
    renewed = followed & ended & (successor_start <= cutoff).to_numpy()
    derived = np.select([renewed, ended & ~followed], ["renewed", "churned"], "open")
    renewal = np.where(renewed, successor_arr, np.where(derived == "churned", 0.0, np.nan))
    given = frame["outcome"].notna() if use_given and "outcome" in frame else pd.Series(False, index=frame.index)
    frame["outcome"] = np.where(given, frame.get("outcome"), derived)
    frame["renewal_arr"] = np.where(given, frame.get("renewal_arr", np.nan), renewal)
    if "churn_reason" in frame:
        frame["churn_reason"] = frame["churn_reason"].where(frame["outcome"] == "churned")
    if "contract_id" not in frame:
        frame["contract_id"] = key + ":" + frame["_start"].dt.strftime("%Y-%m-%d")
    frame["start_date"] = frame["_start"].dt.strftime("%Y-%m-%d")
    frame["end_date"] = frame["_end"].dt.strftime("%Y-%m-%d")
    return frame.drop(columns=["_start", "_end", "_months", "_row", "_group"])
