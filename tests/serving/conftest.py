"""Fixtures of the serving tests: a real small city built by the real pipeline, and a real server.

``city`` (session): ``masterdata generate`` (1,500 persons) -> ``ingest`` -> ``build``, the same
commands an operator runs - a copy of the session's city (``tests/conftest.py``: ``cities``); its
gold file is what the server reads.
``server`` (session): ``masterdata serve`` (uvicorn, one worker) on a free loopback port over that
home, with API keys made for the hall, the identity platform, the stewards' desk and all 32 departments.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest

from tests.serving.server import REPO, launch, stop

if TYPE_CHECKING:
    from tests.conftest import Cities

PERSONS = 1500
AS_OF = date.today().isoformat()


def run_cli(*args: str, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess[str]:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=timeout)
    if out.returncode != 0:
        raise AssertionError(f"masterdata {' '.join(args)} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return out


def base_env(home: Path) -> dict[str, str]:
    """The environment of the commands: this home, a fixed day, a quick gold watch, and a copy of the
    grants file the tests may edit (grants are data, re-read when they change)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERDATA_")}
    grants = home / "grants.yaml"
    if not grants.exists():
        home.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(REPO / "schemas" / "grants.yaml", grants)
    env.update({"MASTERDATA_HOME": str(home), "MASTERDATA_AS_OF": AS_OF, "MASTERDATA_SERVE_WATCH": "0.3",
                "MASTERDATA_GRANTS": str(grants)})
    return env


@pytest.fixture(scope="session")
def city(cities: Cities, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A home with a real gold store of a 1,500-person city (generate -> ingest -> build): a copy
    of the session's city, so the serving tests' keys, reloads and rebuilds stay theirs."""
    root = tmp_path_factory.mktemp("servcity")
    home = root / "home"
    reuse = os.environ.get("SERVING_TEST_GOLD")  # developer shortcut: a gold file built before
    if reuse:
        base_env(home)
        (home / "warehouse").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(reuse, home / "warehouse" / "gold.duckdb")
        return home
    home = cities.copy(root / "made", persons=PERSONS).home
    assert (home / "warehouse" / "gold.duckdb").exists()
    return home


@dataclass
class Server:
    home: Path
    url: str
    keys: dict[str, str]
    env: dict[str, str]
    proc: subprocess.Popen[bytes] | None = None
    log: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def client(self, key: str | None = None, **headers: str) -> httpx.Client:
        h = dict(headers)
        if key is not None:
            h["Authorization"] = f"Bearer {self.keys.get(key, key)}"
        return httpx.Client(base_url=self.url, headers=h, timeout=30)

    @property
    def store(self) -> Path:
        return self.home / "warehouse" / "serving.sqlite"

    def public_id(self, department: str, master_id: str) -> str:
        """The id under which the server shows ``master_id`` to ``department`` (its key, beside the store)."""
        from warehouse.api.publicid import PublicIds, load_secret

        ids = PublicIds(load_secret(self.home / "warehouse" / "serving.id-key"))
        return ids.encode(f"department:{department}", master_id)


def make_keys(home: Path) -> dict[str, str]:
    """Keys of every calling system (created through the store, as `masterdata keys create` does)."""
    from standards.codetables import department_keys
    from warehouse.api.store import Store

    store = Store(home / "warehouse" / "serving.sqlite", home / "warehouse" / "serving.audit-key")
    keys: dict[str, str] = {}
    keys["hall"] = store.create_key("hall-web", "hall")[1]
    keys["identity"] = store.create_key("uum", "identity")[1]
    keys["steward"] = store.create_key("steward-desk", "steward")[1]
    for dep in sorted(department_keys()):
        keys[dep] = store.create_key(f"{dep}-system", "department", dep, rate=10_000, burst=10_000)[1]
    keys["slow"] = store.create_key("slow-dept", "department", "statistics", rate=1, burst=2)[1]
    keys["revoked"] = store.create_key("old-hall", "hall")[1]
    store.revoke_key(keys["revoked"].split("_")[1])
    store.close()
    return keys


def start_server(home: Path, keys: dict[str, str], log: Path, extra_env: dict[str, str] | None = None,
                 workers: int = 1) -> Server:
    env = {**base_env(home), **(extra_env or {})}
    proc, url = launch(env, log, workers=workers)
    return Server(home, url, keys, env, proc, log)


stop_server = stop


@pytest.fixture(scope="session")
def server(city: Path, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    keys = make_keys(city)
    srv = start_server(city, keys, tmp_path_factory.mktemp("servlog") / "server.log")
    yield srv
    stop_server(srv.proc)


@pytest.fixture(scope="session")
def model(server: Server):  # type: ignore[no-untyped-def]
    """The server's read model, opened read-only by the tests to pick subjects."""
    from warehouse.api.index import ReadModel

    snaps = sorted((server.home / "warehouse" / "serving_index").glob("gold-*.sqlite"))
    assert snaps, "the server built no read model"
    return ReadModel(snaps[-1])


def open_session(server: Server, id_number: str, name: str) -> str:
    with server.client("identity") as c:
        r = c.post("/v1/identity/sessions", json={"id_number": id_number, "name": name})
        assert r.status_code == 201, r.text
        return str(r.json()["token"])

