"""Incremental builds: link the records of new silver batches to the existing masters.

A full build re-resolves everything; the day-2 delta is a few thousand records against millions,
so it reuses what the last build left in the gold file's ``state`` schema - every resolved record
with its features and master, the source records, the trained parameters and term frequencies -
and touches only what the new records touch:

1. new, changed and deleted records: a record whose latest version is new or differs (row hash)
   is (re)linked; a changed or deleted one is first detached from its master;
2. deterministic keys first: a new record whose key (resident ID, USCC ...) an existing master holds
   joins that master; new keys form new nodes;
3. blocking pairs unanchored new records with everything, and every new record with the records of
   masters that have no key (so a birth certificate filed yesterday meets today's ID record);
   scoring uses the stored parameters; the same constrained clustering runs on the existing
   masters as nodes, so clusters never chain and a new record can merge two masters only where a
   full build would allow it;
4. stable ids over the affected clusters only: every master that still denotes the same entity
   keeps its id; merges, splits and new masters are events as in a full build;
5. golden records, lineage, cross-references and events are rewritten for the affected masters.

Everything else in the gold file is left as it was (the file is a copy of the previous one).
"""

from __future__ import annotations

import time
from pathlib import Path

from core.errors import RunFailed
from core.sqltext import q
from pipelines.masters.records import load_records
from pipelines.resolve.blocking import candidate_pairs
from pipelines.resolve.clustering import cluster, mark_ambiguous, node_edges, review_items
from pipelines.resolve.comparisons import Params, score_pairs, tf_features
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.deterministic import det_key_sql, features_sql
from pipelines.resolve.engine import Resolution, empty_edges
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql
from pipelines.resolve.stable_ids import assign_ids


def _delta_records(sql: Sql, m: str, files: list[Path]) -> dict[str, int]:
    """``{m}_dsrc`` (records to link) and ``{m}_detached`` (record_id, master_id) to unlink."""
    load_records(sql, m, files, f"{m}_dall", keep_deleted=True)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {m}_dkind AS SELECT d.record_id, CASE WHEN s.record_id IS NULL THEN "
        f"CASE WHEN coalesce(d._deleted, FALSE) THEN 'gone' ELSE 'new' END "
        f"WHEN coalesce(d._deleted, FALSE) THEN 'deleted' WHEN d._row_hash = s._row_hash THEN 'same' "
        f"ELSE 'changed' END AS kind FROM {m}_dall AS d LEFT JOIN gold.state.{m}_src AS s ON s.record_id = d.record_id"
    )
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_detached AS SELECT r.record_id, r.master_id, r.cluster "
            f"FROM gold.state.{m}_rec AS r JOIN {m}_dkind AS k ON k.record_id = r.record_id "
            f"WHERE k.kind IN ('deleted', 'changed')")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_dsrc AS SELECT d.* FROM {m}_dall AS d JOIN {m}_dkind AS k "
            f"ON k.record_id = d.record_id WHERE k.kind IN ('new', 'changed')")
    # detach now (the work file is a copy; {m}_detached remembers where they were), so nothing
    # below needs to filter them out of millions of rows again
    sql.run(f"DELETE FROM gold.state.{m}_rec WHERE rid IN (SELECT r.rid FROM gold.state.{m}_rec AS r "
            f"JOIN {m}_detached AS d ON d.record_id = r.record_id)")
    sql.run(f"DELETE FROM gold.state.{m}_src WHERE record_id IN (SELECT record_id FROM {m}_detached)")
    return {str(k): int(n) for k, n in sql.rows(f"SELECT kind, count(*) FROM {m}_dkind GROUP BY kind")}


def _delta_nodes(sql: Sql, cfg: ResolveConfig, m: str) -> None:
    """``{m}_dfeat``: delta features + node / anchored / det_key, keyed into the existing masters."""
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_dfeat0 AS {features_sql(cfg, f'{m}_dsrcx')}")
    clash = sql.one(f"SELECT count(*) FROM {m}_dfeat0 AS d JOIN gold.state.{m}_rec AS r ON r.rid = d.rid")
    if clash:
        raise RunFailed(f"{m}: {clash} record-number collision(s) with existing records")
    if not cfg.deterministic:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_dfeat AS SELECT f.*, f.rid AS node, FALSE AS anchored, "
                f"CAST(NULL AS VARCHAR) AS det_key FROM {m}_dfeat0 AS f")
        return
    keys = [k.feature for k in cfg.deterministic.keys]
    cols = ", ".join(q(k) for k in keys)
    # crosswalks see the existing records and the new ones
    sql.run(f"CREATE OR REPLACE TEMP VIEW {m}_keysrc AS SELECT {cols} FROM gold.state.{m}_rec "
            f"UNION ALL SELECT {cols} FROM {m}_dfeat0")
    stmts, expr, joins = det_key_sql(cfg, f"{m}_keysrc")
    for s in stmts:
        sql.run(s)
    anchored = " OR ".join([f"f.{q(keys[0])} IS NOT NULL"] + [f"x{i}.pk IS NOT NULL" for i in range(1, len(keys))])
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_dkey AS SELECT f.rid, {expr} AS det_key, ({anchored}) AS anchored "
            f"FROM {m}_dfeat0 AS f {joins}")
    # an existing master holding the key; else a new node per key; else the record alone
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {m}_dfeat AS SELECT f.*, coalesce(e.cluster, CASE WHEN k.det_key IS NULL "
        f"THEN f.rid ELSE min(f.rid) OVER (PARTITION BY k.det_key) END) AS node, "
        f"coalesce(e.anchored, k.anchored) AS anchored, k.det_key FROM {m}_dfeat0 AS f "
        f"JOIN {m}_dkey AS k ON k.rid = f.rid LEFT JOIN (SELECT det_key, min(cluster) AS cluster, "
        f"bool_or(cluster_anchored) AS anchored FROM gold.state.{m}_rec WHERE det_key IN (SELECT det_key FROM {m}_dkey) "
        f"GROUP BY det_key) AS e ON e.det_key = k.det_key"
    )


