"""Python string functions as DuckDB scalar functions, one call per vector.

Some standard steps map every character through a table of up to 200,000 code points (traditional
-> simplified, pinyin readings). DuckDB has no per-character lookup that is both fast and bounded:
``translate()`` rebuilds its map per row, and a LIST read from a helper table inside a scalar
subquery gets copied per row of a vector whenever DuckDB plans the subquery through a join (a
6.2 GiB allocation on any input, issue 13). An Arrow-vectorised Python function has neither
problem: DuckDB hands it one vector (2,048 rows) at a time, so memory is bounded by a vector, and
it runs the Python definition itself, so SQL and Python agree by construction.

A column function takes the vector's values as a list of strings (NULL as '') and returns one
string per value; NULL stays NULL.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import VARCHAR

ColumnFunction = Callable[[list[str]], list[str]]
_NULL = pa.scalar(None, pa.string())


def arrow_function(fn: ColumnFunction) -> Callable[[pa.Array | pa.ChunkedArray], pa.Array]:
    """The Arrow function DuckDB calls per vector: ``fn`` over the values, NULL kept NULL."""

    def run(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        out = pa.array(fn(pc.fill_null(arr, "").to_pylist()), pa.string())
        return pc.if_else(pc.is_valid(arr), out, _NULL) if arr.null_count else out

    return run


def register_string_functions(con: duckdb.DuckDBPyConnection, functions: dict[str, ColumnFunction]) -> None:
    """Create (or replace) ``VARCHAR -> VARCHAR`` functions on ``con``; safe to call again."""
    for name, fn in functions.items():
        try:
            con.remove_function(name)
        except duckdb.InvalidInputException:
            pass  # not registered on this connection yet
        con.create_function(name, arrow_function(fn), [VARCHAR], VARCHAR, type=ARROW, null_handling=SPECIAL)
