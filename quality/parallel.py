"""Several scorecard queries at once, each on its own cursor of the run's DuckDB database.

Why: DuckDB splits a Parquet scan by row group (122,880 rows), and most feeds are one or two
row groups, so one feed's query keeps one core busy and the others idle - on the 2-core machine
the 1 M-person run used under half of the CPU it had. Queries of different feeds are
independent, so running ``workers`` of them side by side (DuckDB's scheduler shares its threads
between them; a cursor shares the database's macros, tables and ATTACHed gold store) fills the
idle cores. Results come back in the order of the inputs, so the run's output is the same as
one query after the other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import duckdb

T = TypeVar("T")
R = TypeVar("R")

#: at most this many queries at once, whatever the core count: each holds its own working memory
#: under the connection's one memory limit
MAX_WORKERS = 4


def workers_for(con: duckdb.DuckDBPyConnection) -> int:
    """As many concurrent queries as DuckDB has threads (capped by :data:`MAX_WORKERS`)."""
    row = con.execute("SELECT current_setting('threads')").fetchone()
    return max(1, min(MAX_WORKERS, int(row[0]) if row else 1))


def ordered_map(con: duckdb.DuckDBPyConnection, fn: Callable[[duckdb.DuckDBPyConnection, T], R],
                items: Iterable[T], workers: int | None = None) -> Iterator[R]:
    """``fn(cursor, item)`` for every item, up to ``workers`` at once, yielded in input order.

    Each call gets a fresh cursor (a connection to the same database), closed after it. With one
    worker everything runs on ``con`` itself, in order. An exception of ``fn`` is raised when its
    result is reached; the calls already started finish first.
    """
    todo = list(items)
    n = workers if workers is not None else workers_for(con)
    if n <= 1 or len(todo) <= 1:
        for item in todo:
            yield fn(con, item)
        return

    def call(item: T) -> R:
        with con.cursor() as cur:
            return fn(cur, item)

    with ThreadPoolExecutor(max_workers=n, thread_name_prefix="quality") as pool:
        futures = [pool.submit(call, item) for item in todo]
        try:
            for fut in futures:
                yield fut.result()
        finally:
            for fut in futures:
                fut.cancel()
