"""The gold store's file: one DuckDB file holding the master libraries, replaced atomically.

Where it lives: ``$MASTERDATA_GOLD`` if set, else ``$MASTERDATA_HOME/warehouse/gold.duckdb``, else
``var/warehouse/gold.duckdb``.  Readers (the HTTP service, analysts, the steward commands) open it
read-only (:func:`open_gold`); a build never writes the file readers have open.  It copies the
current file (or starts empty) to a temporary sibling, works there, closes it and renames it over
the old one (:class:`GoldBuild`), flushed to disk first (:func:`core.files.publish_file`).  On
POSIX the rename is atomic: a reader sees the old file or the new one, never half a build, and
keeps reading the old one until it reopens (the HTTP service serves a snapshot of one build per
request, :mod:`warehouse.api.index`).  Builders take an
exclusive lock on a ``.lock`` sibling, so two builds never race; holding it, a build first removes
the temporary files of builds that were killed.

Steward decisions are *not* in the rebuilt file: they are an append-only JSON-lines log beside it
(``steward_decisions.jsonl``, or ``$MASTERDATA_STEWARD``) that every build reads and honours, and
copies into the ``steward_decisions`` table for readers.

What the file holds is the gold writer's (:mod:`pipelines.masters.store`,
:mod:`pipelines.masters.gold_writer`; ``review_levels``: what each comparison level added to a
queued pair's weight, :mod:`pipelines.masters.review_levels`).

What a delta build needs - every resolved record with its features, the source records, term
frequencies, consumed batches - is *not* in the gold file but in the **state file** beside it
(``gold.state.duckdb``, :func:`state_path`; the build attaches it as ``state``).  It is most of the
bytes (52 M resolved and source records at seed scale) and no reader needs it, so copying it with
the gold file at every build - the copy is what makes the gold file's replacement atomic - would
cost a delta more than its own work.  The state file is changed in place instead, under the build
lock, and trusted only when it is known whole (:func:`pipelines.masters.build.plan`): a master's
row of ``state.meta`` is deleted before its state is touched and written back, naming the build,
when the state is complete; a delta runs only when that build is also the gold file's latest build
of the master.  A build that dies midway, or between finishing the state and renaming the gold
file, therefore leaves a state the next build does not trust: it builds that master in full.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from concurrent.futures import Future, ThreadPoolExecutor, wait
from contextlib import AbstractContextManager
from pathlib import Path

import duckdb

from core.errors import RunFailed
from core.files import publish_file
from core.locks import exclusive
from core.settings import settings

STEWARD_FILE = "steward_decisions.jsonl"


def gold_path() -> Path:
    """The gold file: ``$MASTERDATA_GOLD``, else ``$MASTERDATA_HOME/warehouse/gold.duckdb``."""
    return settings().gold


def state_path(gold: Path | None = None) -> Path:
    """The state file of a gold file: ``gold.duckdb`` -> ``gold.state.duckdb`` beside it."""
    gold = gold or gold_path()
    return gold.with_name(f"{gold.stem}.state{gold.suffix or '.duckdb'}")


def steward_path(gold: Path | None = None) -> Path:
    """The steward decision log: ``$MASTERDATA_STEWARD``, else beside the gold file."""
    s = settings()
    return s.steward or (gold or s.gold).parent / STEWARD_FILE


def open_gold(path: Path | None = None, read_only: bool = True) -> duckdb.DuckDBPyConnection:
    """A connection to the gold file (read-only by default); FileNotFoundError if none was built."""
    path = path or gold_path()
    if not path.exists():
        raise FileNotFoundError(f"no gold store at {path}: run `masterdata build` first")
    return duckdb.connect(str(path), read_only=read_only)


def build_lock(path: Path) -> AbstractContextManager[None]:
    """Exclusive lock for the duration of a build (blocks until the previous build finishes)."""
    return exclusive(path.with_name(path.name + ".lock"))


def remove_dead_builds(final: Path) -> list[Path]:
    """Delete the temporary files of builds that died (a SIGKILL runs no cleanup): call only under
    :func:`build_lock`, when no other build can be writing one. Returns what was removed."""
    dead = sorted(final.parent.glob(f".{final.name}.*.building")) + sorted(
        final.parent.glob(f".{final.name}.*.building.wal"))
    for p in dead:
        p.unlink(missing_ok=True)
    return dead


class GoldBuild:
    """A build in progress: a temporary copy of the gold file, renamed over it on :meth:`commit`.

    The copy runs in a background thread from the moment the build starts (the kernel's
    ``sendfile`` releases the GIL), so it overlaps the build's own start - opening the work database,
    installing the standard's code tables and macros, ~3 s - instead of preceding it; :meth:`ready`
    waits for it (at seed scale a ~14 GB file, ~40 s from disk).  ``path`` is the temporary file to
    ATTACH once :meth:`ready` returned; ``previous`` is True when it started as a copy of an existing
    gold file (whose tables are then visible in it).
    """

    def __init__(self, final: Path | None = None, fresh: bool = False) -> None:
        self.final = final or gold_path()
        self.final.parent.mkdir(parents=True, exist_ok=True)
        remove_dead_builds(self.final)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.final.name}.", suffix=".building", dir=self.final.parent)
        os.close(fd)
        self.path = Path(tmp)
        self.path.unlink()  # DuckDB creates the file itself; an empty file is not a database
        self.previous = self.final.exists() and not fresh
        self._copy: Future[object] | None = None
        if self.previous:
            self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="gold-copy")
            self._copy = self._pool.submit(shutil.copyfile, self.final, self.path)
            self._pool.shutdown(wait=False)
        self.done = False

    def ready(self) -> Path:
        """The temporary file, once the copy of the previous gold file is complete (its error, if
        it failed: a full disk is named by the OS error with the file)."""
        if self._copy is not None:
            self._copy.result()
        return self.path

    def commit(self) -> None:
        """Atomically replace the gold file by the finished build (call after DETACH)."""
        wal = self.path.with_name(self.path.name + ".wal")
        if wal.exists():
            raise RunFailed(f"{self.path}: still open (WAL present); detach before commit")
        publish_file(self.path, self.final)
        self.done = True

    def abort(self) -> None:
        if self._copy is not None:  # let a copy still running finish before its file is removed
            wait([self._copy])
        for p in (self.path, self.path.with_name(self.path.name + ".wal")):
            if p.exists():
                p.unlink()

    def __enter__(self) -> GoldBuild:
        return self

    def __exit__(self, *exc: object) -> None:
        if not self.done:
            self.abort()
