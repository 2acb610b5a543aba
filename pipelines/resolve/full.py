"""The full plan: resolve every record of the input from scratch.

Deterministic nodes over all records (steward split-offs first take their own keys), blocking of
the unanchored rest against everything, EM training (unless parameters are given), and
constrained clustering honouring every steward decision; queues uncertain, refused and, when the
configuration asks, conflicting-key pairs for review.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from pipelines.resolve.blocking import candidate_pairs
from pipelines.resolve.clustering import conflict_review_items, record_clusters
from pipelines.resolve.comparisons import Params, build_tf_tables
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.deterministic import assign_nodes
from pipelines.resolve.plan import Constraints, Resolution, Tables
from pipelines.resolve.sql import Sql
from pipelines.resolve.training import train


@dataclass
class FullPlan:
    """``params`` skips training; ``pair_filter`` (over ``lk`` / ``rk``, with ``extra`` feature
    columns) restricts blocking, e.g. to pairs across two inputs."""

    constraints: Constraints = field(default_factory=Constraints)
    params: Params | None = None
    pair_filter: str | None = None
    extra: list[str] | None = None

    def check_features(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        """Steward split-offs as a table the deterministic pass reads."""
        if not self.constraints.splits:
            return
        sql.register("__splits", pa.table({"record_id": [s[0] for s in self.constraints.splits],
                                           "split_key": [s[1] for s in self.constraints.splits]}))
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.splits} AS SELECT DISTINCT * FROM __splits")
        sql.unregister("__splits")

    def nodes(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> Resolution:
        assign_nodes(sql, cfg, t.feat, t.rec, t.splits if self.constraints.splits else None)
        sql.run(f"DROP TABLE {t.feat}")
        n = int(sql.one(f"SELECT count(*) FROM {t.rec}") or 0)
        return Resolution(cfg, t.rec, t.clusters, t.review, None, self.params, records=n)

    def pairs(self, sql: Sql, cfg: ResolveConfig, t: Tables, rec: str) -> dict[str, int]:
        return candidate_pairs(sql, cfg, rec, t.pairs, pair_filter=self.pair_filter, extra=self.extra)

    def scope(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> str:
        return t.rec

    def parameters(self, sql: Sql, cfg: ResolveConfig, t: Tables, scope: str) -> Params:
        build_tf_tables(sql, cfg, t.rec)
        return self.params or train(sql, cfg, t.rec)

    def record_clusters(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        record_clusters(sql, cfg, t.rec, t.nodemap, t.edges, t.clusters)

    def more_review(self, sql: Sql, cfg: ResolveConfig, t: Tables, res: Resolution) -> None:
        if cfg.conflict_review and res.params:
            res.cluster_stats.conflicts = conflict_review_items(sql, cfg, res.params, t.rec, t.clusters, t.review)
