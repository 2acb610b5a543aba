"""Serving that stays small: a flood of auto-fills, oversized bodies, one key over several workers.

A second server (two uvicorn workers) over the same gold store and read model as the session's, with
a serving store of its own and previews kept only ``PREVIEW_TTL`` seconds, takes a load of hall
auto-fills from several threads for ``LOAD_S`` seconds.  The issue asks for a 60-s load; the suite runs
16 s (``BOUNDED_LOAD_S`` sets it): what is bounded is the steady state, reached after TTL + one purge
round (~4 s), so 16 s hold three times that, and the 60-s run is the benchmark's, which runs this very
test with ``BOUNDED_LOAD_S=60`` (``benchmarks/bench_bounded.py``; figures and the store and WAL
sizes over time in ``benchmarks/RESULTS_serving.md``).  The store's file size and its WAL are sampled
every half second:

* the WAL never exceeds the housekeeping's limit (plus the writes of one checkpoint interval);
* once purging has started, the store grows only by the audit log (append-only by design): bytes
  per request in the second half stay below what one preview alone weighs, and the previews left
  are only the young ones;

and the same server refuses bodies over the limit (declared or streamed) with 413 problem+json,
and gives a key its rate once, whichever worker its requests reach.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.serving.conftest import Server, open_session, start_server, stop_server
from tests.serving.subjects import person_holding
from warehouse.api.housekeeping import PURGE_EVERY, WAL_LIMIT

PREVIEW_TTL = 2.0
#: seconds of load (the benchmark sets 60); ``BOUNDED_SAMPLES`` names a JSON file for the samples
LOAD_S = float(os.environ.get("BOUNDED_LOAD_S", "16"))
THREADS = 4


@pytest.fixture(scope="module")
def small(server: Server, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A two-worker server with its own store, over the session server's gold and read model."""
    from warehouse.api.store import Store

    root = tmp_path_factory.mktemp("bounded")
    wh = server.home / "warehouse"
    store = root / "serving.sqlite"
    shutil.copyfile(server.env["MASTERDATA_GRANTS"], root / "grants.yaml")
    s = Store(store, root / "serving.audit-key")
    keys = {"hall": s.create_key("hall", "hall")[1], "identity": s.create_key("uum", "identity")[1],
            "slow": s.create_key("slow", "department", "statistics", rate=5, burst=5)[1]}
    s.close()
    env = {"MASTERDATA_SERVING": str(store), "MASTERDATA_SERVING_INDEX": str(wh / "serving_index"),
           "MASTERDATA_GOLD": str(wh / "gold.duckdb"), "MASTERDATA_PREVIEW_TTL_S": str(PREVIEW_TTL),
           "MASTERDATA_SERVE_MAX_BODY": "65536"}
    srv = start_server(root, keys, root / "server.log", workers=2, extra_env=env)
    srv.extra["store"] = store
    yield srv
    stop_server(srv.proc)


def _sizes(store: Path) -> tuple[int, int]:
    wal = store.with_name(store.name + "-wal")
    return store.stat().st_size, (wal.stat().st_size if wal.exists() else 0)


def _flood(srv: Server, tokens: list[str], stop: threading.Event, counts: list[int]) -> None:
    i = 0
    with httpx.Client(base_url=srv.url, headers={"Authorization": f"Bearer {srv.keys['hall']}"}, timeout=30) as c:
        while not stop.is_set():
            r = c.post("/v1/hall/autofill", json={"service_item": "S0005"},
                       headers={"X-Applicant-Token": tokens[i % len(tokens)]})
            counts[0 if r.status_code == 201 or r.status_code == 200 else 1] += 1
            i += 1


