"""Extract: read what is new in a departmental source into a staged Arrow/Parquet batch of text.

Databases (PostgreSQL, MariaDB, SQLite) are read with connectorx straight into Arrow record batches
(streamed, so memory stays bounded however large the table); the incremental query is built with
sqlglot in the source's own dialect; a server that accepts connections and then says nothing fails
within the source's read timeout.  Files are picked up once, recognised by content hash, so a file
that is renamed or re-delivered is not loaded twice.  Each file is its own unit: one that cannot be
read as a whole (not a workbook, an empty file, a header that changed or repeats a column, a
symbolic link) is set aside with its reason (:class:`FileNotice`) and the table's other and later
files still load (which files may be read, and when, is :mod:`pipelines.landing`).  Every value is kept as text exactly as
received: typing is the job of the standardise step, which can quarantine a bad value with its
original text.  Rows that cannot even be parsed (wrong column count, undecodable bytes, broken JSON)
become *rejects* here and go to quarantine with a reason; nothing is dropped silently.
"""

from __future__ import annotations

import codecs
import hashlib
import io
import json
import re
import time
from collections.abc import Iterator
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import sqlglot
import sqlglot.expressions as exp

from core.errors import RunFailed, UnavailableError, mask, redact
from core.sqltext import lit, q
from pipelines import landing
from pipelines.connections import NoAnswer, SourceEnvironment, probe_server
from pipelines.lake import Lake
from pipelines.landing import FileReason, FileRefused
from pipelines.registry import SourceSpec, Table
from standards.reasons import Reason

READ_BATCH_ROWS = 200_000
LINE = "_line"
WM = "__watermark"
REJECT_SCHEMA = pa.schema(
    [(LINE, pa.int64()), ("reason", pa.string()), ("field", pa.string()), ("value", pa.string()),
     ("raw", pa.string())]
)
CONNECT_ATTEMPTS = 3


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
    order: int = 0  # position among the table's landed files (delivery order): its extraction moment
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


def _names(cols: list[str], limit: int = 8, data: bool = False) -> str:
    """Column names for a message: a header line of data (names, ID numbers) must not be echoed
    whole, so each name is cut short and only the first few are listed - and masked, all of them,
    when the line holds an ID or phone number (``data``: it is a row, its names are people's)."""
    shown = [mask(c) if data else (c if len(c) <= 24 else c[:20] + "…") for c in cols[:limit]]
    return ", ".join(shown) + (f" and {len(cols) - limit} more" if len(cols) > limit else "")


def _schema_check(spec: SourceSpec, table: Table, found: list[str], where: str) -> None:
    expected = table.columns
    missing = [c for c in expected if c not in found]
    added = [c for c in found if c not in expected]
    repeated = sorted({c for c in found if found.count(c) > 1})
    if missing or added or repeated:
        row = any(redact(c) != c for c in found)  # a data row read as the header
        parts = []
        if repeated:
            parts.append(f"repeated column(s) {_names(repeated, data=row)}")
        if missing:
            parts.append(f"missing column(s) {_names(missing)}")
        if added:
            parts.append(f"new column(s) {_names(added, data=row)}")
        raise SchemaChanged(
            f"source {spec.source} table {table.name} ({where}) changed its columns: {'; '.join(parts)}. "
            f"Update schemas/sources/{spec.source}.yaml (map or explicitly list the columns) and re-run."
        )


# --------------------------------------------------------------------------------------------
# databases
# --------------------------------------------------------------------------------------------
def _connector_dialect(kind: str) -> str:
    return {"postgres": "postgres", "mariadb": "mysql", "sqlite": "sqlite"}[kind]


def _table_ref(table: Table, dialect: str) -> exp.Table:
    return exp.to_table(table.name, dialect=dialect) if "." in table.name else exp.table_(table.name, quoted=True)


