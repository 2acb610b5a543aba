"""MASTERDATA_BUILD_MEMORY is the build process's budget: DuckDB gets it minus the Python reserve."""

from __future__ import annotations

import pytest

from core.errors import ConfigurationError
from core.settings import memory_bytes
from pipelines.masters.build import DUCKDB_MINIMUM, PYTHON_RESERVE, duckdb_memory, work_connection


def test_memory_sizes_read_as_duckdb_reads_them() -> None:
    assert memory_bytes("8GB") == 8 * 10**9
    assert memory_bytes("7.5 GiB") == int(7.5 * 2**30)
    assert memory_bytes("512mb") == 512 * 10**6
    assert memory_bytes("1024") == 1024
    for bad in ("", "GB", "8 parsecs", "-1GB", "0GB"):
        with pytest.raises(ConfigurationError):
            memory_bytes(bad)


def test_duckdb_gets_the_budget_minus_the_reserve() -> None:
    assert duckdb_memory("8GB") == 8 * 10**9 - PYTHON_RESERVE
    assert duckdb_memory("8GB") + PYTHON_RESERVE <= memory_bytes("8GB")
    with pytest.raises(ConfigurationError, match="too small"):
        duckdb_memory(f"{(PYTHON_RESERVE + DUCKDB_MINIMUM) // 2**20 - 1}MiB")


def test_the_work_connection_is_limited_to_duckdbs_share(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MASTERDATA_BUILD_MEMORY", "4GiB")
    con = work_connection()
    try:
        limit = con.execute("SELECT current_setting('memory_limit')").fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    assert limit == "2.5 GiB"  # 4 GiB - 1.5 GiB
