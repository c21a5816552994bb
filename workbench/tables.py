"""Result tables: one convention for every analysis, readable on a page and in JupyterLab.

A result is a tidy frame (one row per signal, band or group) whose columns follow one vocabulary:
`n` (renewal decisions), `accounts` (the distinct accounts behind them), `churned` or `events`,
an estimate (`auc`, a rate, an odds ratio, a difference) with its interval in `*ci_low`/`*ci_high`,
and `verdict` in words where one applies. `readable` turns such a frame into what a reader sees:
labels instead of column names, an estimate and its interval in one cell ("0.71 [0.64, 0.77]"),
percentages as percentages, "yes"/"no" instead of booleans.
"""

from __future__ import annotations

import html
import math
import re

import numpy as np
import pandas as pd

from .measure.columns import COLUMNS, component

# Estimates whose interval columns carry their own prefix; any other estimate uses ci_low/ci_high.
INTERVALS = {
    "auc": ("auc_ci_low", "auc_ci_high"),
    "churn_rate": ("churn_ci_low", "churn_ci_high"),
    "expansion_rate": ("expansion_ci_low", "expansion_ci_high"),
    "odds_ratio": ("or_ci_low", "or_ci_high"),
    "timely_rate": ("timely_ci_low", "timely_ci_high"),
}
ESTIMATES = (
    "estimate",
    "difference",
    "rate",
    "probability",
    "response_rate",
    "expansion_rate",
    "churn_rate",
    "auc",
    "slowest_share",
    "referral_rate",
    "points",
    "timely_rate",
)
LABELS = {
    "signal": "Signal",
    "n": "Decisions",
    "accounts": "Accounts",
    "churned": "Churned",
    "renewed": "Renewed",
    "events": "Events",
    "expanded": "Expanded",
    "auc": "AUC",
    "reference_auc": "AUC of the health score",
    "difference": "Difference",
    "estimate": "Estimate",
    "odds_ratio": "Odds ratio per SD",
    "min_detectable_auc": "Smallest AUC detectable",
    "decisions_needed": "Decisions needed",
    "decisions_to_settle": "Decisions to settle",
    "verdict": "Verdict",
    "conclusion": "Conclusion",
    "predictive": "Predictive",
    "inverse": "Inverse",
    "rate": "Rate",
    "churn_rate": "Churn rate",
    "timely_rate": "Reached in time",
    "median_lag_days": "Median days to a touch",
    "lag_band": "First human touch",
    "at_risk_decisions": "At-risk decisions",
    "book": "Book (accounts)",
    "csms": "CSMs",
    "accounts_per_csm": "Accounts per CSM",
    "arr_per_csm": "ARR per CSM",
    "csm": "CSM",
    "expansion_rate": "Expansion rate",
    "expansion_arr": "Expansion ARR",
    "probability": "Probability",
    "band": "Band",
    "landmark_month": "Month of the goal",
    "attainment_final": "Final attainment",
    "attainment_now": "Attainment now",
    "projected_at_renewal": "Projected at renewal",
    "months_left": "Months left",
    "metric": "Goal metric",
    "slowest_input": "Slowest input",
    "slowest_input_pace": "Its pace",
    "input": "Input",
    "goals": "Goals",
    "slowest_in": "Slowest in",
    "slowest_share": "Share of goals where slowest",
    "median_pace": "Median pace",
    "exceeded": "Final attainment",
    "red_people": "Red decision maker or champion",
    "hidden_risk": "Hidden risk",
    "off_track": "Goal off track",
    "weak_signals": "Weak on",
    "decision_maker_coverage": "What we knew of the decision maker",
    "table": "Table",
    "rows": "Rows",
    "first": "First date",
    "last": "Last date",
    "empty_cells": "Empty cells",
    "role": "Role",
    "answered": "Answered",
    "response_rate": "Response rate",
    "feature": "Feature",
    "users": "Users",
    "count": "Churned accounts",
    "mean": "Mean",
    "std": "Standard deviation",
    "min": "Lowest",
    "25%": "Lower quartile",
    "50%": "Median",
    "75%": "Upper quartile",
    "max": "Highest",
    "exploratory": "Exploratory",
    "warning": "Note",
    "colour": "Colour at observation",
    "churned_arr": "Churned ARR",
    "share_of_churned_arr": "Share of churned ARR",
    "category": "NPS category",
    "referral_rate": "Referral rate",
    "referral_arr": "Referral ARR",
    "referral_arr_per_account": "Referral ARR per account",
    "group": "Who answered",
    "share_of_decisions": "Share of decisions",
    "unused_share": "Share with no use",
    "churn_rate_users": "Churn rate of users",
    "churn_rate_non_users": "Churn rate of non-users",
    "coefficient_per_sd": "Coefficient per SD",
    "wald_statistic": "Wald statistic",
    "p_value": "p",
    "p_holm": "p (Holm)",
    "view": "View",
    "ci_level": "Interval level",
    "design_effect": "Design effect",
    "df": "Degrees of freedom",
    "component": "Component",
    "direction": "Direction",
    "points": "Points",
    "score": "Score",
    "red_below": "Red below",
    "red_decisions": "Decisions in red",
    "churned_arr_flagged": "Churned ARR flagged red",
    "horizon_days": "Days before renewal",
    "top_decile_lift": "Lift in the riskiest tenth",
    "metric_group": "Group (moves together)",
    "warns_from_days": "Warns from (days before renewal)",
    "arr_start": "ARR at the window's start",
    "arr_end": "ARR today",
    "arr_change": "Change",
    "quarter": "Quarter from",
    "forecast": "Forecast",
    "forecast_low": "90% low",
    "forecast_high": "90% high",
    "renewed_arr": "Renewed",
    "covered": "In its interval",
    "abs_pct_error": "Error",
    "last_year_forecast": "Last year's rate",
    "baseline_abs_pct_error": "Its error",
    "colour_forecast": "Health colours",
    "colour_abs_pct_error": "Their error",
    "expected_loss": "Expected ARR lost",
    "pulled_down_by": "Pulled down most by",
}
FORMATS = {
    "auc": "{:.2f}",
    "reference_auc": "{:.2f}",
    "difference": "{:+.2f}",
    "odds_ratio": "{:.2f}",
    "min_detectable_auc": "{:.2f}",
    "decisions_needed": "{:,.0f}",
    "decisions_to_settle": "{:,.0f}",
    "months_left": "{:.1f}",
    "expansion_arr": "{:,.0f}",
    "rows": "{:,.0f}",
    "points": "{:.0f}",
    "top_decile_lift": "{:.1f}x",
    "churned_arr_flagged": "{:,.0f}",
    "churned_arr": "{:,.0f}",
    "referral_arr": "{:,.0f}",
    "referral_arr_per_account": "{:,.0f}",
    "coefficient_per_sd": "{:+.2f}",
    "wald_statistic": "{:.1f}",
    "p_value": "{:.3g}",
    "p_holm": "{:.3g}",
    "arr_per_csm": "{:,.0f}",
    "accounts_per_csm": "{:,.0f}",
    "median_lag_days": "{:.0f}",
    "difference_before": "{:+.2f}",
    "difference_after": "{:+.2f}",
    **dict.fromkeys(
        (
            "attainment_final",
            "attainment_now",
            "projected_at_renewal",
            "slowest_input_pace",
            "median_pace",
            "slowest_share",
            "mean",
            "std",
            "min",
            "25%",
            "50%",
            "75%",
            "max",
        ),
        "{:.0%}",
    ),
    **dict.fromkeys(
        (
            "rate",
            "churn_rate",
            "expansion_rate",
            "probability",
            "response_rate",
            "empty_cells",
            "share_of_churned_arr",
            "referral_rate",
            "share_of_decisions",
            "churn_rate_users",
            "churn_rate_non_users",
            "unused_share",
            "timely_rate",
            "grr",
            "nrr",
            "earned_growth_rate",
            "logo_churn",
            "renewal_rate",
            "abs_pct_error",
            "baseline_abs_pct_error",
            "colour_abs_pct_error",
        ),
        "{:.1%}",
    ),
}
# Columns that hold money: shown with the study's currency.
MONEY = (
    "arr",
    "forecast",
    "forecast_low",
    "forecast_high",
    "renewed_arr",
    "last_year_forecast",
    "colour_forecast",
    "expected_loss",
    "renewal_arr",
    "churned_arr",
    "churned_arr_flagged",
    "referral_arr",
    "referral_arr_per_account",
    "expansion_arr",
    "arr_per_csm",
    "at_risk_arr",
    "stale_arr",
    "arr_start",
    "arr_end",
    "arr_change",
    "starting_arr",
    "contraction_arr",
)
SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£"}
_currency = ["USD"]


