"""Serving benchmark: hall auto-fill latency and throughput over HTTP on loopback.

    uv run --frozen python benchmarks/bench_serving.py --gold /path/to/gold.duckdb [--workers 2]

What it does:

1. prepares a throw-away serving store (temporary directory): a hall key and an identity key, and
   applicant sessions for a sample of applicants drawn from the masters - living persons with an ID
   number, and entities whose legal representative is in the population library;
2. starts the real server (``masterdata serve``, uvicorn with ``--workers`` processes) on a free port;
3. runs the load generator in a *separate process* (this file with ``--client``): asyncio over raw
   HTTP/1.1 keep-alive connections (a lean client, so that the generator sharing the machine's cores
   steals as little CPU as possible; ``--client-lib httpx`` uses httpx instead), in two phases:
   * open loop at a fixed arrival rate (``--rate``, default 500/s): requests are sent on schedule
     whether or not earlier ones returned, and latency counts from the scheduled time (no
     coordinated omission) -> p50 / p95 / p99;
   * closed loop with ``--concurrency`` connections as fast as the server answers -> throughput;
4. prints the figures and writes them as JSON (``--json``).

An open loop whose server cannot keep its rate stops sending once 2 s of requests are waiting
(``saturated`` in its figures) instead of queueing without end, and the generator hands over each
phase's figures as it ends, so a run on a loaded machine ends in bounded time with what it measured.

Every request is a full auto-fill: authentication, applicant session, the person (and entity) master,
licences, lineage, the preview stored and an audit entry appended, all within the request.
Bounded: each phase runs ``--seconds`` and at most ``--max-requests``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypedDict

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


# --------------------------------------------------------------------------------------------------
# load generator (runs in its own process)
# --------------------------------------------------------------------------------------------------


class RawConn:
    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def request(self, raw: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n"):
            if line[:15].lower() == b"content-length:":
                length = int(line[15:])
        if length:
            await self.reader.readexactly(length)
        return status


def build_requests(port: int, hall_key: str, plans: list[dict[str, str]]) -> list[bytes]:
    out = []
    for p in plans:
        body = json.dumps({k: v for k, v in (("service_item", p["item"]), ("uscc", p.get("uscc"))) if v}).encode()
        out.append(
            b"POST /v1/hall/autofill HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nAuthorization: Bearer %s\r\n"
            b"X-Applicant-Token: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s"
            % (port, hall_key.encode(), p["token"].encode(), len(body), body)
        )
    return out


#: an open loop stops sending once this many seconds of requests wait unanswered: the server cannot
#: keep the rate, and the queue would only grow (at a million persons on a loaded machine a run at a
#: rate ten times what the server could do "stalled" for minutes without a figure)
MAX_BACKLOG_S = 2.0


async def _schedule(one: Callable[[int, float], Awaitable[None]], n: int, rate: float, start: float
                    ) -> tuple[float, int]:
    """Open loop: launch request ``i`` at ``start + i / rate`` whether or not earlier ones have
    answered (latency counts from that due time, so a slow server cannot hide its queue), wait for
    all; (the seconds from ``start`` to the last answer, the requests sent).  Stops sending early
    when more than :data:`MAX_BACKLOG_S` seconds of requests are unanswered (the server is saturated)."""
    tasks: list[asyncio.Future[None]] = []
    pending = 0
    for i in range(n):
        due = start + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if i % 64 == 0:
            pending = sum(1 for t in tasks if not t.done())
        if pending > rate * MAX_BACKLOG_S:
            break
        tasks.append(asyncio.ensure_future(one(i, due)))
    await asyncio.gather(*tasks)
    return time.perf_counter() - start, len(tasks)


async def _open_loop(port: int, reqs: list[bytes], rate: float, seconds: float, max_requests: int,
                     conns: int) -> dict[str, object]:
    pool: asyncio.Queue[RawConn] = asyncio.Queue()
    for _ in range(conns):
        pool.put_nowait(RawConn("127.0.0.1", port))
    lat: list[float] = []
    errors: Counter[str] = Counter()
    n = min(int(rate * seconds), max_requests)
    start = time.perf_counter() + 0.2

    async def one(i: int, due: float) -> None:
        c = await pool.get()
        try:
            st = await c.request(reqs[i % len(reqs)])
            if st != 200:
                errors[str(st)] += 1
        except Exception as exc:  # a broken connection: count it, open a new one next time
            errors[type(exc).__name__] += 1
            c = RawConn("127.0.0.1", port)
        finally:
            pool.put_nowait(c)
        lat.append(time.perf_counter() - due)

    elapsed, sent = await _schedule(one, n, rate, start)
    return {"mode": "open", "target_rate": rate, "requests": sent, "saturated": sent < n, "seconds": round(elapsed, 2),
            "achieved_rate": round(sent / elapsed, 1), "errors": dict(errors), **_pct(lat)}


async def _closed_loop(port: int, reqs: list[bytes], conns: int, seconds: float, max_requests: int
                       ) -> dict[str, object]:
    lat: list[float] = []
    errors: Counter[str] = Counter()
    counter = [0]
    stop = time.perf_counter() + seconds

    async def worker(k: int) -> None:
        c = RawConn("127.0.0.1", port)
        while time.perf_counter() < stop and counter[0] < max_requests:
            i = counter[0]
            counter[0] += 1
            t = time.perf_counter()
            try:
                st = await c.request(reqs[(i * 7919 + k) % len(reqs)])
                if st != 200:
                    errors[str(st)] += 1
            except Exception as exc:
                errors[type(exc).__name__] += 1
                c = RawConn("127.0.0.1", port)
            lat.append(time.perf_counter() - t)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker(k) for k in range(conns)))
    elapsed = time.perf_counter() - t0
    return {"mode": "closed", "connections": conns, "requests": len(lat), "seconds": round(elapsed, 2),
            "throughput": round(len(lat) / elapsed, 1), "errors": dict(errors), **_pct(lat)}


async def _httpx_open_loop(port: int, plans: list[dict[str, str]], hall_key: str, rate: float, seconds: float,
                           max_requests: int, conns: int) -> dict[str, object]:
    import httpx

    lat: list[float] = []
    errors: Counter[str] = Counter()
    n = min(int(rate * seconds), max_requests)
    limits = httpx.Limits(max_connections=conns, max_keepalive_connections=conns)
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", limits=limits, timeout=30) as client:
        start = time.perf_counter() + 0.2

        # requests wait for a free connection here, not in httpx's pool, whose queue of waiters
        # gets slow (quadratic) when thousands of requests wait at once
        slots = asyncio.Semaphore(conns)

        async def one(i: int, due: float) -> None:
            p = plans[i % len(plans)]
            body = {k: v for k, v in (("service_item", p["item"]), ("uscc", p.get("uscc"))) if v}
            async with slots:
                try:
                    r = await client.post("/v1/hall/autofill", json=body, headers={
                        "Authorization": f"Bearer {hall_key}", "X-Applicant-Token": p["token"]})
                    if r.status_code != 200:
                        errors[str(r.status_code)] += 1
                except Exception as exc:
                    errors[type(exc).__name__] += 1
            lat.append(time.perf_counter() - due)

        elapsed, sent = await _schedule(one, n, rate, start)
    return {"mode": "open", "client": "httpx", "target_rate": rate, "requests": sent, "saturated": sent < n,
            "seconds": round(elapsed, 2), "achieved_rate": round(sent / elapsed, 1), "errors": dict(errors),
            **_pct(lat)}


def _pct(lat: list[float]) -> dict[str, float]:
    if not lat:
        return {}
    s = sorted(lat)

    def q(p: float) -> float:
        return round(s[min(len(s) - 1, int(p * len(s)))] * 1000, 2)

    return {"p50_ms": q(0.50), "p95_ms": q(0.95), "p99_ms": q(0.99), "max_ms": round(s[-1] * 1000, 2),
            "mean_ms": round(statistics.fmean(s) * 1000, 2)}


def client_main(args: argparse.Namespace) -> None:
    spec = json.loads(Path(args.client).read_text())
    port, key, plans = spec["port"], spec["hall_key"], spec["plans"]
    reqs = build_requests(port, key, plans)
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    # warm-up: touch the pages the requests need
    asyncio.run(_closed_loop(port, reqs, 4, args.warmup, 10**9))
    # each phase's figures as one JSON line as soon as it ends (a run cut short keeps those it has)
    for rate in args.rate:
        if args.client_lib == "httpx":
            r = asyncio.run(_httpx_open_loop(port, plans, key, rate, args.seconds, args.max_requests, args.connections))
        else:
            r = asyncio.run(_open_loop(port, reqs, rate, args.seconds, args.max_requests, args.connections))
        print(json.dumps(r), flush=True)
    if args.concurrency:
        print(json.dumps(asyncio.run(_closed_loop(port, reqs, args.concurrency, args.seconds, args.max_requests))),
              flush=True)


# --------------------------------------------------------------------------------------------------
# orchestration
# --------------------------------------------------------------------------------------------------


class Prepared(TypedDict):
    """What the load generator needs: the hall's key and one plan (service item, applicant token) each."""

    hall_key: str
    plans: list[dict[str, str]]
    counts: dict[str, Any]
    build_id: str


