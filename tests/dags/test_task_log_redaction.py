"""No full ID or phone number in Airflow's task log files, on a real distributed Airflow.

Airflow 3 writes a task's log in the task's supervisor, not in the task (pipelines/airflow_logging.py
says why a logging filter cannot reach it); the deployment's ``logging_config_class`` installs the
project's redaction there.  Two runs on the Celery cluster of test_celery.py (API server, DAG
processor, scheduler, worker; the configuration docs/DEPLOYMENT.md gives):

* the real ``ingest_disabled_federation`` DAG over a landing folder holding a good file and a file
  named after a person (ID and phone number) that cannot be read: the operator logs the set-aside
  line, which names the file;
* a probe DAG whose task puts a person's numbers through every channel a task has - a stdlib logger,
  the task's own logger, ``print`` to stdout and stderr, and an exception that fails the task
  (logged with its traceback).

Every log file the runs left on disk is then read: the numbers appear nowhere in full, and their
masked form appears (the lines were written, masked, not lost).  Without
``AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS`` the same runs leave the numbers in the files.

The probe also runs the way the demo and stewards' one-off runs do (``pipelines.airflow_run``:
``dag.test()``, the task in-process, its output on the console): the console shows no number in full.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.lake import Lake
from tests.airflow_env import ROOT, airflow_env, migrate
from tests.dags.celery_cluster import CeleryCluster, redis_up
from tests.ingest.conftest import PREFIX

ID_NUMBER = "34160219800101019X"
PHONE = "13912345678"

PROBE = f'''
import logging
import sys

import pendulum
from airflow.sdk import dag, task


@dag(dag_id="probe_redaction", schedule=None, start_date=pendulum.datetime(2026, 1, 1), catchup=False,
     default_args={{"retries": 0}})
def probe_redaction():
    @task
    def leak():
        logging.getLogger("masterdata").warning("stdlib logger: holder %s phone %s", "{ID_NUMBER}", "{PHONE}")
        logging.getLogger("airflow.task").info("task logger: record key {ID_NUMBER}")
        print("stdout: 残疾人证号 {ID_NUMBER}01")
        print("stderr: {PHONE}", file=sys.stderr)
        raise ValueError("Conversion Error: Could not convert string '{ID_NUMBER}' to INT64")

    leak()


probe_redaction()
'''

GOOD = ("残疾人证号,姓名,性别,身份证号,残疾类别,发证日期,有效期至,联系电话,住址\n"
        f"{ID_NUMBER}12,李强,男,{ID_NUMBER},1,2020-01-01,2030-01-01,{PHONE},亳州市谯城区\n")


def _landing(sources: Path) -> None:
    """A good file and one named after a person that is not a CSV at all (set aside)."""
    folder = sources / "files" / "disabled_federation"
    folder.mkdir(parents=True)
    (folder / "cjrz_2026.csv").write_bytes(GOOD.encode("gbk"))
    (folder / f"cjrz_{ID_NUMBER}_{PHONE}.csv").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 4)
    past = time.time() - 3600  # long settled
    for p in folder.iterdir():
        os.utime(p, (past, past))


def _finished(c: CeleryCluster, dag_id: str, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        c.check_alive()
        runs = c.runs(dag_id)
        if runs and all(r["state"] in ("success", "failed") for r in runs):
            return str(runs[-1]["state"])
        time.sleep(2)
    raise AssertionError(f"{dag_id} did not finish in {timeout:.0f}s\n{c.log_tail('scheduler')}\n{c.log_tail('worker')}")


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.timeout(900)
def test_task_logs_on_disk_hold_no_full_personal_number(tmp_path: Path) -> None:
    assert redis_up(), "Redis is not answering on 127.0.0.1:6379 (scripts/start-services.sh starts it)"
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "ingest_sources.py").symlink_to(ROOT / "dags" / "ingest_sources.py")
    (dags / "probe_redaction.py").write_text(PROBE, encoding="utf-8")
    _landing(tmp_path / "sources")
    platform = {"MASTERDATA_HOME": str(tmp_path / "md"), "MASTERDATA_SOURCES": str(tmp_path / "sources"),
                "AIRFLOW__CORE__DAGS_FOLDER": str(dags)}
    with CeleryCluster(tmp_path / "airflow", f"{PREFIX}airflow_redaction_test", extra_env=platform) as c:
        c.wait_for_dags({"ingest_disabled_federation", "probe_redaction"}, timeout=180)
        # unpaused, the ingestion DAG gets its daily run from the scheduler; the probe is triggered
        for dag_id in ("ingest_disabled_federation", "probe_redaction"):
            c.api("PATCH", f"/dags/{dag_id}", {"is_paused": False})
        c.api("POST", "/dags/probe_redaction/dagRuns", {"logical_date": None})
        assert _finished(c, "ingest_disabled_federation", 420) == "success", c.task_logs("ingest_disabled_federation")
        assert _finished(c, "probe_redaction", 300) == "failed", c.task_logs("probe_redaction")

    # the good file loaded (its row standardised or quarantined), the other was set aside
    assert [(b.extracted, b.standardised + b.quarantined) for b in Lake(tmp_path / "md" / "lake").committed_batches()] == [(1, 1)]
    logs = {p: p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "airflow" / "logs").rglob("*.log")}
    ingest = "\n".join(t for p, t in logs.items() if "dag_id=ingest_disabled_federation" in str(p))
    probe = "\n".join(t for p, t in logs.items() if "dag_id=probe_redaction" in str(p))
    leaks = sorted(str(p.relative_to(tmp_path)) for p, t in logs.items() if ID_NUMBER in t or PHONE in t
                   or ID_NUMBER.lower() in t)
    assert not leaks, f"full personal numbers in {len(leaks)} task log file(s): {leaks}"
    # the lines were written - masked
    assert "set aside" in ingest and f"cjrz_{ID_NUMBER[:3]}***_{PHONE[:3]}***.csv" in ingest, ingest[-3000:]
    for line in MASKED:
        assert line in probe, (line, probe[-4000:])


MASKED = ("stdlib logger: holder 341*** phone 139***", "task logger: record key 341***", "stdout: 残疾人证号 341***",
          "stderr: 139***", "Could not convert string '341***' to INT64")


@pytest.mark.slow
def test_in_process_runs_print_no_full_personal_number(tmp_path: Path) -> None:
    dags = tmp_path / "dags"
    dags.mkdir()
    (dags / "probe_redaction.py").write_text(PROBE, encoding="utf-8")
    home = tmp_path / "airflow"
    migrate(home)
    env = airflow_env(home, AIRFLOW__CORE__DAGS_FOLDER=str(dags))
    res = subprocess.run([sys.executable, "-m", "pipelines.airflow_run", "probe_redaction"], env=env, cwd=ROOT,
                         capture_output=True, text=True, timeout=600)
    out = res.stdout + res.stderr
    assert res.returncode == 1 and "probe_redaction: failed" in out, out[-3000:]
    assert ID_NUMBER not in out and PHONE not in out, out[-3000:]
    for line in MASKED:
        assert line in out, (line, out[-3000:])
