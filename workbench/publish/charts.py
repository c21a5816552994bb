"""Plotly figures for the study pages: each answers one question at a glance."""

from __future__ import annotations

import html

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from ..tables import currency_symbol, money, value_label
from .report import COLORS

DRAWN_POINTS = 3_000  # a chart draws each case up to this many; beyond, it aggregates (a page stays small)


def auc_forest(validity: pd.DataFrame) -> go.Figure:
    """Each signal's AUC for renewal with its interval; 0.5 is a coin toss."""
    table = validity.dropna(subset=["auc"]).iloc[::-1]
    color = [
        COLORS["green"] if p else COLORS["red"] if i else COLORS["neutral"]
        for p, i in zip(table["predictive"], table["inverse"])
    ]
    fig = go.Figure(
        go.Scatter(
            x=table["auc"],
            y=table["signal"].map(value_label),
            mode="markers",
            marker={"size": 11, "color": color},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": table["auc_ci_high"] - table["auc"],
                "arrayminus": table["auc"] - table["auc_ci_low"],
                "color": "#9ca3af",
            },
            customdata=table[["n", "accounts", "churned"]] if "accounts" in table else table[["n", "n", "churned"]],
            hovertemplate="%{y}: AUC %{x:.2f}<br>%{customdata[0]} decisions from %{customdata[1]} accounts, "
            "%{customdata[2]} churned<extra></extra>",
        )
    )
    fig.add_vline(x=0.5, line_dash="dash", line_color="#6b7280", annotation_text="coin toss")
    fig.update_layout(
        title="Which signals predict renewal? (AUC with simultaneous 95% interval)",
        xaxis={"title": "AUC for renewal", "range": [min(0.25, table["auc_ci_low"].min() - 0.03), 1.0]},
        height=max(260, 120 + 38 * len(table)),
        margin={"l": 170},
    )
    return fig


def churn_by_band(bands: dict[str, pd.DataFrame], columns: int = 3) -> go.Figure:
    """Small multiples: churn rate per decile of each signal, with Wilson intervals."""
    names = list(bands)
    columns = max(min(columns, len(names)), 1)
    rows = -(-len(names) // columns)
    fig = make_subplots(
        rows=rows,
        cols=columns,
        subplot_titles=[html.escape(value_label(n)) for n in names],
        shared_yaxes=True,
        vertical_spacing=0.12 if rows > 1 else 0.2,
    )
    for index, name in enumerate(names):
        table = bands[name]
        fig.add_trace(
            go.Bar(
                x=table["band"],
                y=table["churn_rate"],
                marker_color=COLORS["churned"],
                showlegend=False,
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": table["ci_high"] - table["churn_rate"],
                    "arrayminus": table["churn_rate"] - table["ci_low"],
                    "color": "#9ca3af",
                },
                customdata=table[["n", "churned", "low", "high"]],
                hovertemplate="decile %{x}: %{y:.0%} churned<br>%{customdata[1]} of %{customdata[0]}"
                "<br>values %{customdata[2]:.3g} to %{customdata[3]:.3g}<extra></extra>",
            ),
            row=index // columns + 1,
            col=index % columns + 1,
        )
    fig.update_yaxes(tickformat=".0%")
    fig.update_xaxes(dtick=1)
    fig.update_layout(title="Churn rate by decile of each signal (1 = lowest values)", height=260 * rows + 60)
    return fig


def attainment_bands(bands: pd.DataFrame) -> go.Figure:
    """Churn and expansion rate per goal-attainment band at the observation date."""
    fig = go.Figure()
    for rate, color, name in (
        ("churn", COLORS["churned"], "churn rate"),
        ("expansion", COLORS["green"], "expansion rate"),
    ):
        value = bands[f"{rate}_rate"]
        fig.add_trace(
            go.Bar(
                x=bands["band"],
                y=value,
                name=name,
                marker_color=color,
                customdata=bands[["n"]],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": bands[f"{rate}_ci_high"] - value,
                    "arrayminus": value - bands[f"{rate}_ci_low"],
                    "color": "#9ca3af",
                },
                hovertemplate="%{x}: %{y:.0%} (n=%{customdata[0]})<extra>" + name + "</extra>",
            )
        )
    fig.update_layout(
        title="Churn and expansion by goal attainment at the observation date",
        barmode="group",
        yaxis={"tickformat": ".0%"},
        xaxis={"title": "attainment band"},
        height=400,
    )
    return fig