def test_store_and_wal_stay_bounded_under_load(small: Server, model) -> None:  # type: ignore[no-untyped-def]
    store: Path = small.extra["store"]
    person, _lic = person_holding(model, ("004",))
    tokens = [open_session(small, person.data["id_number"], person.data["name"])]
    counts = [0, 0]
    samples: list[tuple[float, int, int, int]] = []  # (t, store bytes, wal bytes, requests so far)
    stop = threading.Event()
    threads = [threading.Thread(target=_flood, args=(small, tokens, stop, counts)) for _ in range(THREADS)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    while time.monotonic() - t0 < LOAD_S:
        time.sleep(0.5)
        samples.append((time.monotonic() - t0, *_sizes(store), counts[0]))
    stop.set()
    for t in threads:
        t.join()
    assert counts[1] == 0 and counts[0] > 200, counts
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as con:
        preview = con.execute("SELECT avg(length(payload)), count(*) FROM applications WHERE status = 'preview'"
                              ).fetchone()
    time.sleep(PREVIEW_TTL + PURGE_EVERY + 1.5)  # the next purge round takes what is left
    with sqlite3.connect(f"file:{store}?mode=ro", uri=True) as con:
        left = con.execute("SELECT count(*) FROM applications WHERE status = 'preview'").fetchone()[0]
    steady = [s for s in samples if s[0] >= PREVIEW_TTL + 2 * PURGE_EVERY]
    assert len(steady) >= 4, "the load did not last into the steady state"
    (_ta, sa, _wa, na), (_tb, sb, _wb, nb) = steady[0], steady[-1]
    per_request = (sb - sa) / max(1, nb - na)
    worst_wal = max(s[2] for s in samples)
    print(f"\n{counts[0]:,} auto-fills in {LOAD_S:.0f}s ({counts[0] / LOAD_S:.0f}/s); store {samples[0][1]:,} -> "
          f"{samples[-1][1]:,} bytes, steady growth {per_request:,.0f} bytes/request (a preview: "
          f"{preview[0] or 0:,.0f}); largest WAL {worst_wal:,}; previews at the end {preview[1]}, "
          f"{PREVIEW_TTL + PURGE_EVERY + 1.5:.1f}s later {left}")
    if os.environ.get("BOUNDED_SAMPLES"):  # the benchmark's record of the run
        Path(os.environ["BOUNDED_SAMPLES"]).write_text(json.dumps({
            "load_s": LOAD_S, "threads": THREADS, "workers": 2, "preview_ttl_s": PREVIEW_TTL,
            "purge_every_s": PURGE_EVERY, "wal_limit": WAL_LIMIT, "requests": counts[0], "errors": counts[1],
            "steady_bytes_per_request": per_request, "preview_bytes": preview[0] or 0,
            "previews_at_end": preview[1], "previews_after_purge": left, "largest_wal": worst_wal,
            "samples": samples}), encoding="utf-8")
    assert worst_wal <= WAL_LIMIT + 8 * 1024 * 1024, worst_wal
    assert left == 0, left  # every preview expired and was purged
    assert per_request < 0.5 * float(preview[0] or 0), (per_request, preview[0])


def test_purge_keeps_live_state_only(tmp_path: Path) -> None:
    """Expired sessions go; previews go past their TTL or beyond an applicant's newest 20; consented
    applications and live sessions stay."""
    from datetime import timedelta

    from warehouse.api.housekeeping import PREVIEWS_PER_APPLICANT, connect, purge
    from warehouse.api.store import Store, iso, now_utc

    store = Store(tmp_path / "s.sqlite", tmp_path / "k")
    store.create_session("110101199003074514", "P0000000001", "uum", minutes=30)
    con = connect(tmp_path / "s.sqlite")
    now = now_utc()
    con.execute("INSERT INTO sessions VALUES ('old', 'x', 'P0000000002', 'uum', ?, ?)",
                (iso(now - timedelta(hours=2)), iso(now - timedelta(hours=1))))

    def app(i: int, who: str, age_s: float, status: str = "preview") -> tuple[object, ...]:
        return (f"A{i}", "S0005", "d", who, "person", who, "hall", iso(now - timedelta(seconds=age_s)), "{}", "h",
                status, None, None)

    rows = [app(i, "P1", i) for i in range(30)] + [app(100, "P2", 7200), app(101, "P2", 7200, "consented")]
    con.executemany("INSERT INTO applications VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    assert purge(con, preview_ttl=3600) == (1, 30 - PREVIEWS_PER_APPLICANT + 1)
    kept = con.execute("SELECT application_id FROM applications ORDER BY created_at DESC").fetchall()
    assert [k[0] for k in kept] == [f"A{i}" for i in range(PREVIEWS_PER_APPLICANT)] + ["A101"]
    assert con.execute("SELECT count(*) FROM sessions").fetchone()[0] == 1
    store.close()


def test_bodies_over_the_limit_are_refused(small: Server) -> None:
    big = b'{"service_item": "S0005", "id_number": "' + b"1" * 200_000 + b'"}'
    with small.client("hall") as c:
        r = c.post("/v1/hall/autofill", content=big, headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.headers["content-type"].startswith("application/problem+json"), r.text
        assert r.json()["type"] == "/problems/request-body-too-large"

        def chunks() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
            yield big[:50_000]
            yield big[50_000:]

        r = c.post("/v1/hall/autofill", content=chunks(), headers={"Content-Type": "application/json"})
        assert r.status_code == 413 and r.json()["status"] == 413, r.text


def _hammer(clients: list[httpx.Client], seconds: float) -> tuple[int, int, float]:
    """(requests let through, requests made, seconds taken) of round-robin requests over ``clients``."""
    ok = made = 0
    t0 = time.monotonic()
    while time.monotonic() - t0 < seconds:
        for c in clients:
            r = c.get("/v1/departments/me/grants")
            assert r.status_code in (200, 429), r.text
            ok += r.status_code == 200
            made += 1
    return ok, made, time.monotonic() - t0


def test_one_rate_limit_per_key_across_workers(small: Server) -> None:
    """5 requests/s, burst 5: over one connection (one worker) the key gets its whole rate - not
    rate/2, as when each of the two workers enforced half - and over four connections (both workers)
    not more than its rate - not 2 x rate, as with a bucket per worker."""
    rate, burst = 5.0, 5
    with small.client("slow") as one:
        ok, made, took = _hammer([one], 4.0)
    allowed = burst + rate * took
    assert ok <= allowed + 1, (ok, allowed)
    if made >= allowed + 5:  # (a loaded machine may not even make that many requests)
        assert ok >= 0.75 * allowed, (ok, made, allowed)
    time.sleep(burst / rate + 0.5)  # the bucket refills
    clients = [small.client("slow") for _ in range(4)]
    try:
        ok, made, took = _hammer(clients, 3.0)
    finally:
        for c in clients:
            c.close()
    assert ok <= burst + rate * took + 1, (ok, made, took)
