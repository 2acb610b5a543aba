"""``masterdata backup --to DIR`` / ``masterdata restore --from DIR``: what cannot be rebuilt, consistently.

What a backup holds - what the platform cannot make again from its sources:

* the gold store (``gold.duckdb``): copied through an open handle - a build replaces the file by a
  rename, never writes it in place, so the copy is one build, whole, even while a build finishes;
* the serving store (keys, sessions, applications, evidence, the audit log) through SQLite's online
  backup API: one consistent snapshot while the API keeps writing;
* the audit and evidence keys beside the serving store (the chain cannot be checked without the
  former, nor documents re-sealed without the latter);
* the steward decision log (append-only JSON lines): copied up to its last complete line.

Not held: the lake and the read model (re-made by ingest and by ``serve``), the gold file's delta
state (``gold.state.duckdb``: a build changes it in place, so no copy of it is consistent while one
runs; after a restore the next build finds it names another build than the restored gold file's and
builds in full, :func:`pipelines.masters.build.plan`), and the audit signing key (it lives apart from
the log on purpose and is kept by whoever keeps it).

The backup's audit chain is checked against the anchor as it stood just before the snapshot
(:mod:`warehouse.api.auditcheck`); a log that does not verify is not backed up.  ``manifest.json``
records each file's SHA-256 and size and the audit head.  A restore checks the files against it,
refuses a home that already holds a gold or serving store unless ``force``, puts each file in place
by rename, and - with an anchor - records a signed ``restore`` at the backup's head, appends a
``restore`` entry to the log and anchors it: ``audit verify`` then passes and reports what the restore
lost (entries anchored after the backup), never hiding it.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from core.errors import ConflictError, InputError
from core.settings import settings
from pipelines.masters.gold_file import STEWARD_FILE, steward_path
from warehouse.api.auditcheck import Report, check
from warehouse.api.settings import Settings

MANIFEST = "manifest.json"
FORMAT = 1


class BackupError(InputError):
    """A backup that cannot be made or restored (one line naming what)."""


@dataclass(frozen=True)
class Places:
    """Where each backed-up file lives in a home, and its name in a backup folder."""

    gold: Path
    serving: Path
    steward: Path

    @classmethod
    def current(cls) -> Places:
        s = Settings.from_env()
        return cls(s.gold, s.store, steward_path(s.gold))

    def files(self) -> dict[str, Path]:
        store = self.serving
        return {"gold.duckdb": self.gold, "serving.sqlite": store,
                "serving.audit-key": store.with_name(store.stem + ".audit-key"),
                "serving.evidence-key": store.with_name(store.stem + ".evidence-key"), STEWARD_FILE: self.steward}


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _copy_open(src: Path, dst: Path) -> None:
    """Copy through one open handle (a rename of ``src`` meanwhile does not tear the copy)."""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, 1 << 20)
        fout.flush()
        os.fsync(fout.fileno())


def _copy_lines(src: Path, dst: Path) -> None:
    """An append-only JSON-lines log up to its last complete line."""
    data = src.read_bytes()
    dst.write_bytes(data[: data.rfind(b"\n") + 1])


def _snapshot_sqlite(src: Path, dst: Path) -> None:
    con = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    out = sqlite3.connect(dst)
    try:
        con.backup(out)
        out.execute("PRAGMA journal_mode = DELETE")  # one self-contained file (the server turns WAL back on)
    finally:
        out.close()
        con.close()


def _anchor_upto() -> int | None:
    """The id of the anchor's newest record before the snapshot (checkpoints after it may be past it)."""
    from warehouse.api.anchor import Anchor

    url = settings().audit_anchor
    if not url:
        return None
    last = Anchor(url).last()
    return last.id if last else 0