def rate_bars(
    table: pd.DataFrame,
    category: str,
    rate: str,
    title: str,
    color: str = COLORS["churned"],
    axis_title: str | None = None,
) -> go.Figure:
    """One bar per group: a rate with its Wilson interval (columns ci_low, ci_high) and n on hover."""
    fig = go.Figure(
        go.Bar(
            x=table[category].astype(str),
            y=table[rate],
            marker_color=color,
            customdata=table[["n"]],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": table["ci_high"] - table[rate],
                "arrayminus": table[rate] - table["ci_low"],
                "color": "#9ca3af",
            },
            text=[f"n={n:,}" for n in table["n"]],
            textposition="inside",
            insidetextanchor="start",
            hovertemplate="%{x}: %{y:.1%} (n=%{customdata[0]:,})<extra></extra>",
        )
    )
    fig.update_layout(
        title=title, yaxis={"tickformat": ".0%", "title": axis_title or rate.replace("_", " ")}, height=380
    )
    return fig


def reliability(curves: dict[str, pd.DataFrame], bins: str = "decile") -> go.Figure:
    """Predicted vs observed renewal rate by decile (or other `bins`) of a model; the diagonal is perfect."""
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"dash": "dash", "color": "#9ca3af"},
            name="perfect calibration",
            hoverinfo="skip",
        )
    )
    for name, table in curves.items():
        fig.add_trace(
            go.Scatter(
                x=table["predicted"],
                y=table["observed"],
                mode="lines+markers",
                name=value_label(name),
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": table["ci_high"] - table["observed"],
                    "arrayminus": table["observed"] - table["ci_low"],
                    "thickness": 1,
                },
                customdata=table[["n"]],
                hovertemplate="predicted %{x:.0%}, observed %{y:.0%} (n=%{customdata[0]})",
            )
        )
    # Zoomed to the data (to the 5% below its lowest point): a book that renews 95% of the time keeps its
    # deciles apart instead of a cluster in one corner of the unit square.
    lows = [min(t["ci_low"].min(), t["predicted"].min()) for t in curves.values() if len(t)]
    low = max(0.0, np.floor(min(lows) * 20 - 0.5) / 20) if lows else 0.0
    fig.update_layout(
        title=f"Calibration: predicted vs observed renewal rate, by {bins}",
        height=420,
        xaxis={"title": "predicted renewal rate", "tickformat": ".0%", "range": [low, 1]},
        yaxis={"title": "observed renewal rate", "tickformat": ".0%", "range": [low, 1]},
    )
    return fig


def model_check(cross_validated: pd.DataFrame, later: pd.DataFrame) -> go.Figure:
    """Cross-validated and out-of-time AUC of each model, with intervals."""
    fig = go.Figure()
    for table, column, name, color in (
        (cross_validated, "cv_auc", "5-fold cross-validated", COLORS["renewed"]),
        (later, "test_auc", "out of time (later decisions)", COLORS["yellow"]),
    ):
        fig.add_trace(
            go.Scatter(
                x=table[column],
                y=table["model"],
                mode="markers",
                name=name,
                marker={"size": 11, "color": color},
                error_x={
                    "type": "data",
                    "symmetric": False,
                    "array": table["ci_high"] - table[column],
                    "arrayminus": table[column] - table["ci_low"],
                },
            )
        )
    fig.add_vline(x=0.5, line_dash="dash", line_color="#6b7280")
    fig.update_layout(
        title="Does the finding hold on decisions the model has not seen?",
        height=320,
        xaxis={"title": "AUC for renewal", "range": [0.3, 1.0]},
        margin={"l": 200},
    )
    return fig


