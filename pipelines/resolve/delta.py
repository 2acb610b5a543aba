"""The delta plan: link new records to a previous resolution, touching only what they touch.

A day's delta is a few thousand records against millions, so the stages run against what the
previous resolution left (:class:`DeltaInputs`) instead of starting over:

1. deterministic keys first: a new record whose key (resident ID, USCC ...) an existing cluster
   holds joins that cluster as its node; new keys form new nodes (crosswalks see old and new);
2. blocking pairs unanchored new records with everything, and every new record with the records of
   clusters that have no key (so a birth certificate filed yesterday meets today's ID record);
3. scoring uses the stored parameters and term frequencies, over the records of the nodes a
   candidate pair touches only;
4. the same constrained clustering runs with existing clusters as nodes, so clusters never chain
   and a new record can merge two clusters only where a full resolution would allow it;
5. ``clusters`` re-decides the new records and every record of a cluster that gained a record,
   merged, or lost a record (``detached``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from core.errors import RunFailed
from core.sqltext import q
from pipelines.resolve.blocking import candidate_pairs
from pipelines.resolve.comparisons import Params, tf_features
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.deterministic import anchored_sql, assign_nodes, det_key_sql
from pipelines.resolve.plan import Constraints, Resolution, Tables
from pipelines.resolve.sql import Sql

#: Blocking passes of a delta: unanchored new records against everything; records of unanchored
#: existing clusters against new records.
DELTA_PASSES = [("is_delta AND NOT anchored", "TRUE"), ("NOT is_delta AND NOT anchored", "is_delta")]


@dataclass(frozen=True)
class DeltaInputs:
    """What the previous resolution left, as relations on the engine's connection."""

    #: resolved records: rid, record_id, features..., det_key, anchored, master_id, cluster,
    #: cluster_anchored (records being re-linked already taken out)
    existing: str
    #: (record_no, rule, match_weight): how each existing record joined its cluster
    links: str
    #: (record_id, master_id, cluster): records taken out of their clusters (changed or deleted)
    detached: str
    #: stored term-frequency tables, ``<tf_prefix><feature>`` (v, tf)
    tf_prefix: str
    #: the trained parameters (used when the configuration is probabilistic)
    params: Params | None


