"""Writing one master into the gold build file: the one writer both planners hand their result to.

Given the records a planner re-decided (:class:`GoldInput`), the writer builds their golden records
(survivorship, then the master's ``enrich`` hooks), and writes the master table, cross-references,
tables the hooks keep beside the master, id registry, events (id events and attribute changes),
trained parameters, the state the next delta needs and the review queue.  A full build rewrites
all of a master's rows; a delta (``patch``) only the affected masters' rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa
import sqlglot
import sqlglot.expressions as exp

from core.errors import ConfigurationError
from core.sqltext import lit, q
from pipelines.masters.context import Context, MasterReport
from pipelines.masters.hooks import ENRICH, derived_columns, side_tables
from pipelines.masters.review_levels import write_review_levels
from pipelines.masters.store import append_events, exists, replace_master_rows, update_registry
from pipelines.masters.survivorship import attribute_change_sql, build_golden
from pipelines.masters.tables import BuildTables
from pipelines.resolve.comparisons import tf_features
from pipelines.resolve.config import MasterConfig, ResolveConfig
from pipelines.resolve.deterministic import RID
from pipelines.resolve.plan import Resolution
from pipelines.resolve.sql import Sql

#: Lineage columns the state keeps of every source record (with what survivorship reads).
STATE_SRC_LINEAGE = ("record_id", "_source", "_table", "_record_key", "_batch_id", "_extracted_at", "_updated_at",
                     "_row_hash", "_deleted")


@dataclass(frozen=True)
class Patch:
    """A delta's reach: only these masters are rewritten; these records left their masters."""

    affected: str  # (master_id)
    detached: str  # (record_id, master_id, cluster)
    #: resolved records (rid, record_id, features) covering every record the review queue may name
    queued: str | None = None


@dataclass(frozen=True)
class GoldInput:
    """What a planner hands the writer: its tables (``t``: ``map``, ``ids``, ``idevents``), the
    source records with lineage (``src``) and resolved records with features (``rec``) covering
    every record of ``t.map``, the engine's result, the batches consumed, and for a delta the
    :class:`Patch` (None: every row of the master is rewritten)."""

    cfg: MasterConfig
    t: BuildTables
    src: str
    rec: str
    res: Resolution
    batch_keys: list[str]
    patch: Patch | None = None


def write_gold(ctx: Context, inp: GoldInput, report: MasterReport) -> None:
    """Golden records, enrichment, events and every gold write for one master."""
    sql, m, t = ctx.sql, inp.cfg.master, inp.t
    where = f"master_id IN (SELECT master_id FROM {inp.patch.affected})" if inp.patch else ""
    with sql.step("golden"):
        build_golden(sql, inp.cfg, joined_records_sql(inp.cfg, inp.src, inp.rec, t.map, set(columns_of(sql, inp.src))),
                     t.golden, where, derived_columns(ctx, inp.cfg))
        for name in inp.cfg.hooks.enrich:
            if run := ENRICH[name].run:
                run(ctx, m, t.golden)
    with sql.step("write"):
        changes = _attribute_changes(sql, inp.cfg, t)
        # the latest batch; of batches extracted at the same moment, the greatest id (deterministic)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.lastbatch} AS SELECT master_id, arg_max(_batch_id, "
                f"struct_pack(t := _extracted_at, b := _batch_id)) AS batch_id FROM {t.surv} GROUP BY master_id")
        update_registry(sql, m, t.ids, t.idevents, ctx.build_id, ctx.now)
        append_events(sql, m, t.idevents, changes, t.lastbatch, ctx.build_id, ctx.now)
        _write_rows(sql, inp)
        if inp.res.params and not inp.patch:
            sql.register("__params", pa.Table.from_pylist(inp.res.params.rows(inp.cfg)))
            replace_master_rows(sql, "match_params", m, "SELECT * FROM __params")
            sql.unregister("__params")
    with sql.step("state"):
        write_state(ctx, inp)
    with sql.step("write"):
        write_review(ctx, m, inp.res, replace=inp.patch is None, records=inp.patch.queued if inp.patch else None)
    report.masters = int(sql.one(f"SELECT count(*) FROM gold.{m}_master") or 0)
    report.review = int(sql.one(f"SELECT count(*) FROM gold.review_queue WHERE master = {lit(m)}") or 0)
    sql.run(
        "INSERT INTO gold.builds VALUES (?, ?, ?, TIMESTAMP '" + ctx.now + "', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ctx.build_id, m, report.mode, 0.0, report.records, report.masters, report.ids.minted,
         report.ids.merged, report.ids.split, report.ids.retired, report.review, len(inp.batch_keys)],
    )