def growth_curves(band: pd.DataFrame, sample: pd.DataFrame) -> go.Figure:
    """The population's attainment curve with the spread of goals' own curves, and some goals' data."""
    fig = go.Figure()
    for _goal_id, part in sample.groupby("goal_id"):
        fig.add_trace(
            go.Scatter(
                x=part["month"],
                y=part["attainment"],
                mode="lines",
                line={"width": 1, "color": "#cbd5e1"},
                showlegend=False,
                hoverinfo="skip",
            )
        )
    fig.add_trace(
        go.Scatter(
            x=np.r_[band["month"], band["month"][::-1]],
            y=np.r_[band["high"], band["low"][::-1]],
            fill="toself",
            fillcolor="rgba(37,99,235,0.15)",
            line={"width": 0},
            name="80% of goals' curves",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=band["month"],
            y=band["attainment"],
            mode="lines",
            line={"color": COLORS["renewed"], "width": 3},
            name="population curve",
            hovertemplate="month %{x:.0f}: %{y:.0%}<extra></extra>",
        )
    )
    fig.add_hline(y=1, line_dash="dash", line_color=COLORS["green"], annotation_text="target")
    fig.update_layout(
        title="Progress toward the customer's own goal, by month since the goal started",
        height=420,
        xaxis={"title": "months since goal start"},
        yaxis={"title": "attainment", "tickformat": ".0%"},
    )
    return fig


def reach_probability(table: pd.DataFrame) -> go.Figure:
    """P(reaching target by the end) given the attainment band at each landmark month."""
    fig = go.Figure()
    for month, part in table.groupby("landmark_month"):
        fig.add_trace(
            go.Scatter(
                x=part["band"].astype(str),
                y=part["probability"],
                mode="lines+markers",
                name=f"at month {month}",
                customdata=part[["n"]],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["ci_high"] - part["probability"],
                    "arrayminus": part["probability"] - part["ci_low"],
                    "thickness": 1,
                },
                hovertemplate="%{x} at month "
                + str(month)
                + ": %{y:.0%} reach target (n=%{customdata[0]})<extra></extra>",
            )
        )
    fig.update_layout(
        title="Chance of reaching the goal by the end of the term, given attainment so far",
        height=400,
        xaxis={"title": "attainment at the landmark month"},
        yaxis={"title": "reached 100% by the end", "tickformat": ".0%", "range": [0, 1.05]},
    )
    return fig


def survival(curves: pd.DataFrame) -> go.Figure:
    """Kaplan-Meier curves of remaining a customer after the observation date, by attainment band."""
    fig = go.Figure()
    palette = {
        "<50%": COLORS["red"],
        "50-80%": COLORS["yellow"],
        "80-100%": COLORS["renewed"],
        ">=100%": COLORS["green"],
    }
    for name, part in curves.groupby("band", sort=False):
        fig.add_trace(
            go.Scatter(
                x=part["day"],
                y=part["survival"],
                mode="lines",
                line_shape="hv",
                name=f"{name} (n={part['n'].iloc[0]})",
                line={"color": palette.get(name)},
            )
        )
    fig.update_layout(
        title="Still a customer, by goal attainment at the observation date (Kaplan-Meier)",
        height=400,
        xaxis={"title": "days after the observation date"},
        yaxis={"title": "share still a customer", "tickformat": ".0%"},
    )
    return fig