def _sqlite_batches(path: Path, sql: str) -> Iterator[pa.RecordBatch]:
    """SQLite read by the ADBC SQLite driver, which builds Arrow batches in C: the standard
    library's rows, zipped into columns in Python, cost 15 of the 53 s of ingesting 2.25 M
    public-security rows (4.8 s against 1.2 s for a million rows of 14 columns).

    Every column ``sql`` returns must be text (the callers cast: connectorx infers a column's type
    from its first value and fails on NULLs or mixed types, which departmental SQLite files are full
    of).  The driver infers each column's type from a batch's values and types a column that is NULL
    throughout its first batch as int64, then fails on the first text after it; so the query is
    preceded by one row of empty strings, which makes every column text and is dropped here."""
    import sqlite3

    import adbc_driver_sqlite.dbapi as adbc_sqlite

    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as probe:
        names = [d[0] for d in probe.execute(f"SELECT * FROM ({sql}) LIMIT 0").description]
    typed = "SELECT " + ", ".join(f"'' AS {q(n)}" for n in names)
    with closing(adbc_sqlite.connect(f"file:{path}?mode=ro")) as con, closing(con.cursor()) as cur:
        cur.adbc_statement.set_options(**{"adbc.sqlite.query.batch_rows": str(READ_BATCH_ROWS)})
        cur.execute(f"{typed} UNION ALL SELECT * FROM ({sql})")
        first = True
        for rb in cur.fetch_record_batch():
            if first:
                rb, first = rb.slice(1), False
            if rb.num_rows:
                yield rb


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
    conn = spec.connection
    for attempt in range(1, CONNECT_ATTEMPTS + 1):
        try:
            probe_server(uri, conn.connect_timeout_s, conn.read_timeout_s)
            if stream:
                return cx.read_sql(uri, sql, return_type="arrow_stream", batch_size=READ_BATCH_ROWS)
            return cx.read_sql(uri, sql, return_type="arrow")
        except NoAnswer as exc:
            # a server that accepts and stays silent is not retried here: each attempt would cost
            # the read timeout again (Airflow retries the task later)
            raise SourceUnavailable(f"source {spec.source} at {where} {exc}") from None
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
    tbl = _table_ref(table, dialect)
    probe = sqlglot.select(exp.Star()).from_(tbl).where("1 = 0").sql(dialect=dialect)
    found = _read_sql(uri, probe, spec, where, stream=False).column_names
    _schema_check(spec, table, found, where)

    wm_from = lake.watermark(spec.source, table.name)
    wm_col = table.incremental.column
    if kind == "sqlite":
        # SQLite columns hold any type whatever they declare (a NUMERIC column with REAL values breaks
        # connectorx's typed reader), and text is what bronze keeps anyway: read every column as text
        # (what :func:`_sqlite_batches` needs), the watermark column too.
        cols: list[exp.Expr] = [
            exp.alias_(exp.cast(exp.column(c, quoted=True), "TEXT"), c, quoted=True) for c in table.columns
        ]
        if wm_col:
            # an id watermark compares as a number: SQLite's CAST makes an integer of whatever the
            # column holds (it arrives as text, like every column, and is turned back into one below)
            as_type = "INTEGER" if table.incremental.kind == "id" else "TEXT"
            cols.append(exp.alias_(exp.cast(exp.column(wm_col, quoted=True), as_type), WM, quoted=True))
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
                if kind == "sqlite" and table.incremental.kind == "id":
                    native = pc.cast(native, pa.int64())
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
@dataclass
class FileNotice:
    """A landed file this run does not load: set aside (``refused``, with its reason) or waiting."""

    file: str                        # name relative to the landing folder
    key: str                         # what the lake remembers it by: its would-be batch id, or a name digest
    refused: FileRefused | None = None
    waiting: str | None = None
    earlier: bool = False            # set aside by an earlier run (already recorded)

    def line(self, source: str, table: str) -> str:
        if self.refused is None:
            return f"{source}.{table} {self.file}: waiting: {self.waiting}"
        when = "set aside earlier" if self.earlier else "set aside"
        return f"{source}.{table} {self.file}: {when} ({self.refused.reason}): {self.refused.detail}"


