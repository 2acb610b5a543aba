"""Bulk, atomic writers for the departmental extracts: SQLite, PostgreSQL, MariaDB, CSV, Excel, JSONL.

Speed matters (millions of rows in minutes), so nothing writes row by row where a bulk path exists:

* SQLite: one ``executemany`` per 100k-row batch inside one transaction, journaling off during the
  load, into a temporary file renamed over the database (a reader never sees half a database);
* PostgreSQL: ``COPY ... FROM STDIN`` of tab-separated text built column-wise with Arrow, in the same
  transaction as ``DROP``/``CREATE`` (DDL is transactional there, so the table is replaced atomically);
* MariaDB: ``LOAD DATA LOCAL INFILE`` from a temporary TSV into ``t__new``, then ``RENAME TABLE``
  swaps it in; if the server refuses local infile, ``executemany`` in 50k batches;
* files: written under a dot-prefixed temporary name (ignored by the file connectors) and renamed.
  CSV in the source's encoding (GBK files are really GBK: characters GBK cannot write are replaced
  beforehand), Excel with openpyxl's write-only mode, JSON lines through DuckDB's writer.

Day-2 changes to database tables are upserts by primary key in one transaction.
"""

from __future__ import annotations

import io
import os
import sqlite3
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from core.errors import RunFailed
from core.sqltext import q
from pipelines.registry import SourceSpec, Table

if TYPE_CHECKING:
    import psycopg
    import pymysql

DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"
DEFAULT_MYSQL = "mysql://root@127.0.0.1:3306"
SQLITE_BATCH = 100_000
MYSQL_BATCH = 50_000


class WriteError(RunFailed):
    """A sink could not be written (unreachable server, refused login ...): one line, names the place."""


# ------------------------------------------------------------------------------------------------
# column conversions
# ------------------------------------------------------------------------------------------------


def _as_text(arr: pa.ChunkedArray | pa.Array) -> pa.Array:
    """Any column as strings: dates YYYY-MM-DD, timestamps YYYY-MM-DD HH:MM:SS, numbers as digits."""
    a = arr.combine_chunks() if isinstance(arr, pa.ChunkedArray) else arr
    if pa.types.is_string(a.type):
        return a
    if pa.types.is_boolean(a.type):
        return pc.if_else(a, "true", "false")
    return pc.cast(a, pa.string())


def _py_column(arr: pa.ChunkedArray) -> list:
    """Python values for sqlite3: strings for dates/timestamps (ISO text), numbers as numbers."""
    t = arr.type
    if pa.types.is_date(t) or pa.types.is_timestamp(t):
        return _as_text(arr).to_pylist()
    return arr.to_pylist()


def _rows(table: pa.Table, batch: int) -> Iterator[list[tuple]]:
    for start in range(0, table.num_rows, batch):
        part = table.slice(start, batch)
        cols = [_py_column(part.column(i)) for i in range(part.num_columns)]
        yield list(zip(*cols))


