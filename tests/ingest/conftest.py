"""Real departmental databases for the ingestion tests: throwaway PostgreSQL and MariaDB databases
named ``test_<spec database>``, created from a source spec's columns and dropped afterwards."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pymysql
import pytest

from pipelines.connections import SourceEnvironment
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, Table

PG = "postgresql://postgres@127.0.0.1:5432"
MY = "mysql://root@127.0.0.1:3306"
PREFIX = os.environ.get("MASTERDATA_TEST_DB_PREFIX", "test_")
PG_TYPES = {"varchar": "TEXT", "integer": "INTEGER", "bigint": "BIGINT", "decimal": "NUMERIC(18,2)",
            "date": "DATE", "timestamp": "TIMESTAMP", "boolean": "BOOLEAN"}
MY_TYPES = {**PG_TYPES, "varchar": "VARCHAR(255)", "timestamp": "DATETIME"}


def _ddl(table: Table, types: dict[str, str], quote: str) -> str:
    cols = ", ".join(f"{quote}{f.column}{quote} {types[f.type]}" for f in table.fields)
    return f"CREATE TABLE {quote}{table.name}{quote} ({cols})"


class _Source:
    """A spec's database on a real server, with helpers to change it between runs."""

    quote = '"'

    def execute(self, sql: str, rows: list[tuple] | None = None) -> None:
        raise NotImplementedError

    def insert(self, table: str, rows: list[dict]) -> None:
        cols = list(rows[0])
        qt = self.quote
        names = ", ".join(f"{qt}{c}{qt}" for c in cols)
        sql = f"INSERT INTO {qt}{table}{qt} ({names}) VALUES ({', '.join(['%s'] * len(cols))})"
        self.execute(sql, [tuple(r[c] for c in cols) for r in rows])


class PgSource(_Source):
    """A spec's database on the real PostgreSQL."""

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.db = PREFIX + (spec.connection.database or "")
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')
            c.execute(f'CREATE DATABASE "{self.db}"')
        for t in spec.tables:
            self.execute(_ddl(t, PG_TYPES, '"'))

    def execute(self, sql: str, rows: list[tuple] | None = None) -> None:
        with psycopg.connect(f"{PG}/{self.db}", autocommit=True) as c:
            with c.cursor() as cur:
                if rows is None:
                    cur.execute(sql)
                else:
                    cur.executemany(sql, rows)

    def drop(self) -> None:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.db}" WITH (FORCE)')


class MySource(_Source):
    """A spec's database on the real MariaDB."""

    quote = "`"

    def __init__(self, spec: SourceSpec) -> None:
        self.spec = spec
        self.db = PREFIX + (spec.connection.database or "")
        with self._conn(None) as c, c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.db}`")
            cur.execute(f"CREATE DATABASE `{self.db}` CHARACTER SET utf8mb4")
        for t in spec.tables:
            self.execute(_ddl(t, MY_TYPES, "`"))

    def _conn(self, db: str | None) -> pymysql.connections.Connection:
        return pymysql.connect(host="127.0.0.1", port=3306, user="root", password="", database=db,
                               charset="utf8mb4", autocommit=True)

    def execute(self, sql: str, rows: list[tuple] | None = None) -> None:
        with self._conn(self.db) as c, c.cursor() as cur:
            if rows is None:
                cur.execute(sql)
            else:
                cur.executemany(sql, rows)

    def drop(self) -> None:
        with self._conn(None) as c, c.cursor() as cur:
            cur.execute(f"DROP DATABASE IF EXISTS `{self.db}`")


@pytest.fixture
def servers_env(tmp_path: Path) -> SourceEnvironment:
    return SourceEnvironment(sources_dir=tmp_path / "sources", db_mode="servers", pg_url=PG, mysql_url=MY,
                             db_prefix=PREFIX)


@pytest.fixture
def env(tmp_path: Path) -> SourceEnvironment:
    """Embedded sources with an empty landing folder."""
    (tmp_path / "sources" / "files").mkdir(parents=True)
    return SourceEnvironment(sources_dir=tmp_path / "sources")


@pytest.fixture
def lake(tmp_path: Path) -> Lake:
    return Lake(tmp_path / "lake")


@pytest.fixture
def pg_source(request: pytest.FixtureRequest) -> Iterator[PgSource]:
    from pipelines.registry import registry

    src = PgSource(registry()[request.param])
    yield src
    src.drop()


@pytest.fixture
def my_source(request: pytest.FixtureRequest) -> Iterator[MySource]:
    from pipelines.registry import registry

    src = MySource(registry()[request.param])
    yield src
    src.drop()
