"""Stable id assignment: kept, minted in a deterministic order, merged, split, retired."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pyarrow as pa
import pytest

from pipelines.resolve.sql import Sql
from pipelines.resolve.stable_ids import assign_ids


@pytest.fixture()
def sql() -> Iterator[Sql]:
    con = duckdb.connect()
    yield Sql(con)
    con.close()


def run(sql: Sql, members: list[tuple[str, int]], prev: list[tuple[str, str]] | None, next_seq: int = 1
        ) -> tuple[dict[int, str], set[tuple[str, str, str | None]]]:
    sql.register("m", pa.table({"record_id": [m[0] for m in members], "cluster": pa.array([m[1] for m in members], pa.int64())}))
    sql.run("CREATE OR REPLACE TEMP TABLE members AS SELECT * FROM m")
    p = None
    if prev is not None:
        sql.register("p", pa.table({"record_id": [x[0] for x in prev], "master_id": [x[1] for x in prev]},
                                   schema=pa.schema([("record_id", pa.string()), ("master_id", pa.string())])))
        sql.run("CREATE OR REPLACE TEMP TABLE prev AS SELECT * FROM p")
        p = "prev"
    assign_ids(sql, "P", "members", p, next_seq, "ids", "ev")
    ids = dict(sql.rows("SELECT cluster, master_id FROM ids"))
    events = set(sql.rows("SELECT master_id, event, related_id FROM ev"))
    return ids, events


def test_first_run_mints_in_record_order(sql: Sql) -> None:
    ids, events = run(sql, [("b:1", 7), ("a:1", 9), ("c:1", 7)], None)
    assert ids == {9: "P0000000001", 7: "P0000000002"}  # cluster 9 holds the smallest record id
    assert {e[1] for e in events} == {"created"}


def test_kept_merged_split_retired(sql: Sql) -> None:
    prev = [("a", "P1"), ("b", "P1"), ("c", "P2"), ("d", "P3"), ("e", "P3"), ("f", "P3"), ("g", "P4")]
    members = [("a", 1), ("b", 1), ("c", 1),  # P2 merged into P1
               ("d", 2), ("e", 2), ("f", 3),  # P3 split: f leaves
               ("h", 4)]  # new; g deleted -> P4 retired
    ids, events = run(sql, members, prev, next_seq=10)
    assert ids[1] == "P1" and ids[2] == "P3"
    assert ids[3] == "P0000000010" and ids[4] == "P0000000011"
    assert ("P2", "merged", "P1") in events
    assert ("P0000000010", "split", "P3") in events
    assert ("P0000000011", "created", None) in events
    assert ("P4", "retired", None) in events


def test_same_input_same_ids(sql: Sql) -> None:
    prev = [("a", "P1"), ("b", "P2")]
    ids1, _ = run(sql, [("a", 5), ("b", 6)], prev)
    ids2, events = run(sql, [("a", 50), ("b", 60)], prev)
    assert sorted(ids1.values()) == sorted(ids2.values()) == ["P1", "P2"]
    assert events == set()
