"""Fixtures shared across the test packages.

``cities``: generated and built cities, each made once per session and handed out as copies (see
:class:`Cities`) - the serving, console, command-line, Spark and small-city tests share one.

Bytecode: the tests start hundreds of Python processes (every ``masterdata`` command, every Airflow
command, every server), and where ``PYTHONDONTWRITEBYTECODE`` is set (container images set it) each
one compiles every module it imports from source: ~2.7 s of CPU for the pipeline's imports and
~4.6 s for Airflow's, against ~0.9 s and ~2.1 s from bytecode. So the session writes bytecode, outside the
source tree: into ``PYTHONPYCACHEPREFIX`` (``var/pycache`` unless set), for itself and every process
it starts.

``browser``: one browser for the whole session. Playwright's sync API runs an event loop in the
calling thread, so a second ``sync_playwright()`` while the first is open fails ("Sync API inside
the asyncio loop"). The console's tests and the analysts' report test both take this fixture.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]


def _cache_bytecode() -> None:
    """Compile each module once per machine, not once per process (see the module docstring)."""
    prefix = os.environ.get("PYTHONPYCACHEPREFIX") or str(REPO / "var" / "pycache")
    os.environ["PYTHONPYCACHEPREFIX"] = prefix
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    sys.pycache_prefix = prefix
    sys.dont_write_bytecode = False


_cache_bytecode()

#: Debian's Chromium (scripts/install-browser.sh); never a downloaded browser
CHROMIUM = Path(os.environ.get("CONSOLE_TEST_CHROMIUM", "/usr/bin/chromium"))


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(f"no Chromium at {CHROMIUM} (scripts/install-browser.sh installs Debian's)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        yield b
        b.close()


@dataclass(frozen=True)
class BuiltCity:
    """A city made by the operator's commands, laid out as ``root/city`` (``generate``'s sources,
    truth and manifest) and ``root/home`` (``MASTERDATA_HOME``: lake, gold, quality store), with what
    each command printed (stdout and stderr, through a pipe as an operator's script sees them)."""

    root: Path
    outputs: dict[str, subprocess.CompletedProcess[str]]

    @property
    def city(self) -> Path:
        return self.root / "city"

    @property
    def home(self) -> Path:
        return self.root / "home"


def _fingerprint(root: Path) -> list[tuple[str, int, int]]:
    """Every file under ``root`` with its size and modification time: what a write would change."""
    return sorted((str(p.relative_to(root)), p.stat().st_size, p.stat().st_mtime_ns)
                  for p in root.rglob("*") if p.is_file())


class Cities:
    """Generated and built cities, made once per session and handed out as copies.

    Generating, ingesting and building a 1,500-person city takes the better part of a minute of
    CPU; copying the result (~40 MB) takes a fraction of a second. Every test module that needs such
    a city asks for a copy of its own, so a test that changes its home (keys, users, a steward's
    decision, a rebuild, a landed file) cannot be seen by another; the original is checked unchanged
    before every copy and at the end of the session, so a test that wrote into it fails.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._made: dict[tuple[int, int], tuple[BuiltCity, list[tuple[str, int, int]]]] = {}

    def _make(self, persons: int, seed: int) -> BuiltCity:
        from tests.serving.conftest import base_env, run_cli

        made = BuiltCity(self._tmp.mktemp(f"city{persons}s{seed}"), {})
        env = base_env(made.home)
        made.outputs["generate"] = run_cli("generate", "--persons", str(persons), "--seed", str(seed),
                                           "--out", str(made.city), "--no-day2", env=env)
        env["MASTERDATA_SOURCES"] = str(made.city / "sources")
        for name, args in (("ingest", ("ingest",)), ("build", ("build", "--json")),
                           ("quality", ("quality", "run", "--json"))):
            made.outputs[name] = run_cli(*args, env=env, timeout=900)
        return made

    def copy(self, dest: Path, persons: int = 1500, seed: int = 7) -> BuiltCity:
        """A copy at ``dest`` (which must not exist) of the city of ``persons`` people generated with
        ``seed`` (the command line's default seed), made by ``generate --no-day2``, ``ingest``,
        ``build --json`` and ``quality run --json``."""
        key = (persons, seed)
        if key not in self._made:
            made = self._make(persons, seed)
            self._made[key] = (made, _fingerprint(made.root))
        made, _ = self._made[key]
        self.check()
        shutil.copytree(made.root, dest)
        return BuiltCity(dest, made.outputs)

    def check(self) -> None:
        """Fail if any original city was written to since it was made."""
        for made, print_ in self._made.values():
            assert _fingerprint(made.root) == print_, f"a test wrote into the shared city {made.root}; copy it first"


@pytest.fixture(scope="session")
def cities(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cities]:
    made = Cities(tmp_path_factory)
    yield made
    made.check()
