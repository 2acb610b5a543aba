"""Extract: read what is new in a departmental source into a staged Arrow/Parquet batch of text.

Databases (PostgreSQL, MariaDB, SQLite) are read with connectorx straight into Arrow record batches
(streamed, so memory stays bounded however large the table); the incremental query is built with
sqlglot in the source's own dialect.  Files are picked up once, recognised by content hash, so a
file that is renamed or re-delivered is not loaded twice.  Every value is kept as text exactly as
received: typing is the job of the standardise step, which can quarantine a bad value with its
original text.  Rows that cannot even be parsed (wrong column count, undecodable bytes, broken JSON)
become *rejects* here and go to quarantine with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import socket
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp

from core.errors import RunFailed, UnavailableError
from pipelines.connections import SourceEnvironment
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, Table

READ_BATCH_ROWS = 200_000
LINE = "_line"
WM = "__watermark"
REJECT_SCHEMA = pa.schema(
    [(LINE, pa.int64()), ("reason", pa.string()), ("field", pa.string()), ("value", pa.string()),
     ("raw", pa.string())]
)
CONNECT_ATTEMPTS = 3
CONNECT_TIMEOUT_S = 5.0


class SourceUnavailable(UnavailableError):
    """The source could not be reached (retryable); the message names the source and where it is."""


class SchemaChanged(RunFailed):
    """The source's columns no longer match its spec: the batch is refused, never silently trimmed."""


@dataclass
class RawBatch:
    """One unit of extraction: staged text rows plus the rows that could not be parsed."""

    batch_id: str
    staged: Path
    rows: int
    rejects: pa.Table
    watermark_from: str | None
    watermark_to: str | None
    file: tuple[str, str] | None = None  # (content hash, file name) for file sources
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def extracted(self) -> int:
        return self.rows + self.rejects.num_rows


def _digest(*parts: object) -> str:
    return hashlib.sha1("\x1f".join(str(p) for p in parts).encode("utf-8")).hexdigest()[:16]


def _empty_rejects() -> pa.Table:
    return REJECT_SCHEMA.empty_table()


def _as_text(arr: pa.Array | pa.ChunkedArray) -> pa.Array | pa.ChunkedArray:
    """Render any Arrow column as the text a person would read in the source."""
    t = arr.type
    if pa.types.is_string(t) or pa.types.is_large_string(t):
        return arr.cast(pa.string())
    if pa.types.is_timestamp(t):
        # Arrow's %S carries the fraction ("05.000000"); keep it only when it is not zero, because the
        # watermark must stay exact but sources and people write whole seconds
        text = pc.strftime(arr, format="%Y-%m-%d %H:%M:%S")
        return pc.replace_substring_regex(text, pattern=r"\.0+$", replacement="")
    if pa.types.is_date(t):
        return pc.strftime(arr.cast(pa.date32()), format="%Y-%m-%d")
    if pa.types.is_null(t):
        return pa.nulls(len(arr), pa.string())
    if pa.types.is_binary(t) or pa.types.is_large_binary(t):
        return pc.cast(arr, pa.string(), safe=False)
    return pc.cast(arr, pa.string())


def _schema_check(spec: SourceSpec, table: Table, found: list[str], where: str) -> None:
    expected = table.columns
    missing = [c for c in expected if c not in found]
    added = [c for c in found if c not in expected]
    if missing or added:
        parts = []
        if missing:
            parts.append(f"missing column(s) {', '.join(missing)}")
        if added:
            parts.append(f"new column(s) {', '.join(added)}")
        raise SchemaChanged(
            f"source {spec.source} table {table.name} ({where}) changed its columns: {'; '.join(parts)}. "
            f"Update schemas/sources/{spec.source}.yaml (map or explicitly list the columns) and re-run."
        )


# --------------------------------------------------------------------------------------------
# databases
# --------------------------------------------------------------------------------------------
def _connector_dialect(kind: str) -> str:
    return {"postgres": "postgres", "mariadb": "mysql", "sqlite": "sqlite"}[kind]


def _reachable(uri: str) -> None:
    """Fail fast when a server does not answer: connectorx's pool would wait 30 s per attempt."""
    u = urlsplit(uri)
    if u.scheme.startswith("sqlite") or not u.hostname:
        return
    default = {"postgresql": 5432, "postgres": 5432, "mysql": 3306}.get(u.scheme, 0)
    with socket.create_connection((u.hostname, u.port or default), timeout=CONNECT_TIMEOUT_S):
        pass