def plain(value):
    """JSON-ready: numpy and pandas scalars to Python, NaN and NA to None, frames to records."""
    if isinstance(value, pd.DataFrame):
        return [plain(r) for r in value.to_dict(orient="records")]
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (np.bool_, bool)):
        return bool(value)
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return None if math.isnan(value) or math.isinf(value) else float(value)
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def use_currency(code: str) -> None:
    """The currency every money figure is shown in from now on (a study sets its config's)."""
    _currency[0] = code


def currency_symbol() -> str:
    """The prefix money figures carry: '$', '€', '£', or the currency's code and a space."""
    return SYMBOLS.get(_currency[0], f"{_currency[0]} ")


def money(value, compact: bool = False) -> str:
    """An amount as a reader expects it: '$4,410,240', or compact '$4.4M'; '–' where there is none."""
    if value is None or pd.isna(value):
        return "–"
    sign, amount = ("-" if value < 0 else ""), abs(float(value))
    if compact and amount >= 1e3:
        scale, suffix = next((s, x) for s, x in ((1e9, "B"), (1e6, "M"), (1e3, "k")) if amount >= s)
        figure = f"{amount / scale:.1f}".removesuffix(".0") + suffix
    else:
        figure = f"{amount:,.0f}"
    return f"{sign}{currency_symbol()}{figure}"


