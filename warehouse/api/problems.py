"""Every error response is ``application/problem+json`` (RFC 9457), rendered in one place.

* any :class:`core.errors.MasterdataError` - the service layer's refusals (:mod:`warehouse.api.errors`)
  and the platform's own errors - by one handler, with the headers a refusal carries; a 5xx shows a
  generic detail (its message may name server paths) and is logged;
* a request FastAPI cannot read (``RequestValidationError``) as ``invalid-request`` listing each error;
* routing errors (no such endpoint, method not allowed) as ``http-<status>``;
* anything else as a logged ``internal-error`` without a trace.

A refusal is audited with what its :class:`~warehouse.api.service.audit.Access` had gathered (the
access is on ``request.state`` once the caller is known); a refusal before that (401, 429) is counted
per minute, key id and client address and written as one entry per count.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from core.errors import MasterdataError
from warehouse.api import errors
from warehouse.api.service import audit

log = logging.getLogger("masterdata.serve")
HIDDEN = "the server failed to answer; the error is logged"


def problem(body: dict[str, Any], headers: dict[str, str] | None = None) -> Response:
    return Response(json.dumps(body, ensure_ascii=False, default=str), status_code=int(body["status"]),
                    media_type="application/problem+json", headers=headers)


def _audit_refusal(request: Request, status: int, title: str) -> None:
    """Audit a refusal: one entry for a known caller's, counted per minute for a flood or an unknown
    key (:class:`~warehouse.api.service.audit.RefusalTally`)."""
    state = request.app.state.serving
    access = getattr(request.state, "access", None)
    client = request.client.host if request.client else None
    try:
        if access is not None:
            audit.refused(state.store, access, status, title, tally=state.refusals, client=client)
        elif status in audit.COUNTED or status == 403:
            route = getattr(request.scope.get("route"), "name", None) or "unrouted"
            state.refusals.add(status, getattr(request.state, "key_id", None), client, title, route)
    except Exception:  # the refusal itself must still reach the caller
        log.exception("audit write failed")


async def on_error(request: Request, exc: Exception) -> Response:
    """Any MasterdataError: its problem details, status and headers."""
    assert isinstance(exc, MasterdataError)
    body = exc.problem()
    if exc.status >= 500:
        log.error("%s %s failed: %s", request.method, request.url.path, exc.one_line())
        body["detail"] = HIDDEN
    _audit_refusal(request, exc.status, str(body["title"]))
    return problem(body, getattr(exc, "headers", None))


async def on_invalid(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestValidationError)
    errs = [{"loc": [str(p) for p in e.get("loc", ())], "msg": str(e.get("msg"))} for e in exc.errors()]
    detail = "; ".join(f"{'.'.join(e['loc'])}: {e['msg']}" for e in errs[:5]) or "invalid request"
    _audit_refusal(request, 422, "invalid request")
    return problem(errors.InvalidRequest(detail, errors=errs).problem())


async def on_http(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, StarletteHTTPException)
    title = {404: "Not found", 405: "Method not allowed"}.get(exc.status_code, "Error")
    detail = str(exc.detail) if exc.detail else title
    if exc.status_code == 404 and detail == "Not Found":
        detail = f"no such endpoint: {request.method} {request.url.path} (see /docs)"
    body = {"type": f"/problems/http-{exc.status_code}", "title": title, "status": exc.status_code,
            "detail": detail}
    return problem(body, dict(exc.headers or {}))


async def on_crash(request: Request, exc: Exception) -> Response:
    log.exception("unhandled error on %s %s", request.method, request.url.path)
    return problem({"type": "/problems/internal-error", "title": "Internal error", "status": 500, "detail": HIDDEN})


def install(app: FastAPI) -> None:
    app.add_exception_handler(MasterdataError, on_error)
    app.add_exception_handler(RequestValidationError, on_invalid)
    app.add_exception_handler(StarletteHTTPException, on_http)
    app.add_exception_handler(Exception, on_crash)
