"""The standard inside a DuckDB connection: code tables, identifier and text macros, alias views.

:func:`core.db.connect` calls :func:`install_standard` on every connection it opens, so every step
sees the same standard in SQL.
"""

from __future__ import annotations

import duckdb

from standards.codetables import register_code_tables
from standards.identifiers import install_identifier_macros
from standards.text import install_text_macros


def install_standard(con: duckdb.DuckDBPyConnection) -> None:
    """Register the code tables and install the identifier and text macros on ``con``."""
    register_code_tables(con)
    install_identifier_macros(con)
    install_text_macros(con)
    for (name,) in con.execute(
        "SELECT table_name FROM information_schema.tables WHERE table_name LIKE 'code\\_%\\_alias' ESCAPE '\\'"
    ).fetchall():
        base = name[len("code_"):-len("_alias")]
        con.execute(f"CREATE OR REPLACE VIEW std_alias_{base} AS SELECT alias AS std_alias, code AS std_code FROM {name}")