def tsv_bytes(table: pa.Table) -> bytes:
    """PostgreSQL text-COPY / MySQL LOAD DATA format: tab-separated, ``\\N`` nulls, backslash escapes."""
    if table.num_rows == 0:
        return b""
    cols = []
    for i in range(table.num_columns):
        s = _as_text(table.column(i))
        if pa.types.is_string(table.schema.field(i).type):
            for a, b in (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r")):
                s = pc.replace_substring(s, a, b)
        cols.append(pc.fill_null(s, "\\N"))
    lines = (
        pc.binary_join_element_wise(*cols, "\n", "")
        if len(cols) == 1
        else pc.binary_join_element_wise(pc.binary_join_element_wise(*cols, "\t"), "\n", "")
    )
    lines = lines.cast(pa.large_string())
    offsets = np.frombuffer(lines.buffers()[1], dtype=np.int64)[lines.offset : lines.offset + len(lines) + 1]
    data = lines.buffers()[2]
    return data.to_pybytes()[int(offsets[0]) : int(offsets[-1])]


# ------------------------------------------------------------------------------------------------
# SQLite
# ------------------------------------------------------------------------------------------------

_SQLITE_TYPE = {
    "varchar": "TEXT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def _create_sql(
    table: Table, types: dict[str, str], quote: Callable[[str], str] = q, name: str | None = None
) -> str:
    cols = ", ".join(f"{quote(f.column)} {types[f.type]}" for f in table.fields)
    pk = ", ".join(quote(c) for c in table.primary_key)
    return f"CREATE TABLE {quote(name or table.name)} ({cols}, PRIMARY KEY ({pk}))"


def sqlite_path(out: Path, database: str) -> Path:
    return out / "sources" / "db" / (database if database.endswith(".sqlite") else f"{database}.sqlite")


def write_sqlite(path: Path, tables: Iterable[tuple[Table, pa.Table]]) -> None:
    """Write a whole database file (all its tables) to a temp name and rename it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.unlink(missing_ok=True)
    con = sqlite3.connect(tmp, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode=OFF")
        con.execute("PRAGMA synchronous=OFF")
        con.execute("BEGIN")
        for table, data in tables:
            con.execute(_create_sql(table, _SQLITE_TYPE))
            marks = ", ".join("?" * len(table.fields))
            sql = f"INSERT INTO {q(table.name)} VALUES ({marks})"
            for rows in _rows(data, SQLITE_BATCH):
                con.executemany(sql, rows)
        con.execute("COMMIT")
        con.execute("PRAGMA journal_mode=DELETE")
    finally:
        con.close()
    os.replace(tmp, path)


def upsert_sqlite(path: Path, table: Table, data: pa.Table) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("BEGIN")
        cols = [f.column for f in table.fields]
        pk = table.primary_key
        sets = (
            ", ".join(f"{q(c)} = excluded.{q(c)}" for c in cols if c not in pk)
            or f"{q(pk[0])} = excluded.{q(pk[0])}"
        )
        sql = (
            f"INSERT INTO {q(table.name)} ({', '.join(map(q, cols))}) "
            f"VALUES ({', '.join('?' * len(cols))}) "
            f"ON CONFLICT ({', '.join(map(q, pk))}) DO UPDATE SET {sets}"
        )
        for rows in _rows(data, SQLITE_BATCH):
            con.executemany(sql, rows)
        con.execute("COMMIT")
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------
# PostgreSQL
# ------------------------------------------------------------------------------------------------

_PG_TYPE = {
    "varchar": "TEXT",
    "integer": "INTEGER",
    "bigint": "BIGINT",
    "decimal": "NUMERIC(18,2)",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}


def pg_connect(dsn: str, database: str | None = None, autocommit: bool = False) -> psycopg.Connection:
    import psycopg

    u = urlsplit(dsn)
    target = dsn if database is None else u._replace(path="/" + database).geturl()
    try:
        return psycopg.connect(target, autocommit=autocommit, connect_timeout=5)
    except psycopg.OperationalError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WriteError(f"PostgreSQL at {u.hostname}:{u.port or 5432}: {first}") from None


def pg_ensure_database(dsn: str, database: str) -> None:
    with pg_connect(dsn, autocommit=True) as con:
        exists = con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone()
        if not exists:
            con.execute(f'CREATE DATABASE "{database}"')


def write_postgres(dsn: str, database: str, tables: Iterable[tuple[Table, pa.Table]]) -> None:
    pg_ensure_database(dsn, database)
    with pg_connect(dsn, database) as con:  # one transaction: drop, create, copy, commit
        with con.cursor() as cur:
            for table, data in tables:
                cur.execute(f"DROP TABLE IF EXISTS {q(table.name)}")
                cur.execute(_create_sql(table, _PG_TYPE))
                cols = ", ".join(q(f.column) for f in table.fields)
                payload = tsv_bytes(data)
                with cur.copy(f"COPY {q(table.name)} ({cols}) FROM STDIN") as cp:
                    step = 8 << 20
                    for i in range(0, len(payload), step):
                        cp.write(payload[i : i + step])
        con.commit()


def upsert_postgres(dsn: str, database: str, table: Table, data: pa.Table) -> None:
    cols = [f.column for f in table.fields]
    pk = table.primary_key
    tmp = f"{table.name}__delta"
    with pg_connect(dsn, database) as con:
        with con.cursor() as cur:
            cur.execute(
                f"CREATE TEMP TABLE {q(tmp)} (LIKE {q(table.name)} INCLUDING DEFAULTS) ON COMMIT DROP"
            )
            with cur.copy(f"COPY {q(tmp)} ({', '.join(map(q, cols))}) FROM STDIN") as cp:
                cp.write(tsv_bytes(data))
            sets = ", ".join(f"{q(c)} = EXCLUDED.{q(c)}" for c in cols if c not in pk)
            action = f"DO UPDATE SET {sets}" if sets else "DO NOTHING"
            cur.execute(
                f"INSERT INTO {q(table.name)} SELECT * FROM {q(tmp)} "
                f"ON CONFLICT ({', '.join(map(q, pk))}) {action}"
            )
        con.commit()


# ------------------------------------------------------------------------------------------------
# MariaDB
# ------------------------------------------------------------------------------------------------

_MY_TYPE = {
    "varchar": "TEXT",
    "integer": "INT",
    "bigint": "BIGINT",
    "decimal": "DECIMAL(18,2)",
    "date": "DATE",
    "timestamp": "DATETIME",
    "boolean": "BOOLEAN",
}


def _bq(name: str) -> str:
    return "`" + name.replace("`", "``") + "`"


def my_connect(url: str, database: str | None = None, local_infile: bool = True) -> pymysql.connections.Connection:
    import pymysql

    u = urlsplit(url)
    try:
        return pymysql.connect(
            host=u.hostname or "127.0.0.1",
            port=u.port or 3306,
            user=u.username or "root",
            password=u.password or "",
            database=database,
            charset="utf8mb4",
            local_infile=local_infile,
            autocommit=False,
            connect_timeout=5,
        )
    except pymysql.err.OperationalError as exc:
        raise WriteError(f"MariaDB at {u.hostname}:{u.port or 3306}: {exc.args[-1]}") from None


def _my_create(table: Table, name: str) -> str:
    # key columns must be VARCHAR to be indexed; other text stays TEXT
    types = {
        f.column: (
            "VARCHAR(191)" if f.column in table.primary_key and f.type == "varchar" else _MY_TYPE[f.type]
        )
        for f in table.fields
    }
    cols = ", ".join(f"{_bq(f.column)} {types[f.column]}" for f in table.fields)
    pk = ", ".join(_bq(c) for c in table.primary_key)
    return f"CREATE TABLE {_bq(name)} ({cols}, PRIMARY KEY ({pk})) DEFAULT CHARSET=utf8mb4"


def write_mariadb(url: str, database: str, tables: Iterable[tuple[Table, pa.Table]]) -> None:
    con = my_connect(url)
    try:
        with con.cursor() as cur:
            cur.execute(f"CREATE DATABASE IF NOT EXISTS {_bq(database)} CHARACTER SET utf8mb4")
            cur.execute(f"USE {_bq(database)}")
            for table, data in tables:
                new, old = f"{table.name}__new", f"{table.name}__old"
                cur.execute(f"DROP TABLE IF EXISTS {_bq(new)}")
                cur.execute(_my_create(table, new))
                _my_load(cur, new, table, data)
                con.commit()
                cur.execute(
                    "SELECT COUNT(*) FROM information_schema.tables "
                    "WHERE table_schema = %s AND table_name = %s",
                    (database, table.name),
                )
                if cur.fetchone()[0]:
                    cur.execute(f"DROP TABLE IF EXISTS {_bq(old)}")
                    cur.execute(
                        f"RENAME TABLE {_bq(table.name)} TO {_bq(old)}, {_bq(new)} TO {_bq(table.name)}"
                    )
                    cur.execute(f"DROP TABLE {_bq(old)}")
                else:
                    cur.execute(f"RENAME TABLE {_bq(new)} TO {_bq(table.name)}")
        con.commit()
    finally:
        con.close()


def _my_load(cur: pymysql.cursors.Cursor, name: str, table: Table, data: pa.Table) -> None:
    import pymysql

    cols = ", ".join(_bq(f.column) for f in table.fields)
    payload = tsv_bytes(data)
    if payload:
        with tempfile.NamedTemporaryFile("wb", suffix=".tsv", delete=False) as fh:
            fh.write(payload)
            tmp = fh.name
        try:
            cur.execute(
                f"LOAD DATA LOCAL INFILE %s INTO TABLE {_bq(name)} CHARACTER SET utf8mb4 "
                f"FIELDS TERMINATED BY '\\t' ESCAPED BY '\\\\' LINES TERMINATED BY '\\n' ({cols})",
                (tmp,),
            )
            return
        except pymysql.err.OperationalError as exc:  # local infile refused: fall back to batches
            if exc.args and exc.args[0] not in (1148, 3948, 2068):
                raise
        finally:
            os.unlink(tmp)
    marks = ", ".join(["%s"] * len(table.fields))
    for rows in _rows(data, MYSQL_BATCH):
        cur.executemany(f"INSERT INTO {_bq(name)} ({cols}) VALUES ({marks})", rows)


def upsert_mariadb(url: str, database: str, table: Table, data: pa.Table) -> None:
    con = my_connect(url, database)
    try:
        with con.cursor() as cur:
            cols = [f.column for f in table.fields]
            marks = ", ".join(["%s"] * len(cols))
            sets = ", ".join(f"{_bq(c)} = VALUES({_bq(c)})" for c in cols if c not in table.primary_key)
            sql = f"INSERT INTO {_bq(table.name)} ({', '.join(map(_bq, cols))}) VALUES ({marks})" + (
                f" ON DUPLICATE KEY UPDATE {sets}" if sets else ""
            )
            for rows in _rows(data, MYSQL_BATCH):
                cur.executemany(sql, rows)
        con.commit()
    finally:
        con.close()


# ------------------------------------------------------------------------------------------------
# files
# ------------------------------------------------------------------------------------------------


def file_path(out: Path, table: Table, batch: str) -> Path:
    assert table.path
    return out / "sources" / "files" / table.path.replace("*", batch)


def _atomic_bytes(path: Path, payload: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(payload)
    os.replace(tmp, path)


def write_csv(path: Path, data: pa.Table, encoding: str, delimiter: str = ",") -> None:
    buf = io.BytesIO()
    pacsv.write_csv(data, buf, pacsv.WriteOptions(delimiter=delimiter, quoting_style="needed"))
    raw = buf.getvalue()
    if encoding.lower().replace("-", "") not in ("utf8",):
        text = raw.decode("utf-8")
        bad = {ch for ch in set(text) if not _encodable(ch, encoding)}
        if bad:  # e.g. a rare traditional character: write what a GBK system would have stored
            text = text.translate({ord(ch): "?" for ch in bad})
        raw = text.encode(encoding)
    _atomic_bytes(path, raw)


def _encodable(ch: str, encoding: str) -> bool:
    try:
        ch.encode(encoding)
    except UnicodeEncodeError:
        return False
    return True


#: Every Excel file carries this as its creation/modification time and zip entry time, so the same
#: content gives the same bytes (the lake recognises delivered files by content hash).
EXCEL_STAMP = (2026, 11, 25, 0, 0, 0)


def _fixed_zip(path: Path) -> None:
    """Rewrite a zip with fixed entry times (openpyxl stamps the wall clock into every entry)."""
    import re
    import zipfile

    stamp = "{:04d}-{:02d}-{:02d}T{:02d}:{:02d}:{:02d}Z".format(*EXCEL_STAMP)
    with zipfile.ZipFile(path) as src:
        entries = [(i.filename, src.read(i.filename)) for i in src.infolist()]
    # openpyxl also writes the save time as dcterms:modified, whatever the workbook says
    entries = [(n, re.sub(rb"(<dcterms:modified[^>]*>)[^<]*", rb"\g<1>" + stamp.encode(), p) if n == "docProps/core.xml"
                else p) for n, p in entries]
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as dst:
        for name, payload in entries:
            info = zipfile.ZipInfo(name, date_time=EXCEL_STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(info, payload)


def write_excel(path: Path, data: pa.Table) -> None:
    from datetime import datetime

    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    wb.properties.created = wb.properties.modified = datetime(*EXCEL_STAMP)
    ws = wb.create_sheet("Sheet1")
    ws.append(data.column_names)
    cols = [c.to_pylist() for c in data.columns]  # dates stay date objects -> Excel date cells
    for row in zip(*cols):
        ws.append(row)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    wb.save(tmp)
    _fixed_zip(tmp)
    os.replace(tmp, path)


def write_jsonl(path: Path, data: pa.Table) -> None:
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    con = duckdb.connect()
    try:
        con.register("src", data)
        target = str(tmp).replace("'", "''")
        con.execute(f"COPY (SELECT * FROM src) TO '{target}' (FORMAT JSON)")
    finally:
        con.close()
    os.replace(tmp, path)


def write_file(spec: SourceSpec, table: Table, data: pa.Table, out: Path, batch: str) -> Path:
    path = file_path(out, table, batch)
    kind = spec.connection.kind
    if kind == "csv":
        write_csv(path, data, spec.connection.encoding, spec.connection.delimiter)
    elif kind == "excel":
        write_excel(path, data)
    elif kind == "jsonl":
        write_jsonl(path, data)
    else:  # pragma: no cover
        raise ValueError(kind)
    return path
