"""The resolve engine: records in, clusters out - the same code for every master and link job.

    features -> deterministic nodes -> blocking (rest x all) -> comparison vectors -> EM training
    -> weights -> node edges -> constrained clustering -> record clusters + review queue
    (+ conflicting-keys review: differently keyed clusters that agree on everything else)

Inputs are a table or view with a unique ``record_id`` and the columns the configuration's
features read; steward decisions arrive as record-id pairs (:class:`Constraints`) so they survive
every rebuild regardless of how clusters or master ids change.  Every statement is DuckDB SQL run
through :class:`~pipelines.resolve.sql.Sql`; intermediate tables are TEMP tables prefixed with the
configuration's ``master`` name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from pipelines.resolve.blocking import candidate_pairs
from pipelines.resolve.clustering import (
    ClusterStats,
    cluster,
    conflict_review_items,
    mark_ambiguous,
    node_edges,
    record_clusters,
    review_items,
)
from pipelines.resolve.comparisons import Params, build_tf_tables, score_pairs
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.deterministic import assign_nodes, check_rids, features_sql
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql
from pipelines.resolve.training import train


@dataclass
class Constraints:
    """Steward decisions as record-id pairs: must-link, cannot-link, and split-off groups."""

    must: list[tuple[str, str]] = field(default_factory=list)
    cannot: list[tuple[str, str]] = field(default_factory=list)
    #: (record_id, split_key): records a steward split off their cluster, grouped by split_key.
    splits: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.must or self.cannot or self.splits)


@dataclass
class Resolution:
    """Names of the result tables (TEMP, on the engine's connection) and what happened."""

    cfg: ResolveConfig
    rec: str  # rid, record_id, features..., node, anchored, det_key
    clusters: str  # rid, cluster, rule, weight
    review: str  # l, r, weight, reason
    scored: str | None
    params: Params | None
    pairs_per_rule: dict[str, int] = field(default_factory=dict)
    cluster_stats: ClusterStats = field(default_factory=ClusterStats)
    records: int = 0


def tables(cfg: ResolveConfig) -> dict[str, str]:
    p = cfg.master
    return {k: f"{p}_{k}" for k in ("feat", "nodes", "rec", "pairs", "scored", "edges", "nodemap", "clusters",
                                    "review")}


def steward_node_pairs(sql: Sql, rec: str, pairs: list[tuple[str, str]], name: str) -> list[tuple[int, int]]:
    """Record-id pairs -> distinct node pairs (pairs naming unknown records are ignored)."""
    if not pairs:
        return []
    sql.register(name, pa.table({"a": pa.array([p[0] for p in pairs], pa.string()),
                                 "b": pa.array([p[1] for p in pairs], pa.string())}))
    rows = sql.rows(f"SELECT DISTINCT least(x.node, y.node), greatest(x.node, y.node) FROM {name} AS s "
                    f"JOIN {rec} AS x ON x.record_id = s.a JOIN {rec} AS y ON y.record_id = s.b "
                    f"WHERE x.node <> y.node ORDER BY 1, 2")
    sql.unregister(name)
    return [(int(a), int(b)) for a, b in rows]


def empty_edges(sql: Sql, edges: str) -> None:
    sql.run(f"CREATE OR REPLACE TEMP TABLE {edges} (a BIGINT, b BIGINT, w DOUBLE, l BIGINT, r BIGINT, "
            f"ambiguous BOOLEAN)")


def resolve(sql: Sql, cfg: ResolveConfig, source: str, *, params: Params | None = None,
            constraints: Constraints | None = None, pair_filter: str | None = None,
            extra: list[str] | None = None) -> Resolution:
    """Resolve every record of ``source`` from scratch (see the module docstring).

    ``params`` skips training (a delta run reuses the full run's); ``pair_filter`` (over ``lk`` /
    ``rk``, with ``extra`` feature columns) restricts blocking, e.g. to pairs across two inputs.
    """
    t = tables(cfg)
    constraints = constraints or Constraints()
    install_resolve_macros(sql)
    with sql.step("features"):
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t['feat']} AS {features_sql(cfg, source)}")
        check_rids(sql, t["feat"])
        splits = None
        if constraints.splits:
            sql.register("__splits", pa.table({"record_id": [s[0] for s in constraints.splits],
                                               "split_key": [s[1] for s in constraints.splits]}))
            sql.run(f"CREATE OR REPLACE TEMP TABLE {cfg.master}_splits AS SELECT DISTINCT * FROM __splits")
            sql.unregister("__splits")
            splits = f"{cfg.master}_splits"
    with sql.step("deterministic"):
        assign_nodes(sql, cfg, t["feat"], t["rec"], splits)
        sql.run(f"DROP TABLE {t['feat']}")
    n = int(sql.one(f"SELECT count(*) FROM {t['rec']}") or 0)
    res = Resolution(cfg, t["rec"], t["clusters"], t["review"], None, params, records=n)
    if cfg.probabilistic:
        with sql.step("blocking"):
            res.pairs_per_rule = candidate_pairs(sql, cfg, t["rec"], t["pairs"], pair_filter=pair_filter, extra=extra)
        with sql.step("training"):
            build_tf_tables(sql, cfg, t["rec"])
            res.params = params or train(sql, cfg, t["rec"])
        with sql.step("scoring"):
            score_pairs(sql, cfg, res.params, t["pairs"], t["rec"], t["scored"])
            res.scored = t["scored"]
            node_edges(sql, cfg, t["rec"], t["scored"], t["edges"])
            mark_ambiguous(sql, cfg, t["rec"], t["edges"])
    else:
        empty_edges(sql, t["edges"])
    with sql.step("clustering"):
        must = steward_node_pairs(sql, t["rec"], constraints.must, "__must")
        cannot = steward_node_pairs(sql, t["rec"], constraints.cannot, "__cannot")
        res.cluster_stats = cluster(sql, cfg, t["rec"], t["edges"], t["nodemap"], must, cannot)
        record_clusters(sql, cfg, t["rec"], t["nodemap"], t["edges"], t["clusters"])
        res.cluster_stats.review = review_items(sql, cfg, t["edges"], t["clusters"], t["nodemap"], t["review"])
        if cfg.conflict_review and res.params:
            res.cluster_stats.conflicts = conflict_review_items(sql, cfg, res.params, t["rec"], t["clusters"],
                                                                t["review"])
    return res