def final_attainment_by_reason(frame: pd.DataFrame, points: int = DRAWN_POINTS) -> go.Figure:
    """Box plots of final attainment among churned decisions, by churn reason: every decision drawn as a point
    up to `points` of them; beyond, each box from its quartiles and whiskers alone (computed here, so the page
    carries five numbers a reason, not every decision)."""
    churned = frame.loc[~frame["renewed"] & frame["attainment_final"].notna()]
    drawn = len(churned) <= points
    fig = go.Figure()
    reasons = churned["churn_reason"] if "churn_reason" in churned else pd.Series(pd.NA, index=churned.index)
    for reason, part in churned.groupby(reasons.fillna("unknown")):
        name = f"{reason} (n={len(part):,})"
        if drawn:
            fig.add_trace(
                go.Box(
                    y=part["attainment_final"],
                    name=name,
                    boxpoints="all",
                    jitter=0.4,
                    pointpos=0,
                    marker={"size": 4},
                )
            )
            continue
        values = part["attainment_final"].to_numpy(dtype=float)
        q1, median, q3 = np.percentile(values, [25, 50, 75])
        reach = 1.5 * (q3 - q1)  # Tukey's whiskers, as plotly draws them from the points
        low, high = values[values >= q1 - reach].min(), values[values <= q3 + reach].max()
        fig.add_trace(
            go.Box(
                x=[name],
                q1=[q1],
                median=[median],
                q3=[q3],
                lowerfence=[low],
                upperfence=[high],
                mean=[values.mean()],
                name=name,
                boxpoints=False,
            )
        )
    fig.add_hline(y=1, line_dash="dash", line_color=COLORS["green"], annotation_text="target")
    fig.update_layout(
        title="Churned accounts: how far from their goal at the end?"
        + ("" if drawn else f" ({len(churned):,} decisions: boxes only)"),
        height=420,
        showlegend=False,
        yaxis={"title": "final attainment", "tickformat": ".0%"},
    )
    return fig


def short_labels(values: pd.Series, width: int = 40) -> list[str]:
    """Labels cut to `width` characters (marked with an ellipsis) and made unique again, so two accounts
    whose names share their first characters keep their own rows."""
    text = values.astype(str)
    short = text.where(text.str.len() <= width, text.str.slice(0, width - 1) + "…")
    repeat = short.groupby(short).cumcount()
    return short.where(repeat == 0, short + " (" + (repeat + 1).astype(str) + ")").tolist()


def role_heatmap(frame: pd.DataFrame, label: str = "account_name") -> go.Figure:
    """Accounts x roles: each cell the role's health, red to green, so the red buyer shows at a glance."""
    columns = {
        "health_score": "overall score",
        "health_mean": "account mean",
        "health_decision_maker": "decision maker",
        "health_champion": "champion",
        "health_end_user": "end users",
    }
    present = [c for c in columns if c in frame]
    fig = go.Figure(
        go.Heatmap(
            z=frame[present].to_numpy(),
            x=[columns[c] for c in present],
            y=short_labels(frame[label]),
            colorscale=[[0, COLORS["red"]], [0.5, "#fde68a"], [1, COLORS["green"]]],
            zmin=20,
            zmax=90,
            text=frame[present].map(lambda v: "–" if pd.isna(v) else f"{v:.0f}").to_numpy(),
            texttemplate="%{text}",
            hovertemplate="%{y}<br>%{x}: %{text}<extra></extra>",
            colorbar={"title": "health"},
        )
    )
    fig.update_layout(
        title="Who is red behind the green? Health by role, riskiest accounts first",
        height=140 + 26 * len(frame),
        yaxis={"autorange": "reversed"},
        margin={"l": 220},
    )
    return fig


def gap_distribution(frame: pd.DataFrame) -> go.Figure:
    """How much rosier the account mean is than the decision maker, for renewed and churned decisions: the
    share of each in bins of 5 points, counted here so the page carries the bins, not every decision."""
    fig = go.Figure()
    gaps = frame["health_gap"].dropna()
    low, high = (np.floor(gaps.min() / 5) * 5, np.ceil(gaps.max() / 5) * 5 + 5) if len(gaps) else (0.0, 5.0)
    edges = np.arange(low, high + 5, 5)
    for renewed, name in ((True, "renewed"), (False, "churned")):
        part = frame.loc[frame["renewed"] == renewed, "health_gap"].dropna()
        counts, _ = np.histogram(part, bins=edges)
        fig.add_trace(
            go.Bar(
                x=edges[:-1] + 2.5,
                y=100 * counts / max(len(part), 1),
                width=5,
                name=f"{name} (n={len(part):,})",
                marker_color=COLORS[name],
                opacity=0.6,
                hovertemplate="%{x:.1f} points: %{y:.1f}% of decisions<extra></extra>",
            )
        )
    fig.add_vline(x=0, line_dash="dash", line_color="#6b7280")
    fig.update_layout(
        title="Account mean minus the decision maker's health, at the observation date",
        barmode="overlay",
        height=380,
        xaxis={"title": "points the average is above the decision maker"},
        yaxis={"title": "% of decisions"},
    )
    return fig


