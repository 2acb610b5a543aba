"""One access to the service, as the hash-chained audit log records it.

An :class:`Access` is opened when the caller is known and filled in as the request proceeds (the
purpose it states, the masters it touches, what it asked); :func:`record` writes it with the status
and the fields returned.  Refusals are recorded too, by the HTTP layer: a 403 or 4xx of a known caller
one entry each (with what the access had gathered), as long as the caller stays under
:data:`FLOOD` refusals a minute; a 401 (no key, an unknown or revoked key) and a 429 (over the rate
limit) - and a known caller's refusals past :data:`FLOOD` - are *counted* (:class:`RefusalTally`) per
minute, status, key id, client address and reason, and written as one ``refused`` entry per count when
the minute is over.  A flood of 43,700 rate-limited requests is then a handful of entries, each saying
how many, from where and with which key id - never the key itself.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from warehouse.api.store import Caller, Store


@dataclass
class Access:
    """What the audit entry of one request needs; filled in as the request proceeds."""

    caller: Caller
    action: str
    purpose: str | None = None
    subject: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def operator(cls, name: str, action: str, purpose: str) -> Access:
        """An access by an operator's command (not an API caller), e.g. ``once-only`` statistics."""
        return cls(Caller("operator", name, "operator", None, 0.0, 0), action, purpose)


def record(store: Store, access: Access, status: int, fields: list[str] | None = None,
           application: dict[str, Any] | None = None, update: tuple[str, dict[str, Any]] | None = None,
           evidence: list[dict[str, Any]] | None = None) -> int:
    """Append the access to the audit log (with an application row written or updated, and evidence
    documents sealed for it, in the same transaction, so nothing is stored without its entry);
    returns the entry's sequence number."""
    c = access.caller
    return store.record({"caller": c.label, "caller_kind": c.kind, "department": c.department,
                         "purpose": access.purpose, "action": access.action, "subject": access.subject,
                         "fields": fields or [], "status": status, "detail": access.detail},
                        application=application, update=update, evidence=evidence)


#: refusals of one caller a minute written one entry each; past it they are counted
FLOOD = 20
#: the statuses always counted, never written one by one: they name no caller the log could trust
COUNTED = (401, 429)


def key_id_of(key: str | None) -> str | None:
    """The key id of a presented key (``mdk_<id>_<secret>``), never the secret; None if not key-shaped."""
    parts = (key or "").split("_", 2)
    if len(parts) == 3 and parts[0] == "mdk" and 4 <= len(parts[1]) <= 16 and parts[1].isalnum():
        return parts[1]
    return None


@dataclass(frozen=True)
class RefusalKey:
    """What a counted refusal is aggregated by."""

    minute: str  # YYYY-MM-DDTHH:MMZ
    status: int
    key_id: str | None
    client: str | None
    reason: str


class RefusalTally:
    """Refusals counted per minute (one per server process), written as ``refused`` entries."""

    def __init__(self) -> None:
        self.counts: Counter[RefusalKey] = Counter()
        self.routes: dict[RefusalKey, Counter[str]] = {}
        self.per_caller: Counter[tuple[str, str]] = Counter()
        self.lock = threading.Lock()

    @staticmethod
    def minute(t: datetime | None = None) -> str:
        return (t or datetime.now(UTC)).strftime("%Y-%m-%dT%H:%MZ")

    def individual(self, caller_label: str) -> bool:
        """Whether a known caller's refusal is still written on its own (under FLOOD this minute)."""
        with self.lock:
            k = (self.minute(), caller_label)
            self.per_caller[k] += 1
            return self.per_caller[k] <= FLOOD

    def add(self, status: int, key_id: str | None, client: str | None, reason: str, route: str) -> None:
        k = RefusalKey(self.minute(), status, key_id, client, reason)
        with self.lock:
            self.counts[k] += 1
            self.routes.setdefault(k, Counter())[route] += 1

    def take(self, everything: bool = False) -> list[tuple[RefusalKey, int, dict[str, int]]]:
        """The counts of minutes that are over (or all), removed from the tally."""
        now = self.minute()
        with self.lock:
            done = [k for k in self.counts if everything or k.minute < now]
            out = [(k, self.counts.pop(k), dict(self.routes.pop(k, {}))) for k in done]
            for pk in [pk for pk in self.per_caller if pk[0] < now]:
                del self.per_caller[pk]
        return out

    def flush(self, store: Store, everything: bool = False) -> int:
        """Write one ``refused`` entry per count taken; returns the number of entries written."""
        taken = self.take(everything)
        for k, n, routes in taken:
            caller = store.caller_by_id(k.key_id) if k.key_id else None
            who = Caller(k.key_id or "-", "unknown key" if caller is None else caller.name,
                         caller.kind if caller else "anonymous", caller.department if caller else None, 0.0, 0)
            access = Access(who, "refused", None)
            access.detail = {"refused": k.reason, "count": n, "minute": k.minute, "client": k.client,
                             "routes": routes, "presented_key_id": k.key_id}
            record(store, access, k.status)
        return len(taken)


def refused(store: Store, access: Access, status: int, title: str, *, tally: RefusalTally | None = None,
            client: str | None = None) -> None:
    """Record a refusal of a known caller: its own entry (the access as far as it got, and the problem's
    title) - or, with a ``tally`` (a server process's), counted there for a 401 or 429 and once the caller
    is past :data:`FLOOD` refusals this minute."""
    if tally is not None and (status in COUNTED or not tally.individual(access.caller.label)):
        tally.add(status, access.caller.key_id, client, title, access.action)
        return
    access.detail = {**access.detail, "refused": title}
    record(store, access, status)
