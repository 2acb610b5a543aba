"""``masterdata registry check``: every spec validated, and its SQL tried, before ingest meets it.

Loading a spec (:func:`pipelines.registry.load_spec`) checks its structure, names and expressions.
What only DuckDB can tell - a function given the wrong types, a date format it rejects, an element
whose generated SQL does not bind - would otherwise surface as a crash in the middle of ingest.  So
each table's generated SQL is run here on one empty row, through the same
:func:`pipelines.ingest.load_batch` ingest uses, in a DuckDB confined to a scratch folder (and when
that fails, each element's SQL alone, to name the field).  All specs are checked, not only up to
the first bad one: the check prints one line per defect.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from core.db import confine, connect
from core.sqltext import q
from pipelines.registry import RegistryError, SourceSpec, Table, load_spec
from pipelines.standardise import ElementSQL


def _location(t: Table, ti: int, element: str) -> str:
    for fi, f in enumerate(t.fields):
        if f.element == element:
            return f"tables[{ti}].fields[{fi}]" + (".expr" if f.expr else "")
    for di, dv in enumerate(t.derived):
        if dv.element == element:
            return f"tables[{ti}].derived[{di}].expr"
    return f"tables[{ti}]"


def _first_line(exc: BaseException) -> str:
    return " ".join((str(exc).splitlines() or [type(exc).__name__])[0].split())[:200]


def _failing_element(con: duckdb.DuckDBPyConnection, elements: dict[str, ElementSQL]) -> tuple[str, Exception] | None:
    """The first element whose SQL DuckDB cannot run on the trial row, with DuckDB's error."""
    for name, e in elements.items():
        try:
            con.execute(f"SELECT {e.raw}, {e.value}, {e.problem}, {e.hard} FROM trial_row").fetchall()
        except duckdb.Error as exc:
            return name, exc
    return None


def try_spec(con: duckdb.DuckDBPyConnection, spec: SourceSpec, path: Path, scratch: Path) -> None:
    """Run each table's generated SQL on one empty row; a failure is a one-line :class:`RegistryError`."""
    from pipelines.extract import REJECT_SCHEMA, RawBatch
    from pipelines.ingest import load_batch
    from pipelines.lake import Lake
    from pipelines.standardise import table_elements

    for ti, t in enumerate(spec.tables):
        cols = ", ".join(f"CAST(NULL AS VARCHAR) AS {q(c)}" for c in t.columns)
        con.execute(f"CREATE OR REPLACE TEMP TABLE trial_row AS SELECT {cols}")
        try:
            elements = table_elements(spec, t)
        except Exception as exc:
            raise RegistryError(f"{path}: tables[{ti}]: cannot generate its SQL: {_first_line(exc)}") from None
        staged = scratch / f"{spec.source}.{ti}.parquet"
        pq.write_table(pa.table({c: pa.nulls(1, pa.string()) for c in t.columns}), staged)
        try:
            load_batch(con, spec, t, Lake(scratch / "lake"), RawBatch("trial", staged, 1, REJECT_SCHEMA.empty_table(),
                                                                      None, None), "2026-01-01 00:00:00", "2026-01-01")
        except Exception as exc:
            # the whole batch failed: name the field whose SQL fails, if one does on its own
            culprit = _failing_element(con, elements)
            if culprit is not None:
                raise RegistryError(f"{path}: {_location(t, ti, culprit[0])}: DuckDB cannot run the SQL for "
                                    f"{culprit[0]}: {_first_line(culprit[1])}") from None
            raise RegistryError(f"{path}: tables[{ti}]: ingest would fail: {_first_line(exc)}") from None


def check_registry(directory: Path) -> tuple[dict[str, SourceSpec], list[str]]:
    """(the valid specs, one line per defect) for every ``*.yaml`` in ``directory``."""
    files = sorted(directory.glob("*.yaml"))
    if not files:
        return {}, [f"{directory}: no source specs (*.yaml) found"]
    specs: dict[str, SourceSpec] = {}
    errors: list[str] = []
    with tempfile.TemporaryDirectory(prefix="registry-check-") as tmp:
        scratch = Path(tmp)
        con = connect()
        try:
            confine(con, scratch)
            for p in files:
                try:
                    spec = load_spec(p)
                    try_spec(con, spec, p, scratch)
                except RegistryError as exc:
                    errors.append(exc.one_line())
                    continue
                specs[p.stem] = spec
        finally:
            con.close()
    return specs, errors