def _combined_view(sql: Sql, cfg: ResolveConfig, m: str) -> str:
    """Existing records (node = their cluster) and new records in one relation for blocking."""
    feats = "".join(f", {q(f)}" for f in cfg.features)
    sql.run(
        f"CREATE OR REPLACE TEMP VIEW {m}_crec AS SELECT rid, record_id{feats}, cluster AS node, "
        f"cluster_anchored AS anchored, det_key, FALSE AS is_delta FROM gold.state.{m}_rec "
        f"UNION ALL SELECT rid, record_id{feats}, node, anchored, det_key, TRUE AS is_delta FROM {m}_dfeat"
    )
    return f"{m}_crec"


def _stored_params(sql: Sql, cfg: ResolveConfig) -> Params:
    rows = sql.rows("SELECT comparison, level, m, u, trained, prior FROM gold.match_params WHERE master = ?", [cfg.master])
    return Params.from_rows([{"comparison": r[0], "level": r[1], "m": r[2], "u": r[3], "trained": r[4], "prior": r[5]}
                             for r in rows])


def build_delta(ctx, master: str, files: list[Path], batch_keys: list[str]):  # type: ignore[no-untyped-def]
    """Apply new batches to one master in place; returns a :class:`MasterReport`."""
    from pipelines.masters.build import MasterReport, finish, prepare_licence_records

    sql: Sql = ctx.sql
    cfg: ResolveConfig = ctx.cfg(master)
    m = master
    t0 = time.perf_counter()
    report = MasterReport(m, "delta")
    install_resolve_macros(sql)
    with sql.step("read"):
        kinds = _delta_records(sql, m, files)
        report.details["records"] = kinds
        report.records = kinds.get("new", 0) + kinds.get("changed", 0)
    src = f"{m}_dsrc"
    if m == "licence":
        with sql.step("holders"):
            report.details["holder_links"] = prepare_licence_records(ctx, src, f"{m}_dsrcx")
    else:
        sql.run(f"CREATE OR REPLACE TEMP VIEW {m}_dsrcx AS SELECT * FROM {src}")
    with sql.step("deterministic"):
        _delta_nodes(sql, cfg, m)
        crec = _combined_view(sql, cfg, m)
    res = Resolution(cfg, crec, f"{m}_dclusters", f"{m}_review", None, None)
    with sql.step("blocking"):
        if cfg.probabilistic:
            res.pairs_per_rule = candidate_pairs(
                sql, cfg, crec, f"{m}_pairs",
                passes=[("is_delta AND NOT anchored", "TRUE"), ("NOT is_delta AND NOT anchored", "is_delta")])
    with sql.step("scoring"):
        # every record of every node a candidate pair touches: scoring, edges and the nodes'
        # constraint values need only these, not millions of untouched records
        prec = f"{m}_prec"
        if cfg.probabilistic:
            sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_pnodes AS WITH p AS (SELECT l AS rid FROM {m}_pairs UNION "
                    f"SELECT r FROM {m}_pairs) SELECT cluster AS node FROM gold.state.{m}_rec WHERE rid IN (SELECT rid "
                    f"FROM p) UNION SELECT node FROM {m}_dfeat")
            sql.run(f"CREATE OR REPLACE TEMP TABLE {prec} AS SELECT * FROM {crec} WHERE node IN (SELECT node FROM "
                    f"{m}_pnodes)")
            res.params = _stored_params(sql, cfg)
            for f in tf_features(cfg):
                sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_tf_{f} AS SELECT * FROM gold.state.{m}_tf_{f} "
                        f"WHERE v IN (SELECT {q(f)} FROM {prec})")
            score_pairs(sql, cfg, res.params, f"{m}_pairs", prec, f"{m}_scored")
            node_edges(sql, cfg, prec, f"{m}_scored", f"{m}_edges")
            mark_ambiguous(sql, cfg, prec, f"{m}_edges")
        else:
            sql.run(f"CREATE OR REPLACE TEMP TABLE {prec} AS SELECT * FROM {crec} WHERE is_delta")
            empty_edges(sql, f"{m}_edges")
    with sql.step("clustering"):
        res.cluster_stats = cluster(sql, cfg, prec, f"{m}_edges", f"{m}_nodemap")
        # every record whose cluster may have changed: new ones, those in merged nodes, and the
        # remaining records of masters that lost a record
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_oldclusters AS SELECT node AS cluster FROM {m}_nodemap UNION "
                f"SELECT cluster FROM {m}_detached UNION SELECT node FROM {m}_dfeat")
        sql.run(
            f"CREATE OR REPLACE TEMP TABLE {m}_dclusters AS "
            f"SELECT d.rid, d.record_id, coalesce(n.cluster, d.node) AS cluster, "
            f"CASE WHEN d.anchored AND d.det_key IS NOT NULL THEN 'key' WHEN n.link_weight IS NOT NULL THEN 'probabilistic' "
            f"WHEN n.cluster IS NOT NULL THEN 'probabilistic' ELSE 'singleton' END AS rule, "
            f"CASE WHEN NOT d.anchored THEN n.link_weight END AS weight FROM {m}_dfeat AS d "
            f"LEFT JOIN {m}_nodemap AS n ON n.node = d.node "
            f"UNION ALL SELECT r.rid, r.record_id, coalesce(n.cluster, r.cluster), x.rule, x.match_weight "
            f"FROM (SELECT rid, record_id, cluster FROM gold.state.{m}_rec WHERE cluster IN "
            f"(SELECT cluster FROM {m}_oldclusters)) AS r "
            f"LEFT JOIN {m}_nodemap AS n ON n.node = r.cluster JOIN gold.{m}_xref AS x ON x.record_no = r.rid"
        )
        res.cluster_stats.review = review_items(sql, cfg, f"{m}_edges", f"{m}_dclusters", f"{m}_nodemap", f"{m}_review")
    with sql.step("ids"):
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_members AS SELECT record_id, rid, cluster, rule, weight "
                f"FROM {m}_dclusters")
        # previous ids of every record of the affected masters (detached ones included, so a
        # master whose last record went is retired)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_prev AS SELECT record_id, master_id FROM gold.state.{m}_rec "
                f"WHERE cluster IN (SELECT cluster FROM {m}_oldclusters) UNION ALL "
                f"SELECT record_id, master_id FROM {m}_detached")
        from pipelines.masters.store import next_seq

        report.ids = assign_ids(sql, cfg.id_prefix, f"{m}_members", f"{m}_prev", next_seq(sql, m), f"{m}_ids",
                                f"{m}_idevents")
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_map AS SELECT mm.record_id, mm.rid, i.master_id, mm.rule, "
                f"mm.weight, mm.cluster FROM {m}_members AS mm JOIN {m}_ids AS i ON i.cluster = mm.cluster")
        sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_affected AS SELECT DISTINCT master_id FROM {m}_map")
    with sql.step("state"):
        _update_state(sql, cfg, m)
    finish(ctx, m, cfg, res, f"gold.state.{m}_src", f"{m}_map", f"{m}_ids", f"{m}_idevents", report, batch_keys,
           replace_all=False, affected=f"{m}_affected", rec=f"gold.state.{m}_rec")
    report.details["pairs"] = res.pairs_per_rule
    report.details["clustering"] = res.cluster_stats.__dict__
    report.seconds = time.perf_counter() - t0
    return report


