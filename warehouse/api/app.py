"""The HTTP service over the gold masters: hall auto-fill and department queries.

Started by ``masterdata serve`` (uvicorn, ``create_app`` as factory, one instance per worker).
Every request but ``/health`` and the OpenAPI document is authenticated by API key (see
:mod:`warehouse.api.auth`) and every access to master data is written to the hash-chained audit log
(caller, purpose, subject, fields returned, time, outcome) - refusals included.  Errors are
``application/problem+json``; a malformed identifier is a 422 naming the validator's reason.

Endpoints (``/docs`` shows them with their schemas):

* ``POST /v1/identity/sessions`` - identity platform: open an applicant session after real-name
  authentication (the token binds hall requests to that person);
* ``POST /v1/hall/autofill`` - hall: the form of a service item pre-filled for the applicant, his
  materials held / to upload; stored as a preview until he consents;
* ``GET /v1/hall/applications/{id}``, ``POST /v1/hall/applications/{id}/consent`` - hall: the
  applicant reads his preview and consents (or withdraws);
* ``GET /v1/applications/{id}`` - the approving department receives a consented application;
* ``GET /v1/persons/{id}``, ``/v1/entities/{id}``, ``/v1/licences/{id}`` (+ ``/licences`` of a
  person or entity), ``POST /v1/persons/search``, ``POST /v1/entities/search`` - department queries,
  each field filtered by the caller's grants for the purpose it states (``?purpose=``).
"""

from __future__ import annotations

import json
import logging
import math
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from fastapi import Depends, FastAPI, Header, Path, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from standards.dictionary import dictionary
from standards.text import normalise_name
from warehouse.api import ids, models
from warehouse.api.auth import Authenticator, RateLimiter
from warehouse.api.autofill import fill
from warehouse.api.catalogue import Catalogue, catalogue
from warehouse.api.grants import PURPOSE_RE, Decision, GrantsError, Policy, policy
from warehouse.api.index import ReadModel, Row, Snapshots
from warehouse.api.search import search_entities, search_persons
from warehouse.api.settings import Settings
from warehouse.api.store import Caller, Store, iso, now_utc, sha256

log = logging.getLogger("masterdata.serve")

PERSON_MID = re.compile(r"^P[0-9]{10}$")
ENTITY_MID = re.compile(r"^E[0-9]{10}$")
LICENCE_MID = re.compile(r"^L[0-9]{10}$")
APP_ID = r"^A[0-9]{8}[0-9a-f]{12}$"
PURPOSE = Query(..., min_length=2, max_length=64, pattern=PURPOSE_RE.pattern,
                description="the purpose of the query, as named in the grant (e.g. marriage_registration)")
IDENT = Path(..., min_length=1, max_length=128)


class ProblemError(Exception):
    def __init__(self, status: int, title: str, detail: str, slug: str | None = None,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(detail)
        self.status, self.title, self.detail = status, title, detail
        self.slug = slug or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
        self.headers = headers or {}
        self.extra = extra


def problem_response(status: int, title: str, detail: str, slug: str, headers: dict[str, str] | None = None,
                     **extra: Any) -> Response:
    body = {"type": f"/problems/{slug}", "title": title, "status": status, "detail": detail}
    body.update({k: v for k, v in extra.items() if v is not None})
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=status,
                    media_type="application/problem+json", headers=headers)


def ok(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, separators=(",", ":")), status_code=status,
                    media_type="application/json")


@dataclass
class Ctx:
    """What the audit entry of a request needs; filled in as the request proceeds."""

    caller: Caller
    action: str
    purpose: str | None = None
    subject: list[str] = field(default_factory=list)
    detail: dict[str, Any] = field(default_factory=dict)


