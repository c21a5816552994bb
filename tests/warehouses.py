"""Real warehouses for the tests, started and stopped by the tests themselves: a throwaway PostgreSQL server and
a standalone Spark cluster on localhost. Each says why where it cannot start (binaries or Java missing)."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path


def without_usage(world: Path, folder: Path) -> Path:
    """`world`'s tables copied into `folder`, all but usage: the folder a study whose usage lies in a warehouse
    reads."""
    folder.mkdir()
    for file in world.glob("*.csv"):
        if file.name != "usage.csv":
            shutil.copy(file, folder)
    return folder


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def postgres_binaries() -> Path | None:
    """The folder of PostgreSQL's server programs: on the PATH, or where Debian's `postgresql` puts them."""
    found = shutil.which("initdb")
    if found:
        return Path(os.path.realpath(found)).parent
    installed = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return Path(installed[-1]).parent if installed else None


def postgres_missing() -> str:
    """Why a PostgreSQL server cannot be started here ('' when it can)."""
    if postgres_binaries() is None:
        return "PostgreSQL's initdb and pg_ctl are not installed (Debian: apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg is not installed (pip install -c constraints.txt -e '.[dev]')"
    if os.geteuid() == 0:
        try:
            pwd.getpwnam("postgres")
        except KeyError:
            return "running as root, and there is no `postgres` user to run the server as"
    return ""


@contextmanager
def postgres_server():
    """A PostgreSQL server in a temporary folder, on a free local port, trusting local connections; yields its
    connection URL and is stopped and removed afterwards. PostgreSQL refuses to run as root, so as root it runs as
    the `postgres` user that Debian's package creates."""
    binaries = postgres_binaries()
    folder = Path(tempfile.mkdtemp(prefix="workbench-postgres-"))
    as_user: list[str] = []
    if os.geteuid() == 0:
        owner = pwd.getpwnam("postgres")
        os.chown(folder, owner.pw_uid, owner.pw_gid)
        as_user = ["runuser", "-u", "postgres", "--"]
    port, data, log = free_port(), folder / "data", folder / "server.log"

    def run(*command):
        subprocess.run([*as_user, *command], check=True, capture_output=True, text=True)

    try:
        run(str(binaries / "initdb"), "-D", str(data), "-U", "workbench", "--auth=trust", "-E", "UTF8", "--no-sync")
        options = f"-p {port} -c listen_addresses=127.0.0.1 -k {folder} -c fsync=off"
        run(str(binaries / "pg_ctl"), "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
        try:
            yield f"postgres://workbench@127.0.0.1:{port}/postgres"
        finally:
            run(str(binaries / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "stop")
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def spark_missing() -> str:
    """Why a standalone Spark cluster cannot be started here ('' when it can)."""
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return "pyspark is not installed (pip install -c constraints.txt -e '.[spark]')"
    return "" if shutil.which("java") else "Spark needs Java (17 or later) on the PATH"


@contextmanager
def spark_cluster():
    """A standalone Spark master and one worker on localhost, started with the `spark-class` pyspark ships;
    yields the master's URL (spark://127.0.0.1:PORT) and stops both afterwards."""
    import pyspark

    spark_class = Path(pyspark.__file__).parent / "bin" / "spark-class"
    port, web, worker_web = free_port(), free_port(), free_port()
    folder = Path(tempfile.mkdtemp(prefix="workbench-spark-"))
    environment = {**os.environ, "SPARK_HOME": str(spark_class.parent.parent), "SPARK_LOCAL_IP": "127.0.0.1"}
    environment["PYSPARK_PYTHON"] = sys.executable
    master_url = f"spark://127.0.0.1:{port}"
    started = []
    try:
        with open(folder / "master.log", "w") as master_log, open(folder / "worker.log", "w") as worker_log:
            master = [
                "org.apache.spark.deploy.master.Master",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--webui-port",
                str(web),
            ]
            started.append(_start(spark_class, master, environment, master_log))
            _await_port(port, folder / "master.log")
            worker = [
                "org.apache.spark.deploy.worker.Worker",
                master_url,
                "--host",
                "127.0.0.1",
                "--webui-port",
                str(worker_web),
                "--cores",
                "8",  # more than this machine's: the runner and each kernel are applications of their own
                "--memory",
                "8g",
                "--work-dir",
                str(folder / "work"),
            ]
            started.append(_start(spark_class, worker, environment, worker_log))
            _await_registered(folder / "master.log")
            yield master_url
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(folder, ignore_errors=True)


def _start(spark_class: Path, arguments: list[str], environment: dict, log) -> subprocess.Popen:
    return subprocess.Popen(
        ["bash", str(spark_class), *arguments], env=environment, stdout=log, stderr=subprocess.STDOUT
    )


def _await_port(port: int, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.5)
    raise RuntimeError(f"the Spark master did not listen on port {port}: {log.read_text()[-2000:]}")


def _await_registered(log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if "Registering worker" in log.read_text():
            return
        time.sleep(0.5)
    raise RuntimeError(f"no Spark worker registered with the master: {log.read_text()[-2000:]}")