# Values that are names from the code (signals, verdict codes): shown as a reader says them.
NAMES = ("signal", "feature", "column", "component")  # cells that name a column: shown as its header is
WORDS = ("conclusion", "role", "direction")  # cells that hold a code's word: shown as words


def percent(value, digits: int = 0) -> str:
    """A rate as a percentage, '–' where there is none."""
    return "–" if value is None or pd.isna(value) else f"{value:.{digits}%}"


def label(column: str) -> str:
    """A column's header on a page: the registry's label, this module's, or its words capitalized."""
    if column in COLUMNS:
        return COLUMNS[column].label
    if column.startswith("component_"):
        return component(column).label
    if column in LABELS:
        return LABELS[column]
    words = column.replace("_", " ").capitalize()
    return re.sub(r"\b(arr|grr|nrr|nps|csat|ces|csm|auc)\b", lambda m: m.group(1).upper(), words, flags=re.I)


def value_label(value) -> str:
    """A signal's or column's name as its header reads, so an added signal reads as the registry's do."""
    return label(value) if isinstance(value, str) else value


def _format_of(column: str, series: pd.Series) -> str | None:
    if column in FORMATS:
        return FORMATS[column]
    if column in COLUMNS and COLUMNS[column].format:
        return COLUMNS[column].format
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_integer_dtype(series):
        return "{:,}"
    if pd.api.types.is_float_dtype(series):
        whole = series.dropna()
        return "{:,.0f}" if len(whole) and (whole == whole.round()).all() else "{:,.2f}"
    return None


def _cell(value, spec: str | None) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "–"
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d}"
    if spec:
        try:
            return spec.format(value)
        except (ValueError, TypeError):
            return str(value)
    return str(value)


def _interval_pairs(frame: pd.DataFrame) -> dict[str, tuple[str, str]]:
    pairs = {est: ci for est, ci in INTERVALS.items() if est in frame and ci[0] in frame and ci[1] in frame}
    if "ci_low" in frame and "ci_high" in frame:
        free = next((est for est in ESTIMATES if est in frame and est not in pairs), None)
        if free:
            pairs[free] = ("ci_low", "ci_high")
    return pairs


