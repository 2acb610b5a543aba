"""SQLite extraction side by side: the ADBC SQLite driver (what ingest uses) against the standard
library's rows zipped into Arrow columns in Python (what it used before), on one table.

    uv run --frozen python -m benchmarks.bench_sqlite_read SOURCES/db/dept_public_security.sqlite hjxx_czrk

Both read the same query ingest sends (every column cast to text) in batches of
``extract.READ_BATCH_ROWS`` and are timed in turn, twice each (the second pass has the file in the
page cache, as the first pass of ingest has after the schema probe); rows and seconds are printed.
"""

from __future__ import annotations

import argparse
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import pyarrow as pa

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from core.sqltext import q
from pipelines import extract


def stdlib_batches(path: Path, sql: str) -> Iterator[pa.RecordBatch]:
    """The reader ingest had before: rows from ``sqlite3``, columns built in Python."""
    with closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        while rows := cur.fetchmany(extract.READ_BATCH_ROWS):
            cols = list(zip(*rows))
            yield pa.RecordBatch.from_arrays([pa.array(c, pa.string()) for c in cols], names=names)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("database", type=Path)
    ap.add_argument("table")
    args = ap.parse_args(argv)
    with closing(sqlite3.connect(f"file:{args.database}?mode=ro", uri=True)) as con:
        cols = [r[1] for r in con.execute(f"PRAGMA table_info({q(args.table)})")]
    if not cols:
        raise SystemExit(f"{args.database}: no table {args.table!r}")
    sql = f"SELECT {', '.join(f'CAST({q(c)} AS TEXT) AS {q(c)}' for c in cols)} FROM {q(args.table)}"
    readers = {"adbc": lambda: extract._sqlite_batches(args.database, sql), "stdlib": lambda: stdlib_batches(args.database, sql)}
    for rnd in (1, 2):
        for name, read in readers.items():
            t = time.perf_counter()
            rows = sum(b.num_rows for b in read())
            print(f"pass {rnd} {name:7} {rows:,} rows x {len(cols)} columns in {time.perf_counter() - t:.1f}s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
