"""The audit log's upkeep in a server process: counted refusals written, checkpoints anchored.

A background thread (one per worker) wakes every second: it writes the refusal counts of the minutes
that are over (:class:`~warehouse.api.service.audit.RefusalTally`) and, every
``MASTERDATA_AUDIT_ANCHOR_EVERY`` seconds, anchors the log's head in PostgreSQL
(:mod:`warehouse.api.anchor`) unless the anchor already holds it.  On shutdown it writes what is left
and anchors once more, so a stopped server leaves its whole log covered.  An unreachable anchor is
logged (once a minute) and tried again: the service answers on, and ``masterdata doctor`` says so.
"""

from __future__ import annotations

import logging
import threading
import time

from warehouse.api.anchor import Anchor, Record
from warehouse.api.service.audit import RefusalTally
from warehouse.api.store import Store

log = logging.getLogger("masterdata.serve")


def checkpoint(store: Store, anchor: Anchor) -> Record | None:
    """Anchor the log's head now, unless the anchor's newest record already names it."""
    seq, head_hash = store.head()
    last = anchor.last()
    if seq == 0 or (last is not None and (last.seq, last.hash) == (seq, head_hash)):
        return None
    return anchor.write("checkpoint", seq, head_hash)


class AuditUpkeep:
    """The thread that writes counted refusals and anchors checkpoints."""

    def __init__(self, store: Store, tally: RefusalTally, anchor: Anchor | None, every: float) -> None:
        self.store = store
        self.tally = tally
        self.anchor = anchor
        self.every = max(0.1, every)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._next_checkpoint = time.monotonic() + self.every
        self._complained = 0.0

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._loop, name="audit-upkeep", daemon=True)
            self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(min(1.0, self.every)):
            self.tick()

    def tick(self, everything: bool = False) -> None:
        """One round: write the counts that are due, anchor if it is time (or ``everything``: both now)."""
        try:
            self.tally.flush(self.store, everything)
        except Exception:  # the next round tries again; the counts stay in the tally
            log.exception("writing counted refusals to the audit log failed")
        if self.anchor is None or (not everything and time.monotonic() < self._next_checkpoint):
            return
        self._next_checkpoint = time.monotonic() + self.every
        try:
            checkpoint(self.store, self.anchor)
        except Exception as exc:
            if time.monotonic() - self._complained > 60:
                self._complained = time.monotonic()
                log.error("audit checkpoint failed: %s", str(exc).splitlines()[0] if str(exc) else type(exc).__name__)

    def stop(self) -> None:
        """Stop the thread, then write everything counted and anchor the final head."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        self.tick(everything=True)
