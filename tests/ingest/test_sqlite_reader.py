"""The SQLite reader (ADBC) returns every row and value the standard library does, as text.

Departmental SQLite files hold any type in any column; the driver infers a column's type from the
values of a batch and, left alone, types a column NULL throughout its first batch as int64 and then
fails on the first text.  Property: for any table of NULLs, integers, reals and texts (NULL runs
longer than a batch included), the reader's batches - batch size made small - equal the rows the
standard library reads with the same query, and no batch is empty.  (The driver links its own
SQLite, newer than Python's 3.40, which wrote a real as text with 15 significant digits: 1e15 + 1
is '1000000000000001.0' there and '1.0e+15' in 3.40 - so a real's text is compared as the number,
to 15 digits.)
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pyarrow as pa
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipelines import extract

VALUES: st.SearchStrategy[object] = st.one_of(st.none(), st.integers(-10**12, 10**12), st.floats(allow_nan=False, allow_infinity=False),
                   st.text(max_size=8))
BATCH = 7


def column(n: int) -> st.SearchStrategy[list[object]]:
    """A column of ``n`` values, often led by a run of NULLs longer than one batch."""
    def lead_nulls(t: tuple[int, list[object]]) -> list[object]:
        nulls: list[object] = [None] * t[0]
        return nulls + t[1][t[0]:]
    return st.tuples(st.integers(0, n), st.lists(VALUES, min_size=n, max_size=n)).map(lead_nulls)


@st.composite
def tables(draw: st.DrawFn) -> list[tuple[object, ...]]:
    n = draw(st.integers(0, 40))
    cols = [draw(column(n)) for _ in range(3)]
    return list(zip(range(n), *cols))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(rows=tables())
def test_reader_returns_what_the_standard_library_reads(rows: list[tuple[object, ...]], tmp_path: Path,
                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(extract, "READ_BATCH_ROWS", BATCH)
    path = tmp_path / "dept.sqlite"
    path.unlink(missing_ok=True)
    with sqlite3.connect(path) as con:
        con.execute('CREATE TABLE t (id INTEGER, "a b" NUMERIC, c TEXT, d)')
        con.executemany("INSERT INTO t VALUES (?, ?, ?, ?)", rows)
    con.close()
    sql = 'SELECT CAST(id AS TEXT) AS id, CAST("a b" AS TEXT) AS "a b", CAST(c AS TEXT) AS c, ' \
          'CAST(d AS TEXT) AS d FROM t ORDER BY id'
    with sqlite3.connect(path) as con:
        want = con.execute(sql).fetchall()
    con.close()
    batches = list(extract._sqlite_batches(path, sql))
    assert all(b.num_rows for b in batches)
    got = pa.Table.from_batches(batches) if batches else None
    if not want:
        assert got is None
        return
    assert got is not None and got.column_names == ["id", "a b", "c", "d"]
    assert all(t == pa.string() for t in got.schema.types)
    rows_got = [tuple(r.values()) for r in got.to_pylist()]
    assert len(rows_got) == len(want)
    for g, w in zip(rows_got, want):
        assert all(same(a, b) for a, b in zip(g, w)), (g, w)


def same(got: object, want: object) -> bool:
    """Equal, or texts of the same real number to 15 significant digits."""
    if got == want:
        return True
    try:
        a, b = Decimal(str(got)), Decimal(str(want))
    except InvalidOperation:
        return False
    return abs(a - b) <= Decimal("1e-14") * max(abs(a), abs(b))
