"""Calling systems: API-key authentication, applicant sessions and per-caller rate limits.

* Every request but ``/health`` and the OpenAPI document carries ``Authorization: Bearer <key>``
  (or ``X-API-Key``).  Keys are created with ``masterdata keys create``; the store keeps only their
  hash.  There is no default key: a server without keys refuses to start.
* Four kinds of caller: ``hall`` (the online service hall: auto-fill on behalf of an applicant),
  ``department`` (queries within its grants), ``identity`` (the unified identity platform: opens
  applicant sessions after real-name authentication), ``steward`` (the data stewards' tools: why a
  pair of records matched).  An endpoint names the kind it serves.
* The hall acts for an applicant only with an applicant session token (``X-Applicant-Token``) that
  the identity platform opened for that person; the token binds the request to his ID number.
* Rate limits: one token bucket per caller (``rate`` requests/second, ``burst``) for the whole
  service: in memory with one worker; with several, in the serving store (:class:`SharedRateLimiter`),
  so a caller gets ``rate`` whichever workers its connections land on (splitting the rate by the
  number of workers gave a client on one keep-alive connection rate/N).
"""

from __future__ import annotations

import sqlite3
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from warehouse.api.store import Caller, Store

KEY_CACHE_SECONDS = 2.0  # a revoked key stops working within this time


@dataclass
class Bucket:
    tokens: float
    stamp: float


class Limiter(Protocol):
    def take(self, caller: Caller) -> float:
        """0 if the request may go ahead, else the seconds until it could."""


class RateLimiter:
    """The token buckets of a single server process."""

    def __init__(self) -> None:
        self.buckets: dict[str, Bucket] = {}
        self.lock = threading.Lock()

    def take(self, caller: Caller) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        rate = caller.rate
        burst = max(1.0, float(caller.burst))
        now = time.monotonic()
        with self.lock:
            b = self.buckets.get(caller.key_id)
            if b is None:
                b = self.buckets[caller.key_id] = Bucket(burst, now)
            b.tokens = min(burst, b.tokens + (now - b.stamp) * rate)
            b.stamp = now
            if b.tokens >= 1.0:
                b.tokens -= 1.0
                return 0.0
            return (1.0 - b.tokens) / rate


#: one statement takes a token if there is one: refills the bucket for the time passed and takes one,
#: or changes nothing (then no row is returned)
_TAKE = ("INSERT INTO rate_buckets (key_id, tokens, stamp) VALUES (:key, :burst - 1, :now) "
         "ON CONFLICT (key_id) DO UPDATE SET tokens = min(:burst, tokens + (:now - stamp) * :rate) - 1, stamp = :now "
         "WHERE min(:burst, tokens + (:now - stamp) * :rate) >= 1 RETURNING tokens")


class SharedRateLimiter:
    """The token buckets of several worker processes, in the serving store (a table of its own,
    one short write per request; wall-clock time, which the workers share)."""

    def __init__(self, store: Path) -> None:
        self.con = sqlite3.connect(store, isolation_level=None, check_same_thread=False, timeout=5)
        self.con.execute("PRAGMA busy_timeout = 5000")
        self.con.execute("CREATE TABLE IF NOT EXISTS rate_buckets (key_id TEXT PRIMARY KEY, tokens REAL NOT NULL, "
                         "stamp REAL NOT NULL)")
        self.lock = threading.Lock()

    def take(self, caller: Caller) -> float:
        now = time.time()
        args = {"key": caller.key_id, "burst": max(1.0, float(caller.burst)), "rate": caller.rate, "now": now}
        with self.lock:
            if self.con.execute(_TAKE, args).fetchone() is not None:
                return 0.0
            row = self.con.execute("SELECT tokens, stamp FROM rate_buckets WHERE key_id = ?",
                                   (caller.key_id,)).fetchone()
        tokens = float(row[0]) + (now - float(row[1])) * caller.rate if row else 0.0
        return max(0.001, (1.0 - tokens) / caller.rate)


class Authenticator:
    """Key -> caller, with a short cache so a hot path does not query the store per request."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.cache: dict[str, tuple[Caller | None, float]] = {}
        self.sessions: dict[str, tuple[tuple[str, str, str] | None, float]] = {}
        self.lock = threading.Lock()

    def caller(self, key: str) -> Caller | None:
        now = time.monotonic()
        hit = self.cache.get(key)
        if hit is not None and now - hit[1] < KEY_CACHE_SECONDS:
            return hit[0]
        c = self.store.caller_for(key)
        if c is not None and c.revoked:
            c = None
        with self.lock:
            if len(self.cache) > 10_000:
                self.cache.clear()
            self.cache[key] = (c, now)
        return c

    def session(self, token: str) -> tuple[str, str, str] | None:
        """(id_number, person master id, expires_at) of a live applicant session."""
        now = time.monotonic()
        hit = self.sessions.get(token)
        if hit is not None and now - hit[1] < KEY_CACHE_SECONDS:
            s = hit[0]
        else:
            s = self.store.session(token)
            with self.lock:
                if len(self.sessions) > 100_000:
                    self.sessions.clear()
                self.sessions[token] = (s, now)
        if s is not None and s[2] < time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()):
            return None
        return s
