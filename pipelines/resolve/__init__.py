"""The resolve engine: one entity-resolution engine for every master library and link job.

Public API (the modules behind it are the components: config, deterministic, blocking,
comparisons, training, clustering, stable_ids, steward; the stage order is :mod:`.engine`'s, run
as a full (:mod:`.full`) or delta (:mod:`.delta`) plan)::

    from pipelines.resolve import load_config, resolve, Constraints, Sql

    cfg = load_config("my_link.yaml")        # or pipelines.masters.config.master_config("person")
    res = resolve(Sql(con), cfg, "records")  # a table with record_id + the columns features read
    # res.clusters: rid -> cluster, rule, weight; res.review: pairs for a steward; res.params

All heavy work is DuckDB SQL that sqlglot transpiles to Spark (tests/masters/test_spark_transpile.py).
"""

from pipelines.resolve.comparisons import Params
from pipelines.resolve.config import ConfigError, ResolveConfig, load_config
from pipelines.resolve.delta import DeltaInputs
from pipelines.resolve.engine import resolve, resolve_delta
from pipelines.resolve.plan import Constraints, Resolution
from pipelines.resolve.sql import Sql, recording
from pipelines.resolve.stable_ids import assign_ids
from pipelines.resolve.steward import Decision, StewardLog

__all__ = ["ConfigError", "Constraints", "Decision", "DeltaInputs", "Params", "Resolution", "ResolveConfig", "Sql",
           "StewardLog", "assign_ids", "load_config", "recording", "resolve", "resolve_delta"]
