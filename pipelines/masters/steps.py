"""Steps both planners take around the engine: the master's ``prepare`` hooks on the records
before resolution, and stable ids for the clusters after it."""

from __future__ import annotations

from pipelines.masters.context import Context
from pipelines.masters.hooks import PREPARE
from pipelines.masters.store import next_seq
from pipelines.masters.tables import BuildTables
from pipelines.resolve.config import MasterConfig
from pipelines.resolve.stable_ids import IdStats, assign_ids


def prepared(ctx: Context, cfg: MasterConfig, src: str, details: dict[str, object]) -> str:
    """Run the master's ``prepare`` hooks over ``src`` in order; returns the relation to resolve
    (``src`` itself when there are none) and puts each hook's counts in ``details``."""
    out = src
    for i, name in enumerate(cfg.hooks.prepare):
        nxt = f"{src}x" + (str(i) if i else "")
        with ctx.sql.step(name):
            details[name] = PREPARE[name].run(ctx, cfg.master, out, nxt)
        out = nxt
    return out


def master_ids(ctx: Context, cfg: MasterConfig, t: BuildTables, clusters: str, prev: str | None) -> IdStats:
    """Stable ids for the clusters (``clusters``: record_id, rid, cluster, rule, weight), given each
    record's previous master id (``prev``); creates ``ids``, ``idevents`` and ``map``."""
    sql = ctx.sql
    stats = assign_ids(sql, cfg.id_prefix, clusters, prev, next_seq(sql, cfg.master), t.ids, t.idevents)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {t.map} AS SELECT c.record_id, c.rid, i.master_id, c.rule, c.weight, "
            f"c.cluster FROM {clusters} AS c JOIN {t.ids} AS i ON i.cluster = c.cluster")
    return stats