def backup(to: Path) -> dict[str, Any]:
    """Write a backup of the current home into ``to`` (new or empty); returns the manifest."""
    places = Places.current()
    if to.exists() and any(to.iterdir()):
        raise BackupError(f"{to} is not empty: back up into a new folder")
    if not places.gold.exists() and not places.serving.exists():
        raise BackupError(f"nothing to back up: no gold store at {places.gold} and no serving store at "
                          f"{places.serving}")
    to.mkdir(parents=True, exist_ok=True)
    upto = _anchor_upto()
    taken: dict[str, dict[str, Any]] = {}
    for name, src in places.files().items():
        if not src.exists():
            continue
        dst = to / name
        if name == "serving.sqlite":
            _snapshot_sqlite(src, dst)
        elif name == STEWARD_FILE:
            _copy_lines(src, dst)
        else:
            _copy_open(src, dst)
        if name.endswith("-key"):
            dst.chmod(0o600)
        taken[name] = {"sha256": sha256_file(dst), "bytes": dst.stat().st_size}
    manifest = {"format": FORMAT, "taken_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), "files": taken}
    if "serving.sqlite" in taken:
        report = _check_backup(to, upto)
        manifest["audit"] = {"entries": report.entries, "head": _head(to / "serving.sqlite"),
                             "anchored_checkpoints": report.checkpoints, "anchored": report.anchored}
    (to / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    return manifest


def _head(store: Path) -> dict[str, Any]:
    con = sqlite3.connect(f"file:{store}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    finally:
        con.close()
    return {"seq": int(row[0]), "hash": str(row[1])} if row else {"seq": 0, "hash": "0" * 64}


def _check_backup(folder: Path, upto: int | None) -> Report:
    """The backup's chain, against the anchor records made before the snapshot; refuse if not intact."""
    report = check(folder / "serving.sqlite", folder / "serving.audit-key", settings().audit_anchor,
                   upto=upto)
    if not report.intact:
        first = report.findings[0]
        raise BackupError(f"the audit log does not verify ({len(report.findings)} finding(s), first: "
                          f"{first.problem}: {first.message}): run `masterdata audit verify`; not backed up")
    return report


def read_manifest(folder: Path) -> dict[str, Any]:
    path = folder / MANIFEST
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise BackupError(f"{path}: not a backup manifest ({str(exc).splitlines()[0]})") from None
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT or not isinstance(manifest.get("files"),
                                                                                             dict):
        raise BackupError(f"{path}: not a backup manifest of format {FORMAT}")
    for name, meta in manifest["files"].items():
        f = folder / name
        if not f.exists() or sha256_file(f) != meta.get("sha256"):
            raise BackupError(f"{f}: missing or altered since the backup (SHA-256 differs from the manifest)")
    return manifest


def restore(source: Path, force: bool = False) -> dict[str, Any]:
    """Put the backup in ``source`` in place in the current home; returns the manifest."""
    manifest = read_manifest(source)
    places = Places.current()
    targets = places.files()
    occupied = [str(targets[n]) for n in ("gold.duckdb", "serving.sqlite", STEWARD_FILE) if targets[n].exists()]
    if occupied and not force:
        raise ConflictError(f"the home is not empty ({', '.join(occupied)}): restore with --force to replace it")
    for name in manifest["files"]:
        dst = targets[name]
        dst.parent.mkdir(parents=True, exist_ok=True)
        tmp = dst.with_name(dst.name + ".restoring")
        shutil.copyfile(source / name, tmp)
        if name.endswith("-key"):
            tmp.chmod(0o600)
        if name == "serving.sqlite":
            for side in ("-wal", "-shm"):
                dst.with_name(dst.name + side).unlink(missing_ok=True)
        os.replace(tmp, dst)
    if "audit" in manifest:
        _record_restore(manifest)
    return manifest


def _record_restore(manifest: dict[str, Any]) -> None:
    """The restore in the anchor (signed, at the backup's head) and in the log, then anchored."""
    from warehouse.api.service import audit
    from warehouse.api.service.state import anchor
    from warehouse.api.service.upkeep import checkpoint
    from warehouse.api.store import Store

    s = Settings.from_env()
    head = manifest["audit"]["head"]
    a = anchor()
    if a is not None:
        a.write("restore", int(head["seq"]), str(head["hash"]), backup_at=manifest["taken_at"])
    store = Store(s.store, s.audit_key)
    try:
        access = audit.Access.operator("restore", "restore", "operations")
        access.detail = {"backup_taken_at": manifest["taken_at"], "restored_head": head["seq"]}
        audit.record(store, access, 0)
        if a is not None:
            checkpoint(store, a)
    finally:
        store.close()