def _attribute_changes(sql: Sql, cfg: MasterConfig, t: BuildTables) -> str | None:
    """``changes``: attribute changes of the masters being rewritten, against their previous
    version (read once); None when the master is new to the gold file."""
    if not exists(sql, f"{cfg.master}_master"):
        return None
    old_cols = set(columns_of(sql, f"gold.{cfg.master}_master"))
    keep = cfg.model_copy(update={"attributes": {k: v for k, v in cfg.attributes.items() if k in old_cols}})
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.old} AS SELECT * FROM gold.{cfg.master}_master "
            f"WHERE master_id IN (SELECT master_id FROM {t.golden})")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.changes} AS {attribute_change_sql(keep, t.old, t.golden, t.surv)}")
    return t.changes


def _write_rows(sql: Sql, inp: GoldInput) -> None:
    """The master table, its cross-references and the tables its hooks keep beside it."""
    m, t, patch = inp.cfg.master, inp.t, inp.patch
    xref_sql = (
        f"SELECT x.record_id, x.master_id, x.rid AS record_no, s._source AS source, s._table AS table_name, "
        f"s._record_key AS record_key, s._batch_id AS batch_id, s._extracted_at AS extracted_at, x.rule, "
        f"x.weight AS match_weight, CASE WHEN x.weight IS NOT NULL THEN 1.0 / (1.0 + pow(2.0, -x.weight)) END "
        f"AS match_probability FROM {t.map} AS x JOIN {inp.src} AS s ON s.record_id = x.record_id"
    )
    sides = [(s.table(m), s.rows(m), s.key) for s in side_tables(inp.cfg)]
    if patch is None:
        order = sort_keys(inp.cfg)
        # the gold file's storage layout: DuckDB DDL with no engine counterpart (:meth:`Sql.io`)
        sql.io(master_table_ddl(sql, inp.cfg, t.golden))
        sql.run(f"INSERT INTO gold.{m}_master SELECT * FROM {t.golden} ORDER BY {order[f'{m}_master']}")
        sql.run(f"CREATE OR REPLACE TABLE gold.{m}_xref AS {xref_sql} ORDER BY x.{order[f'{m}_xref']}")
        for table, rows, _key in sides:
            sql.run(f"CREATE OR REPLACE TABLE gold.{table} AS SELECT * FROM {rows} ORDER BY {order[table]}")
        with sql.step("index"):
            index_master(sql, inp.cfg)
        return
    gone = f"(SELECT master_id FROM {t.idevents} WHERE event IN ('merged', 'retired'))"
    aff = f"(SELECT master_id FROM {patch.affected})"
    # (dropping the master table's ART indexes around these two statements and rebuilding them was
    # measured and is no faster: at 1 M persons, quiet, the person write took 4.1 s with the indexes
    # kept and 5.5 s with the five rebuilt; see benchmarks/RESULTS.md, "Seed scale, second run")
    sql.run(f"DELETE FROM gold.{m}_master WHERE master_id IN {aff} OR master_id IN {gone}")
    sql.run(f"INSERT INTO gold.{m}_master BY NAME SELECT * FROM {t.golden}")
    # by record number (the record id's hash, an integer), not by comparing millions of id strings
    sql.run(f"DELETE FROM gold.{m}_xref WHERE record_no IN (SELECT rid FROM {t.map}) "
            f"OR record_no IN (SELECT {RID} FROM {patch.detached})")
    sql.run(f"INSERT INTO gold.{m}_xref BY NAME {xref_sql}")
    for table, rows, key in sides:
        sql.run(f"DELETE FROM gold.{table} WHERE {key} IN {aff} OR {key} IN {gone}")
        sql.run(f"INSERT INTO gold.{table} SELECT * FROM {rows}")


def sort_keys(cfg: MasterConfig) -> dict[str, str]:
    """Gold table of this master -> the ORDER BY a full build writes it in (the master's
    ``layout.sorted_by``, :class:`pipelines.resolve.config.Layout`)."""
    m, first = cfg.master, cfg.layout.sorted_by
    out = {f"{m}_master": f"{q(first)}, master_id" if first else "master_id",
           f"{m}_xref": "master_id"}
    out.update({s.table(m): s.key for s in side_tables(cfg)})
    return out


