"""Pages of bounded size: charts carry aggregates, not every decision, and long lists link a CSV of all rows."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from workbench.publish import charts, first_screen, report


def decisions(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "at_risk": rng.random(n) < 0.6,
            "lag_days": rng.integers(0, 200, n).astype(float),
            "touched": rng.random(n) < 0.7,
            "renewed": rng.random(n) < 0.85,
            "health_gap": rng.normal(8, 12, n),
        }
    )


def test_the_touch_curve_has_one_step_per_day_and_ends_where_the_whole_curve_ends():
    frame = decisions(50_000)
    curve = charts.touched_by_day(frame, 45).data[0]
    assert len(curve.x) <= 201
    risk = frame.loc[frame["at_risk"]].sort_values("lag_days")
    at_risk = len(risk) - np.arange(len(risk))
    every = 1 - np.cumprod(1 - risk["touched"].to_numpy() / at_risk)
    assert curve.y[-1] == every[-1]
    day = risk["lag_days"].to_numpy()
    for shown_day, shown in zip(curve.x[1:], curve.y[1:]):
        assert shown == every[np.flatnonzero(day == shown_day)[-1]]


def test_the_health_gap_chart_carries_bins_whose_shares_add_up_to_the_whole():
    frame = decisions(50_000)
    figure = charts.gap_distribution(frame)
    for trace in figure.data:
        assert len(trace.y) < 100
        assert abs(sum(trace.y) - 100) < 1e-6


def test_a_long_list_shows_its_first_rows_and_leaves_all_of_them_in_a_csv(tmp_path, monkeypatch):
    shown = []
    monkeypatch.setattr(report, "display", lambda html: shown.append(html.data))
    team = pd.DataFrame({"csm": [f"CSM <{i}>" for i in range(300)], "accounts": range(300)})
    report.long_table(team, "csm_team", str(tmp_path), rows=25, caption="Per CSM.")
    assert pd.read_csv(tmp_path / "csm_team.csv").equals(team)
    assert shown[0].count("<tr") == 26  # the header and 25 rows
    assert "The first 25 of 300 rows are shown." in shown[0] and "CSM &lt;24&gt;" in shown[0]
    assert 'href="csm_team.csv"' in shown[1]
    shown.clear()
    report.long_table(team.head(10), "csm_team_short", str(tmp_path), rows=25)
    assert len(shown) == 1 and not (tmp_path / "csm_team_short.csv").exists()


def test_final_attainment_boxes_carry_their_quartiles_not_every_decision_in_a_large_book():
    rng = np.random.default_rng(3)
    frame = decisions(60_000).assign(
        attainment_final=rng.normal(0.7, 0.3, 60_000), churn_reason=rng.choice(["price", "value", None], 60_000)
    )
    large = charts.final_attainment_by_reason(frame)
    small = charts.final_attainment_by_reason(frame.head(1_000))
    assert len(large.to_json()) < 20_000 and all(trace.y is None for trace in large.data)
    assert sum(len(trace.y) for trace in small.data) == int((~frame.head(1_000)["renewed"]).sum())  # every point
    churned = frame.loc[~frame["renewed"]]
    price = churned.loc[churned["churn_reason"] == "price", "attainment_final"]
    box = next(trace for trace in large.data if trace.name.startswith("price"))
    assert np.allclose([box.q1[0], box.median[0], box.q3[0]], np.percentile(price, [25, 50, 75]))
    assert box.lowerfence[0] >= price.min() and box.upperfence[0] <= price.max()
    assert any(trace.name.startswith("unknown") for trace in large.data)  # no reason recorded is a box too


def contrast(foreground: str, background: str) -> float:
    """WCAG 2 contrast ratio of two #rrggbb colours."""

    def luminance(colour: str) -> float:
        channels = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
        linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    lighter, darker = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def test_the_first_screen_s_words_meet_wcag_aa_contrast_and_every_colour_has_its_words():
    assert contrast("#000000", "#ffffff") == pytest.approx(21)
    for words, colour in first_screen.WORDS.values():
        assert words and contrast("#ffffff", colour) >= 4.5, (words, colour)  # white words on the chip
    for colour in re.findall(r"(?<!background: )color: (#[0-9a-f]{6})", first_screen.STYLE):
        if colour != "#fff":
            assert contrast(colour, "#ffffff") >= 4.5, colour  # small type on the white page
