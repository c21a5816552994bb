"""Checking a YAML settings file (config or mapping) against a declared JSON Schema, in words.

Each broken rule becomes one sentence that names the file, the key's path, what was found and what
was expected; a misspelt key is named with the nearest key the format knows.
"""

from __future__ import annotations

import difflib

TYPE_WORDS = {
    "string": "text",
    "integer": "a whole number",
    "number": "a number",
    "boolean": "true or false",
    "array": "a list",
    "object": "a set of key: value entries",
    "null": "nothing",
}


def problems(value, schema: dict) -> list[str]:
    """Every way `value` breaks `schema`, as sentences (empty when it conforms)."""
    # Imported here: jsonschema's format checkers take a second to import, and most runs have no config.
    from jsonschema import Draft202012Validator

    found = []
    for error in sorted(
        Draft202012Validator(schema).iter_errors(value), key=lambda e: [str(p) for p in e.absolute_path]
    ):
        where = ".".join(str(p) for p in error.absolute_path) or "the file"
        found.append(f"{where}: {_sentence(error)}")
    return found


def _json_type(value) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean"}.get(type(value), "number")


def _located(error) -> str:
    where = ".".join(str(p) for p in error.relative_path)
    return f"{where}: {_sentence(error)}" if where else _sentence(error)


def _sentence(error) -> str:
    if error.validator == "additionalProperties":
        known = sorted(error.schema.get("properties", {}))
        unknown = sorted(set(error.instance) - set(known), key=str)
        parts = []
        for key in unknown:
            near = difflib.get_close_matches(str(key), known, n=1, cutoff=0.6)
            parts.append(f"unknown key '{key}'" + (f" (did you mean '{near[0]}'?)" if near else ""))
        return "; ".join(parts) + f". Known keys: {', '.join(known)}"
    if error.validator == "type":
        expected = error.validator_value if isinstance(error.validator_value, list) else [error.validator_value]
        return f"{error.instance!r} is not {' or '.join(TYPE_WORDS.get(t, t) for t in expected)}"
    if error.validator == "enum":
        return f"{error.instance!r} is not one of {', '.join(map(repr, error.validator_value))}"
    if error.validator in ("minimum", "exclusiveMinimum", "maximum", "exclusiveMaximum"):
        words = {"minimum": "at least", "exclusiveMinimum": "above", "maximum": "at most", "exclusiveMaximum": "below"}
        return f"{error.instance!r} is out of range: expected a value {words[error.validator]} {error.validator_value}"
    if error.validator in ("minItems", "maxItems"):
        if error.schema.get("minItems") == error.schema.get("maxItems"):
            return f"{error.instance!r} has {len(error.instance)} entries: expected {error.validator_value}"
        return f"{error.instance!r} has too {'few' if error.validator == 'minItems' else 'many'} entries"
    if error.validator == "oneOf":
        kinds = [option.get("type") for option in error.validator_value]
        matching = [i for i, kind in enumerate(kinds) if kind == _json_type(error.instance)]
        if matching:  # the right kind of value, wrong inside: say what is wrong inside
            inner = [e for e in error.context if e.schema_path[0] == matching[0]]
            return "; ".join(_located(e) for e in inner) or error.message
        return f"{error.instance!r} is not {' or '.join(TYPE_WORDS.get(k, str(k)) for k in kinds)}"
    if error.validator == "pattern":
        return (
            f"{error.instance!r} is not written as expected ({error.schema.get('description', error.validator_value)})"
        )
    return error.message
