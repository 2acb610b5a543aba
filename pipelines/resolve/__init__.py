"""The resolve engine: one entity-resolution engine for every master library and link job.

Public API (the modules behind it are the components: config, deterministic, blocking,
comparisons, training, clustering, stable_ids, steward)::

    from pipelines.resolve import load_config, master_config, resolve, Constraints, Sql

    cfg = master_config("person")            # or load_config("my_link.yaml")
    res = resolve(Sql(con), cfg, "records")  # a table with record_id + the columns features read
    # res.clusters: rid -> cluster, rule, weight; res.review: pairs for a steward; res.params

All heavy work is DuckDB SQL that sqlglot transpiles to Spark (tests/masters/test_spark_transpile.py).
"""

from pipelines.resolve.comparisons import Params
from pipelines.resolve.config import ConfigError, ResolveConfig, load_config, master_config
from pipelines.resolve.engine import Constraints, Resolution, resolve
from pipelines.resolve.sql import Sql, recording
from pipelines.resolve.stable_ids import assign_ids
from pipelines.resolve.steward import Decision, StewardLog

__all__ = ["ConfigError", "Constraints", "Decision", "Params", "Resolution", "ResolveConfig", "Sql", "StewardLog",
           "assign_ids", "load_config", "master_config", "recording", "resolve"]
