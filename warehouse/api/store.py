"""The serving layer's own store (SQLite, WAL): callers and API keys, applicant sessions,
applications with their consent, and the audit log.  Never the gold file.

SQLite because several server processes write it at once (each request appends an audit entry):
SQLite serialises writers across processes with a file lock, DuckDB allows one writing process.

Secrets are stored hashed: an API key ``mdk_<key id>_<secret>`` is kept as the SHA-256 of the whole
key and shown once, when created; an applicant session token likewise.  Nothing here prints a key.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import sqlite3
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from core.errors import InputError
from warehouse.api.chain import AUDIT_COLUMNS, GENESIS, audit_body, chain_hash, load_audit_key, verify_chain

__all__ = ["Caller", "Store", "StoreError", "verify_chain"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS callers (
    key_id TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT NOT NULL, department TEXT,
    key_hash TEXT NOT NULL, rate REAL NOT NULL, burst INTEGER NOT NULL,
    created_at TEXT NOT NULL, revoked_at TEXT);
CREATE TABLE IF NOT EXISTS sessions (
    token_hash TEXT PRIMARY KEY, id_number TEXT NOT NULL, person_master_id TEXT NOT NULL,
    issued_by TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sessions_expiry ON sessions (expires_at);
CREATE TABLE IF NOT EXISTS applications (
    application_id TEXT PRIMARY KEY, item TEXT NOT NULL, department TEXT NOT NULL,
    applicant_master_id TEXT NOT NULL, subject_kind TEXT NOT NULL, subject_master_id TEXT NOT NULL,
    hall_caller TEXT NOT NULL, created_at TEXT NOT NULL, payload TEXT NOT NULL, payload_hash TEXT NOT NULL,
    status TEXT NOT NULL, consent_at TEXT, delivered_at TEXT);
CREATE TABLE IF NOT EXISTS evidence (
    document_id TEXT PRIMARY KEY, application_id TEXT NOT NULL, material TEXT NOT NULL, department TEXT NOT NULL,
    created_at TEXT NOT NULL, document TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS evidence_application ON evidence (application_id);
CREATE TABLE IF NOT EXISTS audit (
    seq INTEGER PRIMARY KEY, at TEXT NOT NULL, caller TEXT NOT NULL, caller_kind TEXT NOT NULL,
    department TEXT, purpose TEXT, action TEXT NOT NULL, subject TEXT NOT NULL, fields TEXT NOT NULL,
    status INTEGER NOT NULL, detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS audit_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, hash TEXT NOT NULL);
CREATE TRIGGER IF NOT EXISTS audit_no_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS audit_no_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""

KINDS = ("hall", "department", "identity", "steward")
#: default per-caller rate limits (requests per second, burst), per kind
DEFAULT_RATES = {"hall": (2000.0, 4000), "department": (50.0, 100), "identity": (500.0, 1000),
                 "steward": (20.0, 40)}


class StoreError(InputError):
    """A bad request to the store (one line)."""


def now_utc() -> datetime:
    return datetime.now(UTC)


def iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Caller:
    key_id: str
    name: str
    kind: str
    department: str | None
    rate: float
    burst: int
    revoked: bool = False

    @property
    def label(self) -> str:
        return f"{self.key_id}:{self.name}"


class Store:
    """One connection to the serving store (use from one thread at a time; a lock guards it)."""

    def __init__(self, path: Path, audit_key: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=30)
        self.con.execute("PRAGMA journal_mode = WAL")
        self.con.execute("PRAGMA synchronous = NORMAL")
        self.con.executescript(SCHEMA)
        # SQLite's own busy handler sleeps 1, 2, 5, 10 ... 100 ms between tries: fine for batch jobs,
        # a long tail for a server whose writers hold the lock ~0.1 ms.  Writers here retry themselves
        # every 0.1 ms instead, and checkpoints run in the background (warehouse/api/housekeeping.py), not inside a request.
        self.con.execute("PRAGMA busy_timeout = 0")
        self.con.execute("PRAGMA wal_autocheckpoint = 0")
        # a WAL reset after a checkpoint is cut back to this size (warehouse/api/housekeeping.py)
        self.con.execute("PRAGMA journal_size_limit = 8388608")
        self.key = load_audit_key(audit_key)
        self.lock = threading.Lock()
        self._sessions_made = 0

    def _begin(self) -> None:
        """BEGIN IMMEDIATE, retried at a fine grain while another process holds the write lock."""
        deadline = time.monotonic() + 30
        pause = 0.0001
        while True:
            try:
                self.con.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                if time.monotonic() > deadline:
                    raise
                time.sleep(pause)
                pause = min(pause * 1.5, 0.002)

    def _write(self, sql: str, args: tuple[Any, ...]) -> int:
        """One write statement in its own transaction (caller holds ``self.lock``); rows changed."""
        self._begin()
        try:
            n = self.con.execute(sql, args).rowcount
            self.con.execute("COMMIT")
            return n
        except BaseException:
            self.con.execute("ROLLBACK")
            raise

    def close(self) -> None:
        self.con.close()

    # callers / keys ------------------------------------------------------------------------------
    def create_key(self, name: str, kind: str, department: str | None = None, rate: float | None = None,
                   burst: int | None = None) -> tuple[Caller, str]:
        if kind not in KINDS:
            raise StoreError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if kind == "department" and not department:
            raise StoreError("a department key needs --department (a department key such as market_regulation)")
        if kind != "department" and department:
            raise StoreError(f"only department keys name a department (this is a {kind} key)")
        if not name.strip():
            raise StoreError("a key needs a name (which system uses it)")
        r, b = DEFAULT_RATES[kind]
        rate = float(rate if rate is not None else r)
        burst = int(burst if burst is not None else max(b, int(rate)))
        if rate <= 0 or burst < 1:
            raise StoreError("rate must be > 0 and burst >= 1")
        key_id = secrets.token_hex(4)
        key = f"mdk_{key_id}_{secrets.token_urlsafe(32)}"
        with self.lock:
            self._write("INSERT INTO callers VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL)",
                        (key_id, name, kind, department, sha256(key), rate, burst, iso(now_utc())))
        return Caller(key_id, name, kind, department, rate, burst), key

    def list_keys(self) -> list[dict[str, Any]]:
        with self.lock:
            cur = self.con.execute("SELECT key_id, name, kind, department, rate, burst, created_at, revoked_at "
                                   "FROM callers ORDER BY created_at")
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def revoke_key(self, key_id: str) -> bool:
        with self.lock:
            return self._write("UPDATE callers SET revoked_at = ? WHERE key_id = ? AND revoked_at IS NULL",
                               (iso(now_utc()), key_id)) > 0

    def active_keys(self) -> int:
        with self.lock:
            return int(self.con.execute("SELECT count(*) FROM callers WHERE revoked_at IS NULL").fetchone()[0])

    def caller_by_id(self, key_id: str) -> Caller | None:
        """The caller of a key id (revoked or not), for naming a refused key in the audit log."""
        with self.lock:
            row = self.con.execute("SELECT key_id, name, kind, department, rate, burst, revoked_at FROM callers "
                                   "WHERE key_id = ?", (key_id,)).fetchone()
        return None if row is None else Caller(row[0], row[1], row[2], row[3], float(row[4]), int(row[5]),
                                               row[6] is not None)

    def caller_for(self, key: str) -> Caller | None:
        """The caller a presented key belongs to (None if unknown, malformed or revoked)."""
        parts = key.split("_", 2)
        if len(parts) != 3 or parts[0] != "mdk" or not parts[1]:
            return None
        with self.lock:
            row = self.con.execute("SELECT key_id, name, kind, department, rate, burst, key_hash, revoked_at "
                                   "FROM callers WHERE key_id = ?", (parts[1],)).fetchone()
        if row is None or not hmac.compare_digest(row[6], sha256(key)):
            return None
        return Caller(row[0], row[1], row[2], row[3], float(row[4]), int(row[5]), row[7] is not None)

    # applicant sessions --------------------------------------------------------------------------
    def create_session(self, id_number: str, person_master_id: str, issued_by: str, minutes: int
                       ) -> tuple[str, datetime]:
        token = f"mds_{secrets.token_urlsafe(32)}"
        t = now_utc()
        expires = t + timedelta(minutes=minutes)
        with self.lock:
            self._sessions_made += 1
            if self._sessions_made % 500 == 1:  # now and then, forget the expired ones
                self._write("DELETE FROM sessions WHERE expires_at < ?", (iso(t),))
            self._write("INSERT INTO sessions VALUES (?, ?, ?, ?, ?, ?)",
                        (sha256(token), id_number, person_master_id, issued_by, iso(t), iso(expires)))
        return token, expires

    def session(self, token: str) -> tuple[str, str, str] | None:
        """(id_number, person master id, expires_at) of a live session token."""
        with self.lock:
            row = self.con.execute("SELECT id_number, person_master_id, expires_at FROM sessions WHERE token_hash = ?",
                                   (sha256(token),)).fetchone()
        if row is None or row[2] < iso(now_utc()):
            return None
        return row[0], row[1], row[2]

    # applications --------------------------------------------------------------------------------
    def application(self, application_id: str) -> dict[str, Any] | None:
        with self.lock:
            cur = self.con.execute("SELECT * FROM applications WHERE application_id = ?", (application_id,))
            row = cur.fetchone()
            if row is None:
                return None
            return dict(zip([c[0] for c in cur.description], row))

    def set_application(self, application_id: str, **values: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in values)
        with self.lock:
            self._write(f"UPDATE applications SET {sets} WHERE application_id = ?",
                        (*values.values(), application_id))

    # audit ---------------------------------------------------------------------------------------
    def evidence(self, *, application_id: str | None = None, document_id: str | None = None
                 ) -> list[dict[str, Any]]:
        """Sealed evidence documents of an application, or one by its id (as stored: the signed JSON)."""
        col, value = ("application_id", application_id) if application_id is not None else ("document_id", document_id)
        with self.lock:
            rows = self.con.execute(f"SELECT document FROM evidence WHERE {col} = ? ORDER BY document_id",
                                    (value,)).fetchall()
        return [json.loads(r[0]) for r in rows]

    def record(self, entry: dict[str, Any], application: dict[str, Any] | None = None,
               update: tuple[str, dict[str, Any]] | None = None,
               evidence: list[dict[str, Any]] | None = None) -> int:
        """Append one audit entry (hash-chained) - with an application row written or updated, and the
        evidence documents sealed for it, in the same transaction, so nothing is stored without its
        audit entry.  Returns the entry's seq."""
        e = {c: entry.get(c) for c in AUDIT_COLUMNS}
        e["at"] = e["at"] or iso(now_utc())
        e["subject"] = json.dumps(e["subject"] or [], ensure_ascii=False, separators=(",", ":"))
        e["fields"] = json.dumps(e["fields"] or [], ensure_ascii=False, separators=(",", ":"))
        e["detail"] = json.dumps(e["detail"] or {}, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
        e["status"] = int(e["status"] or 0)
        body = audit_body(e)
        with self.lock:
            con = self.con
            self._begin()
            try:
                head = con.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
                seq, prev = (head[0] + 1, head[1]) if head else (1, GENESIS)
                h = chain_hash(self.key, prev, body)
                con.execute("INSERT INTO audit VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                            (seq, *(e[c] for c in AUDIT_COLUMNS), prev, h))
                con.execute("INSERT INTO audit_head VALUES (1, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, "
                            "hash = excluded.hash", (seq, h))
                if application is not None:
                    cols = list(application)
                    con.execute(f"INSERT INTO applications ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                                tuple(application.values()))
                if update is not None:
                    app_id, values = update
                    sets = ", ".join(f"{k} = ?" for k in values)
                    con.execute(f"UPDATE applications SET {sets} WHERE application_id = ?", (*values.values(), app_id))
                for doc in evidence or []:
                    con.execute("INSERT INTO evidence VALUES (?, ?, ?, ?, ?, ?)",
                                (doc["document_id"], doc["application_id"], doc["material"]["code"],
                                 doc["issued_to"]["department"], doc["issued_at"],
                                 json.dumps(doc, ensure_ascii=False, separators=(",", ":"))))
                con.execute("COMMIT")
            except BaseException:
                con.execute("ROLLBACK")
                raise
        return seq

    def head(self) -> tuple[int, str]:
        """The newest entry's (seq, hash) - what a checkpoint anchors; (0, GENESIS) for an empty log."""
        with self.lock:
            row = self.con.execute("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
        return (int(row[0]), str(row[1])) if row else (0, GENESIS)

    def audit_entries(self, limit: int | None = None) -> list[dict[str, Any]]:
        sql = "SELECT * FROM audit ORDER BY seq" + (f" DESC LIMIT {int(limit)}" if limit else "")
        with self.lock:
            cur = self.con.execute(sql)
            cols = [c[0] for c in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        return sorted(rows, key=lambda r: r["seq"])
