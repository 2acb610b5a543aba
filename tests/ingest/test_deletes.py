"""Source deletes: with ``deletes: snapshot`` a record deleted at the source becomes a tombstone in
silver (its last version with ``_deleted = true``), and the next master build detaches it."""

from __future__ import annotations

import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from pipelines.masters.build import build
from pipelines.registry import SourceSpec, registry
from tests.ingest.helpers import SqliteSource, current_records, land, person_row
from tests.masters.tiny_lake import fixed_configs

DAY1 = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)
DAY3 = datetime(2026, 11, 27, 22, 0, tzinfo=UTC)


def snapshot_deletes(spec: SourceSpec) -> SourceSpec:
    return spec.model_copy(update={"tables": [t.model_copy(update={"deletes": "snapshot"}) for t in spec.tables]})


def keys(lake: Lake) -> list[str]:
    return [r[2] for r in current_records(lake).get("person", [])]


def public_security_landed(env: SourceEnvironment, lake_dir: Path, persons: int) -> tuple[SqliteSource, Lake]:
    """Public security's persons 1..``persons`` (updated 2026-11-20), with snapshot deletes, ingested
    on day 1: the source to delete from, and the lake."""
    spec = snapshot_deletes(registry()["public_security"])
    src = SqliteSource(env, spec)
    src.create([person_row(i, "2026-11-20 10:00:00") for i in range(1, persons + 1)])
    lake = Lake(lake_dir)
    assert [o.extracted for o in ingest_table(spec, spec.tables[0], env, lake, DAY1)] == [persons]
    return src, lake


def test_deleted_rows_become_tombstones(env: SourceEnvironment, tmp_path: Path) -> None:
    src, lake = public_security_landed(env, tmp_path / "lake", 10)
    spec, t = src.spec, src.table
    src.delete(["R000003", "R000007"])
    src.upsert([person_row(11, "2026-11-26 09:00:00"), person_row(2, "2026-11-26 09:00:00", xm="张伟伟")])
    day2 = ingest_table(spec, t, env, lake, DAY2)
    assert [(o.extracted, o.deleted) for o in day2] == [(2, 0), (0, 2)]
    assert day2[1].batch_id.startswith("x") and "2 record(s) deleted at the source" in day2[1].line()
    assert keys(lake) == [f"R{i:06d}" for i in (1, 2, 4, 5, 6, 8, 9, 10, 11)]
    tomb = lake.committed_batches(spec.source, t.name)[-1]
    assert (tomb.deleted, tomb.extracted, tomb.reconciles) == (2, 0, True)
    # the tombstone is the record's last version, flagged, extracted just after this run's new rows
    rows = duckdb.execute(f"SELECT _record_key, name, _deleted, _extracted_at FROM '{lake.silver_files('person')[-1]}' "
                      "ORDER BY 1").fetchall()
    after = datetime(2026, 11, 26, 22, 0, 0, 1)
    assert rows == [("R000003", "张强3", True, after), ("R000007", "张强7", True, after)]
    # nothing changed: no new tombstone; a deleted record that comes back is live again
    assert ingest_table(spec, t, env, lake, DAY2) == []
    src.upsert([person_row(3, "2026-11-27 08:00:00")])
    assert [(o.extracted, o.deleted) for o in ingest_table(spec, t, env, lake, DAY3)] == [(1, 0)]
    assert "R000003" in keys(lake)


def test_a_full_export_file_source_finds_deletes_from_its_latest_file(env: SourceEnvironment, tmp_path: Path) -> None:
    spec = snapshot_deletes(registry()["disabled_federation"])
    header = "残疾人证号,姓名,性别,身份证号,残疾类别,发证日期,有效期至,联系电话,住址"

    def export(*ns: int) -> bytes:
        rows = [f"C{n},王芳{n},女,34160219800101019X,肢体,2019年05月06日,2029年05月06日,13912345678,亳州市" for n in ns]
        return ("\n".join([header, *rows]) + "\n").encode("gbk")

    lake = Lake(tmp_path / "lake")
    land(env, "disabled_federation/cjrz_20261125.csv", export(1, 2, 3))
    ingest_table(spec, spec.tables[0], env, lake, DAY1)
    land(env, "disabled_federation/cjrz_20261126.csv", export(1, 3, 4))
    land(env, "disabled_federation/cjrz_20261127.csv", export(1, 4, 5))  # two exports in one run: the latest counts
    out = ingest_table(spec, spec.tables[0], env, lake, DAY2)
    assert [(o.extracted, o.deleted) for o in out] == [(3, 0), (3, 0), (0, 2)]
    assert keys(lake) == ["C1", "C4", "C5"]
    # an export with unreadable rows is not a complete list of keys: nothing is deleted from it
    land(env, "disabled_federation/cjrz_20261128.csv", export(1) + b"C9,only,three\n")
    out = ingest_table(spec, spec.tables[0], env, lake, DAY3)
    assert "deletions not checked" in out[-1].line() and keys(lake) == ["C1", "C4", "C5"]


def test_the_master_build_detaches_a_deleted_record(env: SourceEnvironment, tmp_path: Path) -> None:
    src, lake = public_security_landed(env, tmp_path / "lake", 8)
    spec, t = src.spec, src.table
    gold = tmp_path / "gold" / "gold.duckdb"
    configs = fixed_configs(tmp_path / "configs")
    build(["person"], lake=lake, gold=gold, config_dir=configs, as_of=date(2026, 11, 27))

    def xref(path: Path) -> dict[str, str]:
        with duckdb.connect(str(path), read_only=True) as con:
            return dict(con.execute("SELECT record_id, master_id FROM person_xref").fetchall())

    before = xref(gold)
    assert len(before) == 8
    src.delete(["R000004"])
    ingest_table(spec, t, env, lake, DAY2)
    report = build(["person"], lake=lake, gold=gold, config_dir=configs, as_of=date(2026, 11, 27))
    assert report.masters[0].mode == "delta"
    after = xref(gold)
    assert "public_security:hjxx_czrk:R000004" not in after
    assert after == {k: v for k, v in before.items() if k != "public_security:hjxx_czrk:R000004"}
    # and the delta build equals a full rebuild of the same lake
    shutil.copytree(tmp_path / "gold", tmp_path / "gold_full")
    build(["person"], lake=lake, gold=tmp_path / "gold_full" / "gold.duckdb", config_dir=configs,
          as_of=date(2026, 11, 27), full=True)
    assert xref(tmp_path / "gold_full" / "gold.duckdb") == after