def master_table_ddl(sql: Sql, cfg: MasterConfig, golden: str) -> str:
    """CREATE OR REPLACE the gold master table with the columns of ``golden``, its indexed columns
    (``layout.indexed``) stored uncompressed.

    Why: a delta deletes the rows of the masters it rewrites, and DuckDB removes each deleted row
    from every ART index by fetching the row's indexed values one row at a time - from a compressed
    string column, a decompression per row (~17 microseconds).  At 1 M persons (~40 k rewritten
    masters, five indexes) that DELETE cost 3.4-5.8 s, uncompressed 0.6-0.7 s; the table grew by
    ~10 % (370 -> 409 MB) and was written faster (benchmarks/RESULTS.md, "ART deletes")."""
    plain = set(cfg.layout.indexed)
    cols = ", ".join(f"{q(c)} {ty}" + (" USING COMPRESSION uncompressed" if c in plain else "")
                     for c, ty in sql.rows(f"SELECT column_name, column_type FROM (DESCRIBE {golden})"))
    return f"CREATE OR REPLACE TABLE gold.{cfg.master}_master ({cols})"


def index_master(sql: Sql, cfg: MasterConfig) -> None:
    """ART indexes on the master table's columns looked up one value at a time (the master's
    ``layout.indexed``).  A declared column the golden records lack is a configuration error, named."""
    m = cfg.master
    have = set(columns_of(sql, f"gold.{m}_master"))
    missing = [c for c in cfg.layout.indexed if c not in have]
    if missing:
        raise ConfigurationError(f"{m}: layout.indexed names columns the golden records lack: {', '.join(missing)}")
    for col in cfg.layout.indexed:
        sql.run(f"CREATE INDEX {m}_master_{col} ON gold.{m}_master ({q(col)})")


def write_review(ctx: Context, master: str, res: Resolution, replace: bool, records: str | None = None) -> None:
    """The steward review queue of this master: record pairs with their current master ids;
    ``records`` (rid, record_id, master_id, features; default: the state's) covers every record
    the queue may name - a delta's few thousand, where the state holds millions."""
    sql = ctx.sql
    rec = records or f"state.main.{master}_rec"
    if not sql.table_exists(res.review):
        return
    decided = ctx.steward.constraints(master)
    pairs = [tuple(sorted(p)) for p in decided.cannot + decided.must]
    sql.register("__decided", pa.table({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]},
                                       schema=pa.schema([("a", pa.string()), ("b", pa.string())])))
    # record ids and current master ids by record number (state.rec holds both, up to date)
    select = (
        f"SELECT {lit(master)} AS master, fl.record_id, fr.record_id AS candidate_record_id, fl.master_id, "
        f"fr.master_id AS candidate_master_id, v.weight AS match_weight, 1.0 / (1.0 + pow(2.0, -v.weight)) "
        f"AS match_probability, v.reason, {lit(ctx.build_id)} AS build_id FROM {res.review} AS v "
        f"JOIN {rec} AS fl ON fl.rid = v.l JOIN {rec} AS fr ON fr.rid = v.r "
        f"WHERE NOT EXISTS (SELECT 1 FROM __decided AS d WHERE d.a = least(fl.record_id, fr.record_id) "
        f"AND d.b = greatest(fl.record_id, fr.record_id))"
    )
    if replace:
        replace_master_rows(sql, "review_queue", master, select)
    else:
        sql.run(f"INSERT INTO gold.review_queue {select}")
        refresh_review(sql, master, records)
    sql.unregister("__decided")
    write_review_levels(sql, ctx.cfg(master), res.params, ctx.build_id, records)


