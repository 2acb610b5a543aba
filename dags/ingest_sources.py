"""One ingestion DAG per departmental source, generated from the registry in ``schemas/sources``.

Thin on purpose: this file only reads the spec files (plain YAML, no validation, no heavy imports)
and declares tasks; the work is ``pipelines.ingest.ingest_table``, imported inside the task.  Each
table is one task (extract -> bronze -> standardise -> silver/quarantine, committed atomically);
the final task publishes the source's silver asset, on which the master build is scheduled.

Retries use exponential backoff, so a department's server that is briefly down costs a delay, and
one that stays down fails only its own DAG, with an error naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, cast

import pendulum
import yaml
from airflow.sdk import DAG, dag, task

from pipelines.assets import default_args, silver_asset

SPECS_DIR = Path(__file__).resolve().parent.parent / "schemas" / "sources"
START = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
DEFAULT_ARGS = default_args(retries=3, delay_s=30)


def build_dag(spec_file: Path) -> DAG:
    raw = yaml.safe_load(spec_file.read_text(encoding="utf-8"))
    source: str = raw["source"]
    tables = [t["name"] for t in raw["tables"]]
    masters = sorted({m for t in raw["tables"] for m in t.get("feeds", [])})
    kind = raw["connection"]["kind"]

    @dag(
        dag_id=f"ingest_{source}",
        description=f"{raw.get('title', source)}: extract, land in bronze, standardise to silver",
        schedule=raw.get("schedule", "@daily"),
        start_date=START,
        catchup=False,
        max_active_runs=1,
        default_args=DEFAULT_ARGS,
        tags=["ingest", f"kind:{kind}", f"department:{raw['department']}", *[f"feeds:{m}" for m in masters]],
        doc_md=f"Source spec: `schemas/sources/{spec_file.name}`. Tables: {', '.join(tables)}.",
    )
    def ingest_dag() -> None:
        @task
        def ingest_table(table: str) -> dict[str, Any]:
            from pipelines.ingest import ingest_table as run
            from pipelines.registry import registry

            spec = registry()[source]
            outcomes = run(spec, spec.table(table))
            for o in outcomes:
                print(o.line())
            return {
                "batches": [o.batch_id for o in outcomes if not o.skipped],
                "extracted": sum(o.extracted for o in outcomes if not o.skipped),
                "standardised": sum(o.standardised for o in outcomes if not o.skipped),
                "quarantined": sum(o.quarantined for o in outcomes if not o.skipped),
            }

        @task(outlets=[silver_asset(source)])
        def publish(results: list[dict[str, Any]]) -> dict[str, int]:
            total = {k: sum(r[k] for r in results) for k in ("extracted", "standardised", "quarantined")}
            print(f"{source}: {total}")
            return total

        # TaskFlow hands the upstream results over at run time; at declaration time they are XComArgs
        publish(cast(list[dict[str, Any]], [ingest_table.override(task_id=f"ingest_{t}")(t) for t in tables]))

    return ingest_dag()


for _spec in sorted(SPECS_DIR.glob("*.yaml")):
    globals()[f"ingest_{_spec.stem}"] = build_dag(_spec)
