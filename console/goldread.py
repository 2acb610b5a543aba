"""Read-only queries over the gold store for the steward pages, following new builds.

A build replaces the gold file by an atomic rename; a reader that keeps a file open keeps reading
the old build.  The console therefore attaches the file (read-only) to its own in-memory DuckDB
connection (:func:`core.db.connect`) and attaches it afresh when the file's identity changes - the
same fingerprint the serving read model follows.  Each query runs on a cursor of that connection,
so concurrent requests do not share one.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import duckdb

from core.db import connect
from core.errors import UnavailableError
from core.sqltext import lit
from warehouse.api.index import gold_fingerprint


class GoldUnavailable(UnavailableError):
    """No gold store to read (one line)."""


class GoldReader:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._con: duckdb.DuckDBPyConnection | None = None
        self._fingerprint = ""
        self._lock = threading.Lock()

    def _connection(self) -> duckdb.DuckDBPyConnection:
        try:
            fp = gold_fingerprint(self.path)
        except OSError:
            raise GoldUnavailable(f"no gold store at {self.path}: run `masterdata build` first") from None
        with self._lock:
            if self._con is None or fp != self._fingerprint:
                con = connect(standard=False)
                con.execute(f"ATTACH {lit(str(self.path))} AS gold (READ_ONLY)")
                # the previous build's connection is dropped, not closed: a request still reading it
                # holds its own cursor, which keeps that database open until it is done
                self._con, self._fingerprint = con, fp
            cur = self._con.cursor()
        cur.execute("USE gold")  # (per cursor: a cursor starts on the connection's default database)
        return cur

    def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
        cur = self._connection()
        try:
            res = cur.execute(sql, params or [])
            cols = [d[0] for d in res.description]
            return [dict(zip(cols, r)) for r in res.fetchall()]
        finally:
            cur.close()

    def one(self, sql: str, params: list[Any] | None = None) -> dict[str, Any] | None:
        got = self.rows(sql, params)
        return got[0] if got else None

    def value(self, sql: str, params: list[Any] | None = None) -> Any:
        got = self.one(sql, params)
        return next(iter(got.values())) if got else None

    def tables(self) -> set[str]:
        """Tables and views of the gold store's main schema."""
        return {r["name"] for r in self.rows(
            "SELECT table_name AS name FROM duckdb_tables() WHERE database_name = 'gold' AND schema_name = 'main' "
            "UNION SELECT view_name FROM duckdb_views() WHERE database_name = 'gold' AND schema_name = 'main'")}

    def columns(self, table: str, schema: str = "main") -> list[str]:
        return [r["column_name"] for r in self.rows(
            "SELECT column_name FROM duckdb_columns() WHERE database_name = 'gold' AND schema_name = ? AND "
            "table_name = ? ORDER BY column_index", [schema, table])]
