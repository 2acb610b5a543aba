"""The Python functions the engine's SQL calls, as Spark Arrow UDFs (one call per Arrow batch).

* the character-table functions of the standard (``pinyin_key``, ``pinyin_key_plain``, ``t2s``,
  ``name_norm``): the very Arrow functions DuckDB runs (:func:`standards.text.sql_functions`),
  so both engines compute the same keys by construction;
* ``jaro_winkler_similarity``: rapidfuzz's ``JaroWinkler.similarity``, the algorithm DuckDB's own
  function was ported from, pair by pair.  Its batch form (``process.cpdist``) is faster but
  rounds through the normalised distance (0.8 where DuckDB says 0.7999999999999999), and a level
  boundary at 0.8 must fall on the same side on both engines.  It runs on candidate pairs only,
  never on all records.

Names carry an ``md_`` prefix so they never shadow a Spark built-in
(:data:`pipelines.resolve.spark.translate.UDFS` maps DuckDB names to them).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING

import pyarrow as pa

from pipelines.resolve.spark.translate import UDFS

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def jaro_winkler(a: pa.Array, b: pa.Array) -> pa.Array:
    """DuckDB's ``jaro_winkler_similarity`` over two Arrow string arrays (NULL in, NULL out)."""
    from rapidfuzz.distance import JaroWinkler

    sim = JaroWinkler.similarity
    return pa.array([None if x is None or y is None else sim(x, y)
                     for x, y in zip(a.to_pylist(), b.to_pylist())], pa.float64())


def _string_function(name: str) -> Callable[[pa.Array], pa.Array]:
    """The standard's Arrow function ``name`` (built lazily in the Python worker that runs it)."""

    def run(values: pa.Array) -> pa.Array:
        from standards.text import sql_functions

        return sql_functions()[name](values)

    return run


def register_udfs(spark: SparkSession) -> None:
    """Register every UDF of :data:`UDFS` on the session (names as Spark SQL sees them)."""
    from pyspark.sql.functions import ArrowUDFType, arrow_udf
    from pyspark.sql.types import DoubleType, StringType

    scalar = ArrowUDFType.SCALAR
    warnings.filterwarnings("ignore", "It is preferred to specify type hints", UserWarning)
    spark.udf.register(UDFS["jaro_winkler_similarity"], arrow_udf(jaro_winkler, DoubleType(), scalar))
    for duck in ("pinyin_key", "pinyin_key_plain", "t2s", "name_norm"):
        spark.udf.register(UDFS[duck], arrow_udf(_string_function(duck), StringType(), scalar))
