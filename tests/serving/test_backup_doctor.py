"""Backup and restore, proved by restoring and comparing; ``masterdata doctor`` on a healthy and a
broken deployment.

A real deployment: the city's gold store, keys, a steward decision, a server (real HTTP) anchoring
its audit log in a real PostgreSQL anchor.  ``masterdata backup`` runs *while* callers keep the
server busy; the backup is restored into an empty home and compared table by table (gold in DuckDB,
serving state in SQLite), the restored audit log verifies against the anchor and reports what the
restore lost, a non-empty home is refused without ``--force``, an altered backup is refused.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import duckdb
import psycopg
import pytest

from pipelines.resolve.steward import Decision, StewardLog
from tests.serving.conftest import REPO, Server, base_env, make_keys, start_server, stop_server
from warehouse.api.anchor import setup

PREFIX = os.environ.get("MASTERDATA_TEST_DB_PREFIX", "test_")
ADMIN = "postgresql://postgres@127.0.0.1:5432/postgres"


@dataclass
class Site:
    root: Path
    home: Path
    city: Path
    anchor_url: str
    backup: Path

    def env(self, home: Path | None = None, **extra: str) -> dict[str, str]:
        return {**base_env(home or self.home), "MASTERDATA_AUDIT_ANCHOR": self.anchor_url,
                "MASTERDATA_AUDIT_SIGNING_KEY": str(self.root / "keys" / "audit-anchor.key"),
                "MASTERDATA_AUDIT_ANCHOR_EVERY": "0.5",
                "MASTERDATA_SOURCES": str(self.city.parent / "city" / "sources"),
                "MASTERDATA_LAKE": str(self.city / "lake"), **extra}


def cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture(scope="module")
def site(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    root = tmp_path_factory.mktemp("backup")
    database = f"{PREFIX}anchor_bk_{uuid.uuid4().hex[:8]}"
    url = setup(ADMIN, database, f"{PREFIX}anchor_writer")
    home = root / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(city / "warehouse" / "gold.duckdb", home / "warehouse" / "gold.duckdb")
    StewardLog(home / "warehouse" / "steward_decisions.jsonl").append(
        Decision("person", "no_match", ["a:t:1", "b:t:2"], note="backup test"))
    s = Site(root, home, city, url, root / "backup")
    keys = make_keys(home)
    extra = {k: v for k, v in s.env().items() if k.startswith("MASTERDATA_AUDIT")}
    server = start_server(home, keys, root / "server.log", extra)
    try:
        busy(server, s)
    finally:
        stop_server(server.proc)
    yield s
    with psycopg.connect(ADMIN, autocommit=True) as con:
        con.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')


def busy(server: Server, s: Site) -> None:
    """Back up while callers keep the server writing its audit log (and go on after it)."""
    stop = threading.Event()
    done = {"n": 0}

    def callers() -> None:
        with server.client("statistics") as c:
            while not stop.is_set() or done["n"] < 40:
                mid = server.public_id("statistics", f"E{done['n'] % 50 + 1:010d}")
                c.get(f"/v1/entities/{mid}", params={"purpose": "enterprise_census"})
                done["n"] += 1

    t = threading.Thread(target=callers)
    t.start()
    try:
        while done["n"] < 20:
            stop.wait(0.05)
        out = cli("backup", "--to", str(s.backup), env=s.env())
        assert out.returncode == 0, out.stderr
    finally:
        stop.set()
        t.join(60)
    assert done["n"] >= 40


def tables(con: duckdb.DuckDBPyConnection, db: str) -> list[str]:
    return [f"{r[0]}.{r[1]}" for r in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ? ORDER BY 1, 2", [db]).fetchall()]


def gold_differences(a: Path, b: Path) -> list[str]:
    con = duckdb.connect()
    con.execute(f"ATTACH '{a}' AS a (READ_ONLY)")
    con.execute(f"ATTACH '{b}' AS b (READ_ONLY)")
    names = tables(con, "a")
    assert names and names == tables(con, "b")
    out = []
    for t in names:
        diff = con.execute(f"SELECT (SELECT count(*) FROM (SELECT * FROM a.{t} EXCEPT ALL SELECT * FROM b.{t})) + "
                           f"(SELECT count(*) FROM (SELECT * FROM b.{t} EXCEPT ALL SELECT * FROM a.{t}))").fetchone()
        if diff and diff[0]:
            out.append(f"{t}: {diff[0]} rows differ")
    con.close()
    return out


def rows(store: Path, table: str) -> list[tuple[object, ...]]:
    con = sqlite3.connect(store)
    out = con.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    con.close()
    return out


# -- doctor (first: a restore below makes the site's own log a superseded one, as it should) ----------------
def doctor(env: dict[str, str]) -> tuple[int, dict[str, list[dict[str, str]]]]:
    out = cli("doctor", "--json", env=env)
    assert "Traceback" not in out.stderr, out.stderr
    report = json.loads(out.stdout)
    by: dict[str, list[dict[str, str]]] = {}
    for c in report["checks"]:
        by.setdefault(c["status"], []).append(c)
    return out.returncode, by


def test_doctor_passes_a_healthy_deployment(site: Site) -> None:
    code, by = doctor(site.env())
    assert code == 0 and not by.get("fail"), by.get("fail")
    names = {c["name"] for c in by["ok"]}
    assert {"gold store", "API keys", "grants", "audit log", "lake", "disk"} <= names
    audit = next(c for c in by["ok"] if c["name"] == "audit log")
    assert "anchored checkpoint" in audit["message"]
    human = cli("doctor", env=site.env())
    assert human.returncode == 0 and "OK" in human.stderr


def test_doctor_names_each_fault_with_a_fix(site: Site) -> None:
    home = site.root / "broken"
    shutil.copytree(site.home, home)
    (home / "warehouse" / "gold.duckdb").write_bytes(b"not a duckdb file")
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    con.execute("UPDATE callers SET revoked_at = '2026-01-01'")
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute("DELETE FROM audit")
    con.execute("DELETE FROM audit_head")
    con.commit()
    con.close()
    lake = site.root / "broken-lake"
    shutil.copytree(site.city / "lake", lake)
    marker = sorted((lake / "_state" / "batches").rglob("*.json"))[0]
    m = json.loads(marker.read_text())
    m["extracted"] += 1
    marker.write_text(json.dumps(m))
    grants = home / "grants-broken.yaml"
    grants.write_text("grants: [ {department: nobody} ]\n")
    env = site.env(home, MASTERDATA_LAKE=str(lake), MASTERDATA_SOURCES=str(site.root / "no-sources"),
                   MASTERDATA_GRANTS=str(grants))
    code, by = doctor(env)
    assert code == 1
    failed = {c["name"] for c in by["fail"]}
    assert {"sources", "gold store", "API keys", "grants", "audit log", "lake"} <= failed, failed
    assert all(c["fix"] for c in by["fail"])
    audit = [c["message"] for c in by["fail"] if c["name"] == "audit log"]
    assert any("anchor recorded entry" in m for m in audit)


# -- backup and restore ------------------------------------------------------------------------------
def test_backup_while_serving_restores_equal(site: Site) -> None:
    manifest = json.loads((site.backup / "manifest.json").read_text())
    assert set(manifest["files"]) == {"gold.duckdb", "serving.sqlite", "serving.audit-key", "serving.evidence-key",
                                      "steward_decisions.jsonl"}
    assert manifest["audit"]["anchored"] and manifest["audit"]["entries"] >= 20
    target = site.root / "restored"
    out = cli("restore", "--from", str(site.backup), env=site.env(target))
    assert out.returncode == 0, out.stderr
    assert gold_differences(site.backup / "gold.duckdb", target / "warehouse" / "gold.duckdb") == []
    assert gold_differences(site.city / "warehouse" / "gold.duckdb", target / "warehouse" / "gold.duckdb") == []
    store, backed = target / "warehouse" / "serving.sqlite", site.backup / "serving.sqlite"
    for t in ("callers", "sessions", "applications", "evidence"):
        assert rows(store, t) == rows(backed, t), t
    restored_log, backed_log = rows(store, "audit"), rows(backed, "audit")
    assert restored_log[:-1] == backed_log and json.loads(str(restored_log[-1][10]))["restored_head"] == \
        manifest["audit"]["head"]["seq"]
    assert (target / "warehouse" / "steward_decisions.jsonl").read_bytes() == \
        (site.home / "warehouse" / "steward_decisions.jsonl").read_bytes()
    assert oct((target / "warehouse" / "serving.audit-key").stat().st_mode & 0o777) == "0o600"
    verify = cli("audit", "verify", env=site.env(target))
    assert verify.returncode == 0 and "intact" in verify.stdout, verify.stderr
    assert "RESTORED" in verify.stderr and "were lost" in verify.stderr  # the server went on after the backup


def test_restore_refuses_a_home_in_use_unless_forced(site: Site) -> None:
    target = site.root / "in-use"
    assert cli("restore", "--from", str(site.backup), env=site.env(target)).returncode == 0
    again = cli("restore", "--from", str(site.backup), env=site.env(target))
    assert again.returncode != 0 and "not empty" in again.stderr and "--force" in again.stderr
    assert "Traceback" not in again.stderr
    forced = cli("restore", "--from", str(site.backup), "--force", env=site.env(target))
    assert forced.returncode == 0, forced.stderr
    assert cli("audit", "verify", env=site.env(target)).returncode == 0


def test_an_altered_backup_is_refused(site: Site) -> None:
    bad = site.root / "altered"
    shutil.copytree(site.backup, bad)
    with open(bad / "steward_decisions.jsonl", "a", encoding="utf-8") as fh:
        fh.write("{}\n")
    out = cli("restore", "--from", str(bad), env=site.env(site.root / "nowhere"))
    assert out.returncode != 0 and "steward_decisions.jsonl" in out.stderr and "altered" in out.stderr
    assert not (site.root / "nowhere" / "warehouse" / "gold.duckdb").exists()


def test_backup_refuses_a_tampered_log(site: Site) -> None:
    home = site.root / "tampered"
    shutil.copytree(site.home, home)
    con = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    con.execute("DROP TRIGGER audit_no_delete")
    con.execute("DELETE FROM audit WHERE seq = 3")
    con.commit()
    con.close()
    out = cli("backup", "--to", str(site.root / "bk-tampered"), env=site.env(home))
    assert out.returncode != 0 and "does not verify" in out.stderr
