"""Proportions with honest intervals."""
from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def wilson(events, n, level: float = 0.95) -> tuple[np.ndarray, np.ndarray]:
    """Wilson score interval for events/n (NaN where n is 0)."""
    events, n = np.asarray(events, dtype=float), np.asarray(n, dtype=float)
    z = stats.norm.ppf(0.5 + level / 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = events / n
        centre = (p + z**2 / (2 * n)) / (1 + z**2 / n)
        half = z * np.sqrt(p * (1 - p) / n + z**2 / (4 * n**2)) / (1 + z**2 / n)
    return centre - half, centre + half


def rate_table(frame: pd.DataFrame, by, event: str) -> pd.DataFrame:
    """Per group of `by`: n, events, rate of the boolean column `event`, and its Wilson interval."""
    grouped = frame.groupby(by, observed=True)[event]
    table = pd.DataFrame({"n": grouped.size(), "events": grouped.sum().astype(int)})
    table["rate"] = table["events"] / table["n"]
    table["ci_low"], table["ci_high"] = wilson(table["events"], table["n"])
    return table.reset_index()
