"""The audit log against a hostile operator: the tamper matrix over a real server and real PostgreSQL.

A server (``masterdata serve``, real HTTP) runs with its checkpoints anchored in a PostgreSQL anchor
made by ``masterdata audit anchor-setup``; callers make ordinary requests, refused ones (wrong kind
of key, unknown keys, a flood over the rate limit), then the server stops (its final checkpoint).
Each tamper kind is then done to a fresh copy of the store, as someone with the API's OS account
could - the audit key beside the log in hand, the guard triggers dropped - at several positions, and
``audit verify`` must name it: 100 % of the cases, counted and printed.  The anchor's own role is
shown unable to change, delete, truncate or drop a checkpoint.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import psycopg
import pytest

from tests.serving.conftest import REPO, Server, base_env, make_keys, start_server, stop_server
from warehouse.api.anchor import TABLE, Anchor, setup
from warehouse.api.auditcheck import Report, check
from warehouse.api.chain import AUDIT_COLUMNS, Finding, audit_body, chain_hash, load_audit_key
from warehouse.api.sealing import load_signing_key

PREFIX = os.environ.get("MASTERDATA_TEST_DB_PREFIX", "test_")
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"
FLOOD = 300
UNKNOWN = 60


@dataclass
class Deployment:
    home: Path
    anchor_url: str
    signing_key: Path
    old_copy: Path  # the store as it was halfway through the traffic
    refused_429: int
    refused_401: int
    refused_403: int

    @property
    def store(self) -> Path:
        return self.home / "warehouse" / "serving.sqlite"

    @property
    def audit_key(self) -> Path:
        return self.home / "warehouse" / "serving.audit-key"

    def env(self, home: Path | None = None) -> dict[str, str]:
        return {**base_env(home or self.home), "MASTERDATA_AUDIT_ANCHOR": self.anchor_url,
                "MASTERDATA_AUDIT_SIGNING_KEY": str(self.signing_key), "MASTERDATA_AUDIT_ANCHOR_EVERY": "0.5"}


@pytest.fixture(scope="module")
def anchor_db() -> Iterator[str]:
    """A fresh anchor database and INSERT-only role, made by the documented setup; dropped after."""
    database = f"{PREFIX}anchor_{uuid.uuid4().hex[:8]}"
    role = f"{PREFIX}anchor_writer"
    url = setup(ADMIN, database, role)
    yield url
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def snapshot(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    a, b = sqlite3.connect(src), sqlite3.connect(dst)
    a.backup(b)
    a.close()
    b.close()


def traffic(server: Server, n: int) -> None:
    with server.client("statistics") as c:
        for i in range(n):
            mid = server.public_id("statistics", f"E{i + 1:010d}")  # (the id statistics is shown)
            assert c.get(f"/v1/entities/{mid}", params={"purpose": "enterprise_census"}).status_code in (200, 404)


def refusals(server: Server) -> tuple[int, int, int]:
    """A flood over the rate limit, unknown keys, a hall key at a department endpoint: counts refused."""
    got: Counter[int] = Counter()
    with server.client("slow") as c:
        for _ in range(FLOOD):
            got[c.get("/v1/service-items/S0001").status_code] += 1
    with server.client("mdk_deadbeef_not-a-real-secret") as c:
        for _ in range(UNKNOWN):
            got[c.get("/v1/service-items/S0001").status_code] += 1
    with server.client("hall") as c:
        for _ in range(3):
            got[c.get("/v1/entities/E0000000001", params={"purpose": "enterprise_census"}).status_code] += 1
    return got[429], got[401], got[403]


@pytest.fixture(scope="module")
def deployment(city: Path, anchor_db: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("anchored")
    home = root / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(city / "warehouse" / "gold.duckdb", home / "warehouse" / "gold.duckdb")
    keys = make_keys(home)
    dep = Deployment(home, anchor_db, root / "keys" / "audit-anchor.key", root / "old.sqlite", 0, 0, 0)
    extra = {k: v for k, v in dep.env().items() if k.startswith("MASTERDATA_AUDIT")}
    server = start_server(home, keys, root / "server.log", extra)
    try:
        traffic(server, 12)
        wait_anchored(dep)
        snapshot(dep.store, dep.old_copy)
        dep.refused_429, dep.refused_401, dep.refused_403 = refusals(server)
        traffic(server, 12)
    finally:
        stop_server(server.proc)
    yield dep


def wait_anchored(dep: Deployment, timeout: float = 20) -> None:
    """Until the anchor holds the store's head (the server checkpoints every 0.5 s)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        con = sqlite3.connect(dep.store)
        head = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        con.close()
        last = Anchor(dep.anchor_url).last()
        if last is not None and head is not None and (last.seq, last.hash) == tuple(head):
            return
        time.sleep(0.2)
    raise AssertionError("the server did not anchor its head")


