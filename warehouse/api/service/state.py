"""The state a server process opens once and every request uses (the app-state object)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from contextvars import ContextVar
from datetime import date
from typing import Any

from core.settings import settings as core_settings
from standards.dictionary import dictionary
from warehouse.api.anchor import Anchor, load_anchor_key
from warehouse.api.auth import Authenticator, Limiter, RateLimiter, SharedRateLimiter
from warehouse.api.catalogue import Catalogue, catalogue
from warehouse.api.grants import GrantsInForce, Policy
from warehouse.api.housekeeping import Housekeeping
from warehouse.api.index import ReadModel, Snapshots
from warehouse.api.publicid import PublicIds, load_secret
from warehouse.api.sealing import load_signing_key
from warehouse.api.service.audit import RefusalTally
from warehouse.api.service.upkeep import AuditUpkeep
from warehouse.api.settings import Settings
from warehouse.api.store import Store

#: The read model the current request uses, once it asked for one (a one-element list, so the
#: handler's thread pool - which runs on a copy of the request's context - fills the same slot).
_REQUEST_MODEL: ContextVar[list[ReadModel | None] | None] = ContextVar("request_model", default=None)

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]


class OneSnapshotPerRequest:
    """ASGI middleware: every read of the masters within one request uses the same snapshot.

    A new build's snapshot is swapped in while requests are running (:class:`Snapshots`); without
    this, a request that reads twice (the applicant, then the applicant's licences) could read the
    first from one build and the second from the next - a state no build ever published."""

    def __init__(self, app: Callable[[Scope, Receive, Send], Awaitable[None]]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        token = _REQUEST_MODEL.set([None])
        try:
            await self.app(scope, receive, send)
        finally:
            _REQUEST_MODEL.reset(token)


class ServingState:
    """The serving store, the read model of the current gold build, the grants and the catalogue.

    One per process (each uvicorn worker makes its own in ``create_app``); a console or a command
    may open one over the same settings and call the service functions with it.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.store, settings.audit_key)
        #: the Ed25519 key that seals evidence documents (made on first use, mode 0600)
        self.signing_key = load_signing_key(settings.evidence_key)
        #: master ids as departments see them: opaque, per department (mode 0600 key beside the store)
        self.ids = PublicIds(load_secret(settings.id_key))
        self.snapshots = Snapshots(settings.gold, settings.index_dir, settings.watch_interval)
        self.auth = Authenticator(self.store)
        #: one token bucket per key: in this process, or shared through the store by several workers
        self.limiter: Limiter = RateLimiter() if settings.workers <= 1 else SharedRateLimiter(settings.store)
        self.housekeeping = Housekeeping(settings.store, settings.preview_ttl)
        #: refusals counted per minute, written by the upkeep thread (:mod:`.upkeep`)
        self.refusals = RefusalTally()
        self.upkeep = AuditUpkeep(self.store, self.refusals, anchor(), core_settings().audit_anchor_every)
        self.catalogue: Catalogue = catalogue()
        self.grants = GrantsInForce(settings.grants)
        #: element names of each master, in the dictionary's order (the order fields are shaped in)
        self.elements = {m: tuple(d.elements) for m, d in dictionary().masters.items()}

    @classmethod
    def open(cls, settings: Settings | None = None) -> ServingState:
        """Open everything a request needs, failing now (not on the first request) if anything is
        missing: the read model is built if need be, the grants file must be valid."""
        state = cls(settings or Settings.from_env())
        state.housekeeping.start()
        state.upkeep.start()
        state.snapshots.open()
        state.grants.policy()
        return state

    def close(self) -> None:
        """Write the counted refusals, anchor the final head, close the store."""
        self.upkeep.stop()
        self.housekeeping.stop()
        self.store.close()

    def model(self) -> ReadModel:
        """The read model of the current gold build (a newer build is swapped in as it appears);
        within a request (:class:`OneSnapshotPerRequest`), the one it first read."""
        slot = _REQUEST_MODEL.get()
        if slot is None:
            return self.snapshots.get()
        pinned = slot[0]
        if pinned is None:
            pinned = slot[0] = self.snapshots.get()
        return pinned

    def policy(self) -> Policy:
        return self.grants.policy()

    def today(self) -> date:
        return self.settings.today()

    def health(self, detailed: bool = False) -> dict[str, Any]:
        """``ok``, or ``degraded`` with the reason (a read model that cannot follow the gold file, an
        invalid grants file - the service goes on with the last good one of each).  ``detailed``: the
        reason as logged (file paths, database errors); else only which part is degraded."""
        snap = self.snapshots.current
        grants_error = self.grants.check()
        model_error = self.snapshots.error
        if detailed:
            error = model_error or grants_error
        else:
            error = ("the read model cannot follow the gold store; the previous build keeps serving" if model_error
                     else "the grants file is invalid; the previous grants stay in force" if grants_error else None)
        return {"status": "degraded" if error else "ok", "build_id": snap.build_id if snap else None,
                "snapshot_built_at": snap.meta.get("built_at") if snap else None, "error": error}


def anchor() -> Anchor | None:
    """The deployment's audit anchor (``MASTERDATA_AUDIT_ANCHOR``) with its signing key, or None."""
    s = core_settings()
    if not s.audit_anchor:
        return None
    return Anchor(s.audit_anchor, load_anchor_key(s.audit_signing_key, create=True))
