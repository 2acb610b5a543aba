"""Build the three master libraries whenever any source's silver changes.

Scheduled on ``AssetAny`` of the 32 silver assets rather than on all of them: with "all", one
department whose server is down for a day would hold back every master; with "any", each
published batch is linked within minutes, and because ``masterdata build`` is incremental (only
the new batches are read and only the masters they touch are rewritten) a run triggered by one
small source costs seconds.  ``max_active_runs=1`` serialises runs; a run that finds nothing new
leaves the gold file untouched.

Thin on purpose: the work is ``pipelines.masters.build.build``, imported inside the tasks.  One task
per master, in dependency order (legal representatives are persons; licence holders are persons
or entities), each publishing its gold asset for the quality and serving DAGs.
"""

from __future__ import annotations

from typing import Any

import pendulum
from airflow.sdk import AssetAny, XComArg, dag, task

from pipelines.assets import default_args, gold_asset, silver_asset, source_names

MASTERS = ("person", "entity", "licence")
DEFAULT_ARGS = default_args(retries=2, delay_s=60)


@dag(
    dag_id="build_masters",
    description="Resolve silver into the population, legal-entity and licence masters (gold)",
    schedule=AssetAny(*[silver_asset(s) for s in source_names()]),
    start_date=pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["masters", "gold", "resolve"],
    doc_md=__doc__,
)
def build_masters() -> None:
    def make(master: str) -> XComArg:
        @task(task_id=f"build_{master}", outlets=[gold_asset(master)])
        def build_one() -> dict[str, Any]:
            from pipelines.masters.build import build

            report = build([master])
            print(report.render())
            r = report.masters[0]
            return {"master": master, "mode": r.mode, "records": r.records, "masters": r.masters,
                    "minted": r.ids.minted, "merged": r.ids.merged, "review": r.review, "seconds": r.seconds}

        return build_one()

    tasks = [make(m) for m in MASTERS]
    tasks[0] >> tasks[1] >> tasks[2]


build_masters()