# -- tampering, as the API's OS account could ----------------------------------------------------------
def copy_home(dep: Deployment, tmp: Path, store: Path | None = None) -> Path:
    home = tmp / f"copy-{uuid.uuid4().hex[:6]}"
    snapshot(store or dep.store, home / "warehouse" / "serving.sqlite")
    shutil.copyfile(dep.audit_key, home / "warehouse" / "serving.audit-key")
    return home


def sql(home: Path, *statements: str | tuple[str, tuple[object, ...]]) -> None:
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for s in statements:
        con.execute(*s) if isinstance(s, tuple) else con.execute(s)
    con.commit()
    con.close()


def rehash(home: Path, start: int) -> None:
    """Re-hash the chain from entry ``start`` on with the key beside the log, and rewrite the head."""
    key = load_audit_key(home / "warehouse" / "serving.audit-key", create=False)
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    cur = con.execute("SELECT * FROM audit ORDER BY seq")
    cols = [c[0] for c in cur.description]
    rows = [dict(zip(cols, r)) for r in cur.fetchall()]
    prev = rows[0]["prev_hash"]
    for r in rows:
        if r["seq"] >= start:
            h = chain_hash(key, prev, audit_body({c: r[c] for c in AUDIT_COLUMNS}))
            con.execute("UPDATE audit SET prev_hash = ?, hash = ? WHERE seq = ?", (prev, h, r["seq"]))
            r["hash"] = h
        prev = r["hash"]
    con.execute("UPDATE audit_head SET seq = ?, hash = ?", (rows[-1]["seq"], prev))
    con.commit()
    con.close()


def head_of(home: Path) -> tuple[int, str]:
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    row = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    con.close()
    return int(row[0]), str(row[1])


def change(home: Path, k: int) -> None:
    sql(home, f"UPDATE audit SET caller = 'someone-else', fields = '[\"person.id_number\"]' WHERE seq = {k}")


def change_rehash(home: Path, k: int) -> None:
    change(home, k)
    rehash(home, k)


def insert(home: Path, k: int) -> None:
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    row = list(con.execute(f"SELECT * FROM audit WHERE seq = {k}").fetchone())
    con.close()
    row[0], row[2] = k + 1, "forged-caller"
    sql(home, f"UPDATE audit SET seq = -seq WHERE seq > {k}", "UPDATE audit SET seq = -seq + 1 WHERE seq < 0",
        (f"INSERT INTO audit VALUES ({', '.join('?' * len(row))})", tuple(row)))


def insert_rehash(home: Path, k: int) -> None:
    insert(home, k)
    rehash(home, k + 1)


def delete(home: Path, k: int) -> None:
    sql(home, f"DELETE FROM audit WHERE seq = {k}")


def delete_rehash(home: Path, k: int) -> None:
    delete(home, k)
    sql(home, f"UPDATE audit SET seq = seq - 1 WHERE seq > {k}")
    rehash(home, k)


def truncate_head(home: Path, k: int) -> None:
    """Cut the log after entry k and rewrite the head to name k: the chain alone is intact."""
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    h = con.execute(f"SELECT hash FROM audit WHERE seq = {k}").fetchone()[0]
    con.close()
    sql(home, f"DELETE FROM audit WHERE seq > {k}", ("UPDATE audit_head SET seq = ?, hash = ?", (k, h)))


def empty(home: Path, _k: int) -> None:
    sql(home, "DELETE FROM audit", "DELETE FROM audit_head")


