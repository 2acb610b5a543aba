"""The landing folder: which delivered files ingest may read, and when a file is complete.

Departments drop files into ``<sources>/files/<table path pattern>``.  Each file is its own unit of
ingestion, so this module decides, file by file and before a byte is parsed:

* **may it be read at all?**  Only regular files that really live inside the landing folder: a
  symbolic link (to ``/etc/passwd``, say) or a path that leaves the folder is refused with a reason
  and never opened.  Files are opened with ``O_NOFOLLOW``, so a file swapped for a link after the
  check is refused too.
* **is it complete?**  A file still being written would be loaded half (and then again, whole,
  under another content hash).  Per source, the spec chooses how completeness is recognised:
  ``connection.settle_s`` - size and modification time unchanged for that many seconds (the
  default), or ``connection.done_marker: true`` - the sender writes ``<file>.done`` once the file
  is complete.  An incomplete file waits for a later run, and so do the files after it (in name
  order, which is delivery order), so the records of an older file never overwrite a newer one.
"""

from __future__ import annotations

import os
import stat
import time
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path

DONE_SUFFIX = ".done"


class FileReason(StrEnum):
    """Why a delivered file was set aside (the reason recorded in the lake's ``_state/set_aside``)."""

    SYMLINK = "SYMLINK"
    OUTSIDE_LANDING = "OUTSIDE_LANDING"
    NOT_A_FILE = "NOT_A_FILE"
    EMPTY = "EMPTY"
    UNREADABLE = "UNREADABLE"
    BAD_HEADER = "BAD_HEADER"
    COLUMNS_CHANGED = "COLUMNS_CHANGED"


class FileRefused(Exception):
    """A delivered file that cannot be ingested as a whole; other files are unaffected."""

    def __init__(self, reason: FileReason, detail: str) -> None:
        super().__init__(f"{reason}: {detail}")
        self.reason = reason
        self.detail = " ".join(detail.split())


def candidates(files_dir: Path, pattern: str) -> list[Path]:
    """Files matching a table's pattern, in name order; hidden files and done-markers excluded.

    Symbolic links are listed (so that they can be refused with a reason), never followed.
    """
    return sorted(p for p in files_dir.glob(pattern)
                  if not p.name.startswith(".") and not p.name.endswith(DONE_SUFFIX)
                  and (p.is_symlink() or not p.is_dir()))


def relative_name(files_dir: Path, path: Path) -> str:
    """The file's name as messages show it: relative to the landing folder."""
    try:
        return str(path.relative_to(files_dir))
    except ValueError:
        return path.name


def refusal(files_dir: Path, path: Path) -> FileRefused | None:
    """Why ``path`` must not be read (None: it may be). Nothing is opened or followed here."""
    try:
        rel = path.relative_to(files_dir)
    except ValueError:
        return FileRefused(FileReason.OUTSIDE_LANDING, "the path is not inside the landing folder")
    if ".." in rel.parts:
        return FileRefused(FileReason.OUTSIDE_LANDING, "the path leaves the landing folder ('..')")
    here = files_dir
    for part in rel.parts:
        here = here / part
        if here.is_symlink():
            return FileRefused(FileReason.SYMLINK, f"{relative_name(files_dir, here)} is a symbolic link "
                                                   "(links are never followed out of the landing folder)")
    real_root = Path(os.path.realpath(files_dir))
    if Path(os.path.realpath(path)) != real_root / rel:
        return FileRefused(FileReason.OUTSIDE_LANDING, "the path resolves outside the landing folder")
    if not stat.S_ISREG(path.lstat().st_mode):
        return FileRefused(FileReason.NOT_A_FILE, "not a regular file")
    return None


def read_bytes(path: Path) -> bytes:
    """The whole file, refusing a symbolic link even if one was swapped in after :func:`refusal`."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
    except OSError as exc:
        if os.path.islink(path):
            raise FileRefused(FileReason.SYMLINK, "the file is a symbolic link") from None
        raise FileRefused(FileReason.UNREADABLE, f"cannot open: {exc.strerror}") from None
    with os.fdopen(fd, "rb") as f:
        if not stat.S_ISREG(os.fstat(f.fileno()).st_mode):
            raise FileRefused(FileReason.NOT_A_FILE, "not a regular file")
        return f.read()


def incomplete(paths: list[Path], settle_s: float, done_marker: bool,
               sleep: Callable[[float], None] | None = None) -> dict[Path, str]:
    """The files not known to be complete yet, each with the reason (complete ones are absent).

    With a settle time, files modified less than ``settle_s`` ago are watched once until the
    youngest is that old (one wait per table, at most ``settle_s``): any change in size or
    modification time means the file is still being written.
    """
    if done_marker:
        return {p: f"waiting for its done-marker {p.name}{DONE_SUFFIX}" for p in paths
                if not p.with_name(p.name + DONE_SUFFIX).exists()}
    if settle_s <= 0 or not paths:
        return {}
    seen = {p: p.lstat() for p in paths}
    now = time.time()
    young = {p: st for p, st in seen.items() if now - st.st_mtime < settle_s}
    if not young:
        return {}
    oldest_needed = min(now - st.st_mtime for st in young.values())
    (sleep or time.sleep)(min(settle_s, max(0.0, settle_s - oldest_needed)) + 0.05)
    out: dict[Path, str] = {}
    for p, st in young.items():
        try:
            now_st = p.lstat()
        except FileNotFoundError:
            out[p] = "the file disappeared while it was being checked"
            continue
        if (now_st.st_size, now_st.st_mtime_ns) != (st.st_size, st.st_mtime_ns) or \
                time.time() - now_st.st_mtime < settle_s:
            out[p] = f"still being written (changed within the last {settle_s:g} s)"
    return out
