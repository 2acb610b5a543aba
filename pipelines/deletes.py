"""Source deletes: the source's full set of keys against the lake's live records, as tombstones.

An incremental extract sees the rows added or changed since the watermark, never a row that was
deleted.  For a table whose spec says ``deletes: snapshot``, every run compares a full snapshot of
the source's keys - a database table's primary keys, read after its new rows; for a file source the
latest file loaded, which must then be a full export - with the records the lake holds as live, and
writes the missing ones as a *tombstone batch*: for each master the table feeds, the record's last
silver row again, with ``_deleted = true``.  The master build already treats a latest version
flagged ``_deleted`` as a deleted record (``pipelines.masters.records``, ``incremental``), so the
next build detaches it from its master.

A tombstone batch is committed like any other (files first, marker last) under an id derived from
the keys it deletes, so a run killed half-way writes the same batch again.  The id starts with
``x``, which sorts after data batch ids (``b``, ``f``): a record extracted and then found deleted in
the same run (same extraction time) resolves to the deletion.
"""

from __future__ import annotations

import hashlib

import duckdb

from core.sqltext import lit, q
from pipelines.lake import BatchRecord, Lake, atomic_path
from pipelines.registry import SourceSpec, Table

TOMBSTONE_PREFIX = "x"


def record_key_sql(table: Table) -> str:
    """The lake's key of a source record: its primary-key values as text, joined by '|'."""
    return " || '|' || ".join(f"coalesce({q(c)}, '')" for c in table.primary_key)


def _silver_history(lake: Lake, spec: SourceSpec, table: Table) -> dict[str, list[str]]:
    """Committed silver files of the table, per master."""
    out: dict[str, list[str]] = {}
    for b in lake.committed_batches(spec.source, table.name):
        for m in b.files.get("silver") or {}:
            p = lake.silver_path(m, spec.source, table.name, b.batch_id)
            if p.exists():
                out.setdefault(m, []).append(str(p))
    return out


def write_tombstones(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, lake: Lake,
                     present_sql: str, extracted_at: str, load_date: str,
                     snapshot_file: str | None = None) -> BatchRecord | None:
    """Commit a tombstone batch for the live records missing from ``present_sql`` (a relation with
    the table's primary-key columns); None when nothing was deleted."""
    history = _silver_history(lake, spec, table)
    if not history:
        return None
    con.execute(f"CREATE OR REPLACE TEMP TABLE present_keys AS SELECT DISTINCT {record_key_sql(table)} "
                f"AS _record_key FROM {present_sql}")
    for m, files in history.items():
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE {q('gone_' + m)} AS SELECT * FROM (SELECT * FROM "
            f"read_parquet([{', '.join(lit(f) for f in files)}], union_by_name = true) QUALIFY row_number() "
            f"OVER (PARTITION BY _record_key ORDER BY _extracted_at DESC, _batch_id DESC) = 1) AS s "
            f"WHERE NOT coalesce(s._deleted, FALSE) AND s._record_key NOT IN (SELECT _record_key FROM present_keys)"
        )
    union = " UNION ".join(f"SELECT _record_key FROM {q('gone_' + m)}" for m in history)
    n, digest = con.execute(f"SELECT count(*), md5(coalesce(string_agg(_record_key, chr(31) ORDER BY _record_key), '')) "
                            f"FROM ({union})").fetchall()[0]
    if not n:
        return None
    batch_id = TOMBSTONE_PREFIX + hashlib.sha1(
        "\x1f".join([spec.source, table.name, snapshot_file or "", digest]).encode()).hexdigest()[:16]
    if lake.is_committed(spec.source, table.name, batch_id):
        return None
    silver: dict[str, str] = {}
    for m in history:
        path = lake.silver_path(m, spec.source, table.name, batch_id)
        with atomic_path(path) as tmp:
            con.execute(f"COPY (SELECT * REPLACE (TRUE AS _deleted, {lit(batch_id)} AS _batch_id, "
                        f"TIMESTAMP {lit(extracted_at)} AS _extracted_at) FROM {q('gone_' + m)} "
                        f"ORDER BY _record_key) TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        silver[m] = str(path.relative_to(lake.root))
    wm = lake.watermark(spec.source, table.name)
    record = BatchRecord(source=spec.source, table=table.name, batch_id=batch_id, load_date=load_date,
                         extracted_at=extracted_at, watermark_from=wm, watermark_to=wm, extracted=0,
                         standardised=0, quarantined=0, deleted=int(n),
                         files={"bronze": None, "silver": silver, "quarantine": None, "source_file": snapshot_file})
    lake.commit_batch(record)
    return record
