"""FastAPI dependencies: the app state, the authenticated caller of each audience, the applicant, the
purpose - so a handler declares what it needs in its signature and stays one call to the service.

``Hall``, ``Department``, ``Identity``, ``Steward`` and ``AnyCaller`` authenticate the API key (``Authorization:
Bearer`` or ``X-API-Key``, both declared as OpenAPI security schemes), apply the caller's rate limit,
open the request's :class:`~warehouse.api.service.audit.Access` (named after the route) and refuse a
caller of another kind.  ``ApplicantOf`` resolves the hall's ``X-Applicant-Token``.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Query, Request, Security
from fastapi.security import APIKeyHeader, HTTPAuthorizationCredentials, HTTPBearer

from warehouse.api.grants import PURPOSE_RE
from warehouse.api.service import access as access_
from warehouse.api.service.access import Applicant
from warehouse.api.service.audit import Access, key_id_of
from warehouse.api.service.state import ServingState

BEARER = HTTPBearer(scheme_name="bearer", description="API key (masterdata keys create)", auto_error=False)
API_KEY = APIKeyHeader(name="X-API-Key", scheme_name="apiKey", auto_error=False)


def serving(request: Request) -> ServingState:
    """The process's :class:`ServingState` (made by ``create_app``)."""
    state: ServingState = request.app.state.serving
    return state


State = Annotated[ServingState, Depends(serving)]


def caller(*kinds: str) -> Callable[..., Awaitable[Access]]:
    """A dependency admitting callers of ``kinds``; returns the request's audit access."""

    async def dependency(
        request: Request,
        state: State,
        bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
        api_key: Annotated[str | None, Security(API_KEY)],
    ) -> Access:
        key = bearer.credentials.strip() if bearer else api_key
        request.state.key_id = key_id_of(key)  # a refused key is audited by its id, never its secret
        who = access_.authenticate(state, key)
        route = request.scope.get("route")
        access = Access(who, getattr(route, "name", request.url.path))
        request.state.access = access  # from here on, a refusal is audited
        access_.admit(who, kinds)
        return access

    return dependency


Hall = Annotated[Access, Depends(caller("hall"))]
Department = Annotated[Access, Depends(caller("department"))]
Identity = Annotated[Access, Depends(caller("identity"))]
#: the data stewards' review tools (match explanations)
Steward = Annotated[Access, Depends(caller("steward"))]
AnyCaller = Annotated[Access, Depends(caller("hall", "department", "identity"))]


async def applicant(
    _hall: Hall,
    state: State,
    token: Annotated[str | None, Header(alias="X-Applicant-Token", max_length=200,
                                       description="the applicant's session token (identity platform)")] = None,
) -> Applicant:
    """The applicant a hall request acts for (after the hall's own key is checked)."""
    return access_.applicant(state, token)


ApplicantOf = Annotated[Applicant, Depends(applicant)]

Purpose = Annotated[str, Query(min_length=2, max_length=64, pattern=PURPOSE_RE.pattern,
                               description="the purpose of the query, as named in the grant "
                                           "(e.g. marriage_registration)")]
