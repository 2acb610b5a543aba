"""Ingest many source tables at once: one (source, table) per unit of work, the largest first.

``masterdata ingest`` runs every table of every source it was asked for.  Parts of a table's run
are single-threaded (reading SQLite rows in Python, a small table's fixed costs: binding the
standardise statement, writing small Parquet files) while others use DuckDB's threads, so one
process keeps ~1.3 of 2 cores busy.  With ``jobs`` > 1 the tables run in that many worker
processes at once, each with a connection of its own (:func:`core.db.connect`, opened in the worker:
a DuckDB connection must not cross a fork, and the workers are started with ``spawn``).

The unit is a table, not a source: one source (public security) holds about a quarter of a city's
records in three large tables.  Units are started largest first (:func:`estimate`), so a large
table never starts last while the other workers sit idle.

Memory is bounded by design: ``MASTERDATA_DUCKDB_MEMORY`` is what one ingest command's DuckDB may
hold, so each of ``jobs`` workers gets ``1/jobs`` of it (:func:`worker_memory`), and
``cores // jobs`` DuckDB threads, so the workers do not oversubscribe the cores.

Nothing about a table's run changes: it is :func:`pipelines.ingest.ingest_table`, with its lock
(:meth:`pipelines.lake.Lake.table_session`: a second run of the same table still fails at once),
its batches in delivery order, its deletes and its files set aside.  A table that fails is
reported in one line (redacted, as any error) and the others still load; when its source cannot be
reached, that source's tables not started yet are not tried (they would wait for the same server).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

import duckdb

from core.errors import ConfigurationError, MasterdataError, UnavailableError, redact
from core.settings import memory_bytes, settings
from pipelines import landing
from pipelines.connections import SourceEnvironment
from pipelines.extract import FILE_READERS
from pipelines.ingest import BatchOutcome, ingest_table
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, Table, registry

#: the default ``jobs`` never exceeds this many workers, whatever the machine's cores
MAX_DEFAULT_JOBS = 8
#: the default ``jobs`` leaves each worker at least this much of ``MASTERDATA_DUCKDB_MEMORY``
DEFAULT_WORKER_MEMORY = 2**30
#: a run estimated smaller than this (rows) defaults to one job: starting a worker (its interpreter,
#: the registry, the standard installed in its connection: ~3.5 s of CPU) costs more than it saves
SMALL_RUN_ROWS = 100_000
#: below this share a worker's DuckDB cannot hold a batch's working tables: ``--jobs`` is refused
MIN_WORKER_MEMORY = 256 * 2**20
#: bytes of a landed file per row-equivalent of work, by format (measured on a generated city:
#: ~150 bytes a CSV row, ~200 a JSON line; a workbook row ~90 bytes, but openpyxl reads it ~10x
#: slower than the other formats, so it counts as ten rows)
FILE_BYTES_PER_ROW = {"csv": 150, "jsonl": 200, "excel": 9}


@dataclass(frozen=True)
class Unit:
    """One source table to ingest, and how large its run is expected to be (in rows; None: unknown)."""

    source: str
    table: str
    estimate: int | None = None


@dataclass
class UnitResult:
    """What one unit's run gave: its outcomes, or the one line saying why it failed."""

    unit: Unit
    outcomes: list[BatchOutcome] = field(default_factory=list)
    #: one line (redacted) naming the source and what went wrong; None when the table was ingested
    error: str | None = None
    #: the source could not be reached: its other tables would wait for the same server
    unavailable: bool = False
    #: not tried, because another table of its source found the source unavailable
    not_run: bool = False


