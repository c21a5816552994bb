"""Activities where they lie: the CS team's touches (a row per call, meeting or email, human or automated),
checked and kept in DuckDB (stored.py). At a million accounts they are tens of millions of rows; a study
asks three things of them: the first human touch after a day, each account's busiest CSM, and the touches
in the months before each renewal."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from ..errors import Problem
from .contract import TABLES
from .stored import Stored, StoredSource, points, store


class Activities(Stored):
    """The checked activities, and the (kind, channel) pairs they hold (`kinds`, channel "other" when empty)."""

    def __init__(self, database, label, columns, summary, per_month, kinds: pd.DataFrame):
        super().__init__(database, label, columns, summary, per_month)
        self.kinds = kinds

    def following(
        self, account: pd.Series, day: np.ndarray, kind: str = "human", channels=None, exclude=()
    ) -> np.ndarray:
        """Per (account, day): the day (since the epoch) of its first `kind` touch on or after `day` (NaN when
        none), on one of `channels` only where given, never on one of `exclude` (channels compared in lower case,
        an empty channel as "other")."""
        chosen, excluded = channels is not None, bool(len(exclude))
        names = [str(c).lower() for c in (channels if chosen else exclude)]
        where = f"kind = '{kind}'"
        if chosen or excluded:
            where += f" AND lower(coalesce(channel, 'other')) {'' if chosen else 'NOT '}IN (SELECT name FROM names)"
        found = self.ask(
            f"""SELECT p.position, a.day FROM points p ASOF JOIN (
                    SELECT account_id, day FROM activities WHERE {where}
                ) a ON p.entity = a.account_id AND p.day <= a.day""",
            points=points(account, day),
            names=pa.table({"name": pa.array(names, type=pa.string())}),
        )
        out = np.full(len(account), np.nan)
        out[found["position"].to_numpy()] = found["day"].to_numpy(dtype=float)
        return out

    def busiest_csm(self) -> pd.Series:
        """Per account: the CSM who made most of its human touches (the first by name on a tie)."""
        found = self.ask("""
            SELECT account_id, csm FROM (
                SELECT account_id, csm, count(*) AS touches FROM activities
                WHERE kind = 'human' AND csm IS NOT NULL GROUP BY account_id, csm
            ) QUALIFY row_number() OVER (PARTITION BY account_id ORDER BY touches DESC, csm) = 1""")
        return found.set_index("account_id")["csm"]

    def touches_before(self, account: pd.Series, end_day: np.ndarray, group: np.ndarray, months: int) -> pd.DataFrame:
        """Touches by kind, channel and `group` in each of the `months` months (30 days) before each end_day:
        month_before 1 is the 30 days ending the day before. Columns: kind, channel, month_before, group, n."""
        grouped = points(account, end_day).append_column("grouping", pa.array(np.asarray(group).astype(str)))
        return self.ask(
            f"""SELECT a.kind, coalesce(a.channel, 'other') AS channel,
                       (p.day - 1 - a.day) // 30 + 1 AS month_before, p.grouping AS "group", count(*) AS n
                FROM points p JOIN activities a ON a.account_id = p.entity
                     AND a.day < p.day AND a.day >= p.day - {30 * int(months)}
                GROUP BY ALL""",
            points=grouped,
        )


def load_activities(
    source: StoredSource, accounts: pd.DataFrame | None, contacts: pd.DataFrame | None
) -> tuple[Activities | None, list[Problem]]:
    """Check every contract rule of activities in DuckDB and keep them in a database in a temporary folder that is
    deleted with the Activities object (`move_to` hands it to a study)."""
    database, described, problems = store(source, TABLES["activities"], {"accounts": accounts, "contacts": contacts})
    if database is None:
        return None, problems
    import duckdb

    with duckdb.connect(str(database), read_only=True) as connection:
        kinds = connection.sql(
            "SELECT DISTINCT kind, coalesce(channel, 'other') AS channel FROM activities ORDER BY kind, channel"
        ).df()
    activities = Activities(
        database, source.label, described["columns"], described["summary"], described["per_month"], kinds
    )
    activities.own(database.parent)
    return activities, problems