def revenue_waterfall(revenue: dict) -> go.Figure:
    """From the cohort's ARR at the window's start to what it holds now, plus (where the data has referrals)
    the new ARR customers referred."""
    referred = revenue["referral_arr"] is not None
    steps = [
        ("ARR at the start", revenue["starting_arr"], "absolute"),
        ("Churned", -revenue["churned_arr"], "relative"),
        ("Contracted", -revenue["contraction_arr"], "relative"),
        ("Expanded", revenue["expansion_arr"], "relative"),
        *([("Referred", revenue["referral_arr"], "relative")] if referred else []),
    ]
    end = sum(s[1] for s in steps)
    fig = go.Figure(
        go.Waterfall(
            x=[s[0] for s in steps] + ["Held now + referred" if referred else "Held now"],
            y=[s[1] for s in steps] + [0],
            measure=[s[2] for s in steps] + ["total"],
            connector={"line": {"color": "#9ca3af"}},
            decreasing={"marker": {"color": COLORS["churned"]}},
            increasing={"marker": {"color": COLORS["green"]}},
            totals={"marker": {"color": COLORS["renewed"]}},
            text=[money(s[1], compact=True) for s in steps] + [money(end, compact=True)],
            textposition="outside",
        )
    )
    fig.update_layout(
        title="Where the ARR of the accounts under contract a window ago went",
        height=420,
        yaxis={"title": "ARR", "tickformat": ",.0f", "tickprefix": currency_symbol()},
    )
    return fig


def trends(frame: pd.DataFrame) -> go.Figure:
    """Revenue rates and each signal's AUC (with its interval) across study runs."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Revenue retention", "Signals' AUC for renewal"))
    for measure, part in frame.loc[frame["kind"] == "revenue"].groupby("measure", sort=False):
        fig.add_trace(go.Scatter(x=part["as_of"], y=part["value"], mode="lines+markers", name=measure), row=1, col=1)
    for measure, part in frame.loc[frame["kind"] == "signal"].groupby("measure", sort=False):
        fig.add_trace(
            go.Scatter(
                x=part["as_of"],
                y=part["value"],
                mode="lines+markers",
                name=measure,
                legendgroup="signals",
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["ci_high"] - part["value"],
                    "arrayminus": part["value"] - part["ci_low"],
                    "thickness": 1,
                },
            ),
            row=1,
            col=2,
        )
    fig.add_hline(y=0.5, line_dash="dash", line_color="#6b7280", row=1, col=2)
    fig.update_yaxes(tickformat=".0%", row=1, col=1)
    fig.update_layout(title="Across study runs", height=420)
    return fig


def coverage_over_time(rows: pd.DataFrame) -> go.Figure:
    """Rows per month of each dated table: gaps and late starts show as dips and missing months."""
    fig = go.Figure()
    for table, part in rows.groupby("table"):
        fig.add_trace(go.Scatter(x=part["month"], y=part["rows"], mode="lines+markers", name=table))
    fig.update_layout(
        title="Data coverage over time (rows per month)", height=380, yaxis={"type": "log", "title": "rows"}
    )
    return fig


def decisions_over_time(table: pd.DataFrame) -> go.Figure:
    """Renewal decisions per month, renewed and churned stacked."""
    fig = go.Figure()
    for outcome in ("renewed", "churned"):
        part = table.loc[table["outcome"] == outcome]
        fig.add_trace(go.Bar(x=part["month"], y=part["decisions"], name=outcome, marker_color=COLORS[outcome]))
    fig.update_layout(title="Renewal decisions per month", barmode="stack", height=360, yaxis={"title": "decisions"})
    return fig


def scorecard_weights(components: pd.DataFrame) -> go.Figure:
    """The proposed scorecard's points per component, with their spread over resamples of the earlier period."""
    table = components.loc[(components["points"] > 0) | (components["ci_high"] >= 5)].iloc[::-1]
    names = [
        value_label(c) + (" (reversed)" if d == "lower is better" else "")
        for c, d in zip(table["component"], table["direction"])
    ]
    fig = go.Figure(
        go.Bar(
            x=table["points"],
            y=names,
            orientation="h",
            marker={"color": COLORS["renewed"]},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (table["ci_high"] - table["points"]).clip(lower=0),
                "arrayminus": (table["points"] - table["ci_low"]).clip(lower=0),
                "color": "#6b7280",
            },
            hovertemplate="%{y}: %{x} points<extra></extra>",
        )
    )
    fig.update_layout(
        title="The learned scorecard: points per component (of 100), with 95% intervals over resamples",
        xaxis={"title": "points", "range": [0, 100]},
        height=max(260, 120 + 38 * len(table)),
        margin={"l": 230},
    )
    return fig