def machine_cores() -> int:
    """The cores this process may run on (the affinity mask in a container; ``os.cpu_count`` else)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # pragma: no cover - not on Linux
        return os.cpu_count() or 1


def default_jobs(units: list[Unit]) -> int:
    """The machine's cores, at most :data:`MAX_DEFAULT_JOBS`, and no more workers than get
    :data:`DEFAULT_WORKER_MEMORY` each of ``MASTERDATA_DUCKDB_MEMORY``; one for a small run
    (:data:`SMALL_RUN_ROWS`, from the units' estimates, when all are known)."""
    sizes = [u.estimate for u in units]
    if None not in sizes and sum(s or 0 for s in sizes) < SMALL_RUN_ROWS:
        return 1
    by_memory = memory_bytes(settings().duckdb_memory) // DEFAULT_WORKER_MEMORY
    return max(1, min(machine_cores(), MAX_DEFAULT_JOBS, by_memory))


def worker_memory(jobs: int) -> str:
    """Each worker's DuckDB memory limit: ``MASTERDATA_DUCKDB_MEMORY`` / ``jobs``, so all workers
    together stay within the setting; :class:`ConfigurationError` when that share is too small."""
    budget = settings().duckdb_memory
    share = memory_bytes(budget) // jobs
    if share < MIN_WORKER_MEMORY:
        raise ConfigurationError(
            f"--jobs {jobs} would leave each worker {share // 2**20} MiB of MASTERDATA_DUCKDB_MEMORY={budget} "
            f"(at least {MIN_WORKER_MEMORY // 2**20} MiB each is needed): use fewer jobs or a larger setting")
    return f"{share // 2**20}MiB"


def worker_threads(jobs: int) -> int:
    """DuckDB threads of each worker: the cores shared out, at least one."""
    return max(1, machine_cores() // jobs)


# --------------------------------------------------------------------------------------------
# the units and their sizes
# --------------------------------------------------------------------------------------------
def estimate(spec: SourceSpec, table: Table, env: SourceEnvironment, lake: Lake) -> int | None:
    """How many rows the table's run is expected to handle, from what costs nothing to look at:
    the landed files' sizes (a file source), the table's largest rowid (an embedded SQLite table:
    one index lookup), else the rows its committed batches brought so far (a server table).
    No data is read; None when nothing is known (a server table never loaded: such tables start
    after those known to hold rows, before those known to be empty)."""
    kind = spec.connection.kind
    if kind in FILE_READERS:
        size = sum(_file_size(p) for p in landing.candidates(env.files_dir, table.path or "")) \
            if env.files_dir.is_dir() else 0
        return size // FILE_BYTES_PER_ROW[kind]
    if env.effective_kind(spec) == "sqlite":
        return _sqlite_rows(env, spec, table)
    loaded = lake.committed_batches(spec.source, table.name)
    return sum(b.extracted for b in loaded) if loaded else None


def _file_size(path: Path) -> int:
    """The file's own size (a symbolic link is not followed: it will be set aside unread)."""
    try:
        return path.lstat().st_size
    except OSError:
        return 0


def _sqlite_rows(env: SourceEnvironment, spec: SourceSpec, table: Table) -> int:
    """The table's largest rowid: its row count for a table only ever appended to, read from the
    end of its B-tree (0 when the file, the table or its rowid is missing)."""
    path = env.sqlite_file(spec.connection.database or "")
    if not path.is_file():
        return 0
    try:
        con = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        try:
            name = '"' + table.name.replace('"', '""') + '"'
            row = con.execute(f"SELECT max(rowid) FROM {name}").fetchone()
        finally:
            con.close()
    except sqlite3.Error:
        return 0
    return int(row[0] or 0) if row else 0


def plan(names: list[str], env: SourceEnvironment, lake: Lake, estimated: bool = True) -> list[Unit]:
    """The tables of the named sources as units, in the registry's order, each with its
    :func:`estimate` (unknown unless ``estimated``: one job needs none)."""
    specs = registry()
    return [Unit(name, t.name, estimate(specs[name], t, env, lake) if estimated else None)
            for name in names for t in specs[name].tables]


# --------------------------------------------------------------------------------------------
# running a unit
# --------------------------------------------------------------------------------------------
def run_unit(spec: SourceSpec, unit: Unit, env: SourceEnvironment, lake: Lake,
             con: duckdb.DuckDBPyConnection) -> UnitResult:
    """One table of ``spec`` ingested on ``con``; a failure is caught and said in one line (the
    other tables go on)."""
    table = next(t for t in spec.tables if t.name == unit.table)
    try:
        return UnitResult(unit, ingest_table(spec, table, env, lake, con=con))
    except MasterdataError as exc:
        return UnitResult(unit, error=exc.one_line(), unavailable=isinstance(exc, UnavailableError))
    except Exception as exc:  # a defect met in one table's data must not stop the other tables
        text = redact(" ".join((str(exc).splitlines() or [""])[0].split())[:300])
        return UnitResult(unit, error=f"source {unit.source} table {unit.table}: {type(exc).__name__}: {text}")


#: the worker process's own connection (opened by :func:`_start_worker`, in the worker)
_WORKER_CON: duckdb.DuckDBPyConnection | None = None


def _start_worker(parent: int, memory: str, threads: int) -> None:
    """A worker's start: it dies with the command, and opens its connection (its share of memory)."""
    global _WORKER_CON
    from core.db import connect
    from core.errors import redact_logs

    _die_with(parent)
    redact_logs()
    _WORKER_CON = connect(memory)
    _WORKER_CON.execute(f"SET threads = {int(threads)}")


def _die_with(parent: int) -> None:
    """Have the kernel kill this worker when the command that started it dies (Linux), as a table
    run in the command's own process would: a killed ``masterdata ingest`` leaves no worker
    writing on, holding a table's lock against the next run (which cleans up what was left)."""
    import ctypes
    import signal

    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):  # pragma: no cover - not on Linux
        return
    if os.getppid() != parent:  # the command died before the request took effect
        os._exit(1)


def _run_in_worker(spec: SourceSpec, unit: Unit, env: SourceEnvironment, lake: Lake) -> UnitResult:
    """A unit in a worker process; the spec comes with it (a worker need not load the registry)."""
    assert _WORKER_CON is not None, "the worker's connection is opened by its initializer"
    return run_unit(spec, unit, env, lake, _WORKER_CON)


# --------------------------------------------------------------------------------------------
# running them all
# --------------------------------------------------------------------------------------------
@dataclass
class Started:
    """A unit was handed to a worker (or, with one job, is about to run)."""

    unit: Unit


Event = Started | UnitResult


def run_units(units: list[Unit], jobs: int, env: SourceEnvironment, lake: Lake) -> Iterator[Event]:
    """Run ``units`` on ``jobs`` workers, telling when each starts and how each ended.

    With one job (or one unit) everything runs in this process on one connection, in the given
    order, as ``masterdata ingest`` always did; otherwise at most ``jobs`` units run at once in
    worker processes, handed out largest first (by their estimates; ties in the given order) as
    workers become free.  A share of memory too
    small for ``jobs`` workers is refused here, before anything starts (:func:`worker_memory`).
    """
    jobs = max(1, min(jobs, len(units)))
    if jobs == 1:
        return _in_process(units, env, lake)
    largest_first = sorted(units, key=lambda u: -1 if u.estimate is None else -u.estimate)
    return _in_workers(largest_first, jobs, env, lake, worker_memory(jobs), worker_threads(jobs))


def _in_process(units: list[Unit], env: SourceEnvironment, lake: Lake) -> Iterator[Event]:
    from core.db import connect

    unavailable: set[str] = set()
    con = connect()
    try:
        for unit in units:
            if unit.source in unavailable:
                yield UnitResult(unit, not_run=True)
                continue
            yield Started(unit)
            result = run_unit(registry()[unit.source], unit, env, lake, con)
            if result.unavailable:
                unavailable.add(unit.source)
            yield result
    finally:
        con.close()


def _in_workers(units: list[Unit], jobs: int, env: SourceEnvironment, lake: Lake, memory: str,
                threads: int) -> Iterator[Event]:
    specs = registry()
    queue = list(units)
    unavailable: set[str] = set()
    running: dict[Future[UnitResult], Unit] = {}
    broken: str | None = None  # why the pool can take no more work (a worker died)
    with ProcessPoolExecutor(jobs, mp_context=get_context("spawn"), initializer=_start_worker,
                             initargs=(os.getpid(), memory, threads)) as pool:
        try:
            while queue or running:
                while queue and len(running) < jobs:
                    unit = queue.pop(0)
                    if unit.source in unavailable:
                        yield UnitResult(unit, not_run=True)
                        continue
                    if broken is None:
                        try:
                            running[pool.submit(_run_in_worker, specs[unit.source], unit, env, lake)] = unit
                            yield Started(unit)
                            continue
                        except BrokenProcessPool as exc:
                            broken = _died(exc)
                    yield UnitResult(unit, error=f"source {unit.source} table {unit.table}: not run: {broken}")
                if not running:
                    continue
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    unit = running.pop(future)
                    try:
                        result = future.result()
                    except BrokenProcessPool as exc:
                        broken = _died(exc)
                        result = UnitResult(unit, error=f"source {unit.source} table {unit.table}: {broken}")
                    if result.unavailable:
                        unavailable.add(unit.source)
                    yield result
        finally:
            pool.shutdown(wait=True, cancel_futures=True)


def _died(exc: BrokenProcessPool) -> str:
    """Why the pool broke, in one line (a worker killed, out of memory, or its start failed)."""
    return redact(f"a worker process ended abruptly ({' '.join(str(exc).split())[:200]})")