def _sqlite_batches(path: Path, sql: str) -> Iterator[pa.RecordBatch]:
    """SQLite through the standard library: connectorx infers a column's type from its first value
    and fails on NULLs or mixed types, which departmental SQLite files are full of."""
    import sqlite3

    con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        while rows := cur.fetchmany(READ_BATCH_ROWS):
            cols = list(zip(*rows))
            arrays = [pa.array(c, pa.string()) if n != WM else pa.array(c) for n, c in zip(names, cols)]
            yield pa.RecordBatch.from_arrays(arrays, names=names)
    finally:
        con.close()


def _read_sql(uri: str, sql: str, spec: SourceSpec, where: str, stream: bool) -> Any:
    import connectorx as cx

    if uri.startswith("sqlite://"):
        path = Path(uri[len("sqlite://"):])
        try:
            if stream:
                return _sqlite_batches(path, sql)
            import sqlite3

            with sqlite3.connect(f"file:{path}?mode=ro", uri=True) as con:
                cur = con.execute(sql)
                return pa.table({d[0]: pa.array([], pa.string()) for d in cur.description})
        except Exception as exc:
            raise SourceUnavailable(f"source {spec.source} ({where}): query failed: {exc}") from None

    delay = 1.0
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            _reachable(uri)
            if stream:
                return cx.read_sql(uri, sql, return_type="arrow_stream", batch_size=READ_BATCH_ROWS)
            return cx.read_sql(uri, sql, return_type="arrow")
        except Exception as exc:  # connectorx raises plain RuntimeError/ValueError for everything
            text = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            transient = isinstance(exc, OSError) or any(
                k in text.lower()
                for k in ("connect", "refused", "timed out", "timeout", "unable to open", "broken pipe",
                          "server has gone away", "lost connection", "no route")
            )
            if not transient:
                raise SourceUnavailable(f"source {spec.source} ({where}): query failed: {text}") from None
            if attempt == CONNECT_ATTEMPTS:
                raise SourceUnavailable(
                    f"source {spec.source} is unreachable at {where} after {attempt} attempts: {text}"
                ) from None
            time.sleep(delay)
            delay *= 2
    raise AssertionError("unreachable")


def _db_batches(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake,
                workdir: Path) -> Iterator[RawBatch]:
    kind = env.effective_kind(spec)
    where = env.describe(spec)
    if kind == "sqlite" and not env.sqlite_file(spec.connection.database or "").exists():
        raise SourceUnavailable(f"source {spec.source} is unreachable: {where} does not exist")
    uri = env.db_uri(spec)
    dialect = _connector_dialect(kind)
    tbl = exp.to_table(table.name, dialect=dialect) if "." in table.name else exp.table_(table.name, quoted=True)
    probe = sqlglot.select(exp.Star()).from_(tbl).where("1 = 0").sql(dialect=dialect)
    found = _read_sql(uri, probe, spec, where, stream=False).column_names
    _schema_check(spec, table, found, where)

    state = lake.watermark(spec.source, table.name)
    wm_from = state.get("value")
    wm_col = table.incremental.column
    if kind == "sqlite":
        # SQLite columns hold any type whatever they declare (a NUMERIC column with REAL values breaks
        # connectorx's typed reader), and text is what bronze keeps anyway: read every column as text,
        # plus the watermark column as it is so an id watermark compares as a number.
        cols: list[exp.Expr] = [
            exp.alias_(exp.cast(exp.column(c, quoted=True), "TEXT"), c, quoted=True) for c in table.columns
        ]
        if wm_col:
            cols.append(exp.alias_(exp.column(wm_col, quoted=True), WM, quoted=True))
    else:
        cols = [exp.column(c, quoted=True) for c in table.columns]
    query = sqlglot.select(*cols).from_(tbl)
    if wm_from is not None and wm_col:
        literal = exp.Literal.number(wm_from) if table.incremental.kind == "id" else exp.Literal.string(wm_from)
        query = query.where(exp.GT(this=exp.column(wm_col, quoted=True), expression=literal))
    if wm_col:
        query = query.order_by(exp.column(wm_col, quoted=True))
    reader = _read_sql(uri, query.sql(dialect=dialect), spec, where, stream=True)

    staged = workdir / f"{spec.source}.{table.name}.staged.parquet"
    schema = pa.schema([(c, pa.string()) for c in table.columns])
    rows = 0
    wm_to: Any = None
    wm_to_text: str | None = None
    hasher = hashlib.sha1()
    with pq.ParquetWriter(staged, schema, compression="zstd") as writer:
        for rb in reader:
            if rb.num_rows == 0:
                continue
            text = pa.RecordBatch.from_arrays([_as_text(rb.column(c)) for c in table.columns], schema=schema)
            writer.write_batch(text)
            rows += rb.num_rows
            if wm_col:
                native = rb.column(WM if kind == "sqlite" else wm_col)
                m = pc.max(native).as_py()
                if m is not None and (wm_to is None or m > wm_to):
                    wm_to = m
                    wm_to_text = pc.max(_as_text(native)).as_py() if table.incremental.kind != "id" else str(m)
            hasher.update(str(rb.num_rows).encode())
    if rows == 0:
        staged.unlink(missing_ok=True)
        return
    wm_text = wm_to_text if wm_to is not None else None
    batch_id = "b" + _digest(spec.source, table.name, wm_from, wm_text, rows, hasher.hexdigest())
    yield RawBatch(batch_id, staged, rows, _empty_rejects(), wm_from, wm_text)


