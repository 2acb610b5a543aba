"""Ingestion from the real PostgreSQL and MariaDB: full then incremental extraction, idempotent
re-runs, a killed run, schema changes and an unreachable server."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import pytest

from pipelines import extract
from pipelines.connections import SourceEnvironment
from pipelines.extract import SchemaChanged, SourceUnavailable
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from tests.ingest.conftest import MySource, PgSource

NOW1 = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
NOW2 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)


def person(n: int, gxsj: str, **kw: object) -> dict[str, object]:
    base: dict[str, object] = {"rkbh": f"R{n:05d}", "gmsfhm": "370802199402210029" if n == 1 else f"34160219800101{n:03d}",
            "xm": f"张{'伟芳娜'[n % 3]}", "cym": None, "xb": "1", "mz": "01", "csrq": date(1980, 1, 1),
            "hjqh": "341602", "hjdz": "安徽省亳州市谯城区", "hh": f"H{n}", "yhzgx": "户主", "hyzk": "20",
            "swrq": None, "gxsj": gxsj}
    base.update(kw)
    return base


def silver(lake: Lake, master: str) -> list[tuple]:
    files = [str(p) for p in lake.silver_files(master)]
    if not files:
        return []
    return duckdb.execute(f"SELECT _record_key, name, id_number, _batch_id FROM read_parquet({files!r}, union_by_name=true) "
                      "ORDER BY _record_key, _extracted_at").fetchall()


def lake_snapshot(lake: Lake) -> dict[str, bytes]:
    """Every visible file of the lake by relative path (temporary files excluded)."""
    return {str(p.relative_to(lake.root)): p.read_bytes() for p in sorted(lake.root.rglob("*"))
            if p.is_file() and not p.name.startswith(".")}


@pytest.mark.postgres
@pytest.mark.parametrize("pg_source", ["public_security"], indirect=True)
def test_postgres_full_then_incremental(pg_source: PgSource, servers_env: SourceEnvironment, lake: Lake) -> None:
    spec = pg_source.spec
    table = spec.tables[0]
    pg_source.insert(table.name, [person(i, f"2026-11-2{i % 5} 10:00:00") for i in range(1, 41)])
    first = ingest_table(spec, table, servers_env, lake, NOW1)
    assert [(o.extracted, o.standardised + o.quarantined) for o in first] == [(40, 40)]
    assert len(silver(lake, "person")) == first[0].standardised
    # day 2: one new person, one corrected; exactly those two rows are picked up
    pg_source.insert(table.name, [person(41, "2026-11-26 09:00:00")])
    pg_source.execute("UPDATE hjxx_czrk SET xm = '张伟伟', gxsj = '2026-11-26 09:30:00' WHERE rkbh = 'R00002'")
    second = ingest_table(spec, table, servers_env, lake, NOW2)
    assert [o.extracted for o in second] == [2]
    keys = [r[0] for r in silver(lake, "person") if r[3] == second[0].batch_id]
    assert sorted(keys) == ["R00002", "R00041"]
    # nothing new: no batch at all, and the lake does not change
    before = lake_snapshot(lake)
    assert ingest_table(spec, table, servers_env, lake, NOW2) == []
    assert lake_snapshot(lake) == before
    batches = lake.committed_batches(spec.source, table.name)
    assert [b.watermark_to for b in batches] == ["2026-11-24 10:00:00", "2026-11-26 09:30:00"]
    assert all(b.reconciles for b in batches)


@pytest.mark.mariadb
@pytest.mark.parametrize("my_source", ["traffic_police"], indirect=True)
def test_mariadb_rows_are_standardised_or_quarantined_with_reasons(my_source: MySource, servers_env: SourceEnvironment,
                                                                  lake: Lake) -> None:
    spec = my_source.spec
    t = spec.tables[0]
    row = {"dabh": "340100000001", "xm": "王 芳", "sfzmhm": "34160219800101019x", "xb": "女", "csrq": "1980-01-01",
           "lxdh": "139 1234 5678", "lxzsxxdz": "亳州市谯城区", "zjcx": "C1", "cclzrq": "2010-05-01",
           "yxqs": "2010-05-01", "yxqz": "2030-05-01", "zt": "A", "gxsj": "2026-11-20 08:00:00"}
    rows = [row,
            {**row, "dabh": "340100000002", "csrq": "1980-02-30"},            # impossible date
            {**row, "dabh": "340100000003", "xb": "3"},                        # code not in any map
            {**row, "dabh": "340100000004", "sfzmhm": "111111111111111111"},   # placeholder id: kept, flagged
            {**row, "dabh": "340100000005", "lxdh": "13800000000"}]            # dummy phone: kept, flagged
    my_source.insert(t.name, rows)
    [o] = ingest_table(spec, t, servers_env, lake, NOW1)
    assert (o.extracted, o.standardised, o.quarantined) == (5, 3, 2)
    q = duckdb.execute(f"SELECT _record_key, field, reason, value FROM '{lake.quarantine_path(spec.source, t.name, o.batch_id)}' "
                   "ORDER BY 1").fetchall()
    assert q == [("340100000002", "person.birth_date", "BAD_DATE", "1980-02-30"),
                 ("340100000003", "person.sex", "UNMAPPED_CODE", "3")]
    s = duckdb.execute(f"SELECT _record_key, id_number, id_number_raw, name, phone, sex, "
                   f"list_transform(_issues, lambda i: i.element || ':' || i.reason) "
                   f"FROM '{lake.silver_path('person', spec.source, t.name, o.batch_id)}' ORDER BY 1").fetchall()
    # the repaired ID (lowercase x) is normalised, and the source's own code 女 became GB/T 2261.1 code 2
    assert s[0][1:6] == ("34160219800101019X", "34160219800101019x", "王芳", "13912345678", "2")
    assert "person.id_number:REPAIRED_CASE" in s[0][6]
    assert s[1][1] is None and "person.id_number:PLACEHOLDER" in s[1][6]
    assert s[2][4] is None and "person.phone:PLACEHOLDER" in s[2][6]
    lic = duckdb.execute(f"SELECT type_code, holder_id, status, valid_to FROM "
                     f"'{lake.silver_path('licence', spec.source, t.name, o.batch_id)}' ORDER BY _record_key").fetchall()
    assert lic[0] == ("004", "34160219800101019X", "1", date(2030, 5, 1))


@pytest.mark.postgres
@pytest.mark.parametrize("pg_source", ["public_security"], indirect=True)
def test_a_killed_run_rerun_leaves_the_same_lake(pg_source: PgSource, servers_env: SourceEnvironment, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    spec = pg_source.spec
    t = spec.tables[0]
    pg_source.insert(t.name, [person(i, f"2026-11-2{i % 5} 10:00:00") for i in range(1, 30)])
    clean = Lake(tmp_path / "clean")
    ingest_table(spec, t, servers_env, clean, NOW1)

    killed = Lake(tmp_path / "killed")
    real_commit = Lake.commit_batch

    def die(self: Lake, record: object) -> None:
        raise KeyboardInterrupt("killed before the commit marker")

    monkeypatch.setattr(Lake, "commit_batch", die)
    with pytest.raises(KeyboardInterrupt):
        ingest_table(spec, t, servers_env, killed, NOW1)
    assert killed.committed_batches() == [] and killed.silver_files("person") == []
    assert killed.watermark(spec.source, t.name) is None
    monkeypatch.setattr(Lake, "commit_batch", real_commit)
    ingest_table(spec, t, servers_env, killed, NOW1)
    ingest_table(spec, t, servers_env, killed, NOW1)  # and once more: no duplicates
    assert lake_snapshot(killed) == lake_snapshot(clean)


@pytest.mark.postgres
@pytest.mark.parametrize("pg_source", ["public_security"], indirect=True)
def test_a_schema_change_fails_the_source_with_a_clear_message(pg_source: PgSource, servers_env: SourceEnvironment,
                                                              lake: Lake) -> None:
    spec = pg_source.spec
    t = spec.tables[0]
    pg_source.insert(t.name, [person(1, "2026-11-20 10:00:00")])
    pg_source.execute("ALTER TABLE hjxx_czrk ADD COLUMN zy TEXT")
    pg_source.execute("ALTER TABLE hjxx_czrk DROP COLUMN cym")
    with pytest.raises(SchemaChanged) as info:
        ingest_table(spec, t, servers_env, lake, NOW1)
    msg = str(info.value)
    assert "public_security" in msg and "hjxx_czrk" in msg and "missing column(s) cym" in msg and "new column(s) zy" in msg
    assert lake.committed_batches() == []


@pytest.mark.mariadb
def test_an_unreachable_server_names_the_source(lake: Lake, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.registry import registry

    monkeypatch.setattr(extract, "CONNECT_ATTEMPTS", 2)
    monkeypatch.setattr(extract.time, "sleep", lambda s: None)
    env = SourceEnvironment(sources_dir=tmp_path, db_mode="servers", mysql_url="mysql://root@127.0.0.1:1")
    spec = registry()["tobacco"]
    with pytest.raises(SourceUnavailable, match=r"source tobacco is unreachable at mariadb 127.0.0.1:1/dept_tobacco after 2 attempts"):
        ingest_table(spec, spec.tables[0], env, lake, NOW1)