def prepare(gold: Path, index_dir: Path, work: Path, applicants: int, seed: int) -> Prepared:
    from warehouse.api.catalogue import catalogue
    from warehouse.api.index import ReadModel, ensure_snapshot
    from warehouse.api.store import Store

    t = time.perf_counter()
    snap = ensure_snapshot(gold, index_dir, lambda m: print(f"  read model: {m}", flush=True))
    print(f"read model ready in {time.perf_counter() - t:.1f}s: {snap}", flush=True)
    model = ReadModel(snap)
    counts = json.loads(model.meta.get("counts", "{}"))
    store = Store(work / "serving.sqlite", work / "serving.audit-key")
    _c, hall_key = store.create_key("bench-hall", "hall", rate=1e6, burst=10**6)
    rng = random.Random(seed)
    cat = catalogue()
    p_items = [c for c, i in cat.items.items() if i.target == "person"]
    e_items = [c for c, i in cat.items.items() if i.target == "entity"]
    plans: list[dict[str, str]] = []
    pids = model.person_ids()
    eids = model.represented_entity_ids()
    n_ent = applicants * 3 // 10
    while len(plans) < applicants - n_ent:
        row = model.person(master_id=rng.choice(pids))
        if row is None or row.data.get("death_date"):
            continue
        token, _ = store.create_session(row.data["id_number"], row.master_id, "bench", 600)
        plans.append({"item": rng.choice(p_items), "token": token})
    tries = 0
    while len(plans) < applicants and tries < applicants * 50:
        tries += 1
        ent = model.entity(master_id=rng.choice(eids))
        if ent is None or not ent.data.get("uscc") or ent.data.get("status") not in ("1", None):
            continue
        rep = model.person(master_id=ent.data.get("legal_rep_master_id") or "")
        if rep is None or not rep.data.get("id_number"):
            continue
        token, _ = store.create_session(rep.data["id_number"], rep.master_id, "bench", 600)
        plans.append({"item": rng.choice(e_items), "token": token, "uscc": ent.data["uscc"]})
    rng.shuffle(plans)
    store.close()
    return {"hall_key": hall_key, "plans": plans, "counts": counts, "build_id": model.build_id}


