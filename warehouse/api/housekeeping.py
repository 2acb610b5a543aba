"""Keeping the serving store small: expired state purged, the WAL checkpointed and cut back.

Under load the store grew without bound: every auto-fill stores a preview (the whole pre-filled form,
kilobytes) that an applicant who never consents leaves behind, expired applicant sessions stayed, and
the WAL - checkpointed PASSIVE, which never shrinks the file - reached hundreds of megabytes.  One
background thread per deployment (the worker that holds ``<store>.housekeeping.lock``; the others
stand by) now

* checkpoints every second (PASSIVE, so no request waits) and, when the WAL has outgrown
  :data:`WAL_LIMIT`, with TRUNCATE - which waits for the writers of the moment and cuts the file back;
  every connection also sets ``journal_size_limit``, so a reset WAL is truncated to the limit;
* purges every :data:`PURGE_EVERY` seconds: sessions past their expiry, unconsented previews older
  than ``preview_ttl`` and, per applicant, all but the newest :data:`PREVIEWS_PER_APPLICANT` of them
  (a flood of auto-fills for one person cannot fill the disk within the TTL either); the pages they
  freed are reused by the next writes, so the file stops growing at the live state's size.

The audit log is never touched here: it is append-only and its retention is the audit's own matter.
"""

from __future__ import annotations

import fcntl
import logging
import sqlite3
import threading
import time
from datetime import timedelta
from pathlib import Path

from warehouse.api.store import iso, now_utc

log = logging.getLogger("masterdata.serve")

#: a WAL past this size (bytes) is checkpointed with TRUNCATE; every connection's journal_size_limit
WAL_LIMIT = 8 * 1024 * 1024
PURGE_EVERY = 2.0
PREVIEWS_PER_APPLICANT = 20


def wal_size(store: Path) -> int:
    wal = store.with_name(store.name + "-wal")
    try:
        return wal.stat().st_size
    except FileNotFoundError:
        return 0


def purge(con: sqlite3.Connection, preview_ttl: float, keep_per_applicant: int = PREVIEWS_PER_APPLICANT
          ) -> tuple[int, int]:
    """Delete expired sessions and stale previews; returns (sessions, previews) deleted."""
    now = now_utc()
    sessions = con.execute("DELETE FROM sessions WHERE expires_at < ?", (iso(now),)).rowcount
    previews = con.execute("DELETE FROM applications WHERE status = 'preview' AND created_at < ?",
                           (iso(now - timedelta(seconds=preview_ttl)),)).rowcount
    previews += con.execute(
        "DELETE FROM applications WHERE application_id IN (SELECT application_id FROM (SELECT application_id, "
        "row_number() OVER (PARTITION BY applicant_master_id ORDER BY created_at DESC) AS n FROM applications "
        "WHERE status = 'preview') WHERE n > ?)", (keep_per_applicant,)).rowcount
    return sessions, previews


class Housekeeping:
    """The background thread of one server process (idle unless it holds the deployment's lock)."""

    def __init__(self, store: Path, preview_ttl: float, every: float = 1.0) -> None:
        self.store = store
        self.preview_ttl = preview_ttl
        self.every = every
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.purged = [0, 0]

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="serving-store-housekeeping", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        lock_path = self.store.with_name(self.store.name + ".housekeeping.lock")
        with open(lock_path, "a+") as lock:
            while not self._stop.is_set():  # one worker keeps house; another takes over if it dies
                try:
                    fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except OSError:
                    if self._stop.wait(5.0):
                        return
            con = connect(self.store)
            try:
                self._loop(con)
            finally:
                con.close()

    def _loop(self, con: sqlite3.Connection) -> None:
        last_purge = 0.0
        while not self._stop.wait(self.every):
            try:
                if time.monotonic() - last_purge >= PURGE_EVERY:
                    last_purge = time.monotonic()
                    got = purge(con, self.preview_ttl)
                    self.purged = [self.purged[0] + got[0], self.purged[1] + got[1]]
                mode = "TRUNCATE" if wal_size(self.store) > WAL_LIMIT else "PASSIVE"
                con.execute(f"PRAGMA wal_checkpoint({mode})")
            except sqlite3.OperationalError as exc:  # busy now: the next round tries again
                log.debug("serving store housekeeping deferred: %s", exc)


def connect(store: Path) -> sqlite3.Connection:
    """A connection for the housekeeping thread (its own: it never shares the request path's lock)."""
    con = sqlite3.connect(store, isolation_level=None, check_same_thread=False, timeout=5)
    con.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
    con.execute("CREATE INDEX IF NOT EXISTS applications_status ON applications (status, created_at)")
    return con