def readable(frame: pd.DataFrame, formats: dict[str, str] | None = None) -> pd.DataFrame:
    """`frame` as a reader sees it: every cell a string, an estimate and its interval in one cell,
    headers from `label`. `formats` overrides a column's format spec."""
    formats = formats or {}
    pairs = _interval_pairs(frame)
    hidden = {c for ci in pairs.values() for c in ci}
    shown = {}
    for column in frame.columns:
        if column in hidden:
            continue
        series = frame[column]
        spec = formats.get(column) or _format_of(column, series)
        if pd.api.types.is_datetime64_any_dtype(series):
            cells = [_cell(v, None) for v in series]
        elif column in MONEY and column not in formats and pd.api.types.is_numeric_dtype(series):
            cells = [money(v) for v in series]
        elif column in NAMES:
            cells = [_cell(value_label(v), None) for v in series]
        elif column in WORDS:
            cells = [_cell(v.replace("_", " ") if isinstance(v, str) else v, None) for v in series]
        else:
            cells = [_cell(v, spec) for v in series]
        header = label(column)
        if column in pairs:
            low, high = (frame[c] for c in pairs[column])
            cells = [
                text if pd.isna(lo) or pd.isna(hi) else f"{text} [{_cell(lo, spec)}, {_cell(hi, spec)}]"
                for text, lo, hi in zip(cells, low, high)
            ]
            header = f"{header} [interval]"
        shown[header] = cells
    return pd.DataFrame(shown, index=frame.index)


def html_table(frame: pd.DataFrame, formats: dict[str, str] | None = None, caption: str = "") -> str:
    """An escaped HTML table of `readable(frame)`, numbers right-aligned, with an optional caption."""
    shown = readable(frame, formats)
    numeric = [label(c) for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    text_columns = [c for c in shown.columns if c not in numeric and not c.endswith("[interval]")]
    styler = (
        shown.style.hide(axis="index")
        .format(escape="html")
        .set_table_attributes('class="wb-table"')
        .set_properties(subset=text_columns, **{"text-align": "left"})
    )
    markup = styler.to_html()
    return (f'<p class="wb-finding"><em>{html.escape(caption)}</em></p>' if caption else "") + markup


SHOWN_ROWS = 20  # a result in JupyterLab shows this many rows; its frame keeps every one


class Figures(dict):
    """Headline figures (a dict, as results.json keeps them) that display as a table of labelled values, each
    formatted as a table column of its name would be (`readable`); a nested set of figures (a month) as its own
    table."""

    def _repr_html_(self) -> str:
        flat = pd.DataFrame([{k: v for k, v in self.items() if not isinstance(v, dict)}])
        shown = readable(flat).T.reset_index().set_axis(["figure", "value"], axis=1)
        nested = "".join(
            f"<p><b>{html.escape(label(k))}</b></p>{Figures(v)._repr_html_()}"
            for k, v in self.items()
            if isinstance(v, dict)
        )
        return html_table(shown) + nested


class Result:
    """What an analysis of a `Study` returns: a tidy frame that displays itself readably.

    Parameters
    ----------
    frame : pandas.DataFrame
        The tidy result (see the module's conventions).
    caption : str
        A sentence a reader needs to read the table: what n counts, what the intervals are.
    key : str, optional
        Its part of results.json, when it has one.
    shown : list of str, optional
        The columns a reader sees (all by default); `frame` keeps every column.

    Notes
    -----
    In JupyterLab the result shows as a table with readable labels and formats; `frame` (or any
    DataFrame attribute, such as ``result.loc`` or ``result["auc"]``) gives the numbers.
    """

    def __init__(self, frame: pd.DataFrame, caption: str = "", key: str | None = None, shown: list | None = None):
        self.frame = frame.reset_index(drop=True)
        self.caption = caption
        self.key = key
        self.shown = [c for c in shown if c in self.frame] if shown else list(self.frame.columns)

    def __getattr__(self, name):
        if name == "frame":  # not yet set (unpickling): no recursion through __getattr__
            raise AttributeError(name)
        return getattr(self.frame, name)

    def __getitem__(self, key):
        return self.frame[key]

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        table = readable(self.frame[self.shown].head(SHOWN_ROWS)).to_string(index=False)
        return f"{type(self).__name__}({self.caption or 'result'})\n{table}{self._more()}"

    def _repr_html_(self) -> str:
        more = self._more()
        return html_table(self.frame[self.shown].head(SHOWN_ROWS), caption=self.caption) + (
            f"<p><em>{html.escape(more.strip())}</em></p>" if more else ""
        )

    def _more(self) -> str:
        """Where a long result shows only its first rows: how many it has, and where they all are."""
        if len(self.frame) <= SHOWN_ROWS:
            return ""
        return f"\nThe first {SHOWN_ROWS} of {len(self.frame):,} rows; `.frame` holds them all."

    def to_json(self) -> list[dict]:
        """The rows as results.json holds them."""
        return plain(self.frame)
