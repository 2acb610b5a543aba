"""Console users, their sessions and CSRF tokens, kept in the serving store (SQLite).

People, not systems, use the console, so they get their own accounts beside the API keys of the
calling systems: a name, a role (:data:`ROLES`), for a department user the department, and a
password stored only as a scrypt hash (memory-hard, salted; :func:`hash_password`).  A login opens a
session: a random token in an ``HttpOnly``, ``SameSite=Strict`` cookie, stored hashed with its expiry.
Failed logins are counted per account name and per client address; past :data:`LOCK_AFTER` within
:data:`LOCK_MINUTES` the name (or the address) is locked for :data:`LOCK_MINUTES` - the password is
not even checked meanwhile - and the console writes every failure and lock to the audit log.
Applicants have no account: they arrive with the identity platform's applicant session
(:mod:`warehouse.api.service.access`), whose token the console keeps in the same kind of cookie.

Every form the console posts carries a CSRF token derived from the cookie with a server secret
(:meth:`Accounts.csrf`): a page on another site can make the browser send the cookie, not read the
token.  The secret lives beside the store (``serving.console-key``, mode 0600).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from core.errors import InputError, MasterdataError
from warehouse.api.store import iso, now_utc, sha256

#: role -> what it is, in the console's words
ROLES = {"steward": "数据管理员 data steward", "analyst": "数据分析员 analyst",
         "department": "委办局用户 department user"}
SCHEMA = """
CREATE TABLE IF NOT EXISTS console_users (
    name TEXT PRIMARY KEY, role TEXT NOT NULL, department TEXT, display_name TEXT NOT NULL,
    password TEXT NOT NULL, created_at TEXT NOT NULL, disabled_at TEXT);
