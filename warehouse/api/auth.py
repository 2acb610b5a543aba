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
* Rate limits: a token bucket per caller (``rate`` requests/second, ``burst``), per server process;
  with N workers each process allows rate/N so the caller's total stays at ``rate``.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

from warehouse.api.store import Caller, Store

KEY_CACHE_SECONDS = 2.0  # a revoked key stops working within this time


@dataclass
class Bucket:
    tokens: float
    stamp: float


class RateLimiter:
    def __init__(self, share: int = 1) -> None:
        self.share = max(1, share)
        self.buckets: dict[str, Bucket] = {}
        self.lock = threading.Lock()

    def take(self, caller: Caller) -> float:
        """0 if the request may go ahead, else the seconds until it could."""
        rate = caller.rate / self.share
        burst = max(1.0, caller.burst / self.share)
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
