"""Study configuration: documented defaults, overridden by a YAML file checked against a schema."""

from __future__ import annotations

from pathlib import Path

import yaml

from ..errors import UsageError
from .engines import ENGINES
from .schema import problems

DEFAULTS: dict = {
    "segment": None,  # judge only decisions of this segment, e.g. "Enterprise"
    # what one renewal decision is: each contract term (terms), or an account on each date its terms come up,
    # churned only when it keeps no ARR after it (accounts: for books of many concurrent subscriptions)
    "decision_unit": "terms",
    "segment_column": "segment",  # the accounts column that holds segments
    "extra_signals": [],  # numeric columns of accounts or contracts to test as signals too
    "min_events": 10,  # fewer churned (or renewed) decisions than this: a warning, not a verdict
    # The report's family of tests: the signals it judges, with intervals simultaneous across the whole
    # report (null: every signal the data allows, the scoreboard).
    "signals": None,
    "min_useful_auc": 0.60,  # an AUC the team would act on; intervals inside 1 - this .. this rule a signal out
    "health_red_below": 40,  # overall health score below this is red
    "health_green_from": 70,  # ... from this on green, yellow in between
    # Person-level health where the data has no person-level scores: 0-100 components and their weights.
    "scorecard_weights": {"usage": 0.5, "survey": 0.3, "recency": 0.2},
    # Activities on these channels are routines on a cadence (reviews), not answers to risk: the touch effect
    # counts them as a covariate, never as the treatment.
    "routine_channels": ["qbr"],
    "currency": "USD",  # ISO code of the money in the data: pages show $, € or £ (other codes as written)
    "engine": "duckdb",  # where the queries over usage run: duckdb (this machine), spark or warehouse (README)
    # engine warehouse: {url_from: an environment variable holding the connection URL, usage: the table}
    "warehouse": None,
}

_SCORE = {"type": "number", "minimum": 0, "maximum": 100}
SCHEMA = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "segment": {"type": ["string", "null"]},
        "decision_unit": {"enum": ["terms", "accounts"]},
        "segment_column": {"type": "string", "minLength": 1},
        "extra_signals": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "min_events": {"type": "integer", "minimum": 1},
        "signals": {"type": ["array", "null"], "minItems": 1, "items": {"type": "string", "minLength": 1}},
        "min_useful_auc": {"type": "number", "exclusiveMinimum": 0.5, "exclusiveMaximum": 1},
        "health_red_below": _SCORE,
        "health_green_from": _SCORE,
        "routine_channels": {"type": "array", "items": {"type": "string", "minLength": 1}},
        "currency": {"type": "string", "pattern": "^[A-Z]{3}$"},
        "engine": {"enum": list(ENGINES)},
        "warehouse": {
            "type": ["object", "null"],
            "additionalProperties": False,
            "required": ["url_from", "usage"],
            "properties": {
                "url_from": {"type": "string", "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                "usage": {"type": "string", "minLength": 1},
            },
        },
        "scorecard_weights": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "properties": {name: {"type": "number", "minimum": 0} for name in DEFAULTS["scorecard_weights"]},
        },
    },
}


def load_config(path: str | Path | None = None) -> dict:
    """DEFAULTS updated by the YAML mapping in `path`; a setting that is unknown, of the wrong type or out
    of range is an error that names it, never a silent no-op."""
    config = dict(DEFAULTS)
    if not path:
        return config
    path = Path(path)
    try:
        if not path.is_file():
            raise UsageError(f"config file {path}: not found (or not a regular file); check the --config path")
        given = yaml.safe_load(path.read_text(encoding="utf-8-sig")) or {}
    except OSError as error:
        raise UsageError(f"config file {path}: cannot be read ({error.strerror}); check the --config path") from None
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise UsageError(f"config file {path}: not valid YAML ({error})") from None
    broken = problems(given, SCHEMA)
    if not broken and given.get("scorecard_weights") is not None and not any(given["scorecard_weights"].values()):
        broken.append("scorecard_weights: every weight is 0; give at least one a weight above 0")
    config.update(given if isinstance(given, dict) else {})
    if not broken and config["health_red_below"] > config["health_green_from"]:
        broken.append(
            f"health_red_below ({config['health_red_below']}) is above health_green_from "
            f"({config['health_green_from']}); red must start below green"
        )
    if broken:
        raise UsageError(
            f"config file {path} is not valid:\n  "
            + "\n  ".join(broken)
            + "\nSee the settings and their defaults in workbench/config.py or the README."
        )
    return config
