"""Ingest: extract what is new in a source, land it in bronze, standardise it into silver.

One call handles one source table end to end and is what both ``masterdata ingest`` and the
Airflow task run.  A batch is written as bronze, silver (one file per master the table feeds) and
quarantine files under their final names, then made visible by its commit marker, which also
records the watermark the batch reached (the next run continues from the committed markers, so
there is no second write that a crash could separate from the first).  So a run killed at any point
leaves nothing visible, and re-running it extracts the same rows, derives the same batch id and
overwrites the same files: re-runs never duplicate rows.  The next run of the table removes what a
killed one left behind (``Lake.table_session``).

Each landed file is its own unit: a file that cannot be read is set aside with its reason (recorded
in the lake) and the table's other files load; a file not complete yet waits for a later run.
DuckDB works confined to the lake while ingesting (``core.db.confine``): no SQL generated from a
spec can read or write anything else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from core.db import confine, connect
from core.sqltext import lit, q
from pipelines.connections import SourceEnvironment
from pipelines.deletes import record_key_sql, write_tombstones
from pipelines.extract import (
    FILE_READERS,
    LINE,
    FileNotice,
    RawBatch,
    pending_batches,
    source_keys,
    spec_fingerprint,
)
from pipelines.lake import BatchRecord, Lake, atomic_path
from pipelines.registry import SourceSpec, Table, registry
from pipelines.standardise import SQL_TYPES, ElementSQL, answers_sql, identity_sql, table_elements
from standards.dictionary import Dictionary, dictionary
from standards.reasons import Reason

LINEAGE = ("_source", "_table", "_record_key", "_batch_id", "_extracted_at", "_row_hash")


@dataclass
class BatchOutcome:
    source: str
    table: str
    batch_id: str
    extracted: int
    standardised: int
    quarantined: int
    #: nothing loaded by this outcome: already loaded, or a file set aside / waiting (``note``)
    skipped: bool = False
    #: one line about a landed file this run did not load (set aside with its reason, or waiting)
    note: str | None = None
    #: a file set aside by this run (not by an earlier one)
    set_aside: bool = False
    #: source records found deleted (a tombstone batch)
    deleted: int = 0

    def line(self) -> str:
        if self.note:
            return self.note
        if self.deleted:
            return f"{self.source}.{self.table} {self.batch_id}: {self.deleted:,} record(s) deleted at the source"
        state = "already loaded" if self.skipped else "loaded"
        return (f"{self.source}.{self.table} {self.batch_id}: {state}: extracted {self.extracted:,} = "
                f"standardised {self.standardised:,} + quarantined {self.quarantined:,}")


@dataclass
class IngestReport:
    outcomes: list[BatchOutcome] = field(default_factory=list)

    @property
    def extracted(self) -> int:
        return sum(o.extracted for o in self.outcomes if not o.skipped)

    @property
    def standardised(self) -> int:
        return sum(o.standardised for o in self.outcomes if not o.skipped)

    @property
    def quarantined(self) -> int:
        return sum(o.quarantined for o in self.outcomes if not o.skipped)


def _bronze_sql(table: Table, staged: Path, batch: RawBatch, source: str, extracted_at: str) -> str:
    cols = table.columns
    key = record_key_sql(table)
    row = ", ".join(f"coalesce({q(c)}, '\\N')" for c in cols)
    return (
        f"SELECT {', '.join(q(c) for c in cols)}, {lit(source)} AS _source, {lit(table.name)} AS _table, "
        f"{key} AS _record_key, {lit(batch.batch_id)} AS _batch_id, TIMESTAMP {lit(extracted_at)} AS _extracted_at, "
        f"md5(concat_ws(chr(31), {row})) AS _row_hash, row_number() OVER () AS {LINE} "
        f"FROM read_parquet({lit(str(staged))})"
    )


def stage_rows(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, batch: RawBatch,
               extracted_at: str, elems: dict[str, ElementSQL]) -> None:
    """The batch's bronze rows, each with its elements' raw texts (``r:<element>``), as the temp
    table ``s0``: bronze is written from it and standardisation reads it, so the staged file is
    read and the raw expressions computed once."""
    raws = ", ".join(f"{e.raw} AS {_ref(n)}" for n, e in elems.items())
    con.execute(f"CREATE OR REPLACE TEMP TABLE s0 AS SELECT *, {raws} "
                f"FROM ({_bronze_sql(table, batch.staged, batch, spec.source, extracted_at)})")


def _ref(name: str) -> str:
    """The column of ``s0`` holding an element's raw text."""
    return q("r:" + name)


