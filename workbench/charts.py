"""Plotly figures for the study pages: each answers one question at a glance."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .report import COLORS


def auc_forest(validity: pd.DataFrame) -> go.Figure:
    """Each signal's AUC for renewal with its interval; 0.5 is a coin toss."""
    table = validity.dropna(subset=["auc"]).iloc[::-1]
    color = [COLORS["green"] if p else COLORS["red"] if i else COLORS["neutral"]
             for p, i in zip(table["predictive"], table["inverse"])]
    fig = go.Figure(go.Scatter(
        x=table["auc"], y=table["signal"], mode="markers", marker={"size": 11, "color": color},
        error_x={"type": "data", "symmetric": False, "array": table["auc_ci_high"] - table["auc"],
                 "arrayminus": table["auc"] - table["auc_ci_low"], "color": "#9ca3af"},
        customdata=table[["n", "churned"]], hovertemplate="%{y}: AUC %{x:.2f}<br>n=%{customdata[0]}, "
                                                          "churned=%{customdata[1]}<extra></extra>"))
    fig.add_vline(x=0.5, line_dash="dash", line_color="#6b7280", annotation_text="coin toss")
    fig.update_layout(title="Which signals predict renewal? (AUC with simultaneous 95% interval)",
                      xaxis={"title": "AUC for renewal", "range": [0.25, 1.0]}, height=120 + 38 * len(table),
                      margin={"l": 170})
    return fig


def churn_by_band(bands: dict[str, pd.DataFrame], columns: int = 3) -> go.Figure:
    """Small multiples: churn rate per decile of each signal, with Wilson intervals."""
    names = list(bands)
    rows = -(-len(names) // columns)
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=names, shared_yaxes=True,
                        vertical_spacing=0.12 if rows > 1 else 0.2)
    for index, name in enumerate(names):
        table = bands[name]
        fig.add_trace(go.Bar(
            x=table["band"], y=table["churn_rate"], marker_color=COLORS["churned"], showlegend=False,
            error_y={"type": "data", "symmetric": False, "array": table["ci_high"] - table["churn_rate"],
                     "arrayminus": table["churn_rate"] - table["ci_low"], "color": "#9ca3af"},
            customdata=table[["n", "churned", "low", "high"]],
            hovertemplate="decile %{x}: %{y:.0%} churned<br>%{customdata[1]} of %{customdata[0]}"
                          "<br>values %{customdata[2]:.3g} to %{customdata[3]:.3g}<extra></extra>"),
            row=index // columns + 1, col=index % columns + 1)
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(dtick=1)
    fig.update_layout(title="Churn rate by decile of each signal (1 = lowest values)", height=260 * rows + 60)
    return fig


def attainment_bands(bands: pd.DataFrame) -> go.Figure:
    """Churn and expansion rate per goal-attainment band at the observation date."""
    fig = go.Figure()
    for rate, color, name in (("churn", COLORS["churned"], "churn rate"), ("expansion", COLORS["green"], "expansion rate")):
        value = bands[f"{rate}_rate"]
        fig.add_trace(go.Bar(
            x=bands["band"], y=value, name=name, marker_color=color, customdata=bands[["n"]],
            error_y={"type": "data", "symmetric": False, "array": bands[f"{rate}_ci_high"] - value,
                     "arrayminus": value - bands[f"{rate}_ci_low"], "color": "#9ca3af"},
            hovertemplate="%{x}: %{y:.0%} (n=%{customdata[0]})<extra>" + name + "</extra>"))
    fig.update_layout(title="Churn and expansion by goal attainment at the observation date", barmode="group",
                      yaxis={"tickformat": ".0%"}, xaxis={"title": "attainment band"}, height=400)
    return fig


def rate_bars(table: pd.DataFrame, category: str, rate: str, title: str, color: str = COLORS["churned"],
              axis_title: str | None = None) -> go.Figure:
    """One bar per group: a rate with its Wilson interval (columns ci_low, ci_high) and n on hover."""
    fig = go.Figure(go.Bar(
        x=table[category].astype(str), y=table[rate], marker_color=color, customdata=table[["n"]],
        error_y={"type": "data", "symmetric": False, "array": table["ci_high"] - table[rate],
                 "arrayminus": table[rate] - table["ci_low"], "color": "#9ca3af"},
        text=[f"n={n:,}" for n in table["n"]], textposition="inside", insidetextanchor="start",
        hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]:,})<extra></extra>"))
    fig.update_layout(title=title, yaxis={"tickformat": ".0%", "title": axis_title or rate.replace("_", " ")},
                      height=380)
    return fig


def reliability(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """Predicted vs observed renewal rate by decile of a one-signal model; the diagonal is perfect."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"dash": "dash", "color": "#9ca3af"},
                             name="perfect calibration", hoverinfo="skip"))
    for name, table in curves.items():
        fig.add_trace(go.Scatter(
            x=table["predicted"], y=table["observed"], mode="lines+markers", name=name,
            error_y={"type": "data", "symmetric": False, "array": table["ci_high"] - table["observed"],
                     "arrayminus": table["observed"] - table["ci_low"], "thickness": 1},
            customdata=table[["n"]], hovertemplate="predicted %{x:.0%}, observed %{y:.0%} (n=%{customdata[0]})"))
    low = min([t["ci_low"].min() for t in curves.values() if len(t)] + [0.5])
    fig.update_layout(title="Calibration: predicted vs observed renewal rate, by decile", height=420,
                      xaxis={"title": "predicted renewal rate", "tickformat": ".0%", "range": [low, 1]},
                      yaxis={"title": "observed renewal rate", "tickformat": ".0%", "range": [low, 1]})
    return fig


def model_check(cross_validated: pd.DataFrame, later: pd.DataFrame) -> go.Figure:
    """Cross-validated and out-of-time AUC of each model, with intervals."""
    fig = go.Figure()
    for table, column, name, color in ((cross_validated, "cv_auc", "5-fold cross-validated", COLORS["renewed"]),
                                       (later, "test_auc", "out of time (later decisions)", COLORS["yellow"])):
        fig.add_trace(go.Scatter(
            x=table[column], y=table["model"], mode="markers", name=name, marker={"size": 11, "color": color},
            error_x={"type": "data", "symmetric": False, "array": table["ci_high"] - table[column],
                     "arrayminus": table[column] - table["ci_low"]}))
    fig.add_vline(x=0.5, line_dash="dash", line_color="#6b7280")
    fig.update_layout(title="Does the finding hold on decisions the model has not seen?", height=320,
                      xaxis={"title": "AUC for renewal", "range": [0.3, 1.0]}, margin={"l": 200})
    return fig
