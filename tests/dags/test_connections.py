"""Each department's server as an Airflow Connection: the URI built from its fields, the errors for a
Connection that does not fit, and the environment a source with one is read from."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from pipelines.airflow_connections import conn_id, server_uri
from pipelines.connections import SourceEnvironment
from pipelines.lake import Lake
from pipelines.lineage import (
    bronze_dataset,
    gold_datasets,
    quarantine_dataset,
    silver_datasets,
    source_dataset,
)
from pipelines.registry import registry


@dataclass
class Conn:
    """The fields of ``airflow.sdk.Connection`` that a source's Connection uses."""

    conn_type: str
    host: str | None = None
    port: int | None = None
    login: str | None = None
    password: str | None = None
    schema: str | None = None


def test_conn_id_names_the_source() -> None:
    assert conn_id("tax") == "masterdata_tax"


def test_postgres_connection_becomes_a_uri_with_quoted_credentials() -> None:
    spec = registry()["tax"]
    conn = Conn("postgres", host="db.tax.example", port=6432, login="etl", password="p@ss:w/rd", schema="tax_prod")
    assert server_uri(spec, conn, "dept_tax") == "postgresql://etl:p%40ss%3Aw%2Frd@db.tax.example:6432/tax_prod"


def test_mysql_connection_defaults_port_and_database() -> None:
    spec = registry()["tobacco"]
    conn = Conn("mysql", host="10.1.2.3", login="reader")
    assert server_uri(spec, conn, "staging_dept_tobacco") == "mysql://reader@10.1.2.3:3306/staging_dept_tobacco"


@pytest.mark.parametrize(("source", "conn", "message"), [
    ("tax", Conn("mysql", host="h"), "connection masterdata_tax: type 'mysql' does not fit a postgres source"),
    ("tobacco", Conn("postgres", host="h"), "connection masterdata_tobacco: type 'postgres' does not fit"),
    ("tax", Conn("postgres"), "connection masterdata_tax: no host"),
    ("commerce", Conn("postgres", host="h"), "connection masterdata_commerce: source commerce is csv"),
])
def test_a_connection_that_does_not_fit_is_an_error_naming_it(source: str, conn: Conn, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        server_uri(registry()[source], conn, "db")


def test_a_source_with_a_connection_is_read_from_its_server_even_in_embedded_mode(tmp_path: Path) -> None:
    tax, hrss = registry()["tax"], registry()["hrss"]
    env = SourceEnvironment(sources_dir=tmp_path, db_mode="embedded").with_server(
        "tax", "postgresql://etl:secret@db.tax.example:6432/tax_prod")
    assert env.effective_kind(tax) == "postgres"
    assert env.db_uri(tax) == "postgresql://etl:secret@db.tax.example:6432/tax_prod"
    assert env.server_database(tax) == "tax_prod"
    assert env.describe(tax) == "postgres db.tax.example:6432/tax_prod"
    assert "secret" not in env.describe(tax)
    # a source without one keeps the global setting
    assert env.effective_kind(hrss) == "sqlite"


def test_lineage_names_follow_the_openlineage_naming_spec(tmp_path: Path) -> None:
    tax = registry()["tax"]
    table = tax.tables[0]
    env = SourceEnvironment(sources_dir=tmp_path, db_mode="servers", pg_url="postgresql://u@pg.example:5433",
                            db_prefix="staging_")
    assert source_dataset(env, tax, table) == ("postgres://pg.example:5433", f"staging_dept_tax.public.{table.name}")
    env = env.with_server("tax", "postgresql://u:p@db.tax.example/tax_prod")
    assert source_dataset(env, tax, table) == ("postgres://db.tax.example:5432", f"tax_prod.public.{table.name}")
    tob = registry()["tobacco"]
    env = SourceEnvironment(sources_dir=tmp_path, db_mode="servers", mysql_url="mysql://root@my.example:3306")
    assert source_dataset(env, tob, tob.tables[0]) == ("mysql://my.example:3306",
                                                       f"dept_tobacco.{tob.tables[0].name}")
    com = registry()["commerce"]
    ns, name = source_dataset(env, com, com.tables[0])
    assert ns == "file" and name == str((tmp_path / "files" / "commerce").resolve())

    lake = Lake(tmp_path / "lake")
    silver = silver_datasets(lake, "tax", table)
    assert set(silver) == set(table.feeds)
    assert silver[table.feeds[0]] == ("file", str((tmp_path / "lake" / "silver" / table.feeds[0]
                                                    / f"tax__{table.name}").resolve()))
    assert quarantine_dataset(lake, "tax", table.name)[1].endswith(f"lake/quarantine/tax/{table.name}")
    assert bronze_dataset(lake, "tax", table.name)[1].endswith(f"lake/bronze/tax/{table.name}")
    gold = gold_datasets(tmp_path / "gold.duckdb", "person")
    assert gold == [(f"duckdb://{(tmp_path / 'gold.duckdb').resolve()}", "main.person_master"),
                    (f"duckdb://{(tmp_path / 'gold.duckdb').resolve()}", "main.person_xref")]
