"""The two small languages of a mapping file: row conditions (`where`) and computed columns (`compute`).

A computed column is arithmetic over other columns, parsed with Python's own parser and then checked
node by node against a short list (numbers, column names, + - * / and parentheses): nothing is ever
evaluated as code. Column names that are not identifiers go in backticks: `Monthly Revenue` * 12.
"""

from __future__ import annotations

import ast
import operator
import re

import numpy as np
import pandas as pd

_OPERATORS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_QUOTED = re.compile(r"`([^`]+)`")
COMPARISONS = {"gt": operator.gt, "ge": operator.ge, "lt": operator.lt, "le": operator.le}


class ExpressionError(ValueError):
    """An expression or condition the mapping language does not allow; the message says why."""


def compute(frame: pd.DataFrame, expression: str) -> pd.Series:
    """The value of `expression` for every row of `frame` (NaN where a cell is not a number)."""
    names: dict[str, str] = {}

    def placeholder(match: re.Match) -> str:
        names[f"_column{len(names)}"] = match.group(1)
        return f"_column{len(names) - 1}"

    try:
        tree = ast.parse(_QUOTED.sub(placeholder, expression.strip()), mode="eval")
    except SyntaxError:
        raise ExpressionError(f"'{expression}' is not arithmetic over columns (for example: mrr * 12)") from None

    def value(node):
        if isinstance(node, ast.Expression):
            return value(node.body)
        if isinstance(node, ast.BinOp) and type(node.op) in _OPERATORS:
            with np.errstate(divide="ignore", invalid="ignore"):
                result = _OPERATORS[type(node.op)](value(node.left), value(node.right))
            return result.replace([np.inf, -np.inf], np.nan) if isinstance(result, pd.Series) else result
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.UAdd)):
            return -value(node.operand) if isinstance(node.op, ast.USub) else value(node.operand)
        if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)) and not isinstance(node.value, bool):
            return float(node.value)
        if isinstance(node, ast.Name):
            column = names.get(node.id, node.id)
            if column not in frame:
                raise ExpressionError(
                    f"'{expression}' names a column '{column}' the table does not have "
                    f"(columns: {', '.join(str(c) for c in frame.columns if not str(c).startswith('__'))})"
                )
            return pd.to_numeric(frame[column], errors="coerce").astype(float)
        raise ExpressionError(
            f"'{expression}' uses '{ast.unparse(node)}'; a computed column may use numbers, "
            f"column names, + - * / and parentheses only"
        )

    result = value(tree)
    return result if isinstance(result, pd.Series) else pd.Series(result, index=frame.index, dtype=float)


def condition(column: pd.Series, rule, date_format: str) -> np.ndarray:
    """Which rows keep: `rule` is a list of values to keep, or a set of conditions that must all hold
    (in, not_in, empty, not_empty, eq, ne, and gt/ge/lt/le against a number or a YYYY-MM-DD date)."""
    text = column.astype("str").str.strip().where(column.notna(), "")
    if isinstance(rule, list):
        return text.isin([str(v) for v in rule]).to_numpy()
    keep = np.ones(len(column), dtype=bool)
    for test, expected in rule.items():
        if test == "in":
            keep &= text.isin([str(v) for v in expected]).to_numpy()
        elif test == "not_in":
            keep &= ~text.isin([str(v) for v in expected]).to_numpy()
        elif test in ("empty", "not_empty"):
            blank = (text == "").to_numpy()
            keep &= blank if (test == "empty") == bool(expected) else ~blank
        elif test in ("eq", "ne"):
            same = (text == str(expected)).to_numpy()
            keep &= same if test == "eq" else ~same
        else:
            left, right = _comparable(column, expected, date_format)
            keep &= COMPARISONS[test](left, right).fillna(False).to_numpy(dtype=bool)
    return keep


def _comparable(column: pd.Series, expected, date_format: str):
    """The column as dates (when `expected` is a YYYY-MM-DD date) or numbers, and `expected` likewise."""
    if isinstance(expected, str):
        try:
            bound = pd.Timestamp(expected)
        except ValueError:
            raise ExpressionError(f"'{expected}' is neither a number nor a date written YYYY-MM-DD") from None
        return pd.to_datetime(column, format=date_format, errors="coerce"), bound
    return pd.to_numeric(column, errors="coerce"), float(expected)
