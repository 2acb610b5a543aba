"""Build the three master libraries from silver into the gold store: ``masterdata build``.

For each master, in dependency order (person, entity - whose legal representatives are persons -
then licence - whose holders are persons or entities):

1. read the current version of every silver record of the master (:mod:`pipelines.masters.records`);
2. resolve them (:func:`pipelines.resolve.engine.resolve`), honouring every steward decision;
3. give each cluster its stable id (:func:`pipelines.resolve.stable_ids.assign_ids`);
4. build golden records with per-attribute lineage (:mod:`pipelines.masters.survivorship`);
5. write masters, cross-references, events, lineage, registry, review queue and the state an
   incremental run needs into the gold build file, which replaces the gold file atomically.

A master is built *incrementally* (:mod:`pipelines.masters.incremental`) when the gold file already
holds it, its configuration and the steward decisions about it are unchanged, and the lake only
gained batches since; otherwise from scratch (ids still carry over through the previous
cross-reference).  A master whose inputs did not change at all is left as it is.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from core.db import connect
from core.errors import InputError
from core.settings import settings
from core.sqltext import lit, q
from pipelines.lake import Lake
from pipelines.masters.licences import link_holders, link_legal_reps, mint_identifiers, status_sql
from pipelines.masters.records import committed_files, load_records
from pipelines.masters.store import (
    append_events,
    ensure_schema,
    exists,
    next_seq,
    replace_master_rows,
    update_registry,
    write_steward_decisions,
)
from pipelines.masters.survivorship import attribute_change_sql, build_golden, lineage_view_sql
from pipelines.resolve.comparisons import tf_features
from pipelines.resolve.config import MASTERS, ResolveConfig, master_config
from pipelines.resolve.engine import Resolution, resolve
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql
from pipelines.resolve.stable_ids import IdStats, assign_ids
from pipelines.resolve.steward import StewardLog
from warehouse.gold import GoldBuild, build_lock, gold_path, steward_path

ORDER = MASTERS  # person, entity, licence
#: entity deterministic key name -> holder id type of licences
ENTITY_KEY_OF_HOLDER_TYPE = {"001": "uscc", "002": "org_code", "003": "reg_no"}


class BuildError(InputError):
    """A build that cannot run (one line for the command line)."""


@dataclass
class MasterReport:
    master: str
    mode: str  # full | delta | unchanged
    records: int = 0
    masters: int = 0
    ids: IdStats = field(default_factory=IdStats)
    review: int = 0
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    details: dict[str, object] = field(default_factory=dict)

    def line(self) -> str:
        if self.mode == "unchanged":
            return f"{self.master:8} unchanged"
        i = self.ids
        return (f"{self.master:8} {self.mode:5} {self.records:>10,} records -> {self.masters:>9,} masters "
                f"(minted {i.minted:,}, merged {i.merged:,}, split {i.split:,}, retired {i.retired:,}; "
                f"review {self.review:,}) in {self.seconds:.1f}s")


@dataclass
class BuildReport:
    build_id: str
    gold: Path
    masters: list[MasterReport] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False

    def render(self) -> str:
        lines = [f"build {self.build_id} -> {self.gold}" + ("" if self.written else " (nothing new: not rewritten)")]
        lines += ["  " + r.line() for r in self.masters]
        lines.append(f"  total {self.seconds:.1f}s")
        return "\n".join(lines)


@dataclass
class Context:
    sql: Sql
    lake: Lake
    steward: StewardLog
    build_id: str
    now: str
    as_of: date
    config_dir: Path | None = None
    cache: set[str] = field(default_factory=set)

    def cfg(self, master: str) -> ResolveConfig:
        return master_config(master, self.config_dir)


def work_connection() -> duckdb.DuckDBPyConnection:
    """In-memory work database with the standard's macros, bounded by ``$MASTERDATA_BUILD_MEMORY``;
    insertion order is not preserved (no statement of the build relies on it, and dropping it lets
    DuckDB write in parallel)."""
    return connect(settings().build_memory, preserve_order=False)


# --------------------------------------------------------------------------------------------------
# planning
# --------------------------------------------------------------------------------------------------


def plan(ctx: Context, master: str, full: bool) -> tuple[str, list[Path], list[str]]:
    """(mode, silver files to read, their batch keys) for one master.

    ``delta`` reads only the batches the state has not consumed; ``full`` reads all.
    """
    sql = ctx.sql
    cfg = ctx.cfg(master)
    all_files, all_keys = committed_files(ctx.lake, master)
    if full or not exists(sql, f"{master}_rec", "state") or not exists(sql, f"{master}_master"):
        return "full", all_files, all_keys
    meta = sql.rows("SELECT fingerprint, steward FROM gold.state.meta WHERE master = ?", [master])
    if not meta or meta[0][0] != cfg.fingerprint() or meta[0][1] != ctx.steward.fingerprint(master):
        return "full", all_files, all_keys
    consumed = {r[0] for r in sql.rows("SELECT batch FROM gold.state.batches WHERE master = ?", [master])}
    if not consumed <= set(all_keys):  # a batch vanished from the lake: start over
        return "full", all_files, all_keys
    new = [(f, k) for f, k in zip(all_files, all_keys) if k not in consumed]
    if not new:
        return "unchanged", [], []
    return "delta", [f for f, _ in new], [k for _, k in new]


# --------------------------------------------------------------------------------------------------
# full build of one master
# --------------------------------------------------------------------------------------------------


def holder_inputs(ctx: Context) -> dict[str, str]:
    """Person / entity record maps and key maps for licence holder linkage (from the gold file).

    Record maps are views on the cross-reference tables (joins only touch what they need); the key
    maps are aggregated once per build - person and entity are final by the time anyone asks.
    """
    sql = ctx.sql
    ecfg = ctx.cfg("entity")
    out = {"person_records": "__person_records", "person_ids": "__person_ids",
           "entity_records": "__entity_records", "entity_keys": "__entity_keys"}
    have_p = exists(sql, "person_xref") and exists(sql, "person_rec", "state")
    have_e = exists(sql, "entity_xref") and exists(sql, "entity_rec", "state")
    empty2 = "SELECT CAST(NULL AS VARCHAR) AS record_id, CAST(NULL AS VARCHAR) AS master_id LIMIT 0"
    sql.run("CREATE OR REPLACE TEMP VIEW __person_records AS "
            + ("SELECT record_id, master_id FROM gold.person_xref" if have_p else empty2))
    sql.run("CREATE OR REPLACE TEMP VIEW __entity_records AS "
            + ("SELECT record_id, master_id FROM gold.entity_xref" if have_e else empty2))
    person_ids(ctx)
    parts = []
    if have_e and ecfg.deterministic:
        for k in ecfg.deterministic.keys:
            parts.append(f"SELECT {lit(k.name)} AS kind, {q(k.feature)} AS key, min(master_id) AS master_id "
                         f"FROM gold.state.entity_rec WHERE {q(k.feature)} IS NOT NULL GROUP BY {q(k.feature)}")
    sql.run("CREATE OR REPLACE TEMP TABLE __entity_keys AS " + (" UNION ALL ".join(parts) if parts else
            "SELECT CAST(NULL AS VARCHAR) AS kind, CAST(NULL AS VARCHAR) AS key, CAST(NULL AS VARCHAR) AS master_id "
            "LIMIT 0"))
    return out


def person_ids(ctx: Context) -> str:
    """``__person_ids`` (id_key, master_id), aggregated once per build: persons are built first,
    so the map is final by the time entities (legal representatives) and licences ask for it."""
    sql = ctx.sql
    if "person_ids" in ctx.cache:
        return "__person_ids"
    pk = ctx.cfg("person").primary_key
    have = exists(sql, "person_rec", "state") and pk
    sql.run("CREATE OR REPLACE TEMP TABLE __person_ids AS " + (
        f"SELECT {q(pk)} AS id_key, min(master_id) AS master_id FROM gold.state.person_rec WHERE {q(pk)} IS NOT NULL "
        f"GROUP BY {q(pk)}" if have else
        "SELECT CAST(NULL AS VARCHAR) AS id_key, CAST(NULL AS VARCHAR) AS master_id LIMIT 0"))
    ctx.cache.add("person_ids")
    return "__person_ids"


def prepare_licence_records(ctx: Context, src: str, out: str) -> dict[str, int]:
    """``out`` = licence records + holder_kind, holder_master_id, holder_link."""
    maps = holder_inputs(ctx)
    # link_holders keys entities by kind name; licence holder types map onto entity key names
    counts = link_holders(ctx.sql, src, maps["person_records"], maps["person_ids"], maps["entity_records"],
                          maps["entity_keys"], "licence_holder", ENTITY_KEY_OF_HOLDER_TYPE)
    ctx.sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT s.*, h.holder_kind, h.holder_master_id, h.holder_link "
                f"FROM {src} AS s JOIN licence_holder AS h ON h.record_id = s.record_id")
    return counts


def joined_records_sql(cfg: ResolveConfig, src: str, rec: str, xmap: str, src_cols: set[str]) -> str:
    """Source records + features (those not already source columns) + master_id + rid."""
    feats = [f for f in cfg.features if f not in src_cols]
    fcols = "".join(f", f.{q(f)}" for f in feats)
    return (f"(SELECT s.*{fcols}, x.master_id, x.cluster, x.rid FROM {src} AS s "
            f"JOIN {xmap} AS x ON x.record_id = s.record_id JOIN {rec} AS f ON f.rid = x.rid)")


STATE_SRC_LINEAGE = ("record_id", "_source", "_table", "_record_key", "_batch_id", "_extracted_at", "_updated_at",
                     "_row_hash", "_deleted")


def survivorship_columns(cfg: ResolveConfig, available: set[str]) -> set[str]:
    """Source columns the golden record reads: attribute values and validations (features aside)."""
    import sqlglot
    import sqlglot.expressions as exp

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


def build_full(ctx: Context, master: str, files: list[Path], batch_keys: list[str]) -> MasterReport:
    sql = ctx.sql
    cfg = ctx.cfg(master)
    t0 = time.perf_counter()
    report = MasterReport(master, "full")
    with sql.step("read"):
        report.records = load_records(sql, master, files, f"{master}_src")
    src = f"{master}_src"
    if master == "licence":
        with sql.step("holders"):
            report.details["holder_links"] = prepare_licence_records(ctx, src, f"{master}_srcx")
        src = f"{master}_srcx"
    res = resolve(sql, cfg, src, constraints=ctx.steward.constraints(master))
    report.details["pairs"] = res.pairs_per_rule
    report.details["clustering"] = res.cluster_stats.__dict__
    with sql.step("ids"):
        sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_members AS SELECT f.record_id, f.rid, c.cluster, c.rule, "
                f"c.weight FROM {res.clusters} AS c JOIN {res.rec} AS f ON f.rid = c.rid")
        prev = None
        if exists(sql, f"{master}_xref"):
            sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_prev AS SELECT record_id, master_id FROM gold.{master}_xref")
            prev = f"{master}_prev"
        report.ids = assign_ids(sql, cfg.id_prefix, f"{master}_members", prev, next_seq(sql, master),
                                f"{master}_ids", f"{master}_idevents")
        sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_map AS SELECT m.record_id, m.rid, i.master_id, m.rule, m.weight, "
                f"m.cluster FROM {master}_members AS m JOIN {master}_ids AS i ON i.cluster = m.cluster")
    finish(ctx, master, cfg, res, src, f"{master}_map", f"{master}_ids", f"{master}_idevents", report,
           batch_keys, replace_all=True)
    report.seconds = time.perf_counter() - t0
    return report


def finish(ctx: Context, master: str, cfg: ResolveConfig, res: Resolution | None, src: str, xmap: str, ids: str,
           idevents: str, report: MasterReport, batch_keys: list[str], replace_all: bool,
           affected: str | None = None, rec: str | None = None) -> None:
    """Golden records, enrichment, events and every gold write for one master.

    ``xmap`` (record_id, rid, master_id, rule, weight, cluster) covers the records to (re)write;
    with ``replace_all`` False (delta) only masters listed in ``affected`` (master_id) are rewritten.
    """
    sql = ctx.sql
    src_cols = set(columns_of(sql, src))
    rec = rec or (res.rec if res else f"gold.state.{master}_rec")
    where = f"master_id IN (SELECT master_id FROM {affected})" if affected else ""
    with sql.step("golden"):
        build_golden(sql, cfg, joined_records_sql(cfg, src, rec, xmap, src_cols), f"{master}_golden", where)
        enrich(ctx, master, f"{master}_golden")
    with sql.step("write"):
        changes = None
        if exists(sql, f"{master}_master"):
            old_cols = set(columns_of(sql, f"gold.{master}_master"))
            keep = cfg.model_copy(update={"attributes": {k: v for k, v in cfg.attributes.items() if k in old_cols}})
            # the previous version of the masters being rewritten, read once
            sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_old AS SELECT * FROM gold.{master}_master "
                    f"WHERE master_id IN (SELECT master_id FROM {master}_golden)")
            sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_changes AS "
                    f"{attribute_change_sql(keep, f'{master}_old', f'{master}_golden', f'{master}_surv')}")
            changes = f"{master}_changes"
        sql.run(f"CREATE OR REPLACE TEMP TABLE {master}_lastbatch AS SELECT master_id, "
                f"arg_max(_batch_id, _extracted_at) AS batch_id FROM {master}_surv GROUP BY master_id")
        update_registry(sql, master, ids, idevents, ctx.build_id, ctx.now)
        append_events(sql, master, idevents, changes, f"{master}_lastbatch", ctx.build_id, ctx.now)
        xref_sql = (
            f"SELECT x.record_id, x.master_id, x.rid AS record_no, s._source AS source, s._table AS table_name, "
            f"s._record_key AS record_key, s._batch_id AS batch_id, s._extracted_at AS extracted_at, x.rule, "
            f"x.weight AS match_weight, CASE WHEN x.weight IS NOT NULL THEN 1.0 / (1.0 + pow(2.0, -x.weight)) END "
            f"AS match_probability FROM {xmap} AS x JOIN {src} AS s ON s.record_id = x.record_id"
        )
        gone = f"(SELECT master_id FROM {idevents} WHERE event IN ('merged', 'retired'))"
        aff = f"(SELECT master_id FROM {affected})" if affected else "(SELECT NULL)"
        if replace_all:
            sql.run(f"CREATE OR REPLACE TABLE gold.{master}_master AS SELECT * FROM {master}_golden")
            sql.run(f"CREATE OR REPLACE TABLE gold.{master}_xref AS {xref_sql}")
        else:
            sql.run(f"DELETE FROM gold.{master}_master WHERE master_id IN {aff} OR master_id IN {gone}")
            sql.run(f"INSERT INTO gold.{master}_master BY NAME SELECT * FROM {master}_golden")
            sql.run(f"DELETE FROM gold.{master}_xref WHERE record_id IN (SELECT record_id FROM {xmap}) "
                    f"OR record_id IN (SELECT record_id FROM {master}_detached)")
            sql.run(f"INSERT INTO gold.{master}_xref BY NAME {xref_sql}")
        if master == "entity":
            legal = "gold.entity_legal_rep"
            if replace_all:
                sql.run(f"CREATE OR REPLACE TABLE {legal} AS SELECT * FROM entity_legal_rep_new")
            else:
                sql.run(f"DELETE FROM {legal} WHERE entity_master_id IN {aff} OR entity_master_id IN {gone}")
                sql.run(f"INSERT INTO {legal} SELECT * FROM entity_legal_rep_new")
        if res and res.params and replace_all:
            import pyarrow as pa

            sql.register("__params", pa.Table.from_pylist(res.params.rows(cfg)))
            replace_master_rows(sql, "match_params", master, "SELECT * FROM __params")
            sql.unregister("__params")
    with sql.step("state"):
        write_state(ctx, master, cfg, res, src, xmap, batch_keys, replace_all)
    with sql.step("write"):
        write_review(ctx, master, res, xmap, replace_all)
    report.masters = int(sql.one(f"SELECT count(*) FROM gold.{master}_master") or 0)
    report.review = int(sql.one(f"SELECT count(*) FROM gold.review_queue WHERE master = {lit(master)}") or 0)
    sql.run(
        "INSERT INTO gold.builds VALUES (?, ?, ?, TIMESTAMP '" + ctx.now + "', ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [ctx.build_id, master, report.mode, 0.0, report.records, report.masters, report.ids.minted,
         report.ids.merged, report.ids.split, report.ids.retired, report.review, len(batch_keys)],
    )


def enrich(ctx: Context, master: str, golden: str) -> None:
    """Master-specific columns: entity legal representatives; licence identifiers and status."""
    sql = ctx.sql
    if master == "entity":
        link_legal_reps(sql, golden, person_ids(ctx), "entity_legal_rep_new")
        sql.run(f"CREATE OR REPLACE TEMP TABLE {golden} AS SELECT g.*, l.person_master_id AS legal_rep_master_id "
                f"FROM {golden} AS g LEFT JOIN entity_legal_rep_new AS l ON l.entity_master_id = g.master_id")
    elif master == "licence":
        mint_identifiers(sql, golden)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {golden} AS SELECT g.*, {status_sql(ctx.as_of)} AS status_as_of, "
                f"DATE {lit(ctx.as_of.isoformat())} AS as_of FROM {golden} AS g")


def write_review(ctx: Context, master: str, res: Resolution | None, xmap: str, replace_all: bool) -> None:
    """The steward review queue of this master: record pairs with their current master ids."""
    sql = ctx.sql
    if res is None or not sql.table_exists(res.review):
        return
    decided = ctx.steward.constraints(master)
    pairs = [tuple(sorted(p)) for p in decided.cannot + decided.must]
    import pyarrow as pa

    sql.register("__decided", pa.table({"a": [p[0] for p in pairs], "b": [p[1] for p in pairs]},
                                       schema=pa.schema([("a", pa.string()), ("b", pa.string())])))
    # record ids and current master ids by record number (state.rec holds both, up to date)
    select = (
        f"SELECT {lit(master)} AS master, fl.record_id, fr.record_id AS candidate_record_id, fl.master_id, "
        f"fr.master_id AS candidate_master_id, v.weight AS match_weight, 1.0 / (1.0 + pow(2.0, -v.weight)) "
        f"AS match_probability, v.reason, {lit(ctx.build_id)} AS build_id FROM {res.review} AS v "
        f"JOIN gold.state.{master}_rec AS fl ON fl.rid = v.l JOIN gold.state.{master}_rec AS fr ON fr.rid = v.r "
        f"WHERE NOT EXISTS (SELECT 1 FROM __decided AS d WHERE d.a = least(fl.record_id, fr.record_id) "
        f"AND d.b = greatest(fl.record_id, fr.record_id))"
    )
    if replace_all:
        replace_master_rows(sql, "review_queue", master, select)
    else:
        sql.run(f"INSERT INTO gold.review_queue {select}")
        refresh_review(sql, master)
    sql.unregister("__decided")


def refresh_review(sql: Sql, master: str) -> None:
    """After a delta: current master ids on queued pairs; drop pairs now together, gone or repeated."""
    m = lit(master)
    for col, rcol in (("master_id", "record_id"), ("candidate_master_id", "candidate_record_id")):
        sql.run(f"UPDATE gold.review_queue AS q SET {col} = x.master_id FROM gold.{master}_xref AS x "
                f"WHERE q.master = {m} AND x.record_id = q.{rcol}")
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE __review AS SELECT * FROM gold.review_queue AS q WHERE q.master = {m} "
        f"AND q.master_id <> q.candidate_master_id "
        f"AND q.record_id IN (SELECT record_id FROM gold.{master}_xref) "
        f"AND q.candidate_record_id IN (SELECT record_id FROM gold.{master}_xref) "
        f"QUALIFY row_number() OVER (PARTITION BY q.record_id, q.candidate_record_id ORDER BY q.build_id DESC) = 1"
    )
    replace_master_rows(sql, "review_queue", master, "SELECT * FROM __review")
    sql.run("DROP TABLE __review")


def write_state(ctx: Context, master: str, cfg: ResolveConfig, res: Resolution | None, src: str, xmap: str,
                batch_keys: list[str], replace_all: bool) -> None:
    """What the next incremental run needs (schema ``state``)."""
    sql = ctx.sql
    if replace_all and res is not None:
        sql.run(f"CREATE OR REPLACE TEMP TABLE __canch AS SELECT x.cluster, bool_or(f.anchored) AS anchored "
                f"FROM {res.rec} AS f JOIN {xmap} AS x ON x.rid = f.rid GROUP BY x.cluster")
        sql.run(f"CREATE OR REPLACE TABLE gold.state.{master}_rec AS SELECT f.*, x.master_id, x.cluster, "
                f"a.anchored AS cluster_anchored FROM {res.rec} AS f JOIN {xmap} AS x ON x.rid = f.rid "
                f"JOIN __canch AS a ON a.cluster = x.cluster")
        sql.run("DROP TABLE __canch")
        # the source records a delta needs to recompute golden records: lineage columns and what
        # survivorship reads (issues and raw identifier texts stay in silver)
        have = columns_of(sql, src)
        keep = [c for c in have if c in STATE_SRC_LINEAGE or c in survivorship_columns(cfg, set(have))]
        sql.run(f"CREATE OR REPLACE TABLE gold.state.{master}_src AS SELECT {', '.join(q(c) for c in keep)} FROM {src}")
        for f in tf_features(cfg):
            sql.run(f"CREATE OR REPLACE TABLE gold.state.{master}_tf_{f} AS SELECT * FROM {master}_tf_{f}")
        sql.run("DELETE FROM gold.state.batches WHERE master = ?", [master])
    if batch_keys:
        import pyarrow as pa

        sql.register("__batches", pa.table({"batch": pa.array(batch_keys, pa.string())}))
        sql.run(f"INSERT INTO gold.state.batches SELECT {lit(master)}, batch FROM __batches")
        sql.unregister("__batches")
    sql.run("DELETE FROM gold.state.meta WHERE master = ?", [master])
    sql.run("INSERT INTO gold.state.meta VALUES (?, ?, ?, ?, ?)",
            [master, cfg.fingerprint(), ctx.steward.fingerprint(master), ctx.build_id,
             int(sql.one(f"SELECT count(*) FROM gold.state.{master}_rec") or 0)])


def create_views(ctx: Context) -> None:
    """``attribute_lineage``: every golden value with the record it survived from (all masters)."""
    sql = ctx.sql
    parts = [lineage_view_sql(ctx.cfg(m)) for m in ORDER
             if exists(sql, f"{m}_master") and exists(sql, f"{m}_xref") and ctx.cfg(m).attributes]
    if not parts:
        return
    if exists(sql, "attribute_lineage"):  # a table in files written before it became a view
        sql.run("DROP TABLE gold.attribute_lineage")
    sql.run("USE gold")  # stored unqualified, so the view resolves under any file name
    try:
        sql.run(f"CREATE OR REPLACE VIEW attribute_lineage AS {' UNION ALL '.join(parts)}")
    finally:
        sql.run("USE memory")


#: Columns that point at another master's id; kept pointing at live ids after merges.
REFERENCES = (("entity_master", "legal_rep_master_id"), ("entity_legal_rep", "person_master_id"),
              ("licence_master", "holder_master_id"))


def remap_retired(sql: Sql) -> None:
    """Point references at the surviving id when the id they hold was merged away (chains followed)."""
    for _ in range(5):  # a chain of merges across runs is short; each pass follows one step
        moved = 0
        for table, col in REFERENCES:
            if not exists(sql, table):
                continue
            before = int(sql.one(f"SELECT count(*) FROM gold.{table} AS t JOIN gold.id_registry AS r "
                                 f"ON r.master_id = t.{col} WHERE r.status = 'retired' AND r.successor_id IS NOT NULL")
                         or 0)
            if before:
                sql.run(f"UPDATE gold.{table} AS t SET {col} = r.successor_id FROM gold.id_registry AS r "
                        f"WHERE r.master_id = t.{col} AND r.status = 'retired' AND r.successor_id IS NOT NULL")
            moved += before
        if not moved:
            break


# --------------------------------------------------------------------------------------------------
# entry point
# --------------------------------------------------------------------------------------------------


def build(masters: list[str] | None = None, *, lake: Lake | None = None, gold: Path | None = None,
          full: bool = False, as_of: date | None = None, config_dir: Path | None = None,
          verbose: bool = False) -> BuildReport:
    """Build (or incrementally update) the requested masters; see the module docstring."""
    from pipelines.masters.incremental import build_delta

    wanted = [m for m in ORDER if m in (masters or ORDER)]
    unknown = sorted(set(masters or ()) - set(ORDER))
    if unknown:
        raise BuildError(f"unknown master(s) {', '.join(unknown)}; known: {', '.join(ORDER)}")
    lake = lake or Lake()
    gold = gold or gold_path()
    started = datetime.now(UTC)
    build_id = "B" + started.strftime("%Y%m%dT%H%M%S%f")[:-3]
    report = BuildReport(build_id, gold)
    t0 = time.perf_counter()
    steward = StewardLog(steward_path(gold))
    with build_lock(gold), GoldBuild(gold) as gb:
        con = work_connection()
        sql = Sql(con, verbose=verbose)
        # every master's steps may use the engine's macros (licences match holder ids by keystroke
        # variants), also when one master is built alone, as each task of the build DAG does
        install_resolve_macros(sql)
        con.execute(f"ATTACH {lit(str(gb.path))} AS gold")
        try:
            ensure_schema(sql)
            ctx = Context(sql, lake, steward, build_id, started.strftime("%Y-%m-%d %H:%M:%S"), as_of or date.today(),
                          config_dir)
            changed = False
            for m in wanted:
                sql.timings = {}
                mode, files, keys = plan(ctx, m, full)
                if mode == "unchanged":
                    report.masters.append(MasterReport(m, "unchanged"))
                    continue
                changed = True
                r = build_full(ctx, m, files, keys) if mode == "full" else build_delta(ctx, m, files, keys)
                r.timings = dict(sql.timings)
                sql.run("UPDATE gold.builds SET seconds = ? WHERE build_id = ? AND master = ?", [r.seconds, build_id, m])
                report.masters.append(r)
            if changed:
                remap_retired(sql)
                write_steward_decisions(sql, steward.load())
                create_views(ctx)
        finally:
            con.execute("DETACH gold")
            con.close()
        if changed:
            gb.commit()
            report.written = True
    report.seconds = time.perf_counter() - t0
    return report