# --------------------------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------------------------
def _decode(data: bytes, encoding: str) -> str:
    """Decode, turning undecodable bytes into U+FFFD so the affected rows can be quarantined."""
    return codecs.decode(data, encoding, errors="replace")


def _csv_batch(spec: SourceSpec, table: Table, path: Path, content_hash: str, staged: Path) -> RawBatch:
    import pyarrow.csv as pcsv

    text = _decode(path.read_bytes(), spec.connection.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    header_line, _, _ = text.partition("\n")
    header = [h.strip().strip('"') for h in header_line.rstrip("\r").split(spec.connection.delimiter)]
    _schema_check(spec, table, header, str(path))
    bad: list[dict[str, Any]] = []

    def on_invalid(row: Any) -> str:
        bad.append({LINE: int(row.number or 0), "reason": "BAD_ROW", "field": None,
                    "value": f"expected {row.expected_columns} columns, got {row.actual_columns}",
                    "raw": row.text})
        return "skip"

    tbl = pcsv.read_csv(
        io.BytesIO(text.encode("utf-8")),
        read_options=pcsv.ReadOptions(column_names=header, skip_rows=1, block_size=1 << 24),
        parse_options=pcsv.ParseOptions(delimiter=spec.connection.delimiter, invalid_row_handler=on_invalid,
                                        newlines_in_values=False),
        convert_options=pcsv.ConvertOptions(column_types={c: pa.string() for c in header},
                                            strings_can_be_null=True, quoted_strings_can_be_null=False),
    )
    tbl = tbl.select(table.columns)
    return _finish_file_batch(spec, table, path, content_hash, staged, tbl, bad)


def _finish_file_batch(spec: SourceSpec, table: Table, path: Path, content_hash: str, staged: Path,
                       tbl: pa.Table, bad: list[dict[str, Any]]) -> RawBatch:
    # rows carrying undecodable bytes are rejected with their text, not loaded half-garbled
    mask = None
    for c in table.columns:
        m = pc.fill_null(pc.match_substring(tbl[c], "\ufffd"), False)
        mask = m if mask is None else pc.or_(mask, m)
    lines = pa.array(range(2, tbl.num_rows + 2), pa.int64())
    if mask is not None and pc.any(mask).as_py():
        enc_bad = tbl.filter(mask)
        bad_lines = pc.filter(lines, mask)
        raw = [json.dumps(r, ensure_ascii=False) for r in enc_bad.to_pylist()]
        for ln, r in zip(bad_lines.to_pylist(), raw):
            bad.append({LINE: ln, "reason": "BAD_ENCODING", "field": None,
                        "value": f"bytes not valid {spec.connection.encoding}", "raw": r})
        tbl = tbl.filter(pc.invert(mask))
    pq.write_table(tbl, staged, compression="zstd")
    rejects = pa.Table.from_pylist(bad, schema=REJECT_SCHEMA) if bad else _empty_rejects()
    batch_id = "f" + content_hash[:16]
    return RawBatch(batch_id, staged, tbl.num_rows, rejects, None, None, file=(content_hash, path.name))


def _excel_batch(spec: SourceSpec, table: Table, path: Path, content_hash: str, staged: Path) -> RawBatch:
    import openpyxl

    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        ws = wb.worksheets[0]
        it = ws.iter_rows(values_only=True)
        header = [str(h).strip() if h is not None else "" for h in next(it, ())]
        while header and header[-1] == "":
            header.pop()
        _schema_check(spec, table, header, str(path))
        # Excel sources are small departmental sheets (thousands of rows): a row loop is fine here.
        cols: list[list[str | None]] = [[] for _ in header]
        bad: list[dict[str, Any]] = []
        for n, row in enumerate(it, start=2):
            vals = list(row)
            while len(vals) > len(header) and vals[-1] in (None, ""):
                vals.pop()
            if all(v in (None, "") for v in vals):
                continue
            if len(vals) > len(header):
                bad.append({LINE: n, "reason": "BAD_ROW", "field": None,
                            "value": f"expected {len(header)} columns, got {len(vals)}",
                            "raw": json.dumps([None if v is None else str(v) for v in vals], ensure_ascii=False)})
                continue
            vals += [None] * (len(header) - len(vals))
            for i, v in enumerate(vals):
                if v is None:
                    cols[i].append(None)
                elif hasattr(v, "strftime"):
                    cols[i].append(v.strftime("%Y-%m-%d %H:%M:%S" if getattr(v, "hour", 0) else "%Y-%m-%d"))
                else:
                    cols[i].append(str(v))
    finally:
        wb.close()
    tbl = pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols)}).select(table.columns)
    return _finish_file_batch(spec, table, path, content_hash, staged, tbl, bad)