@dataclass
class DeltaPlan:
    inputs: DeltaInputs
    constraints: Constraints = field(default_factory=Constraints)

    def check_features(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        clash = sql.one(f"SELECT count(*) FROM {t.feat} AS d JOIN {self.inputs.existing} AS r ON r.rid = d.rid")
        if clash:
            raise RunFailed(f"{cfg.master}: {clash} record-number collision(s) with existing records")

    def nodes(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> Resolution:
        if cfg.deterministic:
            self._keyed_nodes(sql, cfg, t)
        else:
            assign_nodes(sql, cfg, t.feat, t.rec)
        # existing records (node = their cluster) and new records in one relation for blocking
        feats = "".join(f", {q(f)}" for f in cfg.table_features)
        sql.run(
            f"CREATE OR REPLACE TEMP VIEW {t.combined} AS SELECT rid, record_id{feats}, cluster AS node, "
            f"cluster_anchored AS anchored, det_key, FALSE AS is_delta FROM {self.inputs.existing} "
            f"UNION ALL SELECT rid, record_id{feats}, node, anchored, det_key, TRUE AS is_delta FROM {t.rec}"
        )
        return Resolution(cfg, t.combined, t.clusters, t.review, None, None)

    def _keyed_nodes(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        """``rec``: new records keyed into the existing clusters (an existing cluster holding the
        key; else a new node per key; else the record alone)."""
        assert cfg.deterministic
        cols = ", ".join(q(k.feature) for k in cfg.deterministic.keys)
        # crosswalks see the existing records and the new ones
        sql.run(f"CREATE OR REPLACE TEMP VIEW {t.keysrc} AS SELECT {cols} FROM {self.inputs.existing} "
                f"UNION ALL SELECT {cols} FROM {t.feat}")
        stmts, expr, joins = det_key_sql(cfg, t.keysrc)
        for s in stmts:
            sql.run(s)
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.keys} AS SELECT f.rid, {expr} AS det_key, ({anchored_sql(cfg)}) "
                f"AS anchored FROM {t.feat} AS f {joins}")
        sql.run(
            f"CREATE OR REPLACE TEMP TABLE {t.rec} AS SELECT f.*, coalesce(e.cluster, CASE WHEN k.det_key IS NULL "
            f"THEN f.rid ELSE min(f.rid) OVER (PARTITION BY k.det_key) END) AS node, "
            f"coalesce(e.anchored, k.anchored) AS anchored, k.det_key FROM {t.feat} AS f "
            f"JOIN {t.keys} AS k ON k.rid = f.rid LEFT JOIN (SELECT det_key, min(cluster) AS cluster, "
            f"bool_or(cluster_anchored) AS anchored FROM {self.inputs.existing} WHERE det_key IN "
            f"(SELECT det_key FROM {t.keys}) GROUP BY det_key) AS e ON e.det_key = k.det_key"
        )

    def pairs(self, sql: Sql, cfg: ResolveConfig, t: Tables, rec: str) -> dict[str, int]:
        return candidate_pairs(sql, cfg, rec, t.pairs, passes=DELTA_PASSES)

    def scope(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> str:
        """Every record of every node a candidate pair touches: scoring, edges and the nodes'
        constraint values need only these, not millions of untouched records."""
        if not cfg.probabilistic:
            sql.run(f"CREATE OR REPLACE TEMP TABLE {t.scope} AS SELECT * FROM {t.combined} WHERE is_delta")
            return t.scope
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.touched} AS WITH p AS (SELECT l AS rid FROM {t.pairs} UNION "
                f"SELECT r FROM {t.pairs}) SELECT cluster AS node FROM {self.inputs.existing} WHERE rid IN "
                f"(SELECT rid FROM p) UNION SELECT node FROM {t.rec}")
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.scope} AS SELECT * FROM {t.combined} WHERE node IN "
                f"(SELECT node FROM {t.touched})")
        return t.scope

    def parameters(self, sql: Sql, cfg: ResolveConfig, t: Tables, scope: str) -> Params:
        if self.inputs.params is None:
            raise RunFailed(f"{cfg.master}: a delta needs the parameters of the previous resolution")
        for f in tf_features(cfg):
            sql.run(f"CREATE OR REPLACE TEMP TABLE {t.tf(f)} AS SELECT * FROM {self.inputs.tf_prefix}{f} "
                    f"WHERE v IN (SELECT {q(f)} FROM {scope})")
        return self.inputs.params

    def record_clusters(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        """New records with their clusters, and the records of every cluster that may have changed
        (merged nodes, clusters that lost a record) with theirs; old records keep how they joined."""
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.changed} AS SELECT node AS cluster FROM {t.nodemap} UNION "
                f"SELECT cluster FROM {self.inputs.detached} UNION SELECT node FROM {t.rec}")
        sql.run(
            f"CREATE OR REPLACE TEMP TABLE {t.clusters} AS "
            f"SELECT d.rid, d.record_id, coalesce(n.cluster, d.node) AS cluster, "
            f"CASE WHEN d.anchored AND d.det_key IS NOT NULL THEN 'key' WHEN n.link_weight IS NOT NULL THEN 'probabilistic' "
            f"WHEN n.cluster IS NOT NULL THEN 'probabilistic' ELSE 'singleton' END AS rule, "
            f"CASE WHEN NOT d.anchored THEN n.link_weight END AS weight FROM {t.rec} AS d "
            f"LEFT JOIN {t.nodemap} AS n ON n.node = d.node "
            f"UNION ALL SELECT r.rid, r.record_id, coalesce(n.cluster, r.cluster), x.rule, x.match_weight "
            f"FROM (SELECT rid, record_id, cluster FROM {self.inputs.existing} WHERE cluster IN "
            f"(SELECT cluster FROM {t.changed})) AS r "
            f"LEFT JOIN {t.nodemap} AS n ON n.node = r.cluster JOIN {self.inputs.links} AS x ON x.record_no = r.rid"
        )

    def more_review(self, sql: Sql, cfg: ResolveConfig, t: Tables, res: Resolution) -> None:
        """Conflicting keys are a full resolution's review: a delta adds none."""
