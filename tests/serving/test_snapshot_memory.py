"""The read model's build streams: its memory does not grow with the libraries it copies.

At seed scale the snapshot copies 29.8 M licences; a copy that first materialises its result filled
the spill disk there.  Here a gold store whose licence rows weigh ~4x the DuckDB memory limit is
turned into a snapshot at that limit: the copy must stream (the JSON of each master row came from a
correlated subquery, which DuckDB runs as a join over the whole table - that version fails here with
"Out of Memory"), and every row arrives with the same JSON as the gold row holds.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import duckdb
import pytest

from core.sqltext import lit
from warehouse.api.index import build_snapshot

LICENCES = 400_000
#: bytes of the scope text of each licence: LICENCES x SCOPE is ~4x the memory limit below
SCOPE = 1_000
LIMIT = "128MB"


def make_gold(path: Path) -> None:
    """A gold store with the tables the read model reads: a few persons and entities, many licences."""
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE person_master AS SELECT 'P' || lpad(range::VARCHAR, 8, '0') AS master_id, "
                    "'张三' || range AS name, NULL::VARCHAR AS id_number, DATE '1980-01-01' + range::INT AS birth_date, "
                    "['hr'] AS sources FROM range(1000)")
        con.execute("CREATE TABLE entity_master AS SELECT 'E' || lpad(range::VARCHAR, 8, '0') AS master_id, "
                    "'亳州市测试有限公司' || range AS name, '91341600' || lpad(range::VARCHAR, 10, '0') AS uscc "
                    "FROM range(100)")
        for m, n in (("person", 1000), ("entity", 100)):
            con.execute(f"CREATE TABLE {m}_xref AS SELECT range AS record_no, {lit(m[0].upper())} || "
                        f"lpad(range::VARCHAR, 8, '0') AS master_id, 'src' AS source, 't' AS table_name, "
                        f"'k' || range AS record_key, TIMESTAMP '2026-01-01' AS extracted_at FROM range({n})")
        con.execute(
            "CREATE TABLE licence_master AS SELECT 'L' || lpad(range::VARCHAR, 9, '0') AS master_id, "
            "'LIC' || range AS identifier, 'P' || lpad((range % 1000)::VARCHAR, 8, '0') AS holder_master_id, "
            "'T' || (range % 7) AS type_code, DATE '2020-01-01' + (range % 3000)::INT AS valid_until, "
            f"md5(range::VARCHAR) || repeat('经营范围', {SCOPE // 12}) AS scope, "
            f"['l-src'] AS lineage, 2 AS record_count FROM range({LICENCES})")


def test_read_model_build_streams_licences_beyond_the_memory_limit(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    gold = tmp_path / "gold.duckdb"
    make_gold(gold)
    monkeypatch.setenv("MASTERDATA_DUCKDB_MEMORY", LIMIT)
    (tmp_path / "tmp").mkdir()
    monkeypatch.setenv("MASTERDATA_TMP", str(tmp_path / "tmp"))
    out = tmp_path / "index" / "snap.sqlite"
    counts = build_snapshot(gold, out)
    assert counts["licence"] == LICENCES
    assert counts["person"] == 1000 and counts["entity"] == 100
    lite = sqlite3.connect(out)
    try:
        got = lite.execute("SELECT count(*), count(DISTINCT master_id) FROM licence").fetchone()
        assert got == (LICENCES, LICENCES)
        (row,) = lite.execute("SELECT data FROM licence WHERE master_id = 'L000123456'").fetchone()
    finally:
        lite.close()
    data = json.loads(row)
    # the served row: every column but the bookkeeping ones (record_count) and lineage, in table order
    assert list(data) == ["master_id", "identifier", "holder_master_id", "type_code", "valid_until", "scope"]
    assert data["holder_master_id"] == "P00000456" and data["valid_until"] == "2021-04-01"
    assert data["scope"].startswith("经营范围", 32) and len(data["scope"]) == 32 + 4 * (SCOPE // 12)
