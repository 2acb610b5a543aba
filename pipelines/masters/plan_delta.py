"""The delta planner: new silver batches applied to a master in place.

A full build re-resolves everything; the day-2 delta is a few thousand records against millions,
so it reuses what the last build left in the state file (``state``) - every resolved record
with its features and master, the source records, the trained parameters and term frequencies -
and touches only what the new records touch:

1. new, changed and deleted records: a record whose latest version is new or differs (row hash)
   is (re)linked; a changed or deleted one is first detached from its master;
2. the master's ``prepare`` hooks, then the engine's delta plan
   (:func:`pipelines.resolve.engine.resolve_delta`) against the stored resolution;
3. stable ids over the affected clusters only: every master that still denotes the same entity
   keeps its id; merges, splits and new masters are events as in a full build;
4. the state gains the new records and follows the moved ones; the gold writer rewrites golden
   records, cross-references and events of the affected masters.

Everything else in the gold file is left as it was (the file is a copy of the previous one).  The
state file is changed in place: the build took the master's ``state.meta`` row out before this
runs, so a delta that fails leaves a state the next build does not trust (it builds in full).
"""

from __future__ import annotations

import time
from pathlib import Path

from core.sqltext import lit, q
from pipelines.masters.context import Context, MasterReport
from pipelines.masters.gold_writer import GoldInput, Patch, write_gold
from pipelines.masters.records import load_records
from pipelines.masters.steps import master_ids, prepared
from pipelines.masters.tables import BuildTables
from pipelines.resolve.comparisons import Params
from pipelines.resolve.config import MasterConfig
from pipelines.resolve.delta import DeltaInputs
from pipelines.resolve.deterministic import RID
from pipelines.resolve.engine import resolve_delta
from pipelines.resolve.sql import Sql


def build_delta(ctx: Context, master: str, files: list[Path], batch_keys: list[str]) -> MasterReport:
    """Apply the batches in ``files`` (those the state has not consumed) to one master."""
    sql, cfg, t = ctx.sql, ctx.cfg(master), BuildTables.of(master)
    t0 = time.perf_counter()
    report = MasterReport(master, "delta")
    with sql.step("read"):
        kinds = _delta_records(sql, t, files)
        report.details["records"] = kinds
        report.records = kinds.get("new", 0) + kinds.get("changed", 0)
    src = prepared(ctx, cfg, t.dsrc, report.details)
    inputs = DeltaInputs(existing=f"state.main.{master}_rec", links=f"gold.{master}_xref", detached=t.detached,
                         tf_prefix=f"state.main.{master}_tf_",
                         params=_stored_params(sql, cfg) if cfg.probabilistic else None)
    res = resolve_delta(sql, cfg, src, inputs)
    with sql.step("ids"):
        # previous ids of every record of the affected clusters (detached ones included, so a
        # master whose last record went is retired)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.prev} AS SELECT record_id, master_id FROM state.main.{master}_rec "
                f"WHERE cluster IN (SELECT cluster FROM {t.engine.changed}) UNION ALL "
                f"SELECT record_id, master_id FROM {t.detached}")
        report.ids = master_ids(ctx, cfg, t, res.clusters, t.prev)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.affected} AS SELECT DISTINCT master_id FROM {t.map}")
    with sql.step("state"):
        _update_state(sql, cfg, t, src, res.review if sql.table_exists(res.review) else None)
    write_gold(ctx, GoldInput(cfg, t, t.msrc, t.mrec, res, batch_keys, Patch(t.affected, t.detached, t.mfeat)),
               report)
    report.details["pairs"] = res.pairs_per_rule
    report.details["clustering"] = res.cluster_stats.__dict__
    report.seconds = time.perf_counter() - t0
    return report


def _delta_records(sql: Sql, t: BuildTables, files: list[Path]) -> dict[str, int]:
    """``dsrc`` (records to link) and ``detached`` (record_id, master_id, cluster) to unlink."""
    m = t.master
    load_records(sql, m, files, t.dall, keep_deleted=True)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {t.dkind} AS SELECT d.record_id, CASE WHEN s.record_id IS NULL THEN "
        f"CASE WHEN coalesce(d._deleted, FALSE) THEN 'gone' ELSE 'new' END "
        f"WHEN coalesce(d._deleted, FALSE) THEN 'deleted' WHEN d._row_hash = s._row_hash THEN 'same' "
        f"ELSE 'changed' END AS kind FROM {t.dall} AS d LEFT JOIN state.main.{m}_src AS s ON s.record_id = d.record_id"
    )
    # stored records are found by record number (``RID`` of the id): an integer column, not the ids
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.detached} AS SELECT r.record_id, r.master_id, r.cluster "
            f"FROM state.main.{m}_rec AS r WHERE r.rid IN (SELECT {RID} FROM {t.dkind} "
            f"WHERE kind IN ('deleted', 'changed'))")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.dsrc} AS SELECT d.* FROM {t.dall} AS d JOIN {t.dkind} AS k "
            f"ON k.record_id = d.record_id WHERE k.kind IN ('new', 'changed')")
    # detach now (``detached`` remembers where they were; a failure from here on leaves the state
    # untrusted, see the module docstring), so nothing below filters them out of millions of rows
    sql.run(f"DELETE FROM state.main.{m}_rec WHERE rid IN (SELECT {RID} FROM {t.detached})")
    sql.run(f"DELETE FROM state.main.{m}_src WHERE record_id IN (SELECT record_id FROM {t.detached})")
    return {str(k): int(n) for k, n in sql.rows(f"SELECT kind, count(*) FROM {t.dkind} GROUP BY kind")}


