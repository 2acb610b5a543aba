"""The quality DAG: thin, tagged, retrying, scheduled on the master builds and the silver assets."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.airflow_env import ROOT, airflow_env

PROBE = r"""
import json
from airflow.dag_processing.dagbag import DagBag
bag = DagBag(dag_folder=%r)
d = bag.dags.get("quality")

def names(cond):
    objs = getattr(cond, "objects", None)
    if objs is None:
        return [getattr(cond, "name", str(cond))]
    return [n for o in objs for n in names(o)]

print("RESULT" + json.dumps({
    "errors": {k: v.splitlines()[-1] for k, v in bag.import_errors.items()},
    "tags": sorted(d.tags) if d else None,
    "tasks": {t.task_id: t.retries for t in d.tasks} if d else None,
    "edges": sorted((t.task_id, u) for t in d.tasks for u in t.downstream_task_ids) if d else None,
    "assets": names(d.timetable.asset_condition) if d else None,
}))
"""


def test_quality_dag(tmp_path: Path) -> None:
    res = subprocess.run([sys.executable, "-c", PROBE % str(ROOT / "dags" / "quality.py")],
                         env=airflow_env(tmp_path), capture_output=True, text=True, timeout=300, cwd=ROOT)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")), None)
    assert line, res.stderr[-3000:]
    got = json.loads(line[len("RESULT"):])
    assert got["errors"] == {}
    assert "quality" in got["tags"]
    assert got["tasks"] == {"scorecards": 2, "report": 2}
    assert got["edges"] == [["scorecards", "report"]]
    sources = sorted(p.stem for p in (ROOT / "schemas" / "sources").glob("*.yaml"))
    assert {"gold_person", "gold_entity", "gold_licence"} <= set(got["assets"])
    assert {f"silver_{s}" for s in sources} <= set(got["assets"])


def test_dag_file_is_thin() -> None:
    top = [ln for ln in (ROOT / "dags" / "quality.py").read_text(encoding="utf-8").splitlines()
           if ln and not ln[0].isspace()]
    assert not [ln for ln in top if ln.startswith(("import duckdb", "import great_expectations", "from quality",
                                                   "import pandas", "import pyarrow"))]