def _jsonl_batch(spec: SourceSpec, table: Table, path: Path, content_hash: str, staged: Path) -> RawBatch:
    import duckdb

    text = _decode(path.read_bytes(), spec.connection.encoding)
    lines = pa.array(text.splitlines(), pa.string())
    numbers = pa.array(range(1, len(lines) + 1), pa.int64())
    con = duckdb.connect()
    try:
        con.register("lines_raw", pa.table({"line": lines, LINE: numbers}))
        # DuckDB does not short-circuit AND: json_type() must only ever see valid JSON
        con.execute("CREATE TEMP TABLE lines_in AS SELECT *, coalesce(CASE WHEN json_valid(line) "
                    "THEN json_type(line) = 'OBJECT' END, FALSE) AS ok FROM lines_raw")
        keys = con.execute(
            "SELECT DISTINCT unnest(json_keys(CASE WHEN ok THEN line END)) FROM lines_in WHERE ok"
        ).fetchall()
        found = [k[0] for k in keys]
        # a key never seen in the file is a missing column; a new key is a schema change
        if found:
            _schema_check(spec, table, found, str(path))
        select = ", ".join(
            f"CASE WHEN json_type(line, '$.\"{c}\"') IN ('OBJECT','ARRAY') THEN json_extract(line, '$.\"{c}\"')::VARCHAR "
            f"ELSE json_extract_string(line, '$.\"{c}\"') END AS \"{c}\"" for c in table.columns
        )
        good = con.sql(
            f"SELECT {select} FROM (SELECT CASE WHEN ok THEN line END AS line, {LINE} FROM lines_in WHERE ok) "
            f"ORDER BY {LINE}"
        ).to_arrow_table()
        badrows = con.execute(
            f"SELECT {LINE}, line FROM lines_in WHERE trim(line) <> '' AND NOT ok ORDER BY {LINE}"
        ).fetchall()
    finally:
        con.close()
    bad = [{LINE: n, "reason": "BAD_JSON", "field": None, "value": "not a JSON object", "raw": raw}
           for n, raw in badrows]
    return _finish_file_batch(spec, table, path, content_hash, staged, good, bad)


FILE_READERS = {"csv": _csv_batch, "excel": _excel_batch, "jsonl": _jsonl_batch}


def _file_batches(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake,
                  workdir: Path) -> Iterator[RawBatch]:
    files = env.files_for(table)
    if not env.files_dir.exists():
        raise SourceUnavailable(f"source {spec.source} is unreachable: landing folder {env.files_dir} does not exist")
    seen = lake.watermark(spec.source, table.name).get("files", {})
    reader = FILE_READERS[spec.connection.kind]
    for path in files:
        content_hash = hashlib.sha256(path.read_bytes()).hexdigest()
        if content_hash in seen:
            continue
        staged = workdir / f"{spec.source}.{table.name}.{content_hash[:12]}.staged.parquet"
        yield reader(spec, table, path, content_hash, staged)


def pending_batches(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake,
                    workdir: Path) -> Iterator[RawBatch]:
    """Everything new in one source table since the lake's watermark, as raw batches."""
    if spec.connection.kind in FILE_READERS:
        yield from _file_batches(spec, table, env, lake, workdir)
    else:
        yield from _db_batches(spec, table, env, lake, workdir)
