"""Celery configuration for Airflow's CeleryExecutor: Airflow's defaults, plus a warm worker.

Point Airflow at it with ``AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS=pipelines.celery_config.CELERY_CONFIG``
(docs/DEPLOYMENT.md).  The settings themselves are Airflow's own (broker, result backend, queues
from the ``AIRFLOW__CELERY__*`` variables); what this module adds is the warm-up below.

Why: an Airflow 3 Celery worker runs each task in a process forked from its pool process.  Our
tasks import pandas, pyarrow, DuckDB and sqlglot and validate the 32 source specs before doing any
work, which on a small batch costs more than the work itself (seconds per task).  Importing them
once in the worker's main process, before Celery forks its pool, lets every task process inherit
them.  The scheduler imports this module too (it builds the same Celery app to send tasks), but
``worker_init`` fires only in a worker, so the scheduler stays light.
"""

from __future__ import annotations

from typing import Any

from airflow.providers.celery.executors.default_celery import DEFAULT_CELERY_CONFIG
from celery.signals import worker_init

CELERY_CONFIG: dict[str, Any] = {**DEFAULT_CELERY_CONFIG}
#: what the ingestion and build tasks import first thing
PRELOAD = ("pipelines.ingest", "pipelines.airflow_connections", "pipelines.lineage", "pipelines.masters.build")


@worker_init.connect
def warm_up(**_: Any) -> None:
    """Import the task code, validate the source registry and build the standard's tables once,
    before the pool forks.

    Nothing here opens a connection or starts a thread (a fork would copy neither safely).
    """
    import importlib

    for module in PRELOAD:
        importlib.import_module(module)
    from pipelines.registry import registry
    from standards.sqlenv import warm

    registry()
    warm()
