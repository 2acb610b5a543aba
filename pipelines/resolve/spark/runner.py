"""A resolution on Spark for the DuckDB build: records out as Parquet, the engine on Spark, results
back as Parquet.

The master build keeps its work database in DuckDB (reading silver, the ``prepare`` hooks, master
ids, survivorship and the gold writer: per-master work that scales with the masters, not with the
pairs); only the engine - features, deterministic keys, blocking, training, scoring, edges and the
review queue - runs on Spark.  :func:`resolve_spark` writes the prepared records once as Parquet,
runs :func:`pipelines.resolve.engine.resolve` on a :class:`SparkSql`, and gives DuckDB the tables
the build reads afterwards (``rec``, ``clusters``, ``review``, the term-frequency tables) under
their usual names, read from the Parquet files Spark wrote.  The clustering's union-find runs in
the driver process over the candidate edges above the match threshold (as it runs in the build's
process on DuckDB): edges are few - one per linked pair of nodes - and the order they are accepted
in is global, which is what makes clustering a sequential step.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

from core.settings import settings
from core.sqltext import lit
from pipelines.resolve.comparisons import tf_features
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.engine import resolve
from pipelines.resolve.plan import Constraints, Resolution, Tables
from pipelines.resolve.spark.functions import register_udfs
from pipelines.resolve.spark.session import spark_session
from pipelines.resolve.spark.sql import SparkSql
from pipelines.resolve.sql import Sql


def _standard_macros(sql: SparkSql) -> None:
    """The standard's identifier and text macros, which configurations' features call."""
    from standards import identifiers, text

    for m in identifiers.macro_definitions():
        sql.define_macro(m.name, m.params, m.body)
    for name, (params, body) in text.macro_definitions().items():
        sql.define_macro(name, params, body)


def resolve_spark(duck: Sql, cfg: ResolveConfig, source: str, *, constraints: Constraints | None = None
                  ) -> Resolution:
    """:func:`~pipelines.resolve.engine.resolve` of ``source`` (a relation on ``duck``) run on Spark;
    the result's tables are TEMP tables on ``duck``, as if DuckDB had resolved."""
    settings().tmp.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=f"spark-resolve-{cfg.master}-", dir=settings().tmp))
    spark = spark_session().newSession()
    sql = SparkSql(spark, work / "tables", verbose=duck.verbose, listener=duck.listener)
    sql.timings = duck.timings
    try:
        with duck.step("exchange", timed=True):
            (work / "input").mkdir()
            duck.io(f"COPY (SELECT * FROM {source}) TO {lit(str(work / 'input' / 'records.parquet'))} "
                    f"(FORMAT parquet)")
        register_udfs(spark)
        _standard_macros(sql)
        sql.register_parquet(source, [work / "input"])
        res = resolve(sql, cfg, source, constraints=constraints)
        with duck.step("exchange", timed=True):
            t = Tables.of(cfg.master)
            back = [res.rec, res.clusters, res.review] + [t.tf(f) for f in tf_features(cfg)]
            for name in back:
                if sql.table_exists(name):
                    files = ", ".join(lit(str(f / "*.parquet")) for f in sql.parquet_of(name))
                    duck.io(f"CREATE OR REPLACE TEMP TABLE {name} AS SELECT * FROM read_parquet([{files}])")
        res.scored = None  # pairs stay on Spark: the build does not read them
        return res
    finally:
        sql.close()
        shutil.rmtree(work, ignore_errors=True)
