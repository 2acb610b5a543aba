"""The server reads the gold file read-only and follows a new build that replaces it (atomic rename)."""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path

import duckdb
import httpx

from tests.serving.conftest import make_keys, start_server, stop_server


def test_new_gold_build_is_picked_up(city: Path, tmp_path: Path) -> None:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    gold = home / "warehouse" / "gold.duckdb"
    shutil.copyfile(city / "warehouse" / "gold.duckdb", gold)
    keys = make_keys(home)
    before = os.stat(gold)
    srv = start_server(home, keys, tmp_path / "server.log")
    try:
        con = duckdb.connect(str(gold), read_only=True)
        [(mid, name)] = con.execute("SELECT master_id, name FROM person_master WHERE name IS NOT NULL "
                                    "ORDER BY master_id LIMIT 1").fetchall()
        con.close()
        with srv.client("public_security") as c:
            q = {"purpose": "household_registration"}
            pid = srv.public_id("public_security", mid)
            assert c.get(f"/v1/persons/{pid}", params=q).json()["fields"]["name"] == name
            # the service never wrote into the gold file
            after = os.stat(gold)
            assert (after.st_mtime_ns, after.st_size, after.st_ino) == (before.st_mtime_ns, before.st_size,
                                                                         before.st_ino)
            assert not gold.with_name(gold.name + ".wal").exists()
            # a "build": a changed copy renamed over the gold file, as pipelines.masters.gold_file.GoldBuild does
            tmp = gold.with_name(".gold.duckdb.building")
            shutil.copyfile(gold, tmp)
            con = duckdb.connect(str(tmp))
            con.execute("UPDATE person_master SET name = '新名字' WHERE master_id = ?", [mid])
            con.close()
            os.replace(tmp, gold)
            deadline = time.time() + 60
            got = name
            while time.time() < deadline and got != "新名字":
                time.sleep(0.3)
                got = c.get(f"/v1/persons/{pid}", params=q).json()["fields"]["name"]
            assert got == "新名字"
            assert httpx.get(srv.url + "/health").json()["status"] == "ok"
    finally:
        stop_server(srv.proc)
