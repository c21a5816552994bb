"""Goal inputs where they lie: the drivers of each goal's north-star metric (a value per input per day, against
its own target), checked and kept in DuckDB (stored.py). At a million accounts they are 49 million rows; a
study only ever asks which input of a lagging goal is furthest behind its target."""

from __future__ import annotations

import pandas as pd
import pyarrow as pa

from ..errors import Problem
from .contract import TABLES
from .stored import Stored, StoredSource, file_order, store


class GoalInputs(Stored):
    """The checked goal inputs."""

    def lags(self, goal_ids: pd.Series, day) -> pd.DataFrame:
        """Each of the goals' inputs at `day`: its latest value on or before it against its target (pace, where
        the target is above 0), slowest first per goal. Columns: goal_id, input, value, target, pace."""
        goals = pa.table({"goal_id": pa.array(pd.Series(goal_ids).astype("str").unique(), type=pa.string())})
        until = int((pd.Timestamp(day) - pd.Timestamp("1970-01-01")).days)
        found = self.ask(
            f"""SELECT i.goal_id, i.input, arg_max(i.value, {file_order("i")}) AS value,
                       arg_max(i.target, {file_order("i")}) AS target
                FROM goal_inputs i JOIN goals g ON g.goal_id = i.goal_id
                WHERE i.day <= {until} AND i.target > 0
                GROUP BY i.goal_id, i.input""",
            goals=goals,
        )
        found["pace"] = found["value"].to_numpy(dtype=float) / found["target"].to_numpy(dtype=float)
        return found.sort_values(["goal_id", "pace", "input"], kind="stable").reset_index(drop=True)


def load_goal_inputs(source: StoredSource, goals: pd.DataFrame | None) -> tuple[GoalInputs | None, list[Problem]]:
    """Check every contract rule of goal_inputs in DuckDB and keep them in a database in a temporary folder that
    is deleted with the GoalInputs object (`move_to` hands it to a study)."""
    database, described, problems = store(source, TABLES["goal_inputs"], {"goals": goals})
    if database is None:
        return None, problems
    inputs = GoalInputs(database, source.label, described["columns"], described["summary"], described["per_month"])
    inputs.own(database.parent)
    return inputs, problems