def refresh_review(sql: Sql, master: str, records: str | None = None) -> None:
    """After a delta: current master ids on queued pairs; drop pairs now together, gone or repeated.

    ``records`` (record_id, master_id): the current records the queue may name (default: all, the
    cross-references).  The master's queue is rewritten in one statement with the current ids
    joined in: two UPDATEs of the ids took 41 s of a 133 s delta at 3 M persons (67 k queued
    pairs; DuckDB's UPDATE ... FROM of ~26 k scattered rows, 14.7 s alone on a copy, where the
    same join as a SELECT takes 0.02 s - benchmarks/RESULTS.md)."""
    m = lit(master)
    xref = f"(SELECT record_id, master_id FROM {records})" if records else f"gold.{master}_xref"
    # both records must still be current (inner joins), and their current masters differ
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE __review AS SELECT q.* REPLACE (a.master_id AS master_id, "
        f"b.master_id AS candidate_master_id) FROM gold.review_queue AS q "
        f"JOIN {xref} AS a ON a.record_id = q.record_id JOIN {xref} AS b ON b.record_id = q.candidate_record_id "
        f"WHERE q.master = {m} AND a.master_id <> b.master_id "
        f"QUALIFY row_number() OVER (PARTITION BY q.record_id, q.candidate_record_id ORDER BY q.build_id DESC) = 1"
    )
    replace_master_rows(sql, "review_queue", master, "SELECT * FROM __review")
    sql.run("DROP TABLE __review")


def write_state(ctx: Context, inp: GoldInput) -> None:
    """What the next delta needs (schema ``state``); a delta's planner updates the resolved and
    source records itself, before the golden records are built from them."""
    sql, cfg, m = ctx.sql, inp.cfg, inp.cfg.master
    if inp.patch is None:
        sql.run(f"CREATE OR REPLACE TEMP TABLE __canch AS SELECT x.cluster, bool_or(f.anchored) AS anchored "
                f"FROM {inp.rec} AS f JOIN {inp.t.map} AS x ON x.rid = f.rid GROUP BY x.cluster")
        sql.run(f"CREATE OR REPLACE TABLE state.main.{m}_rec AS SELECT f.*, x.master_id, x.cluster, "
                f"a.anchored AS cluster_anchored FROM {inp.rec} AS f JOIN {inp.t.map} AS x ON x.rid = f.rid "
                f"JOIN __canch AS a ON a.cluster = x.cluster")
        sql.run("DROP TABLE __canch")
        # the source records a delta needs to recompute golden records: lineage columns and what
        # survivorship reads (issues and raw identifier texts stay in silver)
        have = columns_of(sql, inp.src)
        keep = [c for c in have if c in STATE_SRC_LINEAGE or c in survivorship_columns(cfg, set(have))]
        sql.run(f"CREATE OR REPLACE TABLE state.main.{m}_src AS SELECT {', '.join(q(c) for c in keep)} FROM {inp.src}")
        for f in tf_features(cfg):
            sql.run(f"CREATE OR REPLACE TABLE state.main.{m}_tf_{f} AS SELECT * FROM {inp.t.engine.tf(f)}")
        sql.run("DELETE FROM state.main.batches WHERE master = ?", [m])
    if inp.batch_keys:
        sql.register("__batches", pa.table({"batch": pa.array(inp.batch_keys, pa.string())}))
        sql.run(f"INSERT INTO state.main.batches SELECT {lit(m)}, batch FROM __batches")
        sql.unregister("__batches")
    sql.run("DELETE FROM state.main.meta WHERE master = ?", [m])
    sql.run("INSERT INTO state.main.meta VALUES (?, ?, ?, ?, ?)",
            [m, cfg.fingerprint(), ctx.steward.fingerprint(m), ctx.build_id,
             int(sql.one(f"SELECT count(*) FROM state.main.{m}_rec") or 0)])


def joined_records_sql(cfg: ResolveConfig, src: str, rec: str, xmap: str, src_cols: set[str]) -> str:
    """Source records + features (those not already source columns) + master_id + rid."""
    feats = [f for f in cfg.table_features if f not in src_cols]
    fcols = "".join(f", f.{q(f)}" for f in feats)
    return (f"(SELECT s.*{fcols}, x.master_id, x.cluster, x.rid FROM {src} AS s "
            f"JOIN {xmap} AS x ON x.record_id = s.record_id JOIN {rec} AS f ON f.rid = x.rid)")


def survivorship_columns(cfg: ResolveConfig, available: set[str]) -> set[str]:
    """Source columns the golden record reads: attribute values and validations (features aside)."""
    out: set[str] = set()
    for name, a in cfg.attributes.items():
        texts = [a.value or name] + ([a.validated] if a.validated else [])
        for t in texts:
            for col in sqlglot.parse_one(t, read="duckdb").find_all(exp.Column):
                if col.name in available:
                    out.add(col.name)
    return out


def columns_of(sql: Sql, table: str) -> list[str]:
    return [r[0] for r in sql.rows(f"SELECT column_name FROM (DESCRIBE {table})")]
