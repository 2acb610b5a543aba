"""Data quality after every master build, once it has published all three masters (or once every
source has landed, before masters exist).

Thin on purpose: the schedule is built from the asset names the ingestion and master DAGs publish
(``silver_<source>``, ``gold_<master>``), and each task imports its function inside itself:
``quality.run.run_quality`` scores the whole lake in DuckDB and records the run in the quality
store; ``quality.gxrun.validate_batches`` + ``quality.report.render`` validate the latest batch of
every source table with Great Expectations and write the analysts' report.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any, cast

import pendulum
from airflow.sdk import AssetAll, AssetAny, dag, task

from pipelines.assets import default_args, gold_asset, silver_asset, source_names

MASTERS = ("person", "entity", "licence")
START = pendulum.datetime(2026, 1, 1, tz="Asia/Shanghai")
DEFAULT_ARGS = default_args(retries=2, delay_s=60)


@dag(
    dag_id="quality",
    dag_display_name="数据质量检查与报告 (quality)",
    description="Expectation suites from the standard: scorecards per source and master, GX Data Docs, report",
    # once a master build has published all three masters (every build run publishes each one), so
    # the scorecards read one consistent gold store, not persons of this build beside licences of the
    # last; and after a full round of ingestion, so sources are scored before masters exist
    schedule=AssetAny(AssetAll(*(gold_asset(m) for m in MASTERS)), AssetAll(*(silver_asset(s) for s in source_names()))),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["quality", "great-expectations", "scorecards"],
    doc_md=__doc__,
)
def quality_dag() -> None:
    @task(execution_timeout=timedelta(minutes=30), task_display_name="质量评分 scorecards")
    def scorecards() -> dict[str, Any]:
        from quality.run import run_quality

        res = run_quality(progress=print)
        for c in res.failures()[:20]:
            print(c.line())
        return {"run_id": res.run_id, "seconds": round(res.seconds, 1), "failing_checks": len(res.failures()),
                "scores": {s.label: s.score for s in res.scores if s.level in ("source", "master")}}

    @task(execution_timeout=timedelta(minutes=30), task_display_name="质量报告与数据文档 report")
    def report(run: dict[str, Any]) -> str:
        from core.settings import settings
        from quality.gxrun import validate_batches
        from quality.report import render
        from quality.store import QualityStore

        out = settings().quality_report
        outcome = validate_batches(out, progress=print)
        for f in outcome.failures()[:20]:
            print(f.line())
        path = render(QualityStore(), out, run["run_id"], outcome)
        print(f"report: {path}")
        return str(path)

    # TaskFlow hands the upstream result over at run time; at declaration time it is an XComArg
    report(cast(dict[str, Any], scorecards()))


quality_dag()
