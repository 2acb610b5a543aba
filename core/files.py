"""Publishing a finished file: durable first, then visible in one atomic step.

A reader must see the previous version of a file or the next one, never half of one - and after a
crash the next one must not turn out empty or torn.  ``os.replace`` alone gives the first (a rename
is atomic on POSIX) but not the second: the new file's data may still be in the page cache when
the rename reaches the disk.  :func:`publish_file` therefore flushes the file, renames it, then
flushes the directory that records the rename.
"""

from __future__ import annotations

import os
from pathlib import Path


def fsync_path(path: Path) -> None:
    """Flush a file's (or a directory's) data and metadata to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def publish_file(tmp: Path, final: Path) -> None:
    """Replace ``final`` by the finished ``tmp`` (a sibling): fsync, rename, fsync the folder."""
    if tmp.parent.resolve() != final.parent.resolve():
        raise ValueError(f"{tmp} and {final} must be in one folder for an atomic rename")
    fsync_path(tmp)
    os.replace(tmp, final)
    fsync_path(final.parent)
