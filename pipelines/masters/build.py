"""Build the three master libraries from silver into the gold store: ``masterdata build``.

For each master, in dependency order (person, entity - whose legal representatives are persons -
then licence - whose holders are persons or entities), :func:`plan` picks how:

* ``full`` (:mod:`pipelines.masters.plan_full`): every current silver record is resolved from
  scratch (ids still carry over through the previous cross-reference);
* ``delta`` (:mod:`pipelines.masters.plan_delta`): when the gold file already holds the master,
  its configuration and the steward decisions about it are unchanged, and the lake only gained
  batches since, the new records are linked to the stored resolution;
* ``unchanged``: nothing new arrived; the master is left as it is.

Both planners run the same engine stages (:mod:`pipelines.resolve.engine`) and hand their result
to the one gold writer (:mod:`pipelines.masters.gold_writer`); what is particular to a master
(holder linkage, legal representatives, minted identifiers, status) is declared in its
configuration and run as hooks (:mod:`pipelines.masters.hooks`).  Everything is written into the
gold build file, which replaces the gold file atomically.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from core.db import connect
from core.errors import InputError
from core.settings import duckdb_share, settings
from core.sqltext import lit, q
from pipelines.lake import Lake
from pipelines.masters.config import MASTERS
from pipelines.masters.context import Context, MasterReport
from pipelines.masters.gold_file import GoldBuild, build_lock, gold_path, state_path, steward_path
from pipelines.masters.hooks import forget, references, side_tables
from pipelines.masters.plan_delta import build_delta
from pipelines.masters.plan_full import build_full
from pipelines.masters.records import committed_files
from pipelines.masters.store import (
    STATE_BUILDS_SQL,
    ensure_schema,
    exists,
    state_exists,
    write_steward_decisions,
)
from pipelines.masters.survivorship import lineage_view_sql
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql
from pipelines.resolve.steward import StewardLog
from pipelines.steps import StepListener

ORDER = MASTERS  # person, entity, licence


class BuildError(InputError):
    """A build that cannot run (one line for the command line)."""


@dataclass
class BuildReport:
    build_id: str
    gold: Path
    masters: list[MasterReport] = field(default_factory=list)
    seconds: float = 0.0
    written: bool = False

    def as_dict(self) -> dict[str, object]:
        """The report for scripts (``masterdata build --json``)."""
        return {"build_id": self.build_id, "gold": str(self.gold), "written": self.written,
                "seconds": round(self.seconds, 3), "masters": [asdict(r) for r in self.masters]}

    def render(self) -> str:
        lines = [f"build {self.build_id} -> {self.gold}" + ("" if self.written else " (nothing new: not rewritten)")]
        lines += ["  " + r.line() for r in self.masters]
        lines.append(f"  total {self.seconds:.1f}s")
        return "\n".join(lines)


#: What the build's process holds outside DuckDB's memory limit, at most: the interpreter and its
#: libraries (~0.3 GB), the clustering's union-find (int arrays, ~30 bytes per linked node: ~0.1 GB
#: for a million persons' records), one chunk of candidate edges or of minted licence identifiers
#: (~0.2 GB each, see ``clustering.EDGE_CHUNK`` and ``licences.MINT_CHUNK``), and what DuckDB's
#: allocator holds beyond its pool.  Measured in benchmarks/RESULTS.md ("Build memory").
PYTHON_RESERVE = 1536 * 2**20

#: The least DuckDB may be left with: below it the build would spill nearly everything.
DUCKDB_MINIMUM = 512 * 2**20


def duckdb_memory(budget: str) -> int:
    """DuckDB's share (bytes) of the process budget ``budget`` (``$MASTERDATA_BUILD_MEMORY``): the
    budget minus :data:`PYTHON_RESERVE`, so the whole process - not only DuckDB - stays within it."""
    return duckdb_share(budget, PYTHON_RESERVE, DUCKDB_MINIMUM, "MASTERDATA_BUILD_MEMORY")


WORK_PREFIX = "masterdata-build-"


def work_connection(database: Path | None = None) -> duckdb.DuckDBPyConnection:
    """The work database with the standard's macros; the process stays within
    ``$MASTERDATA_BUILD_MEMORY`` (DuckDB gets :func:`duckdb_memory` of it, and spills past that).
    Insertion order is not preserved (no statement of the build relies on it, and dropping it lets
    DuckDB write in parallel).

    ``database``: a file for the build's scratch tables (:func:`work_file`), which DuckDB then
    stores compressed and pages in and out of its memory limit; None keeps them in memory."""
    return connect(f"{duckdb_memory(settings().build_memory) // 2**20}MiB", preserve_order=False,
                   database=str(database) if database else ":memory:")


@contextmanager
def work_file() -> Iterator[Path]:
    """A private file for the build's work database, under ``$MASTERDATA_TMP``, removed afterwards.

    At seed scale the build's scratch tables (person records with their features: ~52 M rows)
    are tens of gigabytes uncompressed - more than any memory budget, and DuckDB's spill files
    for TEMP tables are uncompressed too.  In a database file they are written compressed and
    only the pages a step reads are held in memory.  A killed build's file is removed by the next
    build (the folder names the process id)."""
    root = settings().tmp
    root.mkdir(parents=True, exist_ok=True)
    for old in root.glob(f"{WORK_PREFIX}*"):
        pid = old.name.removeprefix(WORK_PREFIX).split("-")[0]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(old, ignore_errors=True)
    folder = Path(tempfile.mkdtemp(prefix=f"{WORK_PREFIX}{os.getpid()}-", dir=root))
    try:
        yield folder / "work.duckdb"
    finally:
        shutil.rmtree(folder, ignore_errors=True)


#: How long a build waits for readers of the state file to let go (an explanation holds it for
#: well under a second; anything longer is a stuck process to be named, not waited for).
STATE_WAIT_SECONDS = 30.0


def attach_state(con: duckdb.DuckDBPyConnection, path: Path, wait: float = STATE_WAIT_SECONDS) -> None:
    """Attach the state file (created if missing) as ``state``, waiting up to ``wait`` seconds
    while a reader (a steward's explanation) holds it open; then fail, naming the file."""
    deadline = time.monotonic() + wait
    while True:
        try:
            con.execute(f"ATTACH {lit(str(path))} AS state")
            return
        except duckdb.IOException as e:
            if time.monotonic() >= deadline:
                raise BuildError(f"cannot open the state file {path} for writing after {wait:.0f}s (another "
                                 f"process holds it open): {str(e).splitlines()[0]}") from e
            time.sleep(0.2)


def plan(ctx: Context, master: str, full: bool) -> tuple[str, list[Path], list[str]]:
    """(mode, silver files to read, their batch keys) for one master.

    ``delta`` reads only the batches the state has not consumed; ``full`` reads all.  The state
    is trusted only when its ``meta`` row names the gold file's latest build of the master (see
    :mod:`pipelines.masters.gold_file`): a build that died while changing it, or after changing it
    but before its gold file was published, leaves no row or another build's.
    """
    sql = ctx.sql
    cfg = ctx.cfg(master)
    all_files, all_keys = committed_files(ctx.lake, master)
    if full or not state_exists(sql, f"{master}_rec") or not exists(sql, f"{master}_master"):
        return "full", all_files, all_keys
    meta = sql.rows("SELECT fingerprint, steward, build_id FROM state.main.meta WHERE master = ?", [master])
    if not meta or meta[0][0] != cfg.fingerprint() or meta[0][1] != ctx.steward.fingerprint(master):
        return "full", all_files, all_keys
    if not sql.one(f"SELECT gold_build = state_build FROM ({STATE_BUILDS_SQL}) WHERE master = ?", [master]):
        return "full", all_files, all_keys
    consumed = {r[0] for r in sql.rows("SELECT batch FROM state.main.batches WHERE master = ?", [master])}
    if not consumed <= set(all_keys):  # a batch vanished from the lake: start over
        return "full", all_files, all_keys
    new = [(f, k) for f, k in zip(all_files, all_keys) if k not in consumed]
    if not new:
        return "unchanged", [], []
    return "delta", [f for f, _ in new], [k for _, k in new]


def create_views(ctx: Context) -> None:
    """``attribute_lineage``: every golden value with the record it survived from (all masters)."""
    sql = ctx.sql
    parts = [lineage_view_sql(ctx.cfg(m)) for m in ORDER
             if exists(sql, f"{m}_master") and exists(sql, f"{m}_xref") and ctx.cfg(m).attributes]
    if not parts:
        return
    if exists(sql, "attribute_lineage"):  # a table in files written before it became a view
        sql.run("DROP TABLE gold.attribute_lineage")
    work = str(sql.one("SELECT current_database()"))
    sql.run("USE gold")  # stored unqualified, so the view resolves under any file name
    try:
        sql.run(f"CREATE OR REPLACE VIEW attribute_lineage AS {' UNION ALL '.join(parts)}")
    finally:
        sql.run(f"USE {q(work)}")


def remap_retired(ctx: Context) -> None:
    """Point references at the surviving id when the id they hold was merged away (chains followed).

    The references are the columns the masters' hooks fill with other masters' ids."""
    sql = ctx.sql
    refs = [r for m in ORDER for r in references(ctx.cfg(m))]
    for _ in range(5):  # a chain of merges across runs is short; each pass follows one step
        moved = 0
        for table, col in refs:
            if not exists(sql, table):
                continue
            before = int(sql.one(f"SELECT count(*) FROM gold.{table} AS t JOIN gold.id_registry AS r "
                                 f"ON r.master_id = t.{col} WHERE r.status = 'retired' AND r.successor_id IS NOT NULL")
                         or 0)
            if before:
                sql.run(f"UPDATE gold.{table} AS t SET {col} = r.successor_id FROM gold.id_registry AS r "
                        f"WHERE r.master_id = t.{col} AND r.status = 'retired' AND r.successor_id IS NOT NULL")
            moved += before
        if not moved:
            break


#: DuckDB's WAL size that triggers a checkpoint while a delta is applied: never, in effect.  A
#: delta's statements each commit a few thousand rows; past DuckDB's default (16 MB of WAL) the
#: commit that crosses it checkpoints the build file - rewriting every row group and loaded index
#: the delta touched so far - several times in one delta, each costing as much as the delta's own
#: statements.  The build file is a private copy no reader sees until it is renamed, and DETACH
#: checkpoints it once at the end; the WAL holds only the delta's changed rows.
DELTA_CHECKPOINT_THRESHOLD = "64GB"


def build_masters(ctx: Context, wanted: list[str], full: bool, report: BuildReport) -> bool:
    """Build each wanted master as :func:`plan` says; True when anything changed."""
    sql = ctx.sql
    ensure_schema(sql, {s.table(m): s.columns for m in ORDER for s in side_tables(ctx.cfg(m))})
    default_threshold = str(sql.one("SELECT current_setting('checkpoint_threshold')"))
    changed = False
    for m in wanted:
        sql.timings = {}
        mode, files, keys = plan(ctx, m, full)
        if mode == "unchanged":
            report.masters.append(MasterReport(m, "unchanged"))
            continue
        changed = True
        # from here until write_state puts it back, the master's state is not to be trusted
        sql.run("DELETE FROM state.main.meta WHERE master = ?", [m])
        threshold = DELTA_CHECKPOINT_THRESHOLD if mode == "delta" else default_threshold
        sql.run(f"SET checkpoint_threshold = {lit(threshold)}")
        ctx.delta = mode == "delta"
        with sql.step(f"{m} ({mode})", timed=False):
            forget(ctx, m)
            r = build_full(ctx, m, files, keys) if mode == "full" else build_delta(ctx, m, files, keys)
        r.timings = dict(sql.timings)
        sql.run("UPDATE gold.builds SET seconds = ? WHERE build_id = ? AND master = ?", [r.seconds, ctx.build_id, m])
        report.masters.append(r)
    if changed:
        remap_retired(ctx)
        write_steward_decisions(sql, ctx.steward.load())
        create_views(ctx)
    return changed


def build(masters: list[str] | None = None, *, lake: Lake | None = None, gold: Path | None = None,
          full: bool = False, as_of: date | None = None, config_dir: Path | None = None,
          verbose: bool = False, listener: StepListener | None = None) -> BuildReport:
    """Build (or incrementally update) the requested masters; see the module docstring.

    ``listener`` hears every step of every master (the command line's progress)."""
    wanted = [m for m in ORDER if m in (masters or ORDER)]
    unknown = sorted(set(masters or ()) - set(ORDER))
    if unknown:
        raise BuildError(f"unknown master(s) {', '.join(unknown)}; known: {', '.join(ORDER)}")
    lake = lake or Lake()
    gold = gold or gold_path()
    started = datetime.now(UTC)
    build_id = "B" + started.strftime("%Y%m%dT%H%M%S%f")[:-3]
    report = BuildReport(build_id, gold)
    t0 = time.perf_counter()
    steward = StewardLog(steward_path(gold))
    with build_lock(gold), GoldBuild(gold) as gb, work_file() as work:
        con = work_connection(work)
        sql = Sql(con, verbose=verbose, listener=listener, stored_scratch=True)
        # every master's steps may use the engine's macros (licences match holder ids by keystroke
        # variants), also when one master is built alone, as each task of the build DAG does
        install_resolve_macros(sql)
        con.execute(f"ATTACH {lit(str(gb.ready()))} AS gold")  # the copy ran while the connection was set up
        attach_state(con, state_path(gold))
        try:
            ctx = Context(sql, lake, steward, build_id, started.strftime("%Y-%m-%d %H:%M:%S"), as_of or date.today(),
                          config_dir)
            changed = build_masters(ctx, wanted, full, report)
        finally:
            con.execute("DETACH state")  # checkpointed before the gold file it belongs to is published
            con.execute("DETACH gold")
            con.close()
        if changed:
            gb.commit()
            report.written = True
    report.seconds = time.perf_counter() - t0
    return report
