"""Build the three master libraries whenever any source's silver changes.

Scheduled on ``AssetAny`` of the 32 silver assets rather than on all of them: with "all", one
department whose server is down for a day would hold back every master; with "any", each
published batch is linked within minutes, and because ``masterdata build`` is incremental (only
the new batches are read and only the masters they touch are rewritten) a run triggered by one
small source costs seconds.  ``max_active_runs=1`` serialises runs; a run that finds nothing new
leaves the gold file untouched.

Thin on purpose: the work is ``pipelines.masters.build.build``, imported when a task runs.  One task
per master, in dependency order (legal representatives are persons; licence holders are persons
or entities), each publishing its gold asset for the quality and serving DAGs (with the build's
counts in the asset event's ``extra``) and reporting its lineage, silver in and gold out
(OpenLineage), as it completes.
"""

from __future__ import annotations

import pendulum
from airflow.sdk import AssetAny, dag

from pipelines.assets import default_args, silver_asset, source_names
from pipelines.operators import BuildMasterOperator

MASTERS = ("person", "entity", "licence")
TITLES = {"person": "人口库", "entity": "法人库", "licence": "证照库"}
DEFAULT_ARGS = default_args(retries=2, delay_s=60)


@dag(
    dag_id="build_masters",
    dag_display_name="主数据构建 · 人口库 法人库 证照库 (build masters)",
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
    tasks = [BuildMasterOperator(task_id=f"build_{m}", task_display_name=f"构建{TITLES[m]}", master=m)
             for m in MASTERS]
    tasks[0] >> tasks[1] >> tasks[2]


build_masters()