def _update_state(sql: Sql, cfg: ResolveConfig, m: str) -> None:
    """Add the new records, move records to their new clusters and ids (detached ones are gone)."""
    feats = "".join(f", {q(f)}" for f in cfg.features)
    sql.run(f"INSERT INTO gold.state.{m}_rec BY NAME SELECT rid, record_id{feats}, node, anchored, det_key, "
            f"CAST(NULL AS VARCHAR) AS master_id, CAST(NULL AS BIGINT) AS cluster, anchored AS cluster_anchored "
            f"FROM {m}_dfeat")
    keep = [r[0] for r in sql.rows(f"SELECT column_name FROM duckdb_columns() WHERE database_name = 'gold' "
                                   f"AND schema_name = 'state' AND table_name = '{m}_src'")]
    sql.run(f"INSERT INTO gold.state.{m}_src BY NAME SELECT {', '.join(q(c) for c in keep)} FROM {m}_dsrcx")
    sql.run(f"UPDATE gold.state.{m}_rec AS r SET master_id = x.master_id, cluster = x.cluster FROM {m}_map AS x "
            f"WHERE x.rid = r.rid")
    sql.run(f"UPDATE gold.state.{m}_rec AS r SET cluster_anchored = a.anchored FROM (SELECT s.cluster, "
            f"bool_or(s.anchored) AS anchored FROM gold.state.{m}_rec AS s WHERE s.cluster IN "
            f"(SELECT cluster FROM {m}_map) GROUP BY s.cluster) AS a WHERE a.cluster = r.cluster")
