"""The two Airflow operators of the DAGs: ingest one source table, build one master.

Operators rather than ``@task`` functions because each reports its lineage the way the OpenLineage
provider asks operators to: ``get_openlineage_facets_on_complete`` returns the datasets the run
actually read and wrote (the department's table on the server its Connection names; the silver,
quarantine and bronze folders; the gold tables), which the provider's listener sends with the
task's COMPLETE event to whatever transport the deployment configured
(``AIRFLOW__OPENLINEAGE__TRANSPORT``; none configured, none sent).  The provider is optional at
run time: without it Airflow never calls these methods.

Both also annotate their asset event (``outlet_events[asset].extra``) with the counts, so the
asset's history in the UI and ``/api/v2/assets/events`` says what each publication carried.

Import-cheap (the DAG files import this module while parsing): the work is imported in ``execute``.
"""

from __future__ import annotations

from typing import Any

from airflow.sdk import BaseOperator

from pipelines.assets import gold_asset

COUNTS = ("extracted", "standardised", "quarantined")


class IngestTableOperator(BaseOperator):
    """Extract -> bronze -> standardise -> silver/quarantine for one table of one source."""

    template_fields = ()
    ui_color = "#e8f1fb"

    def __init__(self, *, source: str, table: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.table = table
        self._lineage: tuple[list[Any], list[Any]] | None = None

    def execute(self, context: Any) -> dict[str, Any]:
        from pipelines.ingest import ingest_table
        from pipelines.lake import Lake

        spec, table, env = self._where()
        lake = Lake()
        self.log.info("reading %s", env.describe(spec))
        outcomes = ingest_table(spec, table, env=env, lake=lake)
        for o in outcomes:
            self.log.info(o.line())
        new = [o for o in outcomes if not o.skipped]
        result: dict[str, Any] = {"table": self.table, "batches": [o.batch_id for o in new]}
        result.update({k: sum(getattr(o, k) for o in new) for k in COUNTS})
        self._lineage = _ingest_lineage(env, spec, table, lake, result)
        return result

    def _where(self) -> tuple[Any, Any, Any]:
        """The spec, the table, and where this deployment has them (the source's Connection)."""
        from pipelines.airflow_connections import source_environment
        from pipelines.registry import registry

        spec = registry()[self.source]
        return spec, spec.table(self.table), source_environment(spec)

    def get_openlineage_facets_on_start(self) -> Any:
        """The START event names what the task is about to read and write (no counts yet)."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        from pipelines.lake import Lake

        spec, table, env = self._where()
        inputs, outputs = _ingest_lineage(env, spec, table, Lake(), None)
        return OperatorLineage(inputs=inputs, outputs=outputs)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        """The COMPLETE event: the same datasets with the rows each received."""
        from airflow.providers.openlineage.extractors import OperatorLineage

        inputs, outputs = self._lineage or ([], [])
        return OperatorLineage(inputs=inputs, outputs=outputs)


class BuildMasterOperator(BaseOperator):
    """Resolve silver into one master library (incremental when only new batches arrived)."""

    template_fields = ()
    ui_color = "#fdf1e0"

    def __init__(self, *, master: str, **kwargs: Any) -> None:
        kwargs.setdefault("outlets", [gold_asset(master)])
        super().__init__(**kwargs)
        self.master = master
        self._lineage: tuple[list[Any], list[Any]] | None = None

    def execute(self, context: Any) -> dict[str, Any]:
        from pipelines.lake import Lake
        from pipelines.lineage import gold_datasets, master_inputs
        from pipelines.masters.build import build

        lake = Lake()
        report = build([self.master], lake=lake)
        self.log.info(report.render())
        r = report.masters[0]
        result = {"master": self.master, "mode": r.mode, "records": r.records, "masters": r.masters,
                  "minted": r.ids.minted, "merged": r.ids.merged, "review": r.review,
                  "seconds": round(r.seconds, 2)}
        context["outlet_events"][gold_asset(self.master)].extra = {**result, "build_id": report.build_id}
        self._lineage = ([_ol_dataset(d) for d in master_inputs(lake, self.master)],
                         [_ol_dataset(d, rows=r.masters if d[1].endswith("_master") else None)
                          for d in gold_datasets(report.gold, self.master)])
        return result

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> Any:
        from airflow.providers.openlineage.extractors import OperatorLineage

        inputs, outputs = self._lineage or ([], [])
        return OperatorLineage(inputs=inputs, outputs=outputs)


def publish_counts(source: str, results: list[dict[str, Any]]) -> dict[str, Any]:
    """What a source's silver asset event carries: batch count and ids, row counts, per table."""
    totals: dict[str, Any] = {k: sum(int(r[k]) for r in results) for k in COUNTS}
    batch_ids = [b for r in results for b in r["batches"]]
    return {"source": source, "batches": len(batch_ids), "batch_ids": batch_ids, **totals,
            "tables": {r["table"]: {k: r[k] for k in ("batches", *COUNTS)} for r in results}}


def _ingest_lineage(env: Any, spec: Any, table: Any, lake: Any,
                    result: dict[str, Any] | None) -> tuple[list[Any], list[Any]]:
    """Source table in; silver (per master), quarantine and bronze out; row counts once known."""
    from pipelines.lineage import bronze_dataset, quarantine_dataset, silver_datasets, source_dataset

    def rows(key: str) -> int | None:
        return None if result is None else int(result[key])

    columns = [(f.column, f.type) for f in table.fields]
    inputs = [_ol_dataset(source_dataset(env, spec, table), columns=columns)]
    outputs = [_ol_dataset(d, rows=rows("standardised"))
               for d in silver_datasets(lake, spec.source, table).values()]
    outputs.append(_ol_dataset(quarantine_dataset(lake, spec.source, table.name), rows=rows("quarantined")))
    outputs.append(_ol_dataset(bronze_dataset(lake, spec.source, table.name), rows=rows("extracted")))
    return inputs, outputs


def _ol_dataset(ds: tuple[str, str], rows: int | None = None,
                columns: list[tuple[str, str]] | None = None) -> Any:
    """An OpenLineage dataset; output row counts and input columns as the standard facets."""
    from openlineage.client.event_v2 import Dataset, InputDataset, OutputDataset
    from openlineage.client.facet_v2 import output_statistics_output_dataset, schema_dataset

    namespace, name = ds
    if rows is not None:
        stats = output_statistics_output_dataset.OutputStatisticsOutputDatasetFacet(rowCount=rows)
        return OutputDataset(namespace=namespace, name=name, outputFacets={"outputStatistics": stats})
    if columns is not None:
        schema = schema_dataset.SchemaDatasetFacet(
            fields=[schema_dataset.SchemaDatasetFacetFields(name=c, type=t) for c, t in columns])
        return InputDataset(namespace=namespace, name=name, facets={"schema": schema})
    return Dataset(namespace=namespace, name=name)
