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


def warm() -> None:
    """Build, without a connection, the cached Python tables :func:`install_standard` is made of.

    The first ``install_standard`` in a process spends seconds reading OpenCC and pypinyin data and
    parsing the code tables; a process that forks workers (the Celery worker, see
    ``pipelines/celery_config.py``) calls this first so every child starts with them built.  No
    DuckDB connection is opened here: a fork should not copy a database's threads.
    """
    from standards import codetables, identifiers, text

    for name in codetables.TABLES:
        codetables.load_code_table(name)
        codetables.code_map(name)
    identifiers.macro_definitions()
    text.t2s_char_table()
    text.pinyin_char_table()
    text.surname_tables()
    text.address_county_lookup()
    text.macro_definitions()
