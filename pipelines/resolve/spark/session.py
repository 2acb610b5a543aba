"""The Spark session the resolve engine runs on: one per process, configured the standard way.

Spark is configured as Spark deployments are - ``spark.master``, executor memory and cores in
``spark-defaults.conf`` or on the ``spark-submit`` command line; the platform adds only
``$MASTERDATA_SPARK_MASTER`` (default ``local[2]``) for when no master is configured there, UTC as
the session time zone (so dates and timestamps cross the Parquet exchange unshifted), and the
Python interpreter of this environment for the UDF workers.  Starting the JVM takes seconds to a
minute, so the session lives as long as the process; each resolution gets its own child session
(:meth:`SparkSession.newSession`: own temp views and UDFs, shared executors).
"""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from core.settings import settings

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def spark_session() -> SparkSession:
    """The process's Spark session (created on first use)."""
    os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    os.environ.setdefault("PYSPARK_DRIVER_PYTHON", sys.executable)
    from pyspark import SparkConf
    from pyspark.sql import SparkSession

    active = SparkSession.getActiveSession()
    if active is not None:
        return active
    conf = SparkConf()  # spark-defaults.conf and spark-submit settings, when there are any
    builder = SparkSession.builder.appName("masterdata-resolve")
    master = conf.get("spark.master") or settings().spark_master
    builder = builder.master(master)
    builder = builder.config("spark.sql.session.timeZone", "UTC").config("spark.ui.showConsoleProgress", "false")
    if master.startswith("local") and not conf.contains("spark.sql.shuffle.partitions"):
        # one machine: a few partitions per core, not Spark's cluster default of 200 tiny tasks
        builder = builder.config("spark.sql.shuffle.partitions", "4")
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark
