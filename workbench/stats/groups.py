"""Metrics that move together: groups from the correlation structure (clustering on 1 - |correlation|), so a
model or a scorecard does not split weight between twins."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.cluster.hierarchy import fcluster, linkage


def correlated_groups(frame: pd.DataFrame, threshold: float = 0.7) -> np.ndarray:
    """A group label per column of `frame`: columns joined (average linkage) while |correlation| > threshold."""
    if frame.shape[1] == 1:
        return np.array([1])
    correlation = frame.corr().fillna(0).to_numpy()
    distance = 1 - np.abs(correlation)
    condensed = distance[np.triu_indices_from(distance, k=1)]
    return fcluster(linkage(np.clip(condensed, 0, None), "average"), 1 - threshold, criterion="distance")