CREATE TABLE IF NOT EXISTS console_sessions (
    token_hash TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL, expires_at TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS console_login_failures (kind TEXT NOT NULL, who TEXT NOT NULL, at TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS console_login_failures_who ON console_login_failures (kind, who, at);
CREATE TABLE IF NOT EXISTS console_lockouts (
    kind TEXT NOT NULL, who TEXT NOT NULL, until TEXT NOT NULL, PRIMARY KEY (kind, who));
"""
#: scrypt cost: 2^14 x 8 x 1 (~16 MiB, ~50 ms per check) - slow for a guesser, fine for a login
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**14, 8, 1
SESSION_HOURS = 8
MIN_PASSWORD = 10
#: failed logins within :data:`LOCK_MINUTES` that lock an account name, and a client address; a
#: client gets more (several users of one office may sit behind one address) but still few enough
#: that guessing across many names stops early
LOCK_AFTER = {"account": 5, "client": 20}
LOCK_MINUTES = 15


class AccountError(InputError):
    """A console account that cannot be created or used (one line)."""


class LoginLocked(MasterdataError):
    """Too many failed logins for this account name or from this client: refused until ``until``."""

    status = 429
    title = "Too many failed logins"
    exit_code = 1

    def __init__(self, kind: str, who: str, until: datetime, new: bool) -> None:
        self.kind, self.who, self.until, self.new = kind, who, until, new
        what = "this account" if kind == "account" else "this address"
        super().__init__(f"too many failed logins for {what}: locked until {iso(until)[:19]} UTC")


@dataclass(frozen=True)
class User:
    name: str
    role: str
    department: str | None
    display_name: str


def hash_password(password: str, salt: bytes | None = None) -> str:
    """``scrypt$N$r$p$salt$hash`` of a password."""
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P, dklen=32)
    return f"scrypt${SCRYPT_N}${SCRYPT_R}${SCRYPT_P}${salt.hex()}${digest.hex()}"


def check_password(password: str, stored: str) -> bool:
    try:
        kind, n, r, p, salt, digest = stored.split("$")
    except ValueError:
        return False
    if kind != "scrypt":
        return False
    got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                         dklen=len(digest) // 2)
    return hmac.compare_digest(got.hex(), digest)


#: a check against this hash when the user is unknown, so a wrong name costs as much as a wrong password
_DUMMY = hash_password("no such user", b"\0" * 16)


def _secret(path: Path) -> bytes:
    """The server secret CSRF tokens are derived with (created once, mode 0600)."""
    import os

    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32))
        except FileExistsError:  # another worker made it first
            pass
    return bytes.fromhex(path.read_text().strip())


class Accounts:
    """Users and sessions in the serving store file (its own tables, its own connection)."""

    def __init__(self, store: Path) -> None:
        store.parent.mkdir(parents=True, exist_ok=True)
        self.con = sqlite3.connect(store, isolation_level=None, check_same_thread=False, timeout=30)
        self.con.execute("PRAGMA journal_mode = WAL")
        self.con.executescript(SCHEMA)
        self.key = _secret(store.with_name(store.stem + ".console-key"))
        self.lock = threading.Lock()
        #: the time (a test moves it to see a lock expire)
        self.clock: Callable[[], datetime] = now_utc

    def close(self) -> None:
        self.con.close()

    # users -------------------------------------------------------------------------------------
    def create_user(self, name: str, role: str, password: str, department: str | None = None,
                    display_name: str | None = None) -> User:
        if role not in ROLES:
            raise AccountError(f"--role must be one of {', '.join(ROLES)}, not {role!r}")
        if (role == "department") != bool(department):
            raise AccountError("a department user needs --department (a department key such as civil_affairs), "
                               "and only a department user has one")
        if not name or not name.replace("_", "").replace("-", "").replace(".", "").isalnum():
            raise AccountError(f"user name {name!r}: letters, digits, '.', '_' and '-' only")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"the password must have at least {MIN_PASSWORD} characters")
        user = User(name, role, department, display_name or name)
        with self.lock:
            try:
                self.con.execute("INSERT INTO console_users VALUES (?, ?, ?, ?, ?, ?, NULL)",
                                 (name, role, department, user.display_name, hash_password(password),
                                  iso(now_utc())))
            except sqlite3.IntegrityError:
                raise AccountError(f"a console user named {name!r} exists already") from None
        return user

    def users(self) -> list[dict[str, str | None]]:
        with self.lock:
            cur = self.con.execute("SELECT name, role, department, display_name, created_at, disabled_at "
                                   "FROM console_users ORDER BY name")
            cols = [c[0] for c in cur.description]
            return [dict(zip(cols, r)) for r in cur.fetchall()]

    def disable(self, name: str) -> bool:
        with self.lock:
            n = self.con.execute("UPDATE console_users SET disabled_at = ? WHERE name = ? AND disabled_at IS NULL",
                                 (iso(now_utc()), name)).rowcount
            self.con.execute("DELETE FROM console_sessions WHERE name = ?", (name,))
        return n > 0

    def known(self, name: str) -> bool:
        """Whether ``name`` is a console user (the audit masks names that are not: often a password
        typed into the wrong field)."""
        with self.lock:
            return self.con.execute("SELECT 1 FROM console_users WHERE name = ?", (name,)).fetchone() is not None

    def _user(self, name: str) -> tuple[User, str] | None:
        with self.lock:
            row = self.con.execute("SELECT name, role, department, display_name, password FROM console_users "
                                   "WHERE name = ? AND disabled_at IS NULL", (name,)).fetchone()
        return (User(row[0], row[1], row[2], row[3]), row[4]) if row else None

    # sessions ----------------------------------------------------------------------------------
    def login(self, name: str, password: str, client: str = "") -> tuple[User, str] | None:
        """(the user, a new session token) if the name and password are right, else None.

        Raises :class:`LoginLocked` while the name or the client is locked - without checking the
        password, so a locked account cannot be guessed on - and on the failure that locks it."""
        t = self.clock()
        keys = (("account", name), ("client", client)) if client else (("account", name),)
        for kind, who in keys:
            until = self._locked_until(kind, who, t)
            if until is not None:
                raise LoginLocked(kind, who, until, new=False)
        found = self._user(name)
        ok = check_password(password, found[1] if found else _DUMMY)
        if not found or not ok:
            self._failed(keys, t)
            return None
        token = f"mdc_{secrets.token_urlsafe(32)}"
        with self.lock:
            self.con.execute("DELETE FROM console_login_failures WHERE kind = 'account' AND who = ?", (name,))
            self.con.execute("DELETE FROM console_sessions WHERE expires_at < ?", (iso(t),))
            self.con.execute("INSERT INTO console_sessions VALUES (?, ?, ?, ?)",
                             (sha256(token), name, iso(t), iso(t + timedelta(hours=SESSION_HOURS))))
        return found[0], token

    def _locked_until(self, kind: str, who: str, t: datetime) -> datetime | None:
        with self.lock:
            row = self.con.execute("SELECT until FROM console_lockouts WHERE kind = ? AND who = ? AND until > ?",
                                   (kind, who, iso(t))).fetchone()
        return datetime.fromisoformat(row[0].replace("Z", "+00:00")) if row else None

    def _failed(self, keys: tuple[tuple[str, str], ...], t: datetime) -> None:
        """Count a failed login against the name and the client; lock whichever reached its limit
        (its count starts afresh once the lock is over)."""
        since = iso(t - timedelta(minutes=LOCK_MINUTES))
        until = t + timedelta(minutes=LOCK_MINUTES)
        locked: LoginLocked | None = None
        with self.lock:
            for kind, who in keys:
                self.con.execute("INSERT INTO console_login_failures VALUES (?, ?, ?)", (kind, who, iso(t)))
                n = self.con.execute("SELECT count(*) FROM console_login_failures WHERE kind = ? AND who = ? AND "
                                     "at > ?", (kind, who, since)).fetchone()[0]
                if n >= LOCK_AFTER[kind]:
                    self.con.execute("INSERT OR REPLACE INTO console_lockouts VALUES (?, ?, ?)", (kind, who, iso(until)))
                    self.con.execute("DELETE FROM console_login_failures WHERE kind = ? AND who = ?", (kind, who))
                    locked = locked or LoginLocked(kind, who, until, new=True)
            self.con.execute("DELETE FROM console_login_failures WHERE at <= ?", (since,))
        if locked is not None:
            raise locked

    def session(self, token: str | None) -> User | None:
        """The user of a live session token."""
        if not token or not token.startswith("mdc_"):
            return None
        with self.lock:
            row = self.con.execute("SELECT name, expires_at FROM console_sessions WHERE token_hash = ?",
                                   (sha256(token),)).fetchone()
        if row is None or row[1] < iso(now_utc()):
            return None
        found = self._user(row[0])
        return found[0] if found else None

    def logout(self, token: str | None) -> None:
        if token:
            with self.lock:
                self.con.execute("DELETE FROM console_sessions WHERE token_hash = ?", (sha256(token),))

    def csrf(self, cookie: str) -> str:
        """The CSRF token of the session a cookie holds (forms carry it; a POST must send it back)."""
        return hmac.new(self.key, b"csrf:" + cookie.encode(), hashlib.sha256).hexdigest()[:40]

    def csrf_ok(self, cookie: str | None, token: str | None) -> bool:
        return bool(cookie and token) and hmac.compare_digest(self.csrf(cookie or ""), token or "")
