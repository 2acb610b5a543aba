"""The full planner: a master rebuilt from every current silver record.

Reads the current version of every record, runs the master's ``prepare`` hooks, resolves from
scratch honouring every steward decision, carries ids over from the previous cross-reference (so
a rebuild keeps each entity's id) and hands everything to the gold writer, which rewrites all of
the master's rows.  With ``MASTERDATA_RESOLVE_ENGINE=spark`` the resolution runs on Spark
(:mod:`pipelines.resolve.spark.runner`); everything around it stays here.
"""

from __future__ import annotations

import time
from pathlib import Path

from core.settings import settings
from pipelines.masters.context import Context, MasterReport
from pipelines.masters.gold_writer import GoldInput, write_gold
from pipelines.masters.records import load_records
from pipelines.masters.steps import master_ids, prepared
from pipelines.masters.store import exists
from pipelines.masters.tables import BuildTables
from pipelines.resolve.engine import resolve


def build_full(ctx: Context, master: str, files: list[Path], batch_keys: list[str]) -> MasterReport:
    """Rebuild one master from ``files`` (every committed silver file of it)."""
    sql, cfg, t = ctx.sql, ctx.cfg(master), BuildTables.of(master)
    t0 = time.perf_counter()
    report = MasterReport(master, "full")
    with sql.step("read"):
        report.records = load_records(sql, master, files, t.src)
    src = prepared(ctx, cfg, t.src, report.details)
    if settings().resolve_engine == "spark":  # the engine on Spark, the rest of the build here
        from pipelines.resolve.spark.runner import resolve_spark

        res = resolve_spark(sql, cfg, src, constraints=ctx.steward.constraints(master))
    else:
        res = resolve(sql, cfg, src, constraints=ctx.steward.constraints(master))
    report.details["pairs"] = res.pairs_per_rule
    report.details["clustering"] = res.cluster_stats.__dict__
    with sql.step("ids"):
        prev = None
        if exists(sql, f"{master}_xref"):
            sql.run(f"CREATE OR REPLACE TEMP TABLE {t.prev} AS SELECT record_id, master_id FROM gold.{master}_xref")
            prev = t.prev
        report.ids = master_ids(ctx, cfg, t, res.clusters, prev)
    write_gold(ctx, GoldInput(cfg, t, src, res.rec, res, batch_keys), report)
    report.seconds = time.perf_counter() - t0
    return report