def lead_time(lead: pd.DataFrame) -> go.Figure:
    """Each signal's AUC at each horizon before renewal, earliest on the left; 0.5 is a coin toss. A filled
    marker is a horizon the report judged, an open one exploratory."""
    fig = go.Figure()
    for signal, part in lead.dropna(subset=["auc"]).groupby("signal", sort=False):
        part = part.sort_values("horizon_days")
        fig.add_trace(
            go.Scatter(
                x=part["horizon_days"],
                y=part["auc"],
                mode="lines+markers",
                name=value_label(signal),
                marker={"symbol": np.where(part["conclusion"] == "exploratory", "circle-open", "circle"), "size": 8},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": part["auc_ci_high"] - part["auc"],
                    "arrayminus": part["auc"] - part["auc_ci_low"],
                    "thickness": 1,
                },
                customdata=part[["n", "accounts"]],
                hovertemplate="%{x} days before renewal: AUC %{y:.2f} (%{customdata[0]} decisions, "
                "%{customdata[1]} accounts)<extra></extra>",
            )
        )
    fig.add_hline(y=0.5, line_dash="dash", line_color="#6b7280", annotation_text="coin toss")
    fig.update_layout(
        title="How early does each signal warn? AUC for renewal by days before renewal",
        xaxis={"title": "days before renewal (observation date)", "autorange": "reversed"},
        yaxis={"title": "AUC for renewal"},
        height=460,
    )
    return fig


def touched_by_day(detection: pd.DataFrame, timely_days: int) -> go.Figure:
    """Share of the accounts that turned at risk that had a human touch by each day after (Kaplan-Meier: a renewal
    that came first ends an account's wait without a touch)."""
    risk = detection.loc[detection["at_risk"]].sort_values("lag_days")
    lag, touched = risk["lag_days"].to_numpy(dtype=float), risk["touched"].to_numpy(dtype=bool)
    at_risk = len(lag) - np.arange(len(lag))
    survival = np.cumprod(1 - touched / np.maximum(at_risk, 1))
    # One step per distinct day (the curve's value after that day's last decision), not one per decision.
    last_of_day = np.r_[lag[1:] != lag[:-1], True] if len(lag) else np.zeros(0, dtype=bool)
    fig = go.Figure(
        go.Scatter(
            x=np.r_[0, lag[last_of_day]],
            y=np.r_[0, 1 - survival[last_of_day]],
            mode="lines",
            line={"shape": "hv", "color": COLORS["green"]},
            hovertemplate="by day %{x:.0f}: %{y:.0%} touched<extra></extra>",
        )
    )
    fig.add_vline(x=timely_days, line_dash="dash", line_color="#6b7280", annotation_text=f"{timely_days} days")
    fig.update_layout(
        title=f"How fast does a human touch follow risk? ({len(risk):,} at-risk decisions)",
        xaxis={"title": "days after turning at risk", "range": [0, min(float(np.nanmax(lag, initial=90)), 365)]},
        yaxis={"title": "share touched by a person", "tickformat": ".0%", "range": [0, 1]},
        height=380,
    )
    return fig


