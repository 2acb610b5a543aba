"""The one DuckDB connection factory.

Every step that runs SQL (ingest, build, link, quality, the benchmarks) opens its connection here,
so memory is bounded the same way everywhere: DuckDB spills to ``$MASTERDATA_TMP`` past the memory
limit instead of growing with the largest input, and the standard's code tables and macros are
installed once per connection.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import duckdb

from core.errors import ConfigurationError
from core.settings import settings
from core.sqltext import lit

_SETUP_LOCK = threading.Lock()


def connect(memory: str | None = None, *, standard: bool = True, database: str = ":memory:",
            preserve_order: bool = True) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with bounded memory and (``standard``) the standard's tables and macros.

    ``memory`` defaults to ``$MASTERDATA_DUCKDB_MEMORY``; ``preserve_order=False`` lets DuckDB write
    in parallel where no statement relies on insertion order (the master build).
    """
    s = settings()
    con = duckdb.connect(database)
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET memory_limit = {lit(memory or s.duckdb_memory)}")
    con.execute(f"SET temp_directory = {lit(str(s.tmp / 'masterdata-duckdb'))}")
    if not preserve_order:
        con.execute("SET preserve_insertion_order = false")
    if standard:
        # the standard is the layer above core; imported here so core has no module-level upward import
        from standards.sqlenv import install_standard

        with _SETUP_LOCK:
            install_standard(con)
    return con


def confine(con: duckdb.DuckDBPyConnection, root: Path) -> None:
    """From now on, ``con`` may read and write files under ``root`` only (and its spill folder).

    DuckDB cannot re-enable external access on a connection, so this is for connections that
    work inside one area - ingest's, inside the lake, so that no SQL built from a source spec can
    read ``/etc/passwd`` or fetch a URL.  A connection already confined must have ``root`` among
    its allowed directories.
    """
    allowed = str(root.resolve()) + os.sep
    enabled = con.execute("SELECT current_setting('enable_external_access')").fetchall()[0][0]
    if enabled:
        con.execute(f"SET allowed_directories = [{lit(allowed)}]")
        con.execute("SET enable_external_access = false")
        return
    dirs = con.execute("SELECT current_setting('allowed_directories')").fetchall()[0][0]
    if not any(allowed.startswith(d) for d in dirs or []):
        raise ConfigurationError(f"this DuckDB connection is confined to {', '.join(dirs or []) or 'no folder'} "
                                 f"and cannot work in {root}; use a connection of its own")
