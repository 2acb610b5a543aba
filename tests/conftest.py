"""Fixtures shared across the test packages.

``cities``: generated and built cities, each made once per session and handed out as copies (see
:class:`Cities`) - the serving, console, command-line, Spark and small-city tests share one.

Bytecode: the tests start hundreds of Python processes (every ``masterdata`` command, every Airflow
command, every server), and where ``PYTHONDONTWRITEBYTECODE`` is set (container images set it) each
one compiles every module it imports from source: ~2.7 s of CPU for the pipeline's imports and
~4.6 s for Airflow's, against ~0.9 s and ~2.1 s from bytecode. So the session writes bytecode, outside the
source tree: into ``PYTHONPYCACHEPREFIX`` (``var/pycache`` unless set), for itself and every process
it starts.

Parallel runs (pytest-xdist, ``-n 2 --dist loadfile`` in ``pyproject.toml``): each worker is a pytest
session of its own, so what must not be shared is made per worker and what is costly is made once
for the whole run:

* databases: every test database name starts with ``MASTERDATA_TEST_DB_PREFIX`` (``test_`` unless
  set), to which each worker appends its id (``test_gw0_``), so two workers never drop or fill each
  other's PostgreSQL or MariaDB databases or roles;
* the generated cities (``cities``; the synthetic generator's, ``tests/synthetic/conftest.py``) are
  made once for the run (:func:`made_once`), in the folder the workers share, under a file lock:
  the first worker to need one makes it, the other waits for it;
* work is handed out a file at a time (fixtures of module scope are made once), or a folder at a
  time (:data:`ONE_WORKER`: the console's), files and folders holding a test marked ``slow``
  first, so that the longest ones do not start last (:func:`pytest_collection_modifyitems`,
  :func:`pytest_xdist_make_scheduler`).

``browser``: one browser for the whole session. Playwright's sync API runs an event loop in the
calling thread, so a second ``sync_playwright()`` while the first is open fails ("Sync API inside
the asyncio loop"). The console's tests and the analysts' report test both take this fixture.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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

#: this process's pytest-xdist worker ("gw0", "gw1", ...); None in a serial run and in the controller
WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _worker_db_prefix() -> None:
    """Each worker's own test databases: the worker id appended to ``MASTERDATA_TEST_DB_PREFIX``
    (read by the test modules when they are imported, after this file)."""
    base = os.environ.get("MASTERDATA_TEST_DB_PREFIX", "test_")
    if WORKER and not base.endswith(f"{WORKER}_"):
        os.environ["MASTERDATA_TEST_DB_PREFIX"] = f"{base}{WORKER}_"


_worker_db_prefix()


def _worker_main_file() -> None:
    """A worker's ``__main__`` with the file a serial run's has (the pytest script). pytest-xdist
    runs tests under execnet's ``__main__``, which has none; ``pyspark.sql.connect`` (imported by
    Great Expectations when pyspark is installed) takes such a main module for a doctest run and,
    without grpc, calls ``sys.exit(0)`` - every test that imports Great Expectations then fails."""
    main = sys.modules["__main__"]
    if WORKER and getattr(main, "__spec__", None) is None and not hasattr(main, "__file__"):
        main.__file__ = str(Path(sys.executable).with_name("pytest"))


_worker_main_file()


#: folders whose tests a parallel run hands to one worker together, and why
ONE_WORKER = {
    "tests/console/": "the console's tests share one served city (fixtures of package scope) and the "
                      "screenshot folder, which the first of them empties",
}


def _work_unit(nodeid: str) -> str:
    """What a parallel run hands to one worker at a time: the test's file, or its folder when the
    folder is in :data:`ONE_WORKER`. (pytest-xdist's own ``--dist loadgroup`` cannot do it: under
    pytest 9 its ``xdist_group`` marks are not seen by the scheduler.)"""
    file = nodeid.split("::", 1)[0]
    return next((folder for folder in ONE_WORKER if file.startswith(folder)), file)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """In a parallel run, the files and folders holding a test marked ``slow`` come first (each kept
    whole, otherwise in collection order): a worker that picks up a five-minute test near the end
    would leave the other idle. Every worker collects the same order, as pytest-xdist requires."""
    if not WORKER:
        return
    slow = {_work_unit(i.nodeid) for i in items if i.get_closest_marker("slow")}
    items.sort(key=lambda i: _work_unit(i.nodeid) not in slow)  # stable: the order within each part is kept


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """``--dist loadfile`` with the folders of :data:`ONE_WORKER` as one unit each, handed out in the
    order above (plain loadfile would start the files with the most tests first)."""
    if config.getvalue("dist") != "loadfile":
        return None
    from xdist.scheduler import LoadFileScheduling

    class FilesAndFolders(LoadFileScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return _work_unit(nodeid)

    config.option.loadscopereorder = False
    return FilesAndFolders(config, log)


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


def _shared_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder of what is made once for the whole run: the base temporary folder, which the
    parallel workers' own (``.../popen-gw0``) sit in; a serial run's own."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if WORKER else base


@contextmanager
def _run_lock(path: Path) -> Iterator[None]:
    """One holder at a time across the run's processes (an advisory lock on ``path``, released when
    the holder's file closes, also when it dies)."""
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], object]) -> Path:
    """The folder ``name`` that ``make(folder)`` fills, made once for the whole run: in a parallel
    run by the first worker that asks, under a lock the others wait on; a folder left half made by
    a worker that died (no ``.done`` marker beside it) is made anew. What is made here is shared:
    tests read it, or copy it first."""
    folder = _shared_folder(tmp_path_factory) / name
    done = folder.with_name(name + ".done")
    with _run_lock(folder.with_name(name + ".lock")):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)
            make(folder)
            done.touch()
    return folder


