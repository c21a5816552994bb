"""Study configuration: documented defaults, overridden by a YAML file."""
from __future__ import annotations

from pathlib import Path

import yaml

from .errors import UsageError

DEFAULTS: dict = {
    "segment": None,  # judge only decisions of this segment, e.g. "Enterprise"
    "segment_column": "segment",  # the accounts column that holds segments
    "extra_signals": [],  # numeric columns of accounts or contracts to test as signals too
    "min_events": 10,  # fewer churned (or renewed) decisions than this: a warning, not a verdict
    "health_red_below": 40,  # overall health score below this is red
    "health_green_from": 70,  # ... from this on green, yellow in between
    # Person-level health where the data has no person-level scores: 0-100 components and their weights.
    "scorecard_weights": {"usage": 0.5, "survey": 0.3, "recency": 0.2},
}


def load_config(path: str | Path | None = None) -> dict:
    """DEFAULTS updated by the YAML mapping in `path`; unknown keys are an error, not a silent no-op."""
    config = dict(DEFAULTS)
    if not path:
        return config
    path = Path(path)
    try:
        given = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except OSError as error:
        raise UsageError(f"config file {path}: cannot be read ({error.strerror}); check the --config path") from None
    except yaml.YAMLError as error:
        raise UsageError(f"config file {path}: not valid YAML ({error})") from None
    if not isinstance(given, dict):
        raise UsageError(f"config file {path}: expected a mapping of settings, found {type(given).__name__}")
    unknown = sorted(set(given) - set(DEFAULTS))
    if unknown:
        raise UsageError(f"config file {path}: unknown settings {unknown}; known settings: {sorted(DEFAULTS)}")
    config.update(given)
    return config