def _stored_params(sql: Sql, cfg: MasterConfig) -> Params:
    rows = sql.rows("SELECT comparison, level, m, u, trained, prior FROM gold.match_params WHERE master = ?", [cfg.master])
    return Params.from_rows([{"comparison": r[0], "level": r[1], "m": r[2], "u": r[3], "trained": r[4], "prior": r[5]}
                             for r in rows])


def _update_state(sql: Sql, cfg: MasterConfig, t: BuildTables, src: str, review: str | None) -> None:
    """Add the new records (``src``: the prepared source records), move records to their new
    clusters and ids (detached ones are gone); leave the re-decided records (``map``) in ``mrec``,
    their source records in ``msrc`` and, in ``mfeat``, those and every record the review queue may
    name after this delta (its queued pairs and ``review``'s), for the gold writer.

    The state holds millions of records as wide as their features: each table is read once, for
    these records only.  The re-decided records are deleted and written back rather than updated
    in place (an UPDATE of rows scattered over every row group costs more than delete + append)."""
    m, e = t.master, t.engine
    feats = "".join(f", {q(f)}" for f in cfg.table_features)
    keep = [r[0] for r in sql.rows(f"SELECT column_name FROM duckdb_columns() WHERE database_name = 'state' "
                                   f"AND schema_name = 'main' AND table_name = '{m}_src'")]
    sql.run(f"INSERT INTO state.main.{m}_src BY NAME SELECT {', '.join(q(c) for c in keep)} FROM {src}")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.msrc} AS SELECT * FROM state.main.{m}_src "
            f"WHERE record_id IN (SELECT record_id FROM {t.map})")
    # record numbers wanted (a queued record's is its id's ``RID``), then one read of those records
    queued = (f"SELECT record_id FROM gold.review_queue WHERE master = {lit(m)} UNION ALL SELECT candidate_record_id "
              f"AS record_id FROM gold.review_queue WHERE master = {lit(m)}")
    new_pairs = f" UNION SELECT l FROM {review} UNION SELECT r FROM {review}" if review else ""
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.mfeat}_r AS SELECT rid FROM {t.map} UNION SELECT {RID} FROM ({queued})"
            f"{new_pairs}")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.mfeat}_0 AS SELECT * FROM state.main.{m}_rec "
            f"WHERE rid IN (SELECT rid FROM {t.mfeat}_r)")
    # the map's records (stored and new) with their new cluster and id (a view: read twice below,
    # and writing its hundreds of thousands of wide rows cost more than joining them again)
    sql.run(f"CREATE OR REPLACE TEMP VIEW {t.mrec}_0 AS SELECT r.* REPLACE (x.master_id AS master_id, x.cluster AS "
            f"cluster) FROM {t.mfeat}_0 AS r JOIN {t.map} AS x ON x.rid = r.rid UNION ALL BY NAME "
            f"SELECT n.rid, n.record_id{''.join(f', n.{q(f)}' for f in cfg.table_features)}, n.node, n.anchored, n.det_key, "
            f"x.master_id, x.cluster FROM {e.rec} AS n JOIN {t.map} AS x ON x.rid = n.rid")
    sql.run(f"DELETE FROM state.main.{m}_rec WHERE rid IN (SELECT rid FROM {t.map})")
    # a cluster is anchored when any of its records is (those left in the state included)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.mrec}_a AS SELECT cluster, bool_or(anchored) AS anchored FROM ("
            f"SELECT cluster, anchored FROM {t.mrec}_0 UNION ALL SELECT cluster, anchored FROM state.main.{m}_rec "
            f"WHERE cluster IN (SELECT cluster FROM {t.map})) GROUP BY cluster")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.mrec} AS SELECT r.* REPLACE (a.anchored AS cluster_anchored) "
            f"FROM {t.mrec}_0 AS r JOIN {t.mrec}_a AS a ON a.cluster = r.cluster")
    sql.run(f"INSERT INTO state.main.{m}_rec BY NAME SELECT rid, record_id{feats}, node, anchored, det_key, master_id, "
            f"cluster, cluster_anchored FROM {t.mrec}")
    sql.run(f"UPDATE state.main.{m}_rec AS r SET cluster_anchored = a.anchored FROM {t.mrec}_a AS a "
            f"WHERE a.cluster = r.cluster AND r.cluster_anchored IS DISTINCT FROM a.anchored")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.mfeat} AS SELECT * FROM {t.mrec} UNION ALL BY NAME "
            f"SELECT * FROM {t.mfeat}_0 WHERE rid NOT IN (SELECT rid FROM {t.map})")
    sql.run(f"DROP VIEW {t.mrec}_0")
    for tmp in (f"{t.mrec}_a", f"{t.mfeat}_0", f"{t.mfeat}_r"):
        sql.run(f"DROP TABLE {tmp}")
