"""Quoting for generated SQL: one identifier quoter and one literal writer for every package.

Generated SQL is DuckDB's dialect (sqlglot transpiles it elsewhere); both functions emit ANSI
quoting that DuckDB, Spark (through sqlglot) and SQLite read the same way.
"""

from __future__ import annotations


def q(name: str) -> str:
    """Quote an identifier (a column or table name), doubling embedded quotes."""
    return '"' + name.replace('"', '""') + '"'


def lit(value: object) -> str:
    """A SQL literal for a str / int / float / bool / None (strings single-quoted, quotes doubled)."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    return "'" + str(value).replace("'", "''") + "'"