class Cities:
    """Generated and built cities, made once per run and handed out as copies.

    Generating, ingesting and building a 1,500-person city takes the better part of a minute of
    CPU; copying the result (~40 MB) takes a fraction of a second. Every test module that needs such
    a city asks for a copy of its own, so a test that changes its home (keys, users, a steward's
    decision, a rebuild, a landed file) cannot be seen by another; the original is checked unchanged
    before every copy and at the end of the session, so a test that wrote into it fails.

    In a parallel run the workers share one original (:func:`made_once`): the first to need it
    makes it and records what the commands printed and every file's size and time beside it; the
    others wait for it and read that record.
    """

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._made: dict[tuple[int, int], tuple[BuiltCity, list[tuple[str, int, int]]]] = {}

    @staticmethod
    def _make(root: Path, persons: int, seed: int) -> BuiltCity:
        from tests.serving.conftest import base_env, run_cli

        made = BuiltCity(root, {})
        env = base_env(made.home)
        made.outputs["generate"] = run_cli("generate", "--persons", str(persons), "--seed", str(seed),
                                           "--out", str(made.city), "--no-day2", env=env)
        env["MASTERDATA_SOURCES"] = str(made.city / "sources")
        for name, args in (("ingest", ("ingest",)), ("build", ("build", "--json")),
                           ("quality", ("quality", "run", "--json"))):
            made.outputs[name] = run_cli(*args, env=env, timeout=900)
        return made

    def _get(self, persons: int, seed: int) -> tuple[BuiltCity, list[tuple[str, int, int]]]:
        """The run's city of ``persons`` and ``seed`` (:func:`made_once`), with the record its maker
        left beside it: what each command printed, and every file's size and time."""
        name = f"city{persons}s{seed}"
        record = _shared_folder(self._tmp) / f"{name}.json"

        def make(root: Path) -> None:
            made = self._make(root, persons, seed)
            record.write_text(json.dumps({
                "outputs": {k: [o.args, o.returncode, o.stdout, o.stderr] for k, o in made.outputs.items()},
                "fingerprint": _fingerprint(root)}), encoding="utf-8")

        root = made_once(self._tmp, name, make)
        saved = json.loads(record.read_text(encoding="utf-8"))
        outputs = {k: subprocess.CompletedProcess(*o) for k, o in saved["outputs"].items()}
        return BuiltCity(root, outputs), [tuple(f) for f in saved["fingerprint"]]

    def copy(self, dest: Path, persons: int = 1500, seed: int = 7) -> BuiltCity:
        """A copy at ``dest`` (which must not exist) of the city of ``persons`` people generated with
        ``seed`` (the command line's default seed), made by ``generate --no-day2``, ``ingest``,
        ``build --json`` and ``quality run --json``."""
        key = (persons, seed)
        if key not in self._made:
            self._made[key] = self._get(persons, seed)
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
