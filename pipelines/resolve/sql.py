"""Running the engine's SQL: one place that executes, times and records every statement.

The engine writes DuckDB SQL only (the one dialect of record, docs/ARCHITECTURE.md) and must stay
transpilable to Spark by sqlglot.  Every statement goes through :class:`Sql`, which can record them
(:func:`recording`) so a test can transpile exactly what the engine ran, not a hand-picked sample.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
import time
from collections.abc import Iterator
from typing import Any

import duckdb
import pyarrow as pa

from pipelines.steps import StepListener

_RECORDER: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("sql_recorder", default=None)


@contextlib.contextmanager
def recording() -> Iterator[list[str]]:
    """Collect every statement :class:`Sql` runs inside the block."""
    log: list[str] = []
    token = _RECORDER.set(log)
    try:
        yield log
    finally:
        _RECORDER.reset(token)




_TEMP_TABLE = re.compile(r"^CREATE (OR REPLACE )?TEMP TABLE ")


def _stored(sql: str) -> str:
    """The statement with a scratch (``TEMP``) table created in the work database instead.

    DuckDB keeps TEMP tables uncompressed; a table of the work database is compressed when written
    (dictionary, FSST, bit-packing: several times smaller), so at seed scale the build's scratch
    tables - tens of millions of records with their features - stay in memory or spill a fraction
    of the bytes.  The engine's SQL still says TEMP (what it means, and what Spark reads)."""
    return _TEMP_TABLE.sub(lambda m: f"CREATE {m.group(1) or ''}TABLE ", sql, count=1)


class Sql:
    """A DuckDB connection seen through the engine: ``run`` / ``rows`` / ``arrow`` record statements.

    ``timings`` accumulates seconds per step label for the benchmark reports; ``listener`` (progress
    on a terminal) hears every step start and end; ``failed_at`` names the innermost step a
    statement failed in ("blocking / rule tel"), so an error can say where it happened.
    """

    def __init__(self, con: duckdb.DuckDBPyConnection, verbose: bool = False,
                 listener: StepListener | None = None, stored_scratch: bool = False) -> None:
        self.con = con
        self._init_state(verbose, listener, stored_scratch)

    def _init_state(self, verbose: bool, listener: StepListener | None, stored_scratch: bool = False) -> None:
        """What every engine's connection keeps: verbosity, the listener, timings and step path, and
        whether TEMP tables are stored in the work database (:func:`_stored`; DuckDB's build only)."""
        self.verbose = verbose
        self.listener = listener
        self.stored_scratch = stored_scratch
        self.timings: dict[str, float] = {}
        self.failed_at: str | None = None
        self._path: list[str] = []
        self._notes: list[dict[str, Any]] = []

    def _record(self, sql: str) -> None:
        log = _RECORDER.get()
        if log is not None:
            log.append(sql)

    def _execute(self, sql: str, params: list[Any] | None) -> list[tuple[Any, ...]]:
        self._record(sql)
        t = time.perf_counter()
        run = _stored(sql) if self.stored_scratch else sql
        cur = self.con.execute(run, params) if params is not None else self.con.execute(run)
        rows = cur.fetchall()  # DuckDB 2 keeps a result pending until it is consumed
        if self.verbose:
            print(f"  [{time.perf_counter() - t:6.2f}s] {sql[:160]}")
        return rows

    def define_macro(self, name: str, params: tuple[str, ...], body: str) -> None:
        """Create (or replace) a TEMP macro: a function of the engine's SQL, written in DuckDB SQL."""
        self.con.execute(f"CREATE OR REPLACE TEMP MACRO {name}({', '.join(params)}) AS {body}")

    def run(self, sql: str, params: list[Any] | None = None) -> None:
        """Execute a statement whose result is not needed (DDL, INSERT ...)."""
        self._execute(sql, params)

    def io(self, sql: str) -> None:
        """Run an I/O statement (read_parquet views, COPY TO): connector work, not engine SQL, so it
        is not recorded for transpilation - on Spark it is ``spark.read.parquet`` / ``df.write``."""
        t = time.perf_counter()
        self.con.execute(sql).fetchall()
        if self.verbose:
            print(f"  [{time.perf_counter() - t:6.2f}s] (io) {sql[:150]}")

    def rows(self, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
        return self._execute(sql, params)

    def one(self, sql: str, params: list[Any] | None = None) -> Any:
        rows = self._execute(sql, params)
        return rows[0][0] if rows else None

    def arrow(self, sql: str) -> pa.Table:
        self._record(sql)
        return self.con.sql(sql).to_arrow_table()

    def register(self, name: str, table: pa.Table) -> None:
        """Expose an Arrow table as a view (the engine's input and Python-computed results)."""
        self.con.register(name, table)

    def unregister(self, name: str) -> None:
        self.con.unregister(name)

    def table_exists(self, name: str, schema: str | None = None) -> bool:
        sql = "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?"
        params: list[Any] = [name]
        if schema:
            sql += " AND (database_name = ? OR schema_name = ?)"
            params += [schema, schema]
        return bool(self.one(sql, params))

    @contextlib.contextmanager
    def step(self, label: str, *, timed: bool = True) -> Iterator[None]:
        """A named stage of work; steps nest (``timed=False`` for a part not kept in ``timings``)."""
        t = time.perf_counter()
        self._path.append(label)
        self._notes.append({})
        path = tuple(self._path)
        if self.listener:
            self.listener("start", path, {})
        try:
            yield
            if self.stored_scratch and len(path) <= 2:
                # after each master and each of its steps: the work file reuses a dropped or
                # replaced table's blocks only after a checkpoint, and large writes go straight to
                # the file with a small WAL, so DuckDB would not checkpoint by itself - at seed scale
                # the file grew to 42 GB, most of it dead tables.  Not after a failure, whose error
                # a failing checkpoint would hide.
                self.con.execute("CHECKPOINT").fetchall()
        except BaseException:
            self.failed_at = self.failed_at or " / ".join(path)
            self._notes[-1]["failed"] = True
            raise
        finally:
            seconds = time.perf_counter() - t
            self._path.pop()
            notes = self._notes.pop()
            if timed:
                self.timings[label] = self.timings.get(label, 0.0) + seconds
            if self.listener:
                self.listener("end", path, {"seconds": seconds, **notes})

    def note(self, **info: Any) -> None:
        """Attach figures to the current step (pairs of a blocking rule ...), reported at its end."""
        if self._notes:
            self._notes[-1].update(info)
