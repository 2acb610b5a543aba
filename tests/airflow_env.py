"""A project-local Airflow for tests: SQLite metadata in a temporary AIRFLOW_HOME, our dags/ folder.

Airflow reads its configuration when it is imported, so everything Airflow runs in a subprocess
with this environment (the way `airflow dags test` runs for stewards too)."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
AIRFLOW = str(Path(sys.executable).with_name("airflow"))


def airflow_env(home: Path, **extra: str) -> dict[str, str]:
    # nothing of the developer's own Airflow (config, connections, lineage transport) leaks in
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("AIRFLOW__", "AIRFLOW_CONN_", "AIRFLOW_VAR_", "OPENLINEAGE", "MASTERDATA_"))}
    env.update({
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__UNIT_TEST_MODE": "False",
        # the project's redaction in the task logs' write path (docs/DEPLOYMENT.md)
        "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": "pipelines.airflow_logging.LOGGING_CONFIG",
        "MASTERDATA_RETRY_DELAY_S": "1",
    })
    env.update(extra)
    return env


#: a home migrated once per test process (``migrate``), removed when the process ends
_TEMPLATE: Path | None = None


def migrate(home: Path) -> None:
    """A migrated SQLite metadata database in ``home``.

    ``airflow db migrate`` costs seconds of CPU each time, so it runs once per test process into a
    template home and each test's home gets a copy of the database file - only that file: the
    template's ``airflow.cfg`` names the template's own paths, so every home writes its own.
    """
    global _TEMPLATE
    if _TEMPLATE is None:
        template = Path(tempfile.mkdtemp(prefix="airflow-template-"))
        atexit.register(shutil.rmtree, template, ignore_errors=True)
        subprocess.run([AIRFLOW, "db", "migrate"], env=airflow_env(template), check=True, capture_output=True,
                       timeout=300)
        _TEMPLATE = template
    home.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(_TEMPLATE / "airflow.db", home / "airflow.db")


def dags_test(home: Path, dag_id: str, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([AIRFLOW, "dags", "test", dag_id], env=airflow_env(home, **extra), capture_output=True,
                          text=True, timeout=600, cwd=ROOT)