def touch_effect(effect: dict) -> go.Figure:
    """The change in churn rate with a timely human touch: the plain comparison and the estimates adjusted for
    risk, each with its interval, and the placebo (a touch before the risk showed) where there is one; left of
    zero, fewer churn."""

    def interval(source, key, prefix=""):  # the estimate's interval keys are the contract's plain ci_low, ci_high
        return source[key], source[f"{prefix}ci_low"], source[f"{prefix}ci_high"]

    rows = [
        ("plain comparison (confounded)", *interval(effect, "naive", "naive_"), "neutral"),
        ("within risk strata", *interval(effect, "stratified", "stratified_"), "green"),
        ("risk-weighted (the estimate)", *interval(effect, "estimate"), "green"),
    ]
    if effect.get("placebo") is not None:
        rows.insert(0, ("placebo: a touch before the risk showed", *interval(effect["placebo"], "estimate"), "neutral"))
    return _changes(rows, "Churn with a timely human touch minus churn without (percentage points)")


def _changes(rows: list[tuple], title: str) -> go.Figure:
    """Changes in churn rate, each (name, value, low, high, colour) a dot with its interval's whiskers."""
    fig = go.Figure()
    for name, value, low, high, color in rows:
        fig.add_trace(
            go.Scatter(
                x=[value],
                y=[name],
                mode="markers",
                marker={"size": 12, "color": COLORS[color]},
                error_x={"type": "data", "symmetric": False, "array": [high - value], "arrayminus": [value - low]},
                hovertemplate=f"{name}: %{{x:+.1%}} [{low:+.1%}, {high:+.1%}]<extra></extra>",
                showlegend=False,
            )
        )
    fig.add_vline(x=0, line_dash="dash", line_color="#6b7280", annotation_text="no effect")
    fig.update_layout(
        title=title,
        xaxis={"title": "change in churn rate", "tickformat": "+.0%"},
        height=120 + 40 * len(rows),
        margin={"l": 230},
    )
    return fig


def human_or_automated(human: dict, automation: dict) -> go.Figure:
    """A person's answer, an automated touch, a person's after an automated one, and human minus automated:
    each change in churn with its interval (the ones estimated)."""
    shown = [
        ("a person's answer", human, "green"),
        ("an automated touch", automation["automated_touch_effect"], "neutral"),
        ("a person, after an automated touch", automation["human_after_automated"], "green"),
        ("human minus automated", automation["human_minus_automated"], "red"),
    ]
    rows = [(name, e["estimate"], e["ci_low"], e["ci_high"], color) for name, e, color in shown if e is not None]
    return _changes(rows[::-1], "Human or automated: the change in churn each went with (percentage points)")


def balance(table: pd.DataFrame) -> go.Figure:
    """Each risk measure's standardized difference between touched and untouched, before and after weighting."""
    table = table.iloc[::-1]
    names = list(table["covariate"])
    fig = go.Figure()
    for column, name, color in (
        ("difference_before", "before weighting", COLORS["red"]),
        ("difference_after", "after weighting", COLORS["green"]),
    ):
        fig.add_trace(
            go.Scatter(x=table[column], y=names, mode="markers", name=name, marker={"size": 10, "color": color})
        )
    for edge in (-0.1, 0.1):
        fig.add_vline(x=edge, line_dash="dot", line_color="#9ca3af")
    fig.update_layout(
        title="Were touched and untouched accounts alike in risk? (|difference| under 0.1: balanced)",
        xaxis={"title": "standardized difference, touched minus untouched"},
        height=max(260, 100 + 28 * len(table)),
        margin={"l": 260},
    )
    return fig


