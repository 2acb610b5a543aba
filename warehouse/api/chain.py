"""The audit log's hash chain: what an entry's hash covers, and the walk that checks a stored log.

Each entry's hash is an HMAC (with the audit key, ``serving.audit-key`` beside the store) over the
previous entry's hash and its own content, so an entry whose content was edited no longer matches its
hash (``changed``); an entry slipped in cannot carry a valid hash and the next entry still links past
it (``inserted``); an entry removed leaves the next one pointing at a hash that is not its
predecessor's (``deleted``); entries cut off the end no longer reach the head (``truncated``).

What the chain alone cannot show - whoever holds the file *and* the key beside it can rewrite the
whole log, cut its tail and rewrite the head, empty it, or put back an older copy - the anchor shows
(:mod:`warehouse.api.anchor`): the walk hands it the hashes at the sequence numbers the anchor
recorded.  A store, table or key that is gone is a finding, never a traceback.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import InputError

GENESIS = "0" * 64
AUDIT_COLUMNS = ("at", "caller", "caller_kind", "department", "purpose", "action", "subject", "fields", "status",
                 "detail")


class AuditKeyError(InputError):
    """The audit key is missing (one line)."""


def audit_body(entry: dict[str, Any]) -> str:
    """The canonical text an audit entry's hash covers (everything but seq and the hashes)."""
    return json.dumps([entry[c] for c in AUDIT_COLUMNS], ensure_ascii=False, separators=(",", ":"))


def chain_hash(key: bytes, prev_hash: str, body: str) -> str:
    return hmac.new(key, (prev_hash + "\n" + body).encode(), hashlib.sha256).hexdigest()


def load_audit_key(path: Path, create: bool = True) -> bytes:
    """The secret that keys the audit chain (so an edit cannot be re-hashed by whoever lacks it)."""
    if path.exists():
        return bytes.fromhex(path.read_text().strip())
    if not create:
        raise AuditKeyError(f"no audit key at {path}: the chain cannot be verified without it")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as fh:
        fh.write(secrets.token_hex(32))
    return bytes.fromhex(path.read_text().strip())


@dataclass
class Finding:
    seq: int | None
    #: changed | inserted | deleted | truncated | head | missing (store, table or key gone)
    #: | anchor kinds (:mod:`warehouse.api.anchor`): rolled_back | rewritten | forged | conflict | unreachable
    problem: str
    message: str


@dataclass
class Walk:
    """What a walk of the stored chain found."""

    entries: int = 0
    last_seq: int = 0
    last_hash: str = GENESIS
    findings: list[Finding] = field(default_factory=list)
    #: the stored hash at each sequence number asked for (the anchor's checkpoints)
    hashes: dict[int, str] = field(default_factory=dict)
    #: False when there is no log to walk (store, table or key missing: see ``findings``)
    readable: bool = True


def _rows(con: sqlite3.Connection) -> Iterator[dict[str, Any]]:
    cur = con.execute("SELECT * FROM audit ORDER BY seq")
    cols = [c[0] for c in cur.description]
    return (dict(zip(cols, row)) for row in cur)  # streamed: the log may be long


def _open(store_path: Path, key_path: Path, walk: Walk) -> tuple[sqlite3.Connection, bytes] | None:
    """The store (read-only) and the key, or None with a ``missing`` finding."""
    if not store_path.exists():
        walk.findings.append(Finding(None, "missing", f"the serving store {store_path.name} is gone"))
        return None
    if not key_path.exists():
        walk.findings.append(Finding(None, "missing", f"the audit key {key_path.name} is gone: the chain "
                                     "cannot be checked"))
        return None
    con = sqlite3.connect(f"file:{store_path}?mode=ro", uri=True)
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    for table in ("audit", "audit_head"):
        if table not in tables:
            walk.findings.append(Finding(None, "missing", f"the table {table} is gone from the serving store"))
    if "audit" not in tables:
        con.close()
        return None
    return con, load_audit_key(key_path, create=False)


def _entry_finding(r: dict[str, Any], nxt: dict[str, Any] | None, walk: Walk,
                   head: tuple[int, str] | None) -> bool:
    """A finding for an entry whose hash is invalid; True if the chain goes on from it (changed)."""
    links_past = nxt is not None and nxt["prev_hash"] == walk.last_hash
    forged_tail = nxt is None and (r["prev_hash"] != walk.last_hash or head is None
                                   or (head[0], head[1]) != (r["seq"], r["hash"]))
    if links_past or forged_tail:
        walk.findings.append(Finding(r["seq"], "inserted", f"entry {r['seq']} was inserted: it is not part of the "
                                     f"chain (its hash is invalid and the entry after it links to entry "
                                     f"{walk.last_seq})"))
        return False
    walk.findings.append(Finding(r["seq"], "changed", f"entry {r['seq']} was changed: its content no longer "
                                 "matches its hash"))
    return True


def _link_finding(r: dict[str, Any], walk: Walk) -> None:
    gap = (walk.last_seq + 1, r["seq"] - 1)
    what = ("entries deleted (and the rest renumbered)" if gap[0] > gap[1] else
            f"entry {gap[0]} deleted" if gap[0] == gap[1] else f"entries {gap[0]}..{gap[1]} deleted")
    walk.findings.append(Finding(gap[0] if gap[0] <= gap[1] else r["seq"], "deleted",
                                 f"{what}: entry {r['seq']} links to a predecessor that is no longer there"))


def _head_finding(walk: Walk, head: tuple[int, str] | None) -> None:
    if head is not None and head[1] != walk.last_hash:  # compared by hash: renumbering alone is harmless
        if head[0] > walk.last_seq:
            walk.findings.append(Finding(walk.last_seq + 1, "truncated",
                                         f"entries {walk.last_seq + 1}..{head[0]} deleted from the end of the log "
                                         f"(the head records entry {head[0]})"))
        else:
            walk.findings.append(Finding(head[0], "head", f"the head records entry {head[0]} but the log ends at "
                                         f"{walk.last_seq}"))
    elif head is None and walk.entries:
        walk.findings.append(Finding(None, "head", "the log has entries but no head record"))


def walk_chain(store_path: Path, key_path: Path, want: frozenset[int] = frozenset()) -> Walk:
    """Walk the stored chain once, checking every link, and keep the hashes at ``want``."""
    walk = Walk()
    opened = _open(store_path, key_path, walk)
    if opened is None:
        walk.readable = False
        return walk
    con, key = opened
    try:
        has_head = not walk.findings  # the only finding _open may leave here: audit_head is gone
        head = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone() if has_head else None
        rows = _rows(con)
        r = next(rows, None)
        while r is not None:
            walk.entries += 1
            nxt = next(rows, None)
            if r["seq"] in want:
                walk.hashes[r["seq"]] = r["hash"]
            if not hmac.compare_digest(chain_hash(key, r["prev_hash"], audit_body(r)), r["hash"]):
                if _entry_finding(r, nxt, walk, head):
                    walk.last_hash, walk.last_seq = r["hash"], r["seq"]
                r = nxt
                continue
            if r["prev_hash"] != walk.last_hash:
                _link_finding(r, walk)
            walk.last_hash, walk.last_seq = r["hash"], r["seq"]
            r = nxt
    finally:
        con.close()
    if has_head:
        _head_finding(walk, head)
    return walk


def verify_chain(store_path: Path, key_path: Path) -> tuple[int, list[Finding]]:
    """The chain alone: (entries checked, findings); no findings: intact."""
    walk = walk_chain(store_path, key_path)
    return walk.entries, walk.findings