def _run_client(cmd: list[str], timeout: float) -> list[dict[str, Any]]:
    """The load generator's phase figures (one JSON line each); a generator that runs past
    ``timeout`` is stopped and the phases it finished are kept (said on stderr)."""
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
        stdout = out.stdout
        if out.returncode != 0:
            raise SystemExit(f"load generator failed:\n{out.stderr}")
    except subprocess.TimeoutExpired as exc:
        raw = exc.stdout or b""
        stdout = raw.decode() if isinstance(raw, bytes) else raw
        print(f"load generator stopped after {timeout:.0f} s; keeping the phases it finished", file=sys.stderr)
    return [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", type=Path, help="gold file (default: MASTERDATA_GOLD / MASTERDATA_HOME)")
    ap.add_argument("--index-dir", type=Path, help="read-model directory (default: beside the gold file)")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--applicants", type=int, default=3000)
    ap.add_argument("--rate", type=float, nargs="*", default=[500.0], help="open-loop arrival rates (req/s)")
    ap.add_argument("--connections", type=int, default=64, help="connections of the open-loop client")
    ap.add_argument("--concurrency", type=int, default=16, help="connections of the closed-loop phase (0: skip)")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--warmup", type=float, default=5.0)
    ap.add_argument("--max-requests", type=int, default=100_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--client-lib", choices=["raw", "httpx"], default="raw")
    ap.add_argument("--json", type=Path, help="write the results here")
    ap.add_argument("--client", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.client:
        client_main(args)
        return
    from pipelines.masters.gold_file import gold_path
    from tests.serving.server import free_port, launch, stop

    gold = (args.gold or gold_path()).resolve()
    index_dir = (args.index_dir or gold.parent / "serving_index").resolve()
    work = Path(tempfile.mkdtemp(prefix="bench_serving_"))
    server = None
    try:
        spec = prepare(gold, index_dir, work, args.applicants, args.seed)
        port = free_port()
        spec_file = work / "client.json"
        spec_file.write_text(json.dumps({"port": port, "hall_key": spec["hall_key"], "plans": spec["plans"]}))
        env = {**os.environ, "MASTERDATA_GOLD": str(gold), "MASTERDATA_SERVING": str(work / "serving.sqlite"),
               "MASTERDATA_SERVING_INDEX": str(index_dir)}
        server, _ = launch(env, work / "server.log", workers=args.workers, port=port, timeout=300)
        print(f"server up on :{port} ({args.workers} workers); load generator: {args.client_lib}, "
              f"{len(spec['plans'])} applicants", flush=True)
        cmd = [sys.executable, __file__, "--client", str(spec_file), "--seconds", str(args.seconds),
               "--warmup", str(args.warmup), "--max-requests", str(args.max_requests), "--connections",
               str(args.connections), "--concurrency", str(args.concurrency), "--client-lib", args.client_lib,
               "--rate", *[str(r) for r in args.rate]]
        results = _run_client(cmd, args.seconds * (len(args.rate) + 2) + 300)
        report = {"gold": str(gold), "build_id": spec["build_id"], "counts": spec["counts"], "workers": args.workers,
                  "cpus": os.cpu_count(), "client": args.client_lib, "results": results}
        for r in results:
            what = (f"open loop {r['target_rate']:.0f}/s -> {r['achieved_rate']}/s"
                    f"{' (saturated: stopped sending)' if r.get('saturated') else ''}" if r["mode"] == "open"
                    else f"closed loop {r['connections']} conns -> {r['throughput']}/s")
            print(f"{what}: n={r['requests']} p50 {r.get('p50_ms')} ms, p95 {r.get('p95_ms')} ms, "
                  f"p99 {r.get('p99_ms')} ms, max {r.get('max_ms')} ms, errors {r['errors']}")
        if args.json:
            args.json.write_text(json.dumps(report, indent=1))
    finally:
        stop(server, grace=20)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
