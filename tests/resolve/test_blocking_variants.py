"""A blocking rule's ``variants`` (a join on the edits table) make the keys ``id_variants_to`` makes.

The library's one-keystroke rule used to be ``unnest(id_variants_to(...))``, a list built per record;
the join must give the same keys, as many times each (the pair estimate counts them), for values
of every length around the target, repeated characters (a swap or a replacement that changes
nothing), and a left side whose blank variants must still be dropped.
"""

from __future__ import annotations

import pyarrow as pa
import pytest

from core.db import connect
from pipelines.resolve.blocking import _side, edits_sql
from pipelines.resolve.config import BlockingRule, Variants
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql

VALUES = [None, "", "1234", "12345", "123456", "1123", "11223", "x12", "a ", " a", "7", " a ", "  "]


@pytest.fixture()
def sql() -> Sql:
    s = Sql(connect())
    install_resolve_macros(s)
    s.register("__vals", pa.table({"v": pa.array(VALUES, pa.string())}))
    s.run("CREATE TEMP TABLE rec AS SELECT CAST(row_number() OVER () AS BIGINT) AS rid, "
          "CAST(row_number() OVER () AS BIGINT) AS node, v, FALSE AS anchored FROM __vals")
    return s


def _keys(sql: Sql, query: str) -> list[tuple[int, str]]:
    return sorted(sql.rows(f"SELECT rid, k0 FROM ({query})"))


@pytest.mark.parametrize("specs", [[("0123456789X", 5)], [("0123456789X", 5), ("0123456789", 3)], [("12", 2)],
                                   [(" x", 2)]])
def test_variants_join_makes_the_keys_of_id_variants_to(sql: Sql, specs: list[tuple[str, int]]) -> None:
    rule = BlockingRule(name="t", left=["v"], right=["v"],
                        variants=[Variants(alphabet=a, length=n) for a, n in specs])
    lists = ", ".join(f"id_variants_to(v, '{a}', {n})" for a, n in specs)
    expected = _keys(sql, f"SELECT * FROM (SELECT rid, unnest(list_concat({lists}, CAST([] AS VARCHAR[]))) AS k0 "
                          f"FROM rec) WHERE k0 IS NOT NULL AND NOT is_blank(k0)")
    got = _keys(sql, _side(rule, True, "NOT anchored", "rec", []))
    assert got == expected
    assert len(got) > len(VALUES)


def test_edits_count_as_id_variants_to_for_each_length(sql: Sql) -> None:
    """n x alphabet replacements + (n - 1) swaps at length n, n + 1 deletions, n x alphabet insertions."""
    rows = dict(sql.rows(f"SELECT ls, count(*) FROM ({edits_sql([Variants(alphabet='0123456789X', length=18)])}) "
                         f"GROUP BY ls"))
    assert rows == {18: 18 * 11 + 17, 19: 19, 17: 18 * 11}


def test_variants_need_one_left_key() -> None:
    with pytest.raises(ValueError, match="one 'left' key"):
        BlockingRule(name="t", left=["a", "b"], right=["a", "b"], variants=[Variants(alphabet="01", length=3)])