def standardise_batch(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, elems: dict[str, ElementSQL],
                      lake: Lake, batch: RawBatch, per_value: bool = True) -> tuple[int, int, dict[str, str]]:
    """Write silver (one file per master) and quarantine from the staged rows ``s0`` (:func:`stage_rows`).

    Returns (standardised source rows, quarantined rows, silver file per master relative to the lake).
    ``per_value``: see :func:`pipelines.standardise.answers_sql` (the output is the same either way).
    """
    d = dictionary()
    names = list(elems)
    hard_items = [
        f"CASE WHEN {q('h:' + n)} THEN struct_pack(element := {lit(n)}, reason := {q('p:' + n)}, "
        f"value := {_preview(_ref(n))}) END"
        for n in names
    ]
    masters = table.feeds
    cols_for_identity = {}
    for n in names:
        cols_for_identity[n] = q("v:" + n)
        if d.element(n).keeps_raw:
            cols_for_identity[n + "_raw"] = _ref(n)
    for m in masters:
        hard_items.append(
            f"CASE WHEN NOT ({identity_sql(d.masters[m], cols_for_identity)}) THEN struct_pack(element := {lit(m)}, "
            f"reason := '{Reason.NO_IDENTITY}', value := NULL) END"
        )
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE s3 AS SELECT *, "
        f"list_filter([{', '.join(hard_items)}], lambda x: x IS NOT NULL) AS _hard, "
        f"list_filter([{', '.join(_issue_items(names))}], lambda x: x IS NOT NULL) AS _issues "
        f"FROM {answers_sql(elems, 's0', _ref, per_value)}"
    )

    silver_files: dict[str, str] = {}
    for m in masters:
        select = _silver_select(m, names, d)
        path = lake.silver_path(m, spec.source, table.name, batch.batch_id)
        with atomic_path(path) as tmp:
            con.execute(f"COPY (SELECT {select} FROM s3 WHERE len(_hard) = 0 ORDER BY {LINE}) "
                        f"TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
        silver_files[m] = str(path.relative_to(lake.root))
    quarantined = _write_quarantine(con, spec, table, lake, batch)
    good = con.execute("SELECT count(*) FROM s3 WHERE len(_hard) = 0").fetchone()[0]  # type: ignore[index]
    return int(good), quarantined, silver_files


def _write_quarantine(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, lake: Lake,
                      batch: RawBatch) -> int:
    """The rows of ``s3`` that cannot be read as the source meant them, and the extract's rejects:
    written to the batch's quarantine file (none when there are none); returns how many."""
    raw_json = "CAST(to_json(struct_pack(" + ", ".join(f"{q(c)} := {q(c)}" for c in table.columns) + ")) AS VARCHAR)"
    qpath = lake.quarantine_path(spec.source, table.name, batch.batch_id)
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE qrows AS "
        f"SELECT _source, _table, _record_key, _batch_id, _extracted_at, _row_hash, {LINE}, "
        f"_hard[1].element AS field, _hard[1].reason AS reason, _hard[1].value AS value, _hard AS reasons, "
        f"{raw_json} AS raw FROM s3 WHERE len(_hard) > 0"
    )
    if batch.rejects.num_rows:
        con.register("rejects_in", batch.rejects)
        con.execute(
            f"INSERT INTO qrows SELECT {lit(spec.source)}, {lit(table.name)}, NULL, {lit(batch.batch_id)}, "
            f"(SELECT max(_extracted_at) FROM s3), NULL, {LINE}, field, reason, value, "
            f"[struct_pack(element := field, reason := reason, value := value)], raw FROM rejects_in"
        )
        con.unregister("rejects_in")
    quarantined = con.execute("SELECT count(*) FROM qrows").fetchone()[0]  # type: ignore[index]
    if quarantined:
        with atomic_path(qpath) as tmp:
            con.execute(f"COPY (SELECT * FROM qrows ORDER BY {LINE}) TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    return int(quarantined)


def _preview(raw: str, keep: int = 200) -> str:
    """The quarantine's ``value`` of a very long text: its start and length (the row's ``raw``
    keeps the whole original)."""
    return f"CASE WHEN length({raw}) > {keep} THEN left({raw}, {keep}) || '… (' || length({raw}) || ' characters)' ELSE {raw} END"


def _issue_items(names: list[str]) -> list[str]:
    return [
        f"CASE WHEN {q('p:' + n)} IS NOT NULL AND NOT {q('h:' + n)} THEN struct_pack(element := {lit(n)}, "
        f"reason := {q('p:' + n)}, value := {_ref(n)}) END"
        for n in names
    ]


def _silver_select(master: str, names: list[str], d: Dictionary) -> str:
    cols = [f"{c}" for c in LINEAGE]
    cols.append(f"{q('v:meta.updated_at') if 'meta.updated_at' in names else 'CAST(NULL AS TIMESTAMP)'} AS _updated_at")
    cols.append(f"{q('v:meta.deleted') if 'meta.deleted' in names else 'FALSE'} AS _deleted")
    for e in d.masters[master].elements.values():
        n = e.qualified
        typ = SQL_TYPES[e.type]
        cols.append(f"{q('v:' + n) if n in names else f'CAST(NULL AS {typ})'} AS {q(e.name)}")
        if e.keeps_raw:
            cols.append(f"{_ref(n) if n in names else 'CAST(NULL AS VARCHAR)'} AS {q(e.name + '_raw')}")
    cols.append("_issues")
    return ", ".join(cols)


def ingest_table(spec: SourceSpec, table: Table, env: SourceEnvironment | None = None, lake: Lake | None = None,
                 now: datetime | None = None, con: duckdb.DuckDBPyConnection | None = None) -> list[BatchOutcome]:
    """Extract, land and standardise everything new in one table; returns one outcome per batch,
    per landed file set aside or waiting, and per tombstone batch.

    A connection passed in is confined to the lake from then on (``core.db.confine``).
    """
    env = env or SourceEnvironment.from_env()
    lake = lake or Lake()
    now = now or datetime.now(UTC)
    extracted_at = _stamp(now, 0)
    load_date = now.strftime("%Y-%m-%d")
    own = con is None
    con = con or connect()
    outcomes: list[BatchOutcome] = []
    try:
        with lake.table_session(spec.source, table.name) as work:
            confine(con, lake.root)
            last: RawBatch | None = None
            for item in pending_batches(spec, table, env, lake, work):
                if isinstance(item, FileNotice):
                    outcomes.append(_file_notice(lake, spec, table, item, extracted_at))
                    continue
                outcomes.append(load_batch(con, spec, table, lake, item, _stamp(now, item.order), load_date))
                last = item
            if table.deletes == "snapshot":
                after = _stamp(now, (last.order if last else 0) + 1)
                outcomes.extend(_find_deletes(con, spec, table, env, lake, last, work, after, load_date))
    finally:
        if own:
            con.close()
    return outcomes


def _stamp(now: datetime, order: int) -> str:
    """The extraction time of a run's ``order``-th unit: files landed in one run are extracted one
    after another, in delivery order, and their records' latest version is decided by this time
    (``pipelines.masters.records``), so each gets its own (a microsecond apart)."""
    t = now.replace(tzinfo=None, microsecond=0) + timedelta(microseconds=order)
    return t.isoformat(sep=" ", timespec="microseconds" if t.microsecond else "seconds")


def load_batch(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, lake: Lake, batch: RawBatch,
                extracted_at: str, load_date: str) -> BatchOutcome:
    """Bronze, silver and quarantine files of one batch, then its commit marker (last)."""
    if lake.is_committed(spec.source, table.name, batch.batch_id):
        return BatchOutcome(spec.source, table.name, batch.batch_id, batch.extracted, 0, 0, True)
    bronze = lake.bronze_path(spec.source, table.name, load_date, batch.batch_id)
    elems = table_elements(spec, table, ref=_ref)
    stage_rows(con, spec, table, batch, extracted_at, elems)
    with atomic_path(bronze) as tmp:
        con.execute(f"COPY (SELECT {', '.join(q(c) for c in (*table.columns, *LINEAGE, LINE))} FROM s0) "
                    f"TO {lit(str(tmp))} (FORMAT parquet, COMPRESSION zstd)")
    good, quarantined, files = standardise_batch(con, spec, table, elems, lake, batch)
    record = BatchRecord(
        source=spec.source, table=table.name, batch_id=batch.batch_id, load_date=load_date,
        extracted_at=extracted_at, watermark_from=batch.watermark_from, watermark_to=batch.watermark_to,
        extracted=batch.extracted, standardised=good, quarantined=quarantined,
        files={"bronze": str(bronze.relative_to(lake.root)), "silver": files,
               "quarantine": str(lake.quarantine_path(spec.source, table.name, batch.batch_id)
                                 .relative_to(lake.root)) if quarantined else None,
               "source_file": batch.file[1] if batch.file else None,
               "source_hash": batch.file[0] if batch.file else None},
    )
    lake.commit_batch(record)
    return BatchOutcome(spec.source, table.name, batch.batch_id, batch.extracted, good, quarantined)


def _file_notice(lake: Lake, spec: SourceSpec, table: Table, notice: FileNotice, at: str) -> BatchOutcome:
    """Record a file newly set aside (the lake remembers it until the file or the spec changes)."""
    fresh = notice.refused is not None and not notice.earlier
    if fresh and notice.refused is not None:
        lake.set_aside(spec.source, table.name, notice.key, {
            "source": spec.source, "table": table.name, "file": notice.file, "key": notice.key,
            "reason": str(notice.refused.reason), "detail": notice.refused.detail, "at": at,
            "spec": spec_fingerprint(spec, table)})
    return BatchOutcome(spec.source, table.name, notice.key, 0, 0, 0, skipped=True,
                        note=notice.line(spec.source, table.name), set_aside=fresh)


def _find_deletes(con: duckdb.DuckDBPyConnection, spec: SourceSpec, table: Table, env: SourceEnvironment,
                  lake: Lake, last: RawBatch | None, work: Path, extracted_at: str,
                  load_date: str) -> list[BatchOutcome]:
    """Tombstones for the records the source no longer holds (``deletes: snapshot``)."""
    snapshot_file = None
    if spec.connection.kind in FILE_READERS:
        if last is None or last.file is None:
            return []  # no new file: no new snapshot
        snapshot_file = last.file[1]
        if last.rejects.num_rows:
            return [BatchOutcome(spec.source, table.name, last.batch_id, 0, 0, 0, skipped=True,
                                 note=f"{spec.source}.{table.name} {snapshot_file}: deletions not checked: "
                                      f"{last.rejects.num_rows:,} row(s) of it could not be read, so its keys "
                                      f"are not a complete snapshot")]
        present = f"read_parquet({lit(str(last.staged))})"
    else:
        keys = work / "source_keys.parquet"
        pq.write_table(source_keys(spec, table, env), keys)
        present = f"read_parquet({lit(str(keys))})"
    record = write_tombstones(con, spec, table, lake, present, extracted_at, load_date, snapshot_file)
    if record is None:
        return []
    return [BatchOutcome(spec.source, table.name, record.batch_id, 0, 0, 0, deleted=record.deleted)]


def ingest_source(name: str, env: SourceEnvironment | None = None, lake: Lake | None = None,
                  now: datetime | None = None, progress: Callable[[str], None] | None = None,
                  con: duckdb.DuckDBPyConnection | None = None) -> list[BatchOutcome]:
    """Every table of one source; a failure names the source (other sources are unaffected)."""
    specs = registry()
    if name not in specs:
        raise KeyError(f"unknown source {name!r}; known: {', '.join(sorted(specs))}")
    spec = specs[name]
    out: list[BatchOutcome] = []
    own = con is None
    con = con or connect()
    try:
        for t in spec.tables:
            for o in ingest_table(spec, t, env, lake, now, con):
                out.append(o)
                if progress:
                    progress(o.line())
    finally:
        if own:
            con.close()
    return out