class Service:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.store = Store(settings.store, settings.audit_key)
        self.store.start_checkpoints()
        self.snapshots = Snapshots(settings.gold, settings.index_dir, settings.watch_interval)
        self.auth = Authenticator(self.store)
        self.limiter = RateLimiter(settings.workers)
        self.catalogue: Catalogue = catalogue()
        self.elements = {m: list(d.elements) for m, d in dictionary().masters.items()}
        self._policy: Policy | None = None
        self.grants_error: str | None = None

    def model(self) -> ReadModel:
        return self.snapshots.get()

    def policy(self) -> Policy:
        """The grants in force: re-read when the file changes; a file edited into an invalid state
        keeps the last valid grants in force (and /health reports the error)."""
        try:
            self._policy = policy(self.settings.grants)
            self.grants_error = None
        except (GrantsError, OSError) as exc:
            if self.grants_error != str(exc):
                log.error("grants file invalid, the previous grants stay in force: %s", exc)
            self.grants_error = str(exc)
            if self._policy is None:
                raise
        return self._policy

    def audit(self, ctx: Ctx, status: int, fields: list[str] | None = None, **kw: Any) -> None:
        c = ctx.caller
        self.store.record({"caller": c.label, "caller_kind": c.kind, "department": c.department,
                           "purpose": ctx.purpose, "action": ctx.action, "subject": ctx.subject,
                           "fields": fields or [], "status": status, "detail": ctx.detail}, **kw)


