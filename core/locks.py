"""One exclusive lock on a file, held across processes for the length of a ``with`` block.

Two writers of the same artefact (two builds of the gold store, two servers building the same read
model) must take turns: the second blocks until the first is done, then finds its work done or
does it on the newer input.  ``flock`` is released by the kernel if the holder dies, so a killed
build never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def exclusive(lock_file: Path) -> Iterator[None]:
    """Block until ``lock_file`` (created with its folder if missing) is locked by us; unlock on exit."""
    lock_file.parent.mkdir(parents=True, exist_ok=True)
    with open(lock_file, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)
