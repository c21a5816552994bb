"""The engines against real servers: usage in a throwaway PostgreSQL, queries on a standalone Spark cluster; each
study's figures must equal DuckDB's, figure for figure."""

import pytest
from warehouses import postgres_missing, postgres_server, spark_cluster, spark_missing, without_usage

from benchmarks.run import different_figures
from workbench.cli import main

AS_OF = "2026-10-31"


@pytest.fixture(scope="module")
def duckdb_study(small_world, tmp_path_factory):
    out = tmp_path_factory.mktemp("duckdb") / AS_OF
    assert main(["study", "--data", str(small_world), "--as-of", AS_OF, "--out", str(out)]) == 0
    return out / "results.json"


def load_usage(url: str, usage_csv) -> None:
    """The usage as Fivetran or Airbyte would land it: a table of a schema of its own, dates as DATE."""
    import psycopg

    with psycopg.connect(url.replace("postgres://", "postgresql://"), autocommit=True) as connection:
        connection.execute("CREATE SCHEMA analytics")
        connection.execute(
            "CREATE TABLE analytics.product_usage "
            "(account_id text, contact_id text, date date, feature text, events double precision, landed_at text)"
        )
        with open(usage_csv) as file, connection.cursor() as cursor:
            columns = file.readline().strip()
            assert columns == "account_id,contact_id,date,feature,events"
            with cursor.copy(f"COPY analytics.product_usage ({columns}) FROM STDIN WITH (FORMAT csv)") as copy:
                while block := file.read(1 << 20):
                    copy.write(block)


@pytest.mark.skipif(bool(postgres_missing()), reason=postgres_missing() or "-")
def test_a_study_with_usage_in_postgresql_gives_the_duckdb_studys_figures(
    small_world, duckdb_study, tmp_path, monkeypatch
):
    data = without_usage(small_world, tmp_path / "data")
    config = tmp_path / "study.yml"
    config.write_text("engine: warehouse\nwarehouse:\n  url_from: STUDY_POSTGRES\n  usage: analytics.product_usage\n")
    with postgres_server() as url:
        load_usage(url, small_world / "usage.csv")
        monkeypatch.setenv("STUDY_POSTGRES", url)
        out = tmp_path / "postgres" / AS_OF
        arguments = ["study", "--data", str(data), "--as-of", AS_OF, "--out", str(out), "--config", str(config)]
        assert main(arguments) == 0
    # only where it ran from: the folder without usage.csv, and the config naming the warehouse
    assert different_figures(duckdb_study, out / "results.json") == ["/run/config", "/run/data_dir"]


@pytest.mark.skipif(bool(spark_missing()), reason=spark_missing() or "-")
def test_a_study_on_a_standalone_spark_cluster_gives_the_duckdb_studys_figures(
    small_world, duckdb_study, tmp_path, monkeypatch
):
    with spark_cluster() as master:
        monkeypatch.setenv("WORKBENCH_SPARK_MASTER", master)
        monkeypatch.setenv("WORKBENCH_SPARK_CORES", "1")
        monkeypatch.setenv("WORKBENCH_SPARK_EXECUTOR_MEMORY", "512m")
        out = tmp_path / "spark" / AS_OF
        arguments = ["study", "--data", str(small_world), "--as-of", AS_OF, "--out", str(out), "--engine", "spark"]
        assert main(arguments) == 0
    assert different_figures(duckdb_study, out / "results.json") == []


def test_a_cluster_whose_workers_cannot_read_the_usage_store_is_told_where_it_lies(monkeypatch, tmp_path):
    from workbench.errors import UsageError
    from workbench.inputs.engines import unreadable_on_cluster

    store = tmp_path / "usage.parquet"
    failure = RuntimeError(f"Job aborted: java.io.FileNotFoundException: File file:{store} does not exist")
    monkeypatch.setenv("WORKBENCH_SPARK_MASTER", "spark://cluster.example:7077")
    with pytest.raises(UsageError, match="workers cannot see") as told, unreadable_on_cluster(store):
        raise failure
    assert str(store) in str(told.value) and "spark://cluster.example:7077" in str(told.value)
    with pytest.raises(RuntimeError), unreadable_on_cluster(store):  # any other failure is not this one
        raise RuntimeError("Job aborted: out of memory")
    monkeypatch.setenv("WORKBENCH_SPARK_MASTER", "local[*]")
    with pytest.raises(RuntimeError), unreadable_on_cluster(store):  # on this machine the path is the driver's
        raise failure
