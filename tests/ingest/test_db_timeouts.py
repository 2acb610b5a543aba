"""A departmental database that accepts connections and then never answers (a hung server, a
half-open firewall) fails its source within the spec's read timeout, with a message naming it -
not after connectorx's 30-second pool timeout per attempt and table."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.db import connect
from pipelines.connections import SourceEnvironment
from pipelines.extract import SourceUnavailable
from pipelines.ingest import ingest_source, ingest_table
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, registry

NOW = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
Silent = tuple[int, list[socket.socket]]


@pytest.fixture
def silent_server() -> Iterator[Silent]:
    """A TCP server on a free local port that accepts every connection and never sends a byte."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(64)
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        srv.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            accepted.append(conn)  # held open, never answered

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    yield srv.getsockname()[1], accepted
    stop.set()
    t.join()
    for c in accepted:
        c.close()
    srv.close()


def _timeout(spec: SourceSpec, read_s: float) -> SourceSpec:
    return spec.model_copy(update={"connection": spec.connection.model_copy(update={"read_timeout_s": read_s})})


@pytest.mark.parametrize("source,url_key", [("public_security", "pg_url"), ("tobacco", "mysql_url")])
def test_a_silent_server_fails_within_the_read_timeout(silent_server: Silent, tmp_path: Path, source: str,
                                                       url_key: str) -> None:
    port, accepted = silent_server
    scheme = "postgresql" if url_key == "pg_url" else "mysql"
    url, env = f"{scheme}://u@127.0.0.1:{port}", SourceEnvironment(sources_dir=tmp_path, db_mode="servers")
    env = replace(env, pg_url=url) if url_key == "pg_url" else replace(env, mysql_url=url)
    spec = _timeout(registry()[source], 1.0)
    con = connect()  # (opening DuckDB is not what is timed)
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailable) as info:
        ingest_table(spec, spec.tables[0], env, Lake(tmp_path / "lake"), NOW, con=con)
    elapsed = time.monotonic() - t0
    con.close()
    msg = info.value.one_line()
    assert f"source {source} at " in msg and f"127.0.0.1:{port}" in msg, msg
    assert "accepted the connection but sent no answer within 1 s (read timeout)" in msg, msg
    assert elapsed < 4, f"took {elapsed:.1f}s"
    assert len(accepted) == 1  # one attempt: a silent server is not retried within the run


def test_a_silent_server_costs_one_timeout_per_source_not_per_table(silent_server: Silent, tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    port, accepted = silent_server
    spec = _timeout(registry()["market_regulation"], 1.0)  # several tables on one PostgreSQL database
    assert len(spec.tables) >= 2
    monkeypatch.setitem(registry(), "market_regulation", spec)
    env = SourceEnvironment(sources_dir=tmp_path, db_mode="servers", pg_url=f"postgresql://u@127.0.0.1:{port}")
    con = connect()
    t0 = time.monotonic()
    with pytest.raises(SourceUnavailable, match="source market_regulation at postgres"):
        ingest_source("market_regulation", env, Lake(tmp_path / "lake"), NOW, con=con)
    assert time.monotonic() - t0 < 6 and len(accepted) == 1
    con.close()


def test_the_timeouts_are_part_of_the_spec() -> None:
    spec = registry()["tobacco"]
    assert (spec.connection.connect_timeout_s, spec.connection.read_timeout_s) == (5.0, 30.0)
