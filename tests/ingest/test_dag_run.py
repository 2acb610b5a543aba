"""A real Airflow run: the generated ingestion DAGs of a PostgreSQL and a MariaDB source, executed
with `airflow dags test` against SQLite metadata, land their batches in the lake."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipelines.lake import Lake
from tests.airflow_env import dags_test, migrate
from tests.ingest.conftest import MY, PG, PREFIX, MySource, PgSource


@pytest.mark.slow
@pytest.mark.postgres
@pytest.mark.mariadb
@pytest.mark.parametrize("pg_source", ["hrss"], indirect=True)
@pytest.mark.parametrize("my_source", ["tobacco"], indirect=True)
def test_dags_ingest_real_servers(pg_source: PgSource, my_source: MySource, tmp_path: Path) -> None:
    pg_source.insert("si_cbry", [
        {"grbh": f"G{i}", "shbzhm": "34160219800101019X", "xm": "李强", "xb": "1" if i % 2 else "0",
         "csrq": "19800101", "dwxydm": None, "cbzt": "参保缴费", "sjhm": "13912345678", "jzdz": "亳州市谯城区",
         "last_modified": f"2026-11-2{i % 5} 08:00:00"} for i in range(12)
    ])
    my_source.insert("lsxkz", [
        {"xkzh": f"3416020{i:05d}", "qymc": "谯城区便民超市", "fzr": "王芳", "fzrsfz": "34160219800101027X",
         "shxydm": "92341602MA2N0XXXXX", "jydz": "亳州市谯城区", "fzrq": "2020-01-01", "yxqz": "2025-13-01" if i == 0 else "2030-01-01",
         "xkzt": "有效", "update_time": "2026-11-20 08:00:00"} for i in range(5)
    ])
    home = tmp_path / "airflow"
    migrate(home)
    lake = Lake(tmp_path / "lake")
    env = {"MASTERDATA_LAKE": str(lake.root), "MASTERDATA_SOURCES": str(tmp_path / "sources"),
           "MASTERDATA_DB_MODE": "servers", "MASTERDATA_DB_PREFIX": PREFIX,
           "MASTERDATA_PG_URL": PG, "MASTERDATA_MYSQL_URL": MY}
    for dag_id in ("ingest_hrss", "ingest_tobacco"):
        res = dags_test(home, dag_id, **env)
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-4000:]
        assert "state=success" in (res.stdout + res.stderr), (res.stdout + res.stderr)[-4000:]
    hrss = lake.committed_batches("hrss")
    assert [(b.extracted, b.standardised, b.quarantined) for b in hrss] == [(12, 12, 0)]
    tob = lake.committed_batches("tobacco")
    assert [(b.extracted, b.standardised, b.quarantined) for b in tob] == [(5, 4, 1)]
    assert lake.silver_files("person") and lake.silver_files("licence") and lake.silver_files("entity")
