"""The build's scratch tables live in a private work database file, compressed, and the file goes away.

DuckDB keeps TEMP tables uncompressed in memory and spills them uncompressed; at seed scale (52 M
person records with their features) that was tens of gigabytes of spill before the first step
ended.  The engine's SQL still says ``TEMP TABLE`` (what it means, and what Spark reads); on the
build's connection :class:`pipelines.resolve.sql.Sql` creates such tables in the work database.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pipelines.masters.build import WORK_PREFIX, work_connection, work_file
from pipelines.resolve.sql import Sql, _stored

NAMES = st.from_regex(r"[a-z_][a-z0-9_]{0,20}", fullmatch=True)


@given(NAMES, st.booleans(), st.sampled_from(["AS SELECT 1 AS x", "(a BIGINT, b VARCHAR)"]))
def test_a_temp_table_statement_creates_a_stored_table(name: str, replace: bool, rest: str) -> None:
    head = "CREATE OR REPLACE" if replace else "CREATE"
    assert _stored(f"{head} TEMP TABLE {name} {rest}") == f"{head} TABLE {name} {rest}"


@given(st.sampled_from(["SELECT 'CREATE TEMP TABLE x' AS s", "CREATE TEMP MACRO f(a) AS a",
                        "INSERT INTO t SELECT 1", "CREATE OR REPLACE TEMP VIEW v AS SELECT 1",
                        "DROP TABLE t", "CREATE TABLE gold.t AS SELECT 1"]))
def test_other_statements_are_left_as_they_are(sql: str) -> None:
    assert _stored(sql) == sql


def test_scratch_tables_are_stored_compressed_in_the_work_file(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTERDATA_TMP", str(tmp_path))
    with work_file() as path:
        con = work_connection(path)
        sql = Sql(con, stored_scratch=True)
        sql.run("CREATE OR REPLACE TEMP TABLE recs AS SELECT range AS rid, 'name ' || (range % 1000) AS name "
                "FROM range(3000000)")
        sql.run("CHECKPOINT")
        temporary, database = con.execute("SELECT temporary, database_name FROM duckdb_tables() "
                                          "WHERE table_name = 'recs'").fetchone() or (None, None)
        assert (temporary, database) == (False, "work")
        kinds = {r[0] for r in con.execute("SELECT DISTINCT compression FROM pragma_storage_info('recs')").fetchall()}
        assert kinds - {"Uncompressed", "Validity"}, kinds  # dictionary / FSST / bit-packing, not raw
        assert os.path.getsize(path) < 3_000_000 * 24  # below the raw (BIGINT + inlined string) bytes
        con.close()
        folder = path.parent
    assert not folder.exists()


def test_a_killed_builds_work_file_is_removed_by_the_next_build(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTERDATA_TMP", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True).stdout.strip()
    left = tmp_path / f"{WORK_PREFIX}{dead}-abc"
    left.mkdir()
    (left / "work.duckdb").write_bytes(b"x" * 1000)
    mine = tmp_path / f"{WORK_PREFIX}{os.getpid()}-keep"  # a build of this (live) process: kept
    mine.mkdir()
    with work_file() as path:
        assert path.parent.name.startswith(f"{WORK_PREFIX}{os.getpid()}-")
        duckdb.connect(str(path)).close()
    assert not left.exists() and mine.exists()


def test_dropped_scratch_tables_give_their_space_back_after_a_step(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    """Large writes go straight to the work file with a small WAL, so DuckDB does not checkpoint by
    itself and a dropped table's blocks stay taken; each step of the build ends with a checkpoint."""
    monkeypatch.setenv("MASTERDATA_TMP", str(tmp_path))
    with work_file() as path:
        con = work_connection(path)
        sql = Sql(con, stored_scratch=True)
        table = ("CREATE OR REPLACE TEMP TABLE t{n} AS SELECT range AS a, hash(range) AS b, "
                 "md5(range::VARCHAR) AS c FROM range(2000000)")
        with sql.step("first"):
            sql.run(table.format(n=1))
            sql.run("DROP TABLE t1")
        one = os.path.getsize(path)
        for n in range(2, 6):
            with sql.step(f"step {n}"):
                sql.run(table.format(n=n))
                sql.run(f"DROP TABLE t{n}")
        con.close()
        assert os.path.getsize(path) < 1.5 * one  # not five tables' worth
