"""One access to the service, as the hash-chained audit log records it.

An :class:`Access` is opened when the caller is known and filled in as the request proceeds (the
purpose it states, the masters it touches, what it asked); :func:`record` writes it with the status
and the fields returned.  Refusals are recorded too (by the HTTP layer, with what the access had
gathered when it was refused), except 401 and 429, which name no caller the log could trust.
"""

from __future__ import annotations

from dataclasses import dataclass, field
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


def refused(store: Store, access: Access, status: int, title: str) -> None:
    """Record a refusal (the access as far as it got, and the problem's title)."""
    if status in (401, 429):
        return
    access.detail = {**access.detail, "refused": title}
    record(store, access, status)