def _decode(data: bytes, encoding: str) -> str:
    """Decode, turning undecodable bytes into U+FFFD so the affected rows can be quarantined."""
    return codecs.decode(data, encoding, errors="replace")


def _check_header(spec: SourceSpec, table: Table, header: list[str], name: str) -> None:
    """A header that cannot be read, or whose columns differ from the spec, refuses the whole file."""
    if any("\ufffd" in h for h in header):
        raise FileRefused(FileReason.BAD_HEADER, f"the header line is not valid {spec.connection.encoding}")
    if any(not h.isprintable() for h in header):
        raise FileRefused(FileReason.BAD_HEADER, "the header line holds control characters (not a text file)")
    _schema_check(spec, table, header, name)


def _csv_batch(spec: SourceSpec, table: Table, data: bytes, name: str, content_hash: str,
               staged: Path) -> RawBatch:
    import pyarrow.csv as pcsv

    if not data.strip():
        raise FileRefused(FileReason.EMPTY, f"the file is empty ({len(data)} bytes)")
    text = _decode(data, spec.connection.encoding)
    if text.startswith("\ufeff"):
        text = text[1:]
    header_line, _, _ = text.partition("\n")
    header = [h.strip().strip('"') for h in header_line.rstrip("\r").split(spec.connection.delimiter)]
    _check_header(spec, table, header, name)
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
    return _finish_file_batch(spec, table, name, content_hash, staged, tbl, bad)