def _api_key(request: Request) -> str | None:
    h = request.headers
    auth = h.get("authorization")
    if auth and auth[:7].lower() == "bearer ":
        return auth[7:].strip()
    return h.get("x-api-key")


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    svc = Service(settings)
    svc.snapshots.open()
    svc.policy()
    app = FastAPI(
        title="masterdata serving API",
        version="1.0",
        description="Hall auto-fill and department queries over the population, legal-entity and "
                    "electronic-licence masters: graded, authorised, audited. Authenticate with "
                    "`Authorization: Bearer <API key>` (keys: `masterdata keys create`).",
    )
    app.state.service = svc

    # -- errors: problem+json everywhere ---------------------------------------------------------------
    def _audit_refusal(request: Request, status: int, title: str) -> None:
        ctx: Ctx | None = getattr(request.state, "ctx", None)
        if ctx is not None and status not in (401, 429):
            ctx.detail = {**ctx.detail, "refused": title}
            try:
                svc.audit(ctx, status)
            except Exception:  # the refusal itself must still reach the caller
                log.exception("audit write failed")

    @app.exception_handler(ProblemError)
    async def _problem(request: Request, exc: ProblemError) -> Response:
        _audit_refusal(request, exc.status, exc.title)
        return problem_response(exc.status, exc.title, exc.detail, exc.slug, exc.headers, **exc.extra)

    @app.exception_handler(RequestValidationError)
    async def _invalid(request: Request, exc: RequestValidationError) -> Response:
        errs = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg"))} for e in exc.errors()]
        detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errs[:5]) or "invalid request"
        _audit_refusal(request, 422, "invalid request")
        return problem_response(422, "Invalid request", detail, "invalid-request", errors=errs)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        titles = {404: "Not found", 405: "Method not allowed"}
        detail = str(exc.detail) if exc.detail else titles.get(exc.status_code, "error")
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
        return problem_response(exc.status_code, titles.get(exc.status_code, "Error"), detail,
                                f"http-{exc.status_code}", dict(exc.headers or {}))

    @app.exception_handler(Exception)
    async def _crash(request: Request, exc: Exception) -> Response:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem_response(500, "Internal error", "the server failed to answer; the error is logged",
                                "internal-error")

    # -- authentication ------------------------------------------------------------------------------
    def require(*kinds: str) -> Callable[[Request], Any]:
        async def dep(request: Request) -> Ctx:
            key = _api_key(request)
            if not key:
                raise ProblemError(401, "Authentication required",
                                   "send your API key as 'Authorization: Bearer <key>' or 'X-API-Key: <key>'",
                                   headers={"WWW-Authenticate": "Bearer"})
            caller = svc.auth.caller(key)
            if caller is None:
                raise ProblemError(401, "Invalid API key", "the key is unknown or has been revoked",
                                   headers={"WWW-Authenticate": "Bearer"})
            wait = svc.limiter.take(caller)
            if wait:
                raise ProblemError(429, "Too many requests",
                                   f"rate limit of {caller.rate:g} requests/s for caller {caller.name} exceeded",
                                   headers={"Retry-After": str(max(1, math.ceil(wait)))})
            route = request.scope.get("route")
            ctx = Ctx(caller, getattr(route, "name", request.url.path))
            request.state.ctx = ctx
            if caller.kind not in kinds:
                raise ProblemError(403, "Wrong kind of caller",
                                   f"this endpoint serves {' or '.join(kinds)} systems; this key is a "
                                   f"{caller.kind} key")
            return ctx
        return dep

    hall = Depends(require("hall"))
    department = Depends(require("department"))
    identity = Depends(require("identity"))
    anyone = Depends(require("hall", "department", "identity"))

    def applicant_of(token: str | None) -> tuple[str, str]:
        if not token:
            raise ProblemError(401, "Applicant session required",
                               "the hall acts for an applicant only with his session token (X-Applicant-Token), "
                               "opened by the identity platform", headers={"WWW-Authenticate": "Bearer"})
        s = svc.auth.session(token)
        if s is None:
            raise ProblemError(401, "Applicant session expired", "the applicant session token is unknown or "
                               "expired: the applicant must sign in again", headers={"WWW-Authenticate": "Bearer"})
        return s[0], s[1]

    # -- identifiers ---------------------------------------------------------------------------------
    async def checked(fn: Callable[[str, str], str], fast: Callable[[str], bool] | None, value: str,
                      element: str) -> str:
        if fast is not None and fast(value):
            return value
        try:
            return await run_in_threadpool(fn, value, element)  # the validator is a DuckDB query
        except ids.IdentifierRejected as exc:
            raise ProblemError(422, "Malformed identifier", f"{exc.element} {exc.value!r} rejected: {exc.reason} "
                               f"({exc.reason_text})", "malformed-identifier", reason=exc.reason,
                               reason_text=exc.reason_text, element=exc.element) from None

    def rid(value: str, element: str = "person.id_number"):
        return checked(ids.resident_id, ids.fast_resident_id, value, element)

    # -- shaping by grant ------------------------------------------------------------------------------
    def decisions(ctx: Ctx, purpose: str) -> dict[str, Decision]:
        ctx.purpose = purpose
        return svc.policy().decisions(ctx.caller.department or "", purpose, settings.today())

    def shape(master: str, data: dict[str, Any], dec: dict[str, Decision]) -> tuple[dict[str, Any], list[str]]:
        out: dict[str, Any] = {}
        returned = []
        for name in svc.elements[master]:
            q = f"{master}.{name}"
            if dec[q].allowed:
                v = data.get(name)
                out[name] = v
                if v is not None:
                    returned.append(q)
        return out, returned

    def withheld(masters: tuple[str, ...], dec: dict[str, Decision]) -> list[dict[str, str]]:
        return [{"element": q, "reason": d.reason or ""} for q, d in dec.items()
                if not d.allowed and q.split(".")[0] in masters]

    def grant_ids(masters: tuple[str, ...], dec: dict[str, Decision]) -> list[str]:
        return sorted({d.grant for q, d in dec.items() if d.allowed and d.grant and q.split(".")[0] in masters})

    def need(dec: dict[str, Decision], element: str, why: str, purpose: str) -> None:
        d = dec[element]
        if not d.allowed:
            raise ProblemError(403, "Not covered by a grant",
                               f"{why} needs {element}, which this department may not receive for purpose "
                               f"{purpose!r} ({d.reason})", "not-granted", element=element, reason=d.reason)

    async def find_person(ident: str, dec: dict[str, Decision], purpose: str, ctx: Ctx) -> Row:
        m = svc.model()
        if PERSON_MID.match(ident):
            row = m.person(master_id=ident)
        else:
            value = await rid(ident)
            need(dec, "person.id_number", "looking a person up by ID number", purpose)
            row = m.person(id_number=value)
        if row is None:
            ctx.detail["query"] = ident
            raise ProblemError(404, "No such person", "no person master has this identifier", "not-found")
        ctx.subject = [row.master_id]
        return row

    async def find_entity(ident: str, ctx: Ctx) -> Row:
        m = svc.model()
        v = ident.strip()
        if ENTITY_MID.match(v):
            row = m.entity(master_id=v)
        elif len(v) == 18:
            row = m.entity(uscc=await checked(ids.uscc, ids.fast_uscc, v, "entity.uscc"))
        elif "-" in v or len(v) in (9, 10):
            row = m.entity(org_code=await checked(ids.org_code, None, v, "entity.org_code"))
        elif v.isdigit():
            row = m.entity(reg_no=await checked(ids.reg_no, None, v, "entity.reg_no"))
        else:
            raise ProblemError(422, "Malformed identifier",
                               f"{ident!r} is neither an entity master id (E + 10 digits), a USCC (18 characters), "
                               f"an organisation code (9) nor a registration number (13 or 15 digits)",
                               "malformed-identifier", reason="BAD_LENGTH", element="entity.uscc")
        if row is None:
            ctx.detail["query"] = ident
            raise ProblemError(404, "No such entity", "no entity master has this identifier", "not-found")
        ctx.subject = [row.master_id]
        return row

    # -- health & catalogue --------------------------------------------------------------------------
    @app.get("/health", response_model=models.Health, tags=["service"])
    async def health() -> Response:
        snap = svc.snapshots.current
        try:
            svc.policy()
        except (GrantsError, OSError):
            pass
        error = svc.snapshots.error or svc.grants_error
        return ok({"status": "degraded" if error else "ok",
                   "build_id": snap.build_id if snap else None,
                   "snapshot_built_at": snap.meta.get("built_at") if snap else None,
                   "error": error})

    @app.get("/v1/service-items", response_model=models.ServiceItems, responses=models.errors(), tags=["catalogue"])
    async def service_items(
        ctx: Ctx = anyone,
        target: str | None = Query(None, pattern="^(person|entity)$"),
        department: str | None = Query(None, max_length=40),
        power_class: str | None = Query(None, max_length=10),
    ) -> Response:
        items = [i.summary() for i in svc.catalogue.items.values()
                 if (target is None or i.target == target) and (department is None or i.department == department)
                 and (power_class is None or i.power_class == power_class)]
        return ok({"count": len(items), "items": items})

    @app.get("/v1/service-items/{code}", response_model=models.ServiceItemOut, responses=models.errors(404),
             tags=["catalogue"])
    async def service_item(code: str = Path(..., max_length=10), ctx: Ctx = anyone) -> Response:
        item = svc.catalogue.items.get(code)
        if item is None:
            raise ProblemError(404, "No such service item", f"{code!r} is not in the catalogue", "not-found")
        return ok({**item.summary(), "fields": list(item.fields),
                   "materials": [{"code": m.code, "material": m.name, "licence_types": list(m.licence_types),
                                  "holder": m.holder} for m in item.materials]})

    # -- identity platform ---------------------------------------------------------------------------
    @app.post("/v1/identity/sessions", response_model=models.SessionResponse, status_code=201,
              responses=models.errors(404), tags=["hall"])
    async def open_session(body: models.SessionRequest, ctx: Ctx = identity) -> Response:
        ctx.purpose = "applicant_authentication"
        ctx.detail = {"method": body.method}
        value = await rid(body.id_number)
        row = svc.model().person(id_number=value)
        if row is None:
            raise ProblemError(404, "No such person", "no person in the population library has this ID number",
                               "not-found")
        ctx.subject = [row.master_id]
        if normalise_name(body.name) != normalise_name(row.data.get("name")):
            raise ProblemError(403, "Name does not match", "the name does not match the population library's "
                               "record of this ID number", "identity-mismatch")
        token, expires = svc.store.create_session(value, row.master_id, ctx.caller.label,
                                                  settings.session_minutes)
        svc.audit(ctx, 201, ["person.id_number", "person.name"])
        return ok({"token": token, "expires_at": iso(expires), "person_master_id": row.master_id}, 201)

    # -- hall ----------------------------------------------------------------------------------------
    @app.post("/v1/hall/autofill", response_model=models.Autofill, responses=models.errors(404), tags=["hall"])
    async def autofill(
        body: models.AutofillRequest,
        ctx: Ctx = hall,
        applicant_token: str | None = Header(None, alias="X-Applicant-Token", max_length=200),
    ) -> Response:
        id_number, person_mid = applicant_of(applicant_token)
        ctx.purpose = f"autofill:{body.service_item}"
        ctx.subject = [person_mid]
        item = svc.catalogue.items.get(body.service_item)
        if item is None:
            raise ProblemError(404, "No such service item", f"{body.service_item!r} is not in the catalogue",
                               "not-found")
        if body.id_number is not None and await rid(body.id_number) != id_number:
            raise ProblemError(403, "Not the applicant's own data",
                               "an applicant may only retrieve his own data: the ID number is not the signed-in "
                               "applicant's", "applicant-only")
        m = svc.model()
        person = m.person(id_number=id_number)
        if person is None:
            raise ProblemError(404, "No such person", "the applicant is not in the population library", "not-found")
        entity = None
        if item.target == "entity":
            if not body.uscc:
                raise ProblemError(422, "Entity required", f"{item.code} {item.name} is applied for by a legal "
                                   f"entity: give the uscc of the entity you represent", "entity-required")
            code = await checked(ids.uscc, ids.fast_uscc, body.uscc, "entity.uscc")
            entity = m.entity(uscc=code)
            if entity is None:
                raise ProblemError(404, "No such entity", "no entity in the legal-entity library has this USCC",
                                   "not-found")
            ctx.subject = [person.master_id, entity.master_id]
            rep_id, rep_mid = entity.data.get("legal_rep_id_number"), entity.data.get("legal_rep_master_id")
            if rep_id != id_number and rep_mid != person.master_id:
                raise ProblemError(403, "Not the legal representative",
                                   "an applicant may only act for an entity he legally represents; the "
                                   "legal-entity library names someone else", "applicant-only")
        elif body.uscc:
            raise ProblemError(422, "Not an entity item", f"{item.code} {item.name} is applied for by a person: "
                               "leave uscc out", "not-an-entity-item")
        today = settings.today()
        filled = fill(m, svc.catalogue, item, person, entity, today)
        app_id = f"A{today.strftime('%Y%m%d')}{secrets.token_hex(6)}"
        subject = entity or person
        payload = {
            "application_id": app_id, "status": "preview", "service_item": item.summary(),
            "applicant": {"kind": item.target, "master_id": subject.master_id, "name": subject.data.get("name"),
                          "acting_person_master_id": person.master_id},
            **filled, "as_of": today.isoformat(), "build_id": m.build_id,
            "consent_url": f"/v1/hall/applications/{app_id}/consent",
        }
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        returned = [f["element"] for f in filled["fields"] if f["prefilled"]]
        returned += [f"licence:{x['licence']['identifier']}" for x in filled["materials"] if x["licence"]]
        ctx.detail = {"application_id": app_id, "item": item.code}
        svc.audit(ctx, 200, returned, application={
            "application_id": app_id, "item": item.code, "department": item.department,
            "applicant_master_id": person.master_id, "subject_kind": item.target,
            "subject_master_id": subject.master_id, "hall_caller": ctx.caller.label, "created_at": iso(now_utc()),
            "payload": text, "payload_hash": sha256(text), "status": "preview", "consent_at": None,
            "delivered_at": None})
        return Response(text, media_type="application/json")

    def own_application(app_id: str, person_mid: str, ctx: Ctx) -> dict[str, Any]:
        a = svc.store.application(app_id)
        ctx.detail = {"application_id": app_id}
        if a is None or a["applicant_master_id"] != person_mid:
            # someone else's application is "not found" to this applicant: nothing to learn from it
            raise ProblemError(404, "No such application", "no application with this id for this applicant",
                               "not-found")
        ctx.subject = sorted({a["applicant_master_id"], a["subject_master_id"]})
        return a

    @app.get("/v1/hall/applications/{application_id}", response_model=models.Autofill, responses=models.errors(404),
             tags=["hall"])
    async def preview(
        application_id: str = Path(..., pattern=APP_ID),
        ctx: Ctx = hall,
        applicant_token: str | None = Header(None, alias="X-Applicant-Token", max_length=200),
    ) -> Response:
        _id, person_mid = applicant_of(applicant_token)
        ctx.purpose = "preview"
        a = own_application(application_id, person_mid, ctx)
        payload = json.loads(a["payload"])
        payload["status"] = a["status"]
        svc.audit(ctx, 200, [f["element"] for f in payload["fields"] if f["prefilled"]])
        return ok(payload)

    @app.post("/v1/hall/applications/{application_id}/consent", response_model=models.ConsentResponse,
              responses=models.errors(404, 409), tags=["hall"])
    async def consent(
        body: models.ConsentRequest,
        application_id: str = Path(..., pattern=APP_ID),
        ctx: Ctx = hall,
        applicant_token: str | None = Header(None, alias="X-Applicant-Token", max_length=200),
    ) -> Response:
        _id, person_mid = applicant_of(applicant_token)
        ctx.purpose = "consent"
        a = own_application(application_id, person_mid, ctx)
        if a["status"] != "preview":
            raise ProblemError(409, "Already decided", f"the applicant already {a['status']} this application",
                               "already-decided")
        status = "consented" if body.agree else "withdrawn"
        at = iso(now_utc())
        ctx.detail = {"application_id": application_id, "decision": status, "payload_hash": a["payload_hash"]}
        svc.audit(ctx, 200, [], update=(application_id, {"status": status, "consent_at": at}))
        return ok({"application_id": application_id, "status": status, "consent_at": at,
                   "department": a["department"]})

    @app.get("/v1/applications/{application_id}", response_model=models.Delivered, responses=models.errors(404, 409),
             tags=["departments"])
    async def delivered(
        application_id: str = Path(..., pattern=APP_ID),
        purpose: str = PURPOSE,
        ctx: Ctx = department,
    ) -> Response:
        ctx.purpose = purpose
        ctx.detail = {"application_id": application_id}
        a = svc.store.application(application_id)
        if a is None or a["department"] != ctx.caller.department:
            raise ProblemError(404, "No such application",
                               "no application with this id addressed to this department", "not-found")
        ctx.subject = sorted({a["applicant_master_id"], a["subject_master_id"]})
        if a["status"] != "consented":
            raise ProblemError(409, "No consent", "nothing is passed to the approving department before the "
                               f"applicant consents (status: {a['status']})", "no-consent")
        payload = json.loads(a["payload"])
        payload["status"] = "consented"
        update = None if a["delivered_at"] else (application_id, {"delivered_at": iso(now_utc())})
        svc.audit(ctx, 200, [f["element"] for f in payload["fields"] if f["prefilled"]], update=update)
        return ok({"application_id": application_id, "status": a["status"], "consent_at": a["consent_at"],
                   "application": payload})

    # -- department queries ----------------------------------------------------------------------------
    @app.get("/v1/persons/{ident}", response_model=models.MasterRecord, responses=models.errors(404),
             tags=["departments"])
    async def person(ident: str = IDENT, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        row = await find_person(ident, dec, purpose, ctx)
        fields, returned = shape("person", row.data, dec)
        svc.audit(ctx, 200, returned)
        return ok({"master": "person", "master_id": row.master_id, "fields": fields,
                   "withheld": withheld(("person",), dec), "purpose": purpose,
                   "grants": grant_ids(("person",), dec)})

    @app.get("/v1/entities/{ident}", response_model=models.MasterRecord, responses=models.errors(404),
             tags=["departments"])
    async def entity(ident: str = IDENT, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        row = await find_entity(ident, ctx)
        fields, returned = shape("entity", row.data, dec)
        svc.audit(ctx, 200, returned)
        return ok({"master": "entity", "master_id": row.master_id, "fields": fields,
                   "withheld": withheld(("entity",), dec), "purpose": purpose,
                   "grants": grant_ids(("entity",), dec)})

    @app.get("/v1/licences/{ident}", response_model=models.MasterRecord, responses=models.errors(404),
             tags=["departments"])
    async def licence(ident: str = IDENT, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        m = svc.model()
        if LICENCE_MID.match(ident):
            row = m.licence(master_id=ident)
        else:
            row = m.licence(identifier=await checked(ids.licence_id, None, ident, "licence.identifier"))
        if row is None:
            ctx.detail["query"] = ident
            raise ProblemError(404, "No such licence", "no licence master has this identifier", "not-found")
        ctx.subject = [row.master_id]
        fields, returned = shape("licence", row.data, dec)
        svc.audit(ctx, 200, returned)
        return ok({"master": "licence", "master_id": row.master_id, "fields": fields,
                   "withheld": withheld(("licence",), dec), "purpose": purpose,
                   "grants": grant_ids(("licence",), dec)})

    def licence_list(kind: str, holder: Row, dec: dict[str, Decision], purpose: str, ctx: Ctx) -> Response:
        lics = svc.model().licences_of(holder.master_id)
        rows, returned = [], set()
        for lic in sorted(lics, key=lambda x: str(x.get("master_id"))):
            f, r = shape("licence", lic, dec)
            rows.append({"master_id": lic.get("master_id"), "fields": f})
            returned.update(r)
        ctx.subject = [holder.master_id] + [r["master_id"] for r in rows]
        svc.audit(ctx, 200, sorted(returned))
        return ok({"holder": kind, "holder_master_id": holder.master_id, "licences": rows,
                   "withheld": withheld(("licence",), dec), "purpose": purpose,
                   "grants": grant_ids(("licence",), dec)})

    @app.get("/v1/persons/{ident}/licences", response_model=models.LicenceList, responses=models.errors(404),
             tags=["departments"])
    async def person_licences(ident: str = IDENT, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        row = await find_person(ident, dec, purpose, ctx)
        return licence_list("person", row, dec, purpose, ctx)

    @app.get("/v1/entities/{ident}/licences", response_model=models.LicenceList, responses=models.errors(404),
             tags=["departments"])
    async def entity_licences(ident: str = IDENT, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        row = await find_entity(ident, ctx)
        return licence_list("entity", row, dec, purpose, ctx)

    @app.post("/v1/persons/search", response_model=models.SearchResult, responses=models.errors(), tags=["departments"])
    async def person_search(body: models.PersonSearch, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        # a search may only filter on what the caller may see: a match on a withheld birth date
        # would disclose it
        need(dec, "person.birth_date", "searching persons by birth date", purpose)
        need(dec, "person.name", "searching persons by name", purpose)
        ctx.detail = {"name": body.name, "birth_date": body.birth_date.isoformat()}
        hits = search_persons(svc.model(), body.name, body.birth_date, body.limit)
        results, returned = [], set()
        for h in hits:
            f, r = shape("person", json.loads(h.data), dec)
            results.append({"master_id": h.master_id, "score": h.score, "match": h.match, "fields": f})
            returned.update(r)
        ctx.subject = [h.master_id for h in hits]
        svc.audit(ctx, 200, sorted(returned))
        return ok({"master": "person", "results": results, "withheld": withheld(("person",), dec),
                   "purpose": purpose, "grants": grant_ids(("person",), dec)})

    @app.post("/v1/entities/search", response_model=models.SearchResult, responses=models.errors(), tags=["departments"])
    async def entity_search(body: models.EntitySearch, purpose: str = PURPOSE, ctx: Ctx = department) -> Response:
        dec = decisions(ctx, purpose)
        need(dec, "entity.name", "searching entities by name", purpose)
        ctx.detail = {"name": body.name}
        hits = search_entities(svc.model(), body.name, body.limit)
        results, returned = [], set()
        for h in hits:
            f, r = shape("entity", json.loads(h.data), dec)
            results.append({"master_id": h.master_id, "score": h.score, "match": h.match, "fields": f})
            returned.update(r)
        ctx.subject = [h.master_id for h in hits]
        svc.audit(ctx, 200, sorted(returned))
        return ok({"master": "entity", "results": results, "withheld": withheld(("entity",), dec),
                   "purpose": purpose, "grants": grant_ids(("entity",), dec)})

    # -- OpenAPI: the two ways to present a key --------------------------------------------------------
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
        comps = schema.setdefault("components", {})
        comps["securitySchemes"] = {
            "bearer": {"type": "http", "scheme": "bearer", "description": "API key (masterdata keys create)"},
            "apiKey": {"type": "apiKey", "in": "header", "name": "X-API-Key"},
        }
        for path, ops in schema.get("paths", {}).items():
            for op in ops.values():
                if path != "/health":
                    op["security"] = [{"bearer": []}, {"apiKey": []}]
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app

