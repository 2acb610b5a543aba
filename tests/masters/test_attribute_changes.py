"""Attribute changes between two versions of a master's golden records (``master_events``).

:func:`pipelines.masters.survivorship.attribute_change_sql` compares every attribute in one join;
it must report exactly what comparing each attribute on its own reports (the definition: a typed
``IS DISTINCT FROM``, so NULL -> value and value -> NULL are changes, equal dates written
differently are not), with the batch of the record that supplied the new value.
"""

from __future__ import annotations

from datetime import date

import duckdb
from hypothesis import given, settings
from hypothesis import strategies as st

from core.sqltext import lit, q
from pipelines.masters.config import master_config
from pipelines.masters.survivorship import attribute_change_sql
from pipelines.resolve.config import Attribute

NAMES = st.one_of(st.none(), st.sampled_from(["张伟", "王芳", "李 强", ""]))
DATES = st.one_of(st.none(), st.dates(min_value=date(1900, 1, 1), max_value=date(2030, 1, 1)))
COUNTS = st.one_of(st.none(), st.integers(-2, 2))
TAGS = st.one_of(st.none(), st.lists(st.sampled_from(["a", "b"]), max_size=2))
ROW = st.tuples(NAMES, DATES, COUNTS, TAGS)
CFG = master_config("person").model_copy(update={"attributes": {
    "name": Attribute(rules=["non_null"]), "birth_date": Attribute(rules=["non_null"]),
    "n": Attribute(rules=["non_null"]), "tags": Attribute(rules=["non_null"])}})
COLUMNS = "master_id VARCHAR, name VARCHAR, birth_date DATE, n INTEGER, tags VARCHAR[], " \
          "lineage STRUCT(name BIGINT, birth_date BIGINT, n BIGINT, tags BIGINT)"


def _per_attribute(old: str, new: str, batches: str) -> str:
    """The definition, one comparison per attribute."""
    return " UNION ALL ".join(
        f"SELECT n.master_id, {lit(a)} AS attribute, CAST(o.{q(a)} AS VARCHAR) AS old_value, "
        f"CAST(n.{q(a)} AS VARCHAR) AS new_value, b._batch_id AS batch_id FROM {new} AS n JOIN {old} AS o "
        f"ON o.master_id = n.master_id LEFT JOIN {batches} AS b ON b.rid = n.lineage.{q(a)} "
        f"WHERE n.{q(a)} IS DISTINCT FROM o.{q(a)}" for a in CFG.attributes)


def _load(con: duckdb.DuckDBPyConnection, table: str, rows: list[tuple[object, ...]], rid0: int) -> None:
    con.execute(f"CREATE TABLE {table} ({COLUMNS})")
    if not rows:
        return
    con.executemany(f"INSERT INTO {table} VALUES (?, ?, ?, ?, ?, {{'name': ?, 'birth_date': ?, 'n': ?, 'tags': ?}})",
                    [(f"P{i % 7}", *r, rid0 + 4 * i, rid0 + 4 * i + 1, None if i % 3 == 0 else rid0 + 4 * i + 2,
                      rid0 + 4 * i + 3) for i, r in enumerate(rows)])


@settings(max_examples=40, deadline=None)
@given(st.lists(ROW, max_size=7), st.lists(ROW, max_size=7))
def test_one_join_reports_what_each_attribute_alone_reports(old: list[tuple[object, ...]],
                                                           new: list[tuple[object, ...]]) -> None:
    con = duckdb.connect()
    _load(con, "old_v", old, 0)
    con.execute("DELETE FROM old_v WHERE rowid NOT IN (SELECT min(rowid) FROM old_v GROUP BY master_id)")
    _load(con, "new_v", new, 1000)
    con.execute("DELETE FROM new_v WHERE rowid NOT IN (SELECT min(rowid) FROM new_v GROUP BY master_id)")
    con.execute("CREATE TABLE batches AS SELECT r AS rid, 'B' || (r % 5) AS _batch_id FROM range(1000, 1100) AS t(r) "
                "WHERE r % 4 <> 1")  # some supplying records have no batch row: batch_id NULL
    got = sorted(con.execute(attribute_change_sql(CFG, "old_v", "new_v", "batches")).fetchall(), key=repr)
    want = sorted(con.execute(_per_attribute("old_v", "new_v", "batches")).fetchall(), key=repr)
    con.close()
    assert got == want


def test_no_attributes_gives_no_changes() -> None:
    con = duckdb.connect()
    con.execute(f"CREATE TABLE v ({COLUMNS})")
    empty = CFG.model_copy(update={"attributes": {}})
    assert con.execute(attribute_change_sql(empty, "v", "v", "v")).fetchall() == []
