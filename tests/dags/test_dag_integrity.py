"""DAG integrity: every DAG in dags/ imports without errors, is tagged, retries, and the folder parses
fast (Airflow re-parses it continuously, so module-level work costs all day)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.airflow_env import ROOT, airflow_env

PROBE = r"""
import json, time
t = time.perf_counter()
from airflow.dag_processing.dagbag import DagBag
imported = time.perf_counter()
bag = DagBag(dag_folder=%r)
done = time.perf_counter()
out = {"import_errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
       "parse_s": done - imported, "airflow_import_s": imported - t,
       "dags": {d.dag_id: {"tags": sorted(d.tags), "retries": d.default_args.get("retries", 0),
                           "display": d.dag_display_name, "task_display": [x.task_display_name for x in d.tasks],
                           "tasks": [x.task_id for x in d.tasks],
                           "retries_per_task": sorted({x.retries for x in d.tasks})} for d in bag.dags.values()}}
print("RESULT" + json.dumps(out))
"""


@pytest.fixture(scope="module")
def dagbag(tmp_path_factory: pytest.TempPathFactory) -> dict:
    home = tmp_path_factory.mktemp("airflow")
    res = subprocess.run([sys.executable, "-c", PROBE % str(ROOT / "dags")], env=airflow_env(home),
                         capture_output=True, text=True, timeout=300, cwd=ROOT)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line, res.stderr[-3000:]
    return json.loads(line[len("RESULT"):])


def test_no_import_errors(dagbag: dict) -> None:
    assert dagbag["import_errors"] == {}


def test_one_ingestion_dag_per_source(dagbag: dict) -> None:
    sources = sorted(p.stem for p in (ROOT / "schemas" / "sources").glob("*.yaml"))
    assert len(sources) == 32
    for s in sources:
        assert f"ingest_{s}" in dagbag["dags"], s


def test_every_dag_is_tagged_and_retries(dagbag: dict) -> None:
    for dag_id, d in dagbag["dags"].items():
        assert d["tags"], f"{dag_id} has no tags"
        assert d["retries"] >= 1 and min(d["retries_per_task"]) >= 1, f"{dag_id} does not retry"


def test_folder_parses_fast(dagbag: dict) -> None:
    # the DAG files themselves (Airflow's own import is measured apart and not counted)
    assert dagbag["parse_s"] < 5.0, dagbag["parse_s"]


def test_dag_files_hold_no_heavy_imports() -> None:
    heavy = ("import duckdb", "import pandas", "import pyarrow", "import great_expectations", "import connectorx",
             "from pipelines.ingest", "from pipelines.resolve", "from quality.")
    for f in sorted(Path(ROOT / "dags").glob("*.py")):
        top = [ln for ln in f.read_text(encoding="utf-8").splitlines() if ln and not ln[0].isspace()]
        for ln in top:
            assert not ln.startswith(heavy), f"{f.name}: module-level {ln!r}"


def test_stewards_read_the_dags_in_chinese(dagbag: dict) -> None:
    def chinese(text: str) -> bool:
        return any("\u4e00" <= ch <= "\u9fff" for ch in text)

    for dag_id, d in dagbag["dags"].items():
        assert chinese(d["display"]), (dag_id, d["display"])
        assert all(chinese(t) for t in d["task_display"]), (dag_id, d["task_display"])
    assert "亳州市民政局" in dagbag["dags"]["ingest_civil_affairs"]["display"]
