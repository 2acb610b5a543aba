"""Fixtures of the console tests: a generated city served with the console, and a real browser.

``city`` (package: every test module of the console shares one): ``masterdata generate`` (1,500 persons, the serving tests' size) -> ``ingest`` ->
``build`` -> ``quality run``: a copy of the session's city (``tests/conftest.py``: ``cities``), a home
of its own (the steward tests rebuild its gold store, which no other test may see).  ``site``: ``masterdata serve`` over it with the identity
platform's key and console users of every role created through ``masterdata users create``.

``browser``: Debian's Chromium (``/usr/bin/chromium``, installed by ``scripts/install-browser.sh``)
driven by Playwright through its executable path - no browser is downloaded.  Every page opened
through :func:`offline_page` runs with the network cut to anything but the platform: a request for
any other host is aborted and recorded, and the test fails if there was one.  Screenshots go to
``var/test-artefacts/console/`` (the path is printed).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

import pytest

from tests.serving.conftest import REPO, Server, base_env, run_cli, start_server, stop_server

if TYPE_CHECKING:
    from tests.conftest import Cities

ARTEFACTS = REPO / "var" / "test-artefacts" / "console"
PASSWORDS = {"steward": "steward-secret-1", "analyst": "analyst-secret-1", "civil": "civil-secret-12",
             "water": "water-secret-12"}
USERS = {"steward": ("steward", None, "王丽"), "analyst": ("analyst", None, "赵敏"),
         "civil": ("department", "civil_affairs", "民政-李"), "water": ("department", "water_resources", "水利-周")}


@dataclass
class Site:
    """The served city: the server (``tests.serving.conftest.Server``) and the identity platform's key."""

    server: Server
    identity_key: str

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def home(self) -> Path:
        return self.server.home

    @property
    def env(self) -> dict[str, str]:
        return self.server.env

    @property
    def gold(self) -> Path:
        return self.home / "warehouse" / "gold.duckdb"


@pytest.fixture(scope="package")
def city(cities: Cities, tmp_path_factory: pytest.TempPathFactory) -> Path:
    return cities.copy(tmp_path_factory.mktemp("consolecity") / "made", persons=1500).home


@pytest.fixture(scope="package")
def site(city: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Site]:
    env = base_env(city)
    key = run_cli("keys", "create", "--name", "uum", "--kind", "identity", env=env).stdout.strip()
    for who, (role, dep, display) in USERS.items():
        args = ["users", "create", "--name", who, "--role", role, "--display-name", display, "--password-stdin"]
        if dep:
            args += ["--department", dep]
        out = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, text=True,
                             input=PASSWORDS[who] + "\n", capture_output=True, timeout=60)
        assert out.returncode == 0, out.stderr
    server = start_server(city, {"identity": key}, tmp_path_factory.mktemp("consolelog") / "server.log")
    yield Site(server, key)
    stop_server(server.proc)


@pytest.fixture(scope="session")
def artefacts() -> Path:
    if ARTEFACTS.exists():
        shutil.rmtree(ARTEFACTS)
    ARTEFACTS.mkdir(parents=True)
    print(f"\nconsole screenshots: {ARTEFACTS}")
    return ARTEFACTS


class Offline:
    """A browser context that may reach only the platform (127.0.0.1); records what it tried else."""

    def __init__(self, browser: Any, site: Site, artefacts: Path) -> None:
        self.site, self.artefacts = site, artefacts
        self.blocked: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="zh-CN",
                                           service_workers="block")
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("dialog", lambda d: d.accept())
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))
        self.page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)

    def _route(self, route: Any) -> None:
        host = urlparse(route.request.url).hostname
        if host not in ("127.0.0.1",) and not route.request.url.startswith(("data:", "blob:", "about:")):
            self.blocked.append(route.request.url)
            route.abort()
        else:
            route.continue_()

    def goto(self, path: str) -> Any:
        return self.page.goto(self.site.url + path)

    def login(self, who: str) -> None:
        self.goto("/console/login")
        self.page.fill("#name", who)
        self.page.fill("#password", PASSWORDS[who])
        self.page.click("button[type=submit]")

    def shot(self, name: str, full: bool = True) -> Path:
        path = self.artefacts / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full)
        return path

    def close(self) -> None:
        self.context.close()
        assert not self.blocked, f"requests outside the platform: {self.blocked}"
        assert not [e for e in self.errors if "403" not in e and "404" not in e], self.errors


@pytest.fixture()
def offline(browser: Any, site: Site, artefacts: Path) -> Iterator[Offline]:
    o = Offline(browser, site, artefacts)
    yield o
    o.close()
