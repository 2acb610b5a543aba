"""Where each departmental source lives in a given deployment, and how to reach it.

A source spec says *what* a source is (PostgreSQL database ``dept_tax``, CSV files ``commerce/*.csv``);
the environment says *where*: which servers, which landing folder.  No credentials ever live in the
specs.  Two ways to say where a department's server is:

- inside Airflow, one Airflow Connection per source, ``masterdata_<source>`` (an ``AIRFLOW_CONN_*``
  variable or any secrets backend; :mod:`pipelines.airflow_connections` reads it in the task and
  puts it in :attr:`SourceEnvironment.servers`), so each department's server has its own host and
  credentials;
- everywhere (the CLI without Airflow, and Airflow sources with no Connection), the global
  fallback from ``MASTERDATA_*`` variables:

- ``MASTERDATA_SOURCES``   folder holding ``db/`` (SQLite files) and ``files/`` (landing area)
- ``MASTERDATA_DB_MODE``   ``embedded`` (PostgreSQL/MariaDB sources read from SQLite files, for the
                           no-server demo) or ``servers`` (the real servers)
- ``MASTERDATA_PG_URL``    e.g. ``postgresql://postgres@127.0.0.1:5432``
- ``MASTERDATA_MYSQL_URL`` e.g. ``mysql://root@127.0.0.1:3306``
- ``MASTERDATA_DB_PREFIX`` prefix for server database names (``test_`` in tests, ``staging_`` ...)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from urllib.parse import urlsplit

from core.settings import settings
from pipelines.registry import SourceSpec, Table

DEFAULT_SOURCES = Path("var/city/sources")
SERVER_KINDS = frozenset({"postgres", "mariadb"})
#: a server URI without a port means the kind's standard one
DEFAULT_PORT = {"postgres": 5432, "mariadb": 3306}


@dataclass(frozen=True)
class SourceEnvironment:
    sources_dir: Path = DEFAULT_SOURCES
    db_mode: str = "embedded"
    pg_url: str = "postgresql://postgres@127.0.0.1:5432"
    mysql_url: str = "mysql://root@127.0.0.1:3306"
    db_prefix: str = ""
    #: source name -> connectorx URI of that source's own server, database included (from its Airflow
    #: Connection); such a source is read from its server whatever ``db_mode`` says
    servers: Mapping[str, str] = field(default_factory=dict, hash=False)

    @classmethod
    def from_env(cls) -> SourceEnvironment:
        s = settings()
        return cls(sources_dir=s.sources, db_mode=s.db_mode, pg_url=s.pg_url, mysql_url=s.mysql_url,
                   db_prefix=s.db_prefix)

    def with_server(self, source: str, uri: str) -> SourceEnvironment:
        """This environment with one source on its own server (``postgresql://u:p@host:port/db``)."""
        return replace(self, servers={**self.servers, source: uri})

    def sqlite_file(self, database: str) -> Path:
        name = database if database.endswith(".sqlite") else f"{database}.sqlite"
        return self.sources_dir / "db" / name

    def effective_kind(self, spec: SourceSpec) -> str:
        """The connector actually used: server kinds become SQLite in embedded mode."""
        kind = spec.connection.kind
        if kind in SERVER_KINDS and self.db_mode == "embedded" and spec.source not in self.servers:
            return "sqlite"
        return kind

    def db_uri(self, spec: SourceSpec) -> str:
        """A connectorx URI for a database-backed source."""
        kind = self.effective_kind(spec)
        if kind in SERVER_KINDS and spec.source in self.servers:
            return self.servers[spec.source]
        db = self.server_database(spec)
        if kind == "postgres":
            return f"{self.pg_url}/{db}"
        if kind == "mariadb":
            return f"{self.mysql_url}/{db}"
        if kind == "sqlite":
            return f"sqlite://{self.sqlite_file(spec.connection.database or '').resolve()}"
        raise ValueError(f"{spec.source}: {kind} is not a database source")

    def server_database(self, spec: SourceSpec) -> str:
        """The database name on a PostgreSQL/MariaDB server (the Connection's, else the spec's with the
        deployment's prefix)."""
        if spec.source in self.servers:
            return urlsplit(self.servers[spec.source]).path.lstrip("/")
        return f"{self.db_prefix}{spec.connection.database or ''}"

    def describe(self, spec: SourceSpec) -> str:
        """Where a source is, for messages: never includes a password."""
        kind = self.effective_kind(spec)
        if kind in SERVER_KINDS:
            u = urlsplit(self.db_uri(spec))
            return f"{kind} {u.hostname}:{u.port}/{self.server_database(spec)}"
        if kind == "sqlite":
            return f"sqlite {self.sqlite_file(spec.connection.database or '')}"
        return f"{kind} files under {self.files_dir}"

    @property
    def files_dir(self) -> Path:
        return self.sources_dir / "files"

    def files_for(self, table: Table) -> list[Path]:
        """Landed files of a file-source table, in name order (batch date is in the name)."""
        assert table.path, "file tables always have a path (checked by the registry)"
        return sorted(p for p in self.files_dir.glob(table.path) if p.is_file() and not p.name.startswith("."))


class NoAnswer(TimeoutError):
    """A server accepted the TCP connection but did not answer its protocol's greeting in time."""


#: The first exchange of each protocol: (bytes the client sends first, bytes expected back).
#: PostgreSQL answers an SSLRequest with one byte ('S' or 'N'); MySQL/MariaDB greet first.
_HANDSHAKES = {"postgresql": (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", 1), "postgres": (b"\x00\x00\x00\x08\x04\xd2\x16\x2f", 1),
               "mysql": (b"", 4)}
_DEFAULT_PORTS = {"postgresql": 5432, "postgres": 5432, "mysql": 3306}


def probe_server(uri: str, connect_timeout_s: float, read_timeout_s: float) -> None:
    """Check that the server behind ``uri`` answers, within the source's timeouts.

    connectorx waits 30 s for its pool before it gives up on a server that accepts connections and
    then says nothing, and it has no read timeout; this costs at most ``connect_timeout_s`` +
    ``read_timeout_s``.  Raises ``OSError`` when the connection fails (refused, unreachable: may be
    retried) and :class:`NoAnswer` when the server accepted but stayed silent.
    """
    u = urlsplit(uri)
    if u.scheme.startswith("sqlite") or not u.hostname or u.scheme not in _HANDSHAKES:
        return
    hello, expect = _HANDSHAKES[u.scheme]
    import socket

    with socket.create_connection((u.hostname, u.port or _DEFAULT_PORTS[u.scheme]), timeout=connect_timeout_s) as s:
        s.settimeout(read_timeout_s)
        if hello:
            s.sendall(hello)
        got = b""
        try:
            while len(got) < expect:
                chunk = s.recv(expect - len(got))
                if not chunk:
                    raise ConnectionResetError("the server closed the connection during the greeting")
                got += chunk
        except TimeoutError:
            raise NoAnswer(f"accepted the connection but sent no answer within {read_timeout_s:g} s "
                           f"(read timeout)") from None
