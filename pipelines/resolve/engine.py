"""The resolve engine: records in, clusters out - the same code for every master and link job.

    features -> deterministic nodes -> blocking -> training (or stored parameters) -> comparison
    vectors and weights -> node edges -> constrained clustering -> record clusters + review queue

The order exists once, in :func:`run`; a plan (:mod:`pipelines.resolve.plan`) says how each stage
runs: :func:`resolve` resolves every record from scratch (:mod:`~pipelines.resolve.full`),
:func:`resolve_delta` links new records to a previous resolution (:mod:`~pipelines.resolve.delta`).

Inputs are a table or view with a unique ``record_id`` and the columns the configuration's
features read; steward decisions arrive as record-id pairs (:class:`Constraints`) so they survive
every rebuild regardless of how clusters or master ids change.  Every statement is DuckDB SQL run
through :class:`~pipelines.resolve.sql.Sql`; intermediate tables are TEMP tables prefixed with the
configuration's ``master`` name (:class:`~pipelines.resolve.plan.Tables`).
"""

from __future__ import annotations

from pipelines.resolve.clustering import cluster, mark_ambiguous, node_edges, review_items
from pipelines.resolve.comparisons import Params, score_pairs
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.delta import DeltaInputs, DeltaPlan
from pipelines.resolve.deterministic import check_rids, features_sql
from pipelines.resolve.full import FullPlan
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.plan import Constraints, Plan, Resolution, Tables, empty_edges, steward_node_pairs
from pipelines.resolve.sql import Sql

__all__ = ["Constraints", "DeltaInputs", "Resolution", "Tables", "resolve", "resolve_delta", "run"]


def run(sql: Sql, cfg: ResolveConfig, source: str, plan: Plan) -> Resolution:
    """Run the stages in their order over the records of ``source``, as ``plan`` says."""
    t = Tables.of(cfg.master)
    install_resolve_macros(sql)
    with sql.step("features"):
        sql.run(f"CREATE OR REPLACE TEMP TABLE {t.feat} AS {features_sql(cfg, source)}")
        check_rids(sql, t.feat)
        plan.check_features(sql, cfg, t)
    with sql.step("deterministic"):
        res = plan.nodes(sql, cfg, t)
    if cfg.probabilistic:
        with sql.step("blocking"):
            res.pairs_per_rule = plan.pairs(sql, cfg, t, res.rec)
        with sql.step("training"):
            scope = plan.scope(sql, cfg, t)
            res.params = plan.parameters(sql, cfg, t, scope)
        with sql.step("scoring"):
            score_pairs(sql, cfg, res.params, t.pairs, scope, t.scored)
            res.scored = t.scored
            node_edges(sql, cfg, scope, t.scored, t.edges)
            mark_ambiguous(sql, cfg, scope, t.edges)
    else:
        scope = plan.scope(sql, cfg, t)
        empty_edges(sql, t.edges)
    with sql.step("clustering"):
        must = steward_node_pairs(sql, scope, plan.constraints.must, "__must")
        cannot = steward_node_pairs(sql, scope, plan.constraints.cannot, "__cannot")
        res.cluster_stats = cluster(sql, cfg, scope, t.edges, t.nodemap, must, cannot)
        plan.record_clusters(sql, cfg, t)
        res.cluster_stats.review = review_items(sql, cfg, t.edges, t.clusters, t.nodemap, t.review)
        plan.more_review(sql, cfg, t, res)
    return res


def resolve(sql: Sql, cfg: ResolveConfig, source: str, *, params: Params | None = None,
            constraints: Constraints | None = None, pair_filter: str | None = None,
            extra: list[str] | None = None) -> Resolution:
    """Resolve every record of ``source`` from scratch.

    ``params`` skips training; ``pair_filter`` (over ``lk`` / ``rk``, with ``extra`` feature
    columns) restricts blocking, e.g. to pairs across two inputs.
    """
    plan = FullPlan(constraints or Constraints(), params, pair_filter, extra)
    return run(sql, cfg, source, plan)


def resolve_delta(sql: Sql, cfg: ResolveConfig, source: str, inputs: DeltaInputs) -> Resolution:
    """Link the records of ``source`` to the previous resolution ``inputs`` describes; the result's
    ``clusters`` hold the new records and every record of a cluster that may have changed."""
    return run(sql, cfg, source, DeltaPlan(inputs))