def _finish_file_batch(spec: SourceSpec, table: Table, name: str, content_hash: str, staged: Path,
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
    return RawBatch(batch_id, staged, tbl.num_rows, rejects, None, None, file=(content_hash, name))


_FORMULA_TAG = re.compile(rb"<(?:\w+:)?f[ >/]")


def _has_formulas(data: bytes) -> bool:
    """Whether any worksheet of an .xlsx holds a formula (a cheap scan of the sheet XML, so only
    workbooks with formulas pay for openpyxl's second pass)."""
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as z:
        for n in z.namelist():
            if n.startswith("xl/worksheets/") and n.endswith(".xml"):
                with z.open(n) as f:
                    tail = b""
                    while chunk := f.read(1 << 20):
                        if _FORMULA_TAG.search(tail + chunk):
                            return True
                        tail = chunk[-8:]
    return False


def _excel_rows(data: bytes) -> Iterator[tuple[list[Any], list[str | None]]]:
    """(cell values, formula text of cells that have no cached value) per row of the first sheet.

    A formula cell is read with the value Excel cached when it saved the file; a workbook written
    by a program that never computed it has none, and that cell is reported instead of read as
    an empty value.
    """
    import itertools

    import openpyxl

    if not data:
        raise FileRefused(FileReason.EMPTY, "the file is empty (0 bytes)")
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    wbf = openpyxl.load_workbook(io.BytesIO(data), read_only=True) if _has_formulas(data) else None
    try:
        values = wb.worksheets[0].iter_rows(values_only=True)
        cells = wbf.worksheets[0].iter_rows() if wbf is not None else itertools.repeat(())
        for vals, fcells in zip(values, cells):
            formulas = [str(c.value) if getattr(c, "data_type", None) == "f" else None for c in fcells]
            yield list(vals), formulas
    finally:
        wb.close()
        if wbf is not None:
            wbf.close()


def _excel_batch(spec: SourceSpec, table: Table, data: bytes, name: str, content_hash: str,
                 staged: Path) -> RawBatch:
    it = _excel_rows(data)
    first = next(it, None)
    header = [str(h).strip() if h is not None else "" for h in (first[0] if first else [])]
    while header and header[-1] == "":
        header.pop()
    _check_header(spec, table, header, name)
    # Excel sources are small departmental sheets (thousands of rows): a row loop is fine here.
    cols: list[list[str | None]] = [[] for _ in header]
    bad: list[dict[str, Any]] = []
    for n, (vals, formulas) in enumerate(it, start=2):
        while len(vals) > len(header) and vals[-1] in (None, ""):
            vals.pop()
        if all(v in (None, "") for v in vals) and not any(formulas):
            continue
        raw = json.dumps([None if v is None else str(v) for v in vals], ensure_ascii=False)
        if len(vals) > len(header):
            bad.append({LINE: n, "reason": "BAD_ROW", "field": None,
                        "value": f"expected {len(header)} columns, got {len(vals)}", "raw": raw})
            continue
        missing = [(header[i], f) for i, f in enumerate(formulas[:len(header)]) if f and vals[i] is None]
        if missing:
            bad.append({LINE: n, "reason": Reason.NO_FORMULA_VALUE, "field": missing[0][0],
                        "value": missing[0][1], "raw": raw})
            continue
        vals += [None] * (len(header) - len(vals))
        for i, v in enumerate(vals):
            if v is None:
                cols[i].append(None)
            elif hasattr(v, "strftime"):
                cols[i].append(v.strftime("%Y-%m-%d %H:%M:%S" if getattr(v, "hour", 0) else "%Y-%m-%d"))
            else:
                cols[i].append(str(v))
    tbl = pa.table({h: pa.array(c, pa.string()) for h, c in zip(header, cols)}).select(table.columns)
    return _finish_file_batch(spec, table, name, content_hash, staged, tbl, bad)


def _jsonl_batch(spec: SourceSpec, table: Table, data: bytes, name: str, content_hash: str,
                 staged: Path) -> RawBatch:
    import duckdb

    if not data.strip():
        raise FileRefused(FileReason.EMPTY, f"the file is empty ({len(data)} bytes)")
    text = _decode(data, spec.connection.encoding)
    # JSON lines are separated by "\n" only: str.splitlines() would also split on U+2028, U+0085
    # and other characters that are valid inside a JSON string
    parts = text.split("\n")
    if parts and parts[-1] == "":
        parts.pop()
    lines = pc.replace_substring_regex(pa.array(parts, pa.string()), pattern="\r$", replacement="")
    numbers = pa.array(range(1, len(lines) + 1), pa.int64())
    con = duckdb.connect(config={"enable_external_access": False})  # parses registered text only
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
            _schema_check(spec, table, found, name)
        select = ", ".join(
            f"CASE WHEN json_type(line, {lit(_json_path(c))}) IN ('OBJECT','ARRAY') "
            f"THEN json_extract(line, {lit(_json_path(c))})::VARCHAR "
            f"ELSE json_extract_string(line, {lit(_json_path(c))}) END AS {q(c)}" for c in table.columns
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
    return _finish_file_batch(spec, table, name, content_hash, staged, good, bad)


def _json_path(key: str) -> str:
    """A JSON path selecting one top-level key (the registry allows no quote in a column name)."""
    return '$."' + key.replace("\\", "\\\\").replace('"', '\\"') + '"'


FILE_READERS = {"csv": _csv_batch, "excel": _excel_batch, "jsonl": _jsonl_batch}


def spec_fingerprint(spec: SourceSpec, table: Table) -> str:
    """What a file was judged against: a file set aside under one version of the spec is tried
    again once the spec changes (e.g. after the new columns were mapped)."""
    return _digest(spec.connection.model_dump_json(), table.model_dump_json())


def _file_batches(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake,
                  workdir: Path) -> Iterator[RawBatch | FileNotice]:
    """Each landed file is its own unit: loaded, already loaded (nothing), set aside or waiting."""
    if not env.files_dir.exists():
        raise SourceUnavailable(f"source {spec.source} is unreachable: landing folder {env.files_dir} does not exist")
    assert table.path, "file tables always have a path (checked by the registry)"
    conn = spec.connection
    paths = landing.candidates(env.files_dir, table.path)
    refused = {p: r for p in paths if (r := landing.refusal(env.files_dir, p)) is not None}
    waiting = landing.incomplete([p for p in paths if p not in refused], conn.settle_s, conn.done_marker)
    fingerprint = spec_fingerprint(spec, table)
    blocked: str | None = None
    for order, path in enumerate(paths):
        name = landing.relative_name(env.files_dir, path)
        if path in refused:
            yield _notice(lake, spec, table, name, "n" + _digest(name), refused[path], fingerprint)
        elif blocked or path in waiting:
            yield FileNotice(name, "", waiting=waiting.get(path) or f"after {blocked}, which is not complete yet")
            blocked = blocked or name
        elif (item := _landed_file(spec, table, lake, path, name, fingerprint, workdir)) is not None:
            if isinstance(item, RawBatch):
                item.order = order
            yield item


def _landed_file(spec: SourceSpec, table: Table, lake: Lake, path: Path, name: str, fingerprint: str,
                 workdir: Path) -> RawBatch | FileNotice | None:
    """One complete file read into a raw batch; None when it was loaded before."""
    try:
        data = landing.read_bytes(path)
    except FileRefused as exc:
        return _notice(lake, spec, table, name, "n" + _digest(name), exc, fingerprint)
    content_hash = hashlib.sha256(data).hexdigest()
    batch_id = "f" + content_hash[:16]
    if lake.is_committed(spec.source, table.name, batch_id):
        return None
    kind = spec.connection.kind
    staged = workdir / f"{spec.source}.{table.name}.{content_hash[:12]}.staged.parquet"
    earlier = _earlier(lake, spec, table, name, batch_id, fingerprint)
    if earlier is not None:
        return earlier
    try:
        return FILE_READERS[kind](spec, table, data, name, content_hash, staged)
    except FileRefused as exc:
        refusal: FileRefused = exc
    except SchemaChanged as exc:
        refusal = FileRefused(FileReason.COLUMNS_CHANGED, str(exc))
    except Exception as exc:  # whatever a malformed file makes a parser raise stops this file only
        text = (str(exc).splitlines() or [""])[0][:200]
        refusal = FileRefused(FileReason.UNREADABLE, f"cannot be read as {kind}: {type(exc).__name__}: {text}")
    staged.unlink(missing_ok=True)
    return FileNotice(name, batch_id, refusal)


def _earlier(lake: Lake, spec: SourceSpec, table: Table, name: str, key: str, fingerprint: str) -> FileNotice | None:
    """The notice of a file an earlier run set aside under the same spec (None: there is none)."""
    rec = lake.set_aside_record(spec.source, table.name, key)
    if rec is not None and rec.get("spec") == fingerprint:
        return FileNotice(name, key, FileRefused(FileReason(rec["reason"]), rec["detail"]), earlier=True)
    return None


def _notice(lake: Lake, spec: SourceSpec, table: Table, name: str, key: str, refusal: FileRefused,
            fingerprint: str) -> FileNotice:
    return _earlier(lake, spec, table, name, key, fingerprint) or FileNotice(name, key, refusal)


def pending_batches(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake,
                    workdir: Path) -> Iterator[RawBatch | FileNotice]:
    """Everything new in one source table since the lake's watermark, as raw batches (and, for
    file sources, a notice for each landed file that is set aside or not complete yet)."""
    if spec.connection.kind in FILE_READERS:
        yield from _file_batches(spec, table, env, lake, workdir)
    else:
        yield from _db_batches(spec, table, env, lake, workdir)


def source_keys(spec: SourceSpec, table: Table, env: SourceEnvironment) -> pa.Table:
    """Every primary key a database table holds now, as text (the snapshot deletes are found from)."""
    kind = env.effective_kind(spec)
    dialect = _connector_dialect(kind)
    pk = table.primary_key
    cols: list[exp.Expr] = [
        exp.alias_(exp.cast(exp.column(c, quoted=True), "TEXT"), c, quoted=True) if kind == "sqlite"
        else exp.column(c, quoted=True) for c in pk
    ]
    query = sqlglot.select(*cols).from_(_table_ref(table, dialect)).sql(dialect=dialect)
    reader = _read_sql(env.db_uri(spec), query, spec, env.describe(spec), stream=True)
    schema = pa.schema([(c, pa.string()) for c in pk])
    batches = [pa.RecordBatch.from_arrays([_as_text(rb.column(c)) for c in pk], schema=schema) for rb in reader]
    return pa.Table.from_batches(batches, schema=schema)
