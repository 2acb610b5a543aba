"""OpenLineage names of what the platform reads and writes, following the OpenLineage naming spec.

A lineage consumer (Marquez, DataHub, a cloud catalogue) joins events from different systems by
dataset namespace + name, so the names here are the ones every other producer uses for the same
thing: ``postgres://host:port`` + ``database.schema.table``, ``mysql://host:port`` +
``database.table``, ``file`` + an absolute path for local files (the lake), and, for the two
stores the spec does not cover, ``sqlite://<file>`` + table and ``duckdb://<file>`` + ``main.table``.

Plain (namespace, name) pairs: no OpenLineage import here, so naming is testable without Airflow
and :mod:`pipelines.operators` turns them into events.
"""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from pipelines.connections import DEFAULT_PORT, SERVER_KINDS, SourceEnvironment
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, Table

Dataset = tuple[str, str]


def source_dataset(env: SourceEnvironment, spec: SourceSpec, table: Table) -> Dataset:
    """The departmental table (or landing folder) a table task reads, where this deployment has it."""
    kind = env.effective_kind(spec)
    if kind in SERVER_KINDS:
        u = urlsplit(env.db_uri(spec))
        authority = f"{u.hostname}:{u.port or DEFAULT_PORT[kind]}"
        db = env.server_database(spec)
        if kind == "postgres":
            schema, _, name = table.name.rpartition(".")
            return f"postgres://{authority}", f"{db}.{schema or 'public'}.{name}"
        return f"mysql://{authority}", f"{db}.{table.name}"
    if kind == "sqlite":
        return f"sqlite://{env.sqlite_file(spec.connection.database or '').resolve()}", table.name
    assert table.path, "file tables always have a path (checked by the registry)"
    folder = PurePosixPath(table.path).parent
    return "file", str((env.files_dir / folder).resolve())


def _file(path: Path) -> Dataset:
    return "file", str(path.resolve())


def silver_datasets(lake: Lake, source: str, table: Table) -> dict[str, Dataset]:
    """Master -> the silver folder one source table writes for it."""
    return {m: _file(lake.silver_path(m, source, table.name, "_").parent) for m in table.feeds}


def quarantine_dataset(lake: Lake, source: str, table: str) -> Dataset:
    return _file(lake.quarantine_path(source, table, "_").parent)


def bronze_dataset(lake: Lake, source: str, table: str) -> Dataset:
    return _file(lake.bronze_path(source, table, "_", "_").parent.parent)


def master_inputs(lake: Lake, master: str) -> list[Dataset]:
    """The silver folders a master's build reads: every source table that feeds it and has landed."""
    folder = lake.silver_path(master, "_", "_", "_").parent.parent
    return [_file(p) for p in sorted(folder.glob("*__*")) if p.is_dir()]


#: the tables one master's build writes in the gold file (see ``pipelines/masters/store.py``)
GOLD_TABLES = ("{m}_master", "{m}_xref")


def gold_datasets(gold: Path, master: str) -> list[Dataset]:
    """The gold tables one master's build writes."""
    return [(f"duckdb://{gold.resolve()}", f"main.{t.format(m=master)}") for t in GOLD_TABLES]
