"""Where the usage queries run: DuckDB on the study's own database file (the default), or Spark.

DuckDB answers on one machine up to hundreds of millions of usage rows. Spark (local mode here, a cluster
through `WORKBENCH_SPARK_MASTER`) reads the checked usage as Parquet; its results must equal DuckDB's, and a
test runs the same queries on both.
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import UsageError

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
        from .warehouse import connect as connect_warehouse
        from .warehouse import contract_columns

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


def execute(connection, expression: ibis.Expr) -> pd.DataFrame:
    """The result as pandas, through Arrow on every engine, so integers with nulls come back as floats alike."""
    return connection.to_pyarrow(expression).to_pandas()


def spark_session():
    """This process's Spark session (started once: a JVM takes seconds)."""
    try:
        from pyspark.sql import SparkSession
    except ImportError:
        raise UsageError("engine spark needs pyspark: pip install -c constraints.txt -e '.[spark]'") from None
    master = os.environ.get("WORKBENCH_SPARK_MASTER", "local[*]")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")  # else Spark warns of this machine's host name
    builder = SparkSession.builder.master(master).appName("workbench")
    logging = Path(__file__).with_name("spark-log4j2.properties")
    for key, value in {
        **SPARK_SETTINGS,
        "spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile=file:{logging}",
    }.items():
        builder = builder.config(key, value)
    session = builder.getOrCreate()
    session.sparkContext.setLogLevel("ERROR")
    return session
