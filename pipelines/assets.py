"""Airflow asset names shared by the DAG files (kept import-cheap: no Airflow import at module level).

The ingestion DAG of each source publishes ``silver_<source>``; the master build is scheduled on
them and publishes ``gold_<master>``; the quality DAG listens to both.
"""

from __future__ import annotations

from typing import Any


def silver_asset(source: str) -> Any:
    from airflow.sdk import Asset

    return Asset(name=f"silver_{source}", uri=f"masterdata://silver/{source}", group="silver")


def gold_asset(master: str) -> Any:
    from airflow.sdk import Asset

    return Asset(name=f"gold_{master}", uri=f"masterdata://gold/{master}", group="gold")


def default_args(retries: int = 3, delay_s: float = 30.0) -> dict[str, Any]:
    """Every DAG's defaults: retries with exponential backoff.

    ``MASTERDATA_RETRY_DELAY_S`` shortens the first delay for one-off local runs (the demo, tests),
    where a scheduler is not there to wait for.
    """
    from datetime import timedelta

    from core.settings import settings

    return {
        "owner": "data-office",
        "retries": retries,
        "retry_delay": timedelta(seconds=settings().retry_delay_s or delay_s),
        "retry_exponential_backoff": True,
        "max_retry_delay": timedelta(minutes=10),
    }


def source_names() -> list[str]:
    """Source names from the spec file names (no YAML parsing, no validation: DAG parse stays fast)."""
    from pathlib import Path

    specs = Path(__file__).resolve().parent.parent / "schemas" / "sources"
    return sorted(p.stem for p in specs.glob("*.yaml"))
