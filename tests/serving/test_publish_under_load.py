"""A new build publishes while the service is under load: no request fails, none sees half a build.

A real server over a copy of the city's home (lake and gold) answers department lookups and hall
auto-fills from several client threads without pause while ``masterdata build --full`` rebuilds the
masters and publishes the new gold file (flushed, then renamed over the old one); the server
notices it, builds the new build's snapshot in the background and swaps it in.  Every request
must succeed; every auto-fill names the build it was served from, which must be the old build or
the new one and, per client, never the old one again once the new one was seen; and every
lookup of a person returns the same fields throughout (a full rebuild of an unchanged lake keeps
every master and its id - a half-published state would show as a missing or changed record).
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from tests.serving.conftest import (
    Server,
    base_env,
    make_keys,
    open_session,
    run_cli,
    start_server,
    stop_server,
)
from tests.serving.subjects import person_holding

CLIENTS = 6
DRIVING_RENEWAL = "S0005"
PURPOSE = {"purpose": "household_registration"}


@dataclass
class Seen:
    """What one client thread saw, in order."""

    builds: list[str] = field(default_factory=list)
    persons: list[dict[str, Any]] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    requests: int = 0


def _client(srv: Server, token: str, mid: str, stop: threading.Event, seen: Seen) -> None:
    hall = httpx.Client(base_url=srv.url, timeout=60, headers={
        "Authorization": f"Bearer {srv.keys['hall']}", "X-Applicant-Token": token})
    dept = srv.client("public_security")
    try:
        while not stop.is_set():
            try:
                r = hall.post("/v1/hall/autofill", json={"service_item": DRIVING_RENEWAL})
                if r.status_code != 200:
                    seen.failures.append(f"autofill {r.status_code}: {r.text[:200]}")
                else:
                    seen.builds.append(r.json()["build_id"])
                r = dept.get(f"/v1/persons/{mid}", params=PURPOSE)
                if r.status_code != 200:
                    seen.failures.append(f"lookup {r.status_code}: {r.text[:200]}")
                else:
                    seen.persons.append(r.json()["fields"])
                seen.requests += 2
            except httpx.HTTPError as exc:
                seen.failures.append(f"{type(exc).__name__}: {exc}")
    finally:
        hall.close()
        dept.close()


def _build_id(gold: Path) -> str:
    con = duckdb.connect(str(gold), read_only=True)
    try:
        return str(con.execute("SELECT max(build_id) FROM builds").fetchone()[0])  # type: ignore[index]
    finally:
        con.close()


def test_a_build_publishes_while_requests_keep_being_served(city: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copytree(city / "lake", home / "lake")
    gold = home / "warehouse" / "gold.duckdb"
    shutil.copyfile(city / "warehouse" / "gold.duckdb", gold)
    old = _build_id(gold)
    srv = start_server(home, make_keys(home), tmp_path / "server.log")
    stop = threading.Event()
    seen = [Seen() for _ in range(CLIENTS)]
    threads: list[threading.Thread] = []
    try:
        from warehouse.api.index import ReadModel

        model = ReadModel(next((home / "warehouse" / "serving_index").glob("gold-*.sqlite")))
        person, _lic = person_holding(model, ("004",))
        token = open_session(srv, person.data["id_number"], person.data["name"])
        threads = [threading.Thread(target=_client, args=(srv, token, srv.public_id("public_security", person.master_id), stop, s)) for s in seen]
        for t in threads:
            t.start()
        time.sleep(2)  # load first, then the build
        run_cli("build", "--full", env=base_env(home), timeout=900)
        new = _build_id(gold)
        assert new != old
        deadline = time.time() + 180  # the server builds the new snapshot, then swaps it in
        while time.time() < deadline and httpx.get(srv.url + "/health", timeout=30).json()["build_id"] != new:
            time.sleep(0.5)
        time.sleep(2)  # and keeps serving it under load
    finally:
        stop.set()
        for t in threads:
            t.join(120)
        stop_server(srv.proc)
    failures = [f for s in seen for f in s.failures]
    assert not failures, f"{len(failures)} failed request(s): {failures[:5]}"
    builds = [b for s in seen for b in s.builds]
    assert set(builds) == {old, new}, f"served builds {set(builds)}; old {old}, new {new}"
    for s in seen:  # once a client was served the new build, never the old one again
        first_new = s.builds.index(new) if new in s.builds else len(s.builds)
        assert old not in s.builds[first_new:], "a client was served the old build after the new one"
    first = seen[0].persons[0]
    assert all(p == first for s in seen for p in s.persons), "a lookup saw a person change across the publish"
    assert sum(s.requests for s in seen) > 50