def capacity_curve(
    curve: pd.DataFrame, axis: str = "accounts in the CSM's book when the account turned at risk"
) -> go.Figure:
    """By the CSM's book size when the account turned at risk: the share answered in time and the churn rate,
    each with its interval clustered by CSM."""
    fig = go.Figure()
    for column, name, color in (
        ("timely", "answered within the timely window", COLORS["green"]),
        ("churn", "churned", COLORS["red"]),
    ):
        rate = curve[f"{column}_rate"]
        fig.add_trace(
            go.Scatter(
                x=curve["book"],
                y=rate,
                mode="lines+markers",
                name=name,
                line={"color": color},
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": curve[f"{column}_ci_high"] - rate,
                    "arrayminus": rate - curve[f"{column}_ci_low"],
                    "thickness": 1,
                },
                customdata=curve[["decisions", "csms", "median_lag_days"]],
                hovertemplate="book %{x} accounts: %{y:.0%} (%{customdata[0]} decisions, %{customdata[1]} CSMs; "
                "median lag %{customdata[2]:.0f} days)<extra></extra>",
            )
        )
    fig.update_layout(
        title="Does a bigger book slow the answer to risk?",
        xaxis={"title": axis, "type": "category"},
        yaxis={"title": "share of at-risk decisions", "tickformat": ".0%", "range": [0, 1]},
        height=400,
    )
    return fig


def touches_before_renewal(mix: pd.DataFrame) -> go.Figure:
    """Human and automated touches per decision in each month before renewal, renewed and churned apart."""
    total = mix.groupby(["kind", "outcome", "month_before"])["touches_per_decision"].sum().reset_index()
    fig = go.Figure()
    for (kind, outcome), part in total.groupby(["kind", "outcome"]):
        fig.add_trace(
            go.Scatter(
                x=part["month_before"],
                y=part["touches_per_decision"],
                mode="lines+markers",
                name=f"{kind}, {outcome}",
                line={"color": COLORS[outcome], "dash": "solid" if kind == "human" else "dot"},
                hovertemplate=f"{kind} touches, {outcome}: %{{y:.2f}} per decision in month %{{x}} before "
                "renewal<extra></extra>",
            )
        )
    fig.update_layout(
        title="Touches per decision in the months before renewal (solid: by a person; dotted: automated)",
        xaxis={"title": "months before renewal", "autorange": "reversed", "dtick": 1},
        yaxis={"title": "touches per decision"},
        height=400,
    )
    return fig


def forecast_backtest(backtest: pd.DataFrame, upcoming: dict, quarter) -> go.Figure:
    """Each backtested quarter's forecast with its 90% interval against what renewed, beside last year's rate and
    the health colours; the quarter ahead at the right, its interval and no actual yet."""
    labels = [f"{q:%Y-%m-%d}" for q in backtest["quarter"]] + [f"{quarter:%Y-%m-%d} (ahead)"]
    forecast = [*backtest["forecast"], upcoming["expected"]]
    low, high = [*backtest["ci_low"], upcoming["ci_low"]], [*backtest["ci_high"], upcoming["ci_high"]]
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=labels,
            y=forecast,
            mode="markers",
            name="forecast (90% interval)",
            marker={"size": 10, "color": "#2563eb"},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": np.subtract(high, forecast),
                "arrayminus": np.subtract(forecast, low),
            },
            hovertemplate="%{x}: forecast %{y:,.0f}<extra></extra>",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=labels[:-1],
            y=backtest["renewed_arr"],
            mode="markers",
            name="renewed",
            marker={"size": 11, "symbol": "diamond", "color": "#111827"},
            hovertemplate="%{x}: renewed %{y:,.0f}<extra></extra>",
        )
    )
    baselines = {"last_year_forecast": "last year's renewal rate", "colour_forecast": "health colours' rates"}
    for column, name in baselines.items():
        if column in backtest:
            fig.add_trace(
                go.Scatter(
                    x=labels[:-1],
                    y=backtest[column],
                    mode="markers",
                    name=name,
                    marker={"size": 8, "symbol": "x"},
                    hovertemplate="%{x}: " + name + " %{y:,.0f}<extra></extra>",
                )
            )
    fig.update_layout(
        title="Renewing ARR per quarter: forecast from what was known at its start, against what renewed",
        height=420,
        xaxis={"title": "quarter from", "type": "category"},
        yaxis={"title": "renewing ARR", "tickformat": ",.0f"},
    )
    return fig
