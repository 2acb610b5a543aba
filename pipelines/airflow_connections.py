"""Each department's server as an Airflow Connection, read inside the task that ingests it.

A city's 32 departments run their own servers with their own credentials; one global
``MASTERDATA_PG_URL`` cannot say that.  In Airflow each database-backed source has its own
Connection, conn id ``masterdata_<source>``, which operators keep wherever they keep connections:
an ``AIRFLOW_CONN_MASTERDATA_<SOURCE>`` variable on the workers, the metadata database (UI/CLI), or
a secrets backend (Vault, AWS Secrets Manager ...).  The task reads it through the Task SDK
(``airflow.sdk.Connection.get``), so every backend Airflow supports works unchanged, and a source
without a Connection falls back to the global ``MASTERDATA_*`` settings (what the CLI uses).

The Connection's fields: type ``postgres`` or ``mysql`` (MariaDB), host, port, login, password, and
schema = the database name (optional: the spec's database with ``MASTERDATA_DB_PREFIX`` otherwise).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from core.errors import ConfigurationError
from pipelines.connections import DEFAULT_PORT, SERVER_KINDS, SourceEnvironment
from pipelines.registry import SourceSpec

#: Airflow connection types accepted per spec kind, and the connectorx URI scheme each becomes
CONN_TYPES: dict[str, frozenset[str]] = {
    "postgres": frozenset({"postgres", "postgresql"}),
    "mariadb": frozenset({"mysql", "mariadb"}),
}
SCHEME = {"postgres": "postgresql", "mariadb": "mysql"}


def conn_id(source: str) -> str:
    """The Airflow conn id of a source's server (``masterdata_tax``)."""
    return f"masterdata_{source}"


def server_uri(spec: SourceSpec, conn: Any, default_database: str) -> str:
    """The connectorx URI for a source from its Airflow Connection's fields (login/password quoted)."""
    kind = spec.connection.kind
    cid = conn_id(spec.source)
    if kind not in SERVER_KINDS:
        raise ConfigurationError(f"connection {cid}: source {spec.source} is {kind}, not a database server")
    if (conn.conn_type or "").lower() not in CONN_TYPES[kind]:
        raise ConfigurationError(f"connection {cid}: type {conn.conn_type!r} does not fit a {kind} source "
                                 f"(expected one of {sorted(CONN_TYPES[kind])})")
    if not conn.host:
        raise ConfigurationError(f"connection {cid}: no host")
    auth = ""
    if conn.login:
        auth = quote(conn.login, safe="")
        if conn.password:
            auth += ":" + quote(conn.password, safe="")
        auth += "@"
    port = conn.port or DEFAULT_PORT[kind]
    database = conn.schema or default_database
    return f"{SCHEME[kind]}://{auth}{conn.host}:{port}/{quote(database, safe='')}"


def source_environment(spec: SourceSpec, base: SourceEnvironment | None = None) -> SourceEnvironment:
    """The environment one source's task runs in: its Airflow Connection if one is defined.

    Only a missing Connection falls back to the global settings; a Connection that exists but
    does not fit (wrong type, no host) is an error naming it, never a silent fallback.
    """
    base = base or SourceEnvironment.from_env()
    if spec.connection.kind not in SERVER_KINDS:
        return base
    from airflow.sdk import Connection
    from airflow.sdk.exceptions import AirflowNotFoundException

    try:
        conn = Connection.get(conn_id(spec.source))
    except AirflowNotFoundException:
        return base
    return base.with_server(spec.source, server_uri(spec, conn, base.server_database(spec)))
