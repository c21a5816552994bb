"""Where the usage queries run: DuckDB on the study's own database file (the default), Spark, or a warehouse.

DuckDB answers on one machine up to hundreds of millions of usage rows. Spark (local mode here, a cluster
through `WORKBENCH_SPARK_MASTER`) reads the checked usage as Parquet. A warehouse is reached through the
Ibis connection URL an environment variable holds, and its usage table is read where it lies
(warehouse.py checks it there). Each engine's answers must equal DuckDB's; the tests run them on all.
"""

from __future__ import annotations

import os
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import Problem, UsageError

if TYPE_CHECKING:  # ibis takes a third of a second to import: only the queries need it
    import ibis
    import pandas as pd

ENGINES = ("duckdb", "spark", "warehouse")
DATABASE, PARQUET = "usage.duckdb", "usage.parquet"
SPARK_SETTINGS = {
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.shuffle.partitions": "8",  # the default 200 is for clusters; a laptop's join pays for each
    "spark.sql.execution.arrow.pyspark.enabled": "true",
    "spark.driver.memory": os.environ.get("WORKBENCH_SPARK_MEMORY", "2g"),
}


def check_engine(engine: str, warehouse: dict | None = None) -> str:
    if engine not in ENGINES:
        raise UsageError(f"engine {engine!r} is not known; use one of: {', '.join(ENGINES)}")
    if engine == "warehouse" and not warehouse:
        raise UsageError(
            "engine warehouse needs a `warehouse:` section in the config file: url_from (the environment "
            "variable that holds the connection URL) and usage (the table that holds usage); see the README"
        )
    return engine


def files(engine: str) -> tuple[str, ...]:
    """The files of the usage store that `engine` reads (DuckDB's database is always kept: it was checked there)."""
    return {"spark": (DATABASE, PARQUET), "duckdb": (DATABASE,)}.get(engine, ())


def connect(usage, configure) -> tuple[object, ibis.Table]:
    """An Ibis connection for the usage's engine and the usage table in it; `configure` sets up a raw DuckDB
    connection."""
    import ibis

    if usage.engine == "warehouse":
        connection, table, _ = connect_warehouse(usage.warehouse)
        return connection, contract_columns(table)
    folder = usage.database.parent
    if usage.engine == "spark":
        connection = ibis.pyspark.connect(spark_session())
        name = f"usage_{uuid.uuid4().hex}"
        return connection, connection.read_parquet(str(folder / PARQUET), table_name=name)
    connection = ibis.duckdb.connect(str(folder / DATABASE), read_only=True)
    configure(connection.con)
    return connection, connection.table("usage")


def disconnect(engine: str, connection, table: ibis.Table) -> None:
    """Close the connection; on Spark only drop the view (the session serves the whole process)."""
    if engine == "spark":
        connection._session.catalog.dropTempView(table.get_name())
    else:
        connection.disconnect()


# What Spark says where a worker cannot open a file the driver named.
NOT_READABLE = ("FileNotFoundException", "PATH_NOT_FOUND", "Path does not exist", "No such file or directory")


@contextmanager
def unreadable_on_cluster(path: Path | None):
    """On a Spark cluster, a question whose workers could not read the usage store at `path` raises a
    UsageError that says where it lies and what to do, not Spark's stack trace."""
    master = os.environ.get("WORKBENCH_SPARK_MASTER", "local[*]")
    try:
        yield
    except Exception as error:
        if path is None or master.startswith("local") or not any(sign in str(error) for sign in NOT_READABLE):
            raise
        raise UsageError(
            f"engine spark: the cluster at {master} could not read the usage store at {path}: it lies in the "
            "run's cache folder on this machine, which its workers cannot see. Run the study where the workers "
            "share that file system (a shared folder for the report's output), or with WORKBENCH_SPARK_MASTER "
            "unset to run Spark on this machine"
        ) from None


def execute(connection, expression: ibis.Expr) -> pd.DataFrame:
    """The result as pandas, through Arrow on every engine, so integers with nulls come back as floats alike."""
    return connection.to_pyarrow(expression).to_pandas()


# A cluster application's share, per process of a run: (the variable that sets it, its default).
CLUSTER_SHARES = {
    "spark.cores.max": ("WORKBENCH_SPARK_CORES", "2"),
    "spark.executor.memory": ("WORKBENCH_SPARK_EXECUTOR_MEMORY", "1g"),
}


def spark_session():
    """This process's Spark session (started once: a JVM takes seconds)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("engine spark needs pyspark: pip install -c constraints.txt -e '.[spark]'") from None
    master = os.environ.get("WORKBENCH_SPARK_MASTER", "local[*]")
    builder = SparkSession.builder.master(master).appName("workbench")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark warns of this machine's host name
    else:
        # Each process of a run (the runner and every kernel) is an application of its own, and on a standalone
        # cluster the first would take every core and leave the others waiting for the whole run.
        for key, value in CLUSTER_SHARES.items():
            builder = builder.config(key, os.environ.get(value[0], value[1]))
    logging = Path(__file__).with_name("spark-log4j2.properties")
    for key, value in {
        **SPARK_SETTINGS,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{logging}",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session


EXAMPLE_URL = "snowflake://user:password@account/database/schema?warehouse=WAREHOUSE"


def connect_warehouse(settings: dict):
    """The Ibis connection the settings' environment variable names, and the usage table there in the
    contract's columns (day: days since the epoch)."""
    import ibis

    variable = settings["url_from"]
    url = os.environ.get(variable, "")
    if not url:
        raise UsageError(
            f"engine warehouse: the environment variable {variable} (warehouse: url_from in the config) is not "
            f"set; set it to the warehouse's connection URL, e.g. {EXAMPLE_URL}"
        )
    try:
        connection = ibis.connect(url)
    except Exception as error:  # noqa: BLE001 - every driver raises its own kind
        raise UsageError(
            f"engine warehouse: could not connect with the URL in {variable} ({type(error).__name__}: {error}); "
            "check the URL, the credentials and that the driver is installed (pip install 'ibis-framework[NAME]')"
        ) from None
    return connection, *_table(connection, settings["usage"])


def _table(connection, name: str):
    *where, table = name.split(".")
    try:
        found = connection.table(table, database=tuple(where) if len(where) > 1 else (where[0] if where else None))
    except Exception as error:  # noqa: BLE001
        problem = Problem(
            f"warehouse table {name}",
            None,
            f"the table could not be read ({type(error).__name__}: {error})",
            "a table with the contract's usage columns that this connection may read",
            "check `usage:` under `warehouse:` in the config (schema.table) and the role's grants",
        )
        return None, [problem]
    return found, []


def contract_columns(table):
    """The table in the contract's columns, typed as the queries need them; missing optional columns are
    empty."""
    import ibis

    schema = table.schema()

    def text(name):
        return table[name].cast("string") if name in schema else ibis.null("string")

    date = table["date"]
    if date.type().is_timestamp():
        date = date.date()
    elif date.type().is_string():
        date = date.as_date("%Y-%m-%d")
    return table.select(
        account_id=text("account_id"),
        contact_id=text("contact_id"),
        feature=text("feature"),
        day=date.epoch_days().cast("int64"),
        month=date.truncate("M"),
        events=table["events"].cast("float64"),
    )