def drop_table(home: Path, _k: int) -> None:
    sql(home, "DROP TABLE audit")


def delete_store(home: Path, _k: int) -> None:
    for p in (home / "warehouse").glob("serving.sqlite*"):
        p.unlink()


TAMPERS: dict[str, tuple[Callable[[Path, int], None], set[str]]] = {
    "change": (change, {"changed"}),
    "change + re-hash with the key": (change_rehash, {"rewritten"}),
    "insert": (insert, {"inserted"}),
    "insert + re-hash": (insert_rehash, {"rewritten", "rolled_back"}),
    "delete": (delete, {"deleted"}),
    "delete + renumber + re-hash": (delete_rehash, {"rewritten", "rolled_back"}),
    "truncate + head rewrite": (truncate_head, {"rolled_back"}),
    "empty log and head": (empty, {"rolled_back"}),
    "drop table audit": (drop_table, {"missing"}),
    "delete the store": (delete_store, {"missing"}),
}


def positions(dep: Deployment) -> list[int]:
    n = head_of(dep.home)[0]
    return sorted({1, 2, n // 3, n // 2, n - 2})


def verify(dep: Deployment, home: Path) -> Report:
    return check(home / "warehouse" / "serving.sqlite", home / "warehouse" / "serving.audit-key", dep.anchor_url,
                 _public(dep))


def _public(dep: Deployment) -> Path:
    pem = dep.signing_key.with_suffix(".pub")
    if not pem.exists():
        from warehouse.api.sealing import public_pem

        pem.write_text(public_pem(load_signing_key(dep.signing_key, create=False).public_key()))
    return pem


# -- the tests ------------------------------------------------------------------------------------------
def test_intact_log_verifies_against_the_anchor(deployment: Deployment) -> None:
    report = verify(deployment, deployment.home)
    assert report.intact and report.anchored and report.checkpoints >= 2, report.as_dict()
    assert head_of(deployment.home)[0] == Anchor(deployment.anchor_url).last().seq  # type: ignore[union-attr]
    out = _cli(deployment, deployment.home)
    assert out.returncode == 0 and "intact" in out.stdout and "anchored checkpoint" in out.stdout


def test_tamper_matrix_is_fully_detected(deployment: Deployment, tmp_path: Path) -> None:
    tried, caught, missed = 0, 0, []
    for name, (tamper, kinds) in TAMPERS.items():
        for k in positions(deployment) if name not in ("empty log and head", "drop table audit",
                                                       "delete the store") else [0]:
            home = copy_home(deployment, tmp_path)
            tamper(home, k)
            found = {f.problem for f in verify(deployment, home).findings}
            tried += 1
            if found & kinds:
                caught += 1
            else:
                missed.append(f"{name} at {k}: {found or 'nothing'}")
    print(f"\naudit tamper matrix: {caught}/{tried} detected across {len(TAMPERS)} kinds")
    assert not missed and caught == tried


def test_rollback_to_an_older_copy_is_detected(deployment: Deployment, tmp_path: Path) -> None:
    home = copy_home(deployment, tmp_path, deployment.old_copy)
    assert verify_chain_only(home) == []  # the older copy is a perfectly good chain on its own
    assert "rolled_back" in {f.problem for f in verify(deployment, home).findings}


def verify_chain_only(home: Path) -> list[Finding]:
    from warehouse.api.chain import verify_chain

    return verify_chain(home / "warehouse" / "serving.sqlite", home / "warehouse" / "serving.audit-key")[1]


def _cli(dep: Deployment, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "verify", "--public-key",
                           str(_public(dep))], cwd=REPO, env=dep.env(home), capture_output=True, text=True,
                          timeout=120)


@pytest.mark.parametrize("name", ["truncate + head rewrite", "drop table audit", "delete the store",
                                  "change + re-hash with the key"])
def test_cli_names_the_tampering_in_one_line(deployment: Deployment, tmp_path: Path, name: str) -> None:
    home = copy_home(deployment, tmp_path)
    TAMPERS[name][0](home, positions(deployment)[2])
    out = _cli(deployment, home)
    assert out.returncode == 1 and "TAMPERED" in out.stderr, out.stderr
    assert "Traceback" not in out.stderr and "Traceback" not in out.stdout


@pytest.fixture()
def scratch(deployment: Deployment) -> Iterator[Deployment]:
    """The deployment with a copy of its anchor (same role, same records), for tests that add records."""
    database = f"{PREFIX}anchor_{uuid.uuid4().hex[:8]}"
    url = setup(ADMIN, database, f"{PREFIX}anchor_writer")
    records = Anchor(deployment.anchor_url).records()
    admin = ADMIN.rsplit("/", 1)[0] + "/" + database
    with psycopg.connect(admin, autocommit=True) as con:
        for r in records:
            con.execute(f"INSERT INTO {TABLE} (kind, seq, hash, document) VALUES (%s, %s, %s, %s)",
                        (r.kind, r.seq, r.hash, json.dumps(r.document, ensure_ascii=False, sort_keys=True)))
    yield Deployment(deployment.home, url, deployment.signing_key, deployment.old_copy, 0, 0, 0)
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def test_forged_and_reanchored_checkpoints(scratch: Deployment, tmp_path: Path) -> None:
    """The anchor role alone cannot add a checkpoint that passes; the signing key re-anchoring a
    rewritten log conflicts with the checkpoint already there."""
    deployment = scratch
    assert verify(deployment, deployment.home).intact  # the copied anchor vouches for the log as the original does
    home = copy_home(deployment, tmp_path)
    change_rehash(home, 2)
    seq, h = head_of(home)
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    Anchor(deployment.anchor_url, Ed25519PrivateKey.generate()).write("checkpoint", seq, h)
    found = {f.problem for f in verify(deployment, home).findings}
    assert {"forged", "rewritten"} <= found, found
    Anchor(deployment.anchor_url, load_signing_key(deployment.signing_key, create=False)).write("checkpoint", seq, h)
    found = {f.problem for f in verify(deployment, home).findings}
    assert {"conflict", "rewritten"} <= found, found


def test_the_anchor_role_cannot_rewrite_checkpoints(deployment: Deployment) -> None:
    with psycopg.connect(deployment.anchor_url, autocommit=True) as con:
        for statement in (f"UPDATE {TABLE} SET hash = 'x'", f"DELETE FROM {TABLE}", f"TRUNCATE {TABLE}",
                          f"DROP TABLE {TABLE}", f"ALTER TABLE {TABLE} DISABLE TRIGGER ALL",
                          "CREATE TABLE audit_anchor_2 (x int)"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                con.execute(statement)


def test_refusals_are_audited_and_floods_aggregated(deployment: Deployment) -> None:
    assert deployment.refused_429 >= FLOOD - 10 and deployment.refused_401 == UNKNOWN
    assert deployment.refused_403 == 3
    con = sqlite3.connect(deployment.store)
    rows = con.execute("SELECT status, caller, caller_kind, action, detail FROM audit WHERE status IN "
                       "(401, 403, 429)").fetchall()
    con.close()
    by: dict[int, list[dict[str, object]]] = {}
    for status, _caller, _kind, _action, detail in rows:
        by.setdefault(status, []).append(json.loads(detail))
    counted = {s: sum(int(d.get("count", 1)) for d in ds) for s, ds in by.items()}  # type: ignore[call-overload]
    assert counted == {429: deployment.refused_429, 401: UNKNOWN, 403: 3}, counted
    assert len(by[429]) <= 2 and len(by[401]) <= 2  # one entry a minute, not one per request
    assert all(d["presented_key_id"] == "deadbeef" and d["client"] == "127.0.0.1" for d in by[401])
    text = json.dumps(rows)
    assert "not-a-real-secret" not in text and "mdk_" not in text
    assert verify(deployment, deployment.home).intact


def test_anchor_unreachable_is_a_finding_not_a_traceback(deployment: Deployment, tmp_path: Path) -> None:
    home = copy_home(deployment, tmp_path)
    report = check(home / "warehouse" / "serving.sqlite", home / "warehouse" / "serving.audit-key",
                   "postgresql://nobody@127.0.0.1:1/none", _public(deployment))
    assert [f.problem for f in report.findings] == ["unreachable"]
