"""The silver records a master is built from: the current version of every source record.

A source record (``_source``, ``_table``, ``_record_key``) may arrive in several batches as it is
updated; only its latest extraction counts, and a latest version flagged ``_deleted`` removes the
record.  ``record_id`` = ``source:table:record_key`` is the stable identity of a source record
across batches, rebuilds and masters (a row of a table feeding person and licence has the same
record id in both, which is how a licence finds the person written on the same row).
"""

from __future__ import annotations

from pathlib import Path

from core.sqltext import lit
from pipelines.lake import Lake
from pipelines.resolve.sql import Sql
from pipelines.standardise import SQL_TYPES
from standards.dictionary import dictionary

LINEAGE_TYPES = {"_source": "VARCHAR", "_table": "VARCHAR", "_record_key": "VARCHAR", "_batch_id": "VARCHAR",
                 "_extracted_at": "TIMESTAMP", "_row_hash": "VARCHAR", "_updated_at": "TIMESTAMP",
                 "_deleted": "BOOLEAN"}
RECORD_ID = "_source || ':' || _table || ':' || _record_key"


def silver_columns(master: str) -> dict[str, str]:
    """Column -> SQL type of a master's silver files (what ``pipelines.ingest`` writes)."""
    d = dictionary()
    cols = dict(LINEAGE_TYPES)
    for e in d.masters[master].elements.values():
        cols[e.name] = SQL_TYPES[e.type]
        if e.keeps_raw:
            cols[e.name + "_raw"] = "VARCHAR"
    cols["_issues"] = "STRUCT(element VARCHAR, reason VARCHAR, \"value\" VARCHAR)[]"
    return cols


def _read_sql(master: str, files: list[Path]) -> str:
    if not files:
        cols = ", ".join(f"CAST(NULL AS {t}) AS {c}" for c, t in silver_columns(master).items())
        return f"SELECT {cols} LIMIT 0"
    paths = ", ".join(lit(str(p)) for p in files)
    return f"SELECT * FROM read_parquet([{paths}], union_by_name = true)"


def load_records(sql: Sql, master: str, files: list[Path], out: str, keep_deleted: bool = False) -> int:
    """Create TEMP ``out``: current, non-deleted versions of the records in ``files`` + ``record_id``.

    A table read from one batch holds each record once (its key is the primary key), so only the
    tables with several batches pay for picking each record's latest version.  With
    ``keep_deleted`` the deleted versions stay (a delta run needs them to detach records).
    """
    keep = "" if keep_deleted else " WHERE NOT coalesce(_deleted, FALSE)"
    by_table: dict[Path, list[Path]] = {}
    for f in files:
        by_table.setdefault(f.parent, []).append(f)
    single = [f for fs in by_table.values() if len(fs) == 1 for f in fs]
    multi = [f for fs in by_table.values() if len(fs) > 1 for f in fs]
    # the file scans are connector work (views); what follows is engine SQL over them
    sql.io(f"CREATE OR REPLACE TEMP VIEW {out}_files1 AS {_read_sql(master, single)}")
    sql.io(f"CREATE OR REPLACE TEMP VIEW {out}_filesn AS {_read_sql(master, multi)}")
    parts = []
    if single or not multi:
        parts.append(f"SELECT *, {RECORD_ID} AS record_id FROM {out}_files1")
    if multi:
        parts.append(f"SELECT *, {RECORD_ID} AS record_id FROM {out}_filesn "
                     f"QUALIFY row_number() OVER (PARTITION BY _source, _table, _record_key "
                     f"ORDER BY _extracted_at DESC, _batch_id DESC) = 1")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM ({' UNION ALL BY NAME '.join(parts)}){keep}")
    return int(sql.one(f"SELECT count(*) FROM {out}") or 0)


def committed_files(lake: Lake, master: str, exclude_batches: set[str] | None = None
                    ) -> tuple[list[Path], list[str]]:
    """(silver files, their batch keys ``source/table/batch_id``) of committed batches."""
    files: list[Path] = []
    keys: list[str] = []
    for b in lake.committed_batches():
        key = f"{b.source}/{b.table}/{b.batch_id}"
        if exclude_batches and key in exclude_batches:
            continue
        p = lake.silver_path(master, b.source, b.table, b.batch_id)
        if master in b.files.get("silver", {}) and p.exists():
            files.append(p)
            keys.append(key)
    return files, keys
