"""Python string functions as DuckDB scalar functions, one call per vector.

Some standard steps map every character through a table of up to 200,000 code points (traditional
-> simplified, pinyin readings). DuckDB has no per-character lookup that is both fast and bounded:
``translate()`` rebuilds its map per row, and a LIST read from a helper table inside a scalar
subquery gets copied per row of a vector whenever DuckDB plans the subquery through a join (a
6.2 GiB allocation on any input, issue 13). An Arrow-vectorised Python function has neither
problem: DuckDB hands it one vector (2,048 rows) at a time, so memory is bounded by a vector, and
it runs the Python definition itself, so SQL and Python agree by construction.

Per vector, no Python object is made per value: Arrow joins the values into one string with
:data:`SEP` between them, the step runs once over that string (``str.translate`` and ``re`` work
in C), and the result is cut back into an Arrow array at the separators with numpy. A step must
keep each :data:`SEP` and never act across one; a vector holding U+10FFFF itself is mapped value by
value instead.
"""

from __future__ import annotations

from collections.abc import Callable

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
from duckdb.func import ARROW, SPECIAL
from duckdb.sqltypes import VARCHAR

#: Between the values of a vector joined into one string; U+10FFFF is a noncharacter.
SEP = "\U0010ffff"
_SEP_UTF8 = np.frombuffer(SEP.encode(), np.uint8)
_NULL = pa.scalar(None, pa.string())

ArrowFunction = Callable[[pa.Array | pa.ChunkedArray], pa.Array]


def _joined(values: pa.Array) -> str:
    """The values as one string, :data:`SEP` between them (joined by Arrow, decoded once)."""
    lists = pa.ListArray.from_arrays(pa.array([0, len(values)], pa.int32()), values)
    return str(pc.binary_join(lists, SEP)[0].as_py())


def _split(text: str, n: int) -> pa.Array | None:
    """``text`` cut at its :data:`SEP` into an Arrow array of ``n`` strings (None: not n - 1 of them)."""
    buf = np.frombuffer(text.encode(), np.uint8)
    lead = np.flatnonzero(buf == _SEP_UTF8[0])  # 0xF4 starts only 4-byte sequences: lead + 3 is in range
    seps = lead[(buf[lead + 1] == _SEP_UTF8[1]) & (buf[lead + 2] == _SEP_UTF8[2]) & (buf[lead + 3] == _SEP_UTF8[3])]
    if seps.size != n - 1:
        return None
    keep = np.ones(buf.size, bool)
    keep[(seps[:, None] + np.arange(4)).ravel()] = False
    lengths = np.diff(np.concatenate(([0], seps + 4, [buf.size + 4]))) - 4
    offsets = np.zeros(n + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    return pa.StringArray.from_buffers(n, pa.py_buffer(offsets), pa.py_buffer(buf[keep].tobytes()))


def per_vector(joined: Callable[[str], str], one: Callable[[str], str | None]) -> ArrowFunction:
    """The Arrow function for a step: ``joined`` once over the :data:`SEP`-joined vector, ``one``
    per value when a value holds :data:`SEP` itself; NULL stays NULL."""

    def run(values: pa.Array | pa.ChunkedArray) -> pa.Array:
        arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
        filled = pc.fill_null(arr, "") if arr.null_count else arr
        text = _joined(filled)
        out = _split(joined(text), len(filled)) if text.count(SEP) == len(filled) - 1 else None
        if out is None:
            out = pa.array([one(v) for v in filled.to_pylist()], pa.string())
        return pc.if_else(pc.is_valid(arr), out, _NULL) if arr.null_count else out

    return run


def register_string_functions(con: duckdb.DuckDBPyConnection, functions: dict[str, ArrowFunction]) -> None:
    """Create (or replace) ``VARCHAR -> VARCHAR`` functions on ``con``; safe to call again."""
    for name, fn in functions.items():
        try:
            con.remove_function(name)
        except duckdb.InvalidInputException:
            pass  # not registered on this connection yet
        con.create_function(name, fn, [VARCHAR], VARCHAR, type=ARROW, null_handling=SPECIAL)
