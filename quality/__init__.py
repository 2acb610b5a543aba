"""Data quality: expectation suites derived from the standard, scorecards, the analysts' report.

    suites.py    checks generated from standards/elements.yaml + schemas/sources (never by hand)
    rules.py     what each dictionary rule means as SQL (the standard's own macros)
    frame.py     the relation a suite runs on: silver snapshot or gold table + derived columns
    scorecard.py full-table scorecards in DuckDB (one scan per source table and master)
    gold.py      match rate, review queue, conflicts from the gold store (read-only)
    run.py       one run: score everything, record it in the quality store (store.py)
    gxrun.py     Great Expectations on pandas batches (latest batch per table) + Data Docs
    report.py    one self-contained HTML page with inline SVG charts (charts.py)
    cli.py       ``masterdata quality run | report | suite | history``

Public names are imported lazily: the command line loads :mod:`quality.cli` (its entry point) on every command,
so importing this package must cost nothing (no DuckDB, no Great Expectations).
"""

from __future__ import annotations

from typing import Any

__all__ = ["run_quality", "build_suites", "feed_suite", "master_suite", "validate_batches", "render",
           "QualityStore"]

_WHERE = {"run_quality": "quality.run", "build_suites": "quality.suites", "feed_suite": "quality.suites",
          "master_suite": "quality.suites", "validate_batches": "quality.gxrun", "render": "quality.report",
          "QualityStore": "quality.store"}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        import importlib

        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'quality' has no attribute {name!r}")
