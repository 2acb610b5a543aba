"""Airflow as its users run it, for real: two ingestion DAGs read their departments' servers through
per-source Airflow Connections (``AIRFLOW_CONN_MASTERDATA_<SOURCE>``), emit OpenLineage events naming
the source tables as inputs and the lake's datasets as outputs (file transport), and publish their
silver assets with the batch and row counts in the asset event.

The global settings point nowhere useful (embedded mode, no SQLite files), so a run that succeeds
can only have read the servers the Connections name."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from pipelines.lake import Lake
from tests.airflow_env import ROOT, airflow_env, migrate
from tests.ingest.conftest import PREFIX


def _events(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _task_event(events: list[dict[str, Any]], job: str, kind: str) -> dict[str, Any]:
    found = [e for e in events if e["job"]["name"] == job and e["eventType"] == kind]
    assert found, f"no {kind} event for {job}; jobs seen: {sorted({e['job']['name'] for e in events})}"
    return found[-1]


def _outputs(event: dict[str, Any]) -> dict[str, int | None]:
    return {o["name"]: o.get("outputFacets", {}).get("outputStatistics", {}).get("rowCount")
            for o in event["outputs"]}


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.mariadb
@pytest.mark.parametrize("pg_source", ["hrss"], indirect=True)
@pytest.mark.parametrize("my_source", ["tobacco"], indirect=True)
def test_connections_lineage_and_asset_counts(pg_source, my_source, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    pg_source.insert("si_cbry", [
        {"grbh": f"G{i}", "shbzhm": "34160219800101019X", "xm": "李强", "xb": "1", "csrq": "19800101",
         "dwxydm": None, "cbzt": "参保缴费", "sjhm": "13912345678", "jzdz": "亳州市谯城区",
         "last_modified": "2026-11-20 08:00:00"} for i in range(7)
    ])
    my_source.insert("lsxkz", [
        {"xkzh": f"3416020{i:05d}", "qymc": "谯城区便民超市", "fzr": "王芳", "fzrsfz": "34160219800101027X",
         "shxydm": "92341602MA2N0XXXXX", "jydz": "亳州市谯城区", "fzrq": "2020-01-01",
         "yxqz": "2025-13-01" if i == 0 else "2030-01-01", "xkzt": "有效", "update_time": "2026-11-20 08:00:00"}
        for i in range(5)
    ])
    home = tmp_path / "airflow"
    migrate(home)
    lake = Lake(tmp_path / "lake")
    events = tmp_path / "openlineage.jsonl"
    settings = {
        "MASTERDATA_LAKE": str(lake.root), "MASTERDATA_SOURCES": str(tmp_path / "sources"),
        # globals that cannot work: only the Connections can make these runs succeed
        "MASTERDATA_DB_MODE": "embedded", "MASTERDATA_DB_PREFIX": PREFIX,
        "MASTERDATA_PG_URL": "postgresql://nobody@127.0.0.1:1", "MASTERDATA_MYSQL_URL": "mysql://nobody@127.0.0.1:1",
        # the URI form, database named; and the JSON form, database from the spec + prefix
        "AIRFLOW_CONN_MASTERDATA_HRSS": f"postgres://postgres@127.0.0.1:5432/{pg_source.db}",
        "AIRFLOW_CONN_MASTERDATA_TOBACCO": json.dumps({"conn_type": "mysql", "host": "127.0.0.1", "port": 3306,
                                                       "login": "root"}),
        "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps({"type": "file", "log_file_path": str(events),
                                                       "append": True}),
        "AIRFLOW__OPENLINEAGE__NAMESPACE": "masterdata",
    }
    env = airflow_env(home, **settings)
    res = subprocess.run([sys.executable, "-m", "pipelines.airflow_run", "ingest_hrss", "ingest_tobacco"], env=env,
                         cwd=ROOT, capture_output=True, text=True, timeout=900)
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-5000:]

    # the servers the Connections name were read
    assert [(b.extracted, b.standardised, b.quarantined) for b in lake.committed_batches("hrss")] == [(7, 7, 0)]
    assert [(b.extracted, b.standardised, b.quarantined) for b in lake.committed_batches("tobacco")] == [(5, 4, 1)]

    # OpenLineage: the source table in, the lake's datasets out, with the rows each received
    ev = _events(events)
    root = lake.root.resolve()
    hrss = _task_event(ev, "ingest_hrss.ingest_si_cbry", "COMPLETE")
    assert [(i["namespace"], i["name"]) for i in hrss["inputs"]] == [
        ("postgres://127.0.0.1:5432", f"{pg_source.db}.public.si_cbry")]
    assert "xm" in {f["name"] for f in hrss["inputs"][0]["facets"]["schema"]["fields"]}
    assert _outputs(hrss) == {f"{root}/silver/person/hrss__si_cbry": 7, f"{root}/quarantine/hrss/si_cbry": 0,
                              f"{root}/bronze/hrss/si_cbry": 7}
    assert {o["namespace"] for o in hrss["outputs"]} == {"file"}
    start = _task_event(ev, "ingest_hrss.ingest_si_cbry", "START")
    assert [i["name"] for i in start["inputs"]] == [f"{pg_source.db}.public.si_cbry"]
    tob = _task_event(ev, "ingest_tobacco.ingest_lsxkz", "COMPLETE")
    assert [(i["namespace"], i["name"]) for i in tob["inputs"]] == [
        ("mysql://127.0.0.1:3306", f"{PREFIX}dept_tobacco.lsxkz")]
    outs = _outputs(tob)
    assert outs[f"{root}/quarantine/tobacco/lsxkz"] == 1
    silver = {n: r for n, r in outs.items() if "/silver/" in n}
    assert silver and set(silver.values()) == {4}, outs

    # the silver assets carry the counts of what they published
    with sqlite3.connect(home / "airflow.db") as db:
        rows = db.execute("SELECT a.name, e.extra FROM asset_event e JOIN asset a ON a.id = e.asset_id").fetchall()
    extra = {name: json.loads(x) for name, x in rows}
    assert {k: extra["silver_hrss"][k] for k in ("batches", "extracted", "standardised", "quarantined")} == {
        "batches": 1, "extracted": 7, "standardised": 7, "quarantined": 0}
    assert extra["silver_hrss"]["batch_ids"] == [b.batch_id for b in lake.committed_batches("hrss")]
    assert {k: extra["silver_tobacco"][k] for k in ("batches", "extracted", "standardised", "quarantined")} == {
        "batches": 1, "extracted": 5, "standardised": 4, "quarantined": 1}
    assert extra["silver_tobacco"]["tables"]["lsxkz"]["quarantined"] == 1
