"""Departments (委办局): lookups, licence lists and search within their grants; consented applications.

The routes of the three master kinds are generated from one declaration per kind
(:data:`warehouse.api.service.masters.KINDS`) over one generic handler each, so every kind answers the
same way: ``GET /v1/{kind}/{ident}``, ``GET /v1/{kind}/{ident}/licences`` (holders),
``POST /v1/{kind}/search`` (searchable kinds); each takes ``?purpose=`` and returns only what the
grants allow for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path

from warehouse.api import models
from warehouse.api.deps import Department, Purpose, State
from warehouse.api.routers.hall import ApplicationId
from warehouse.api.service import applications, masters, sharing
from warehouse.api.service.masters import MasterKind

router = APIRouter(tags=["departments"])
Ident = Annotated[str, Path(min_length=1, max_length=128,
                            description="a master id, or an identifier of the standard (ID number, USCC, "
                                        "organisation code, registration number, licence identifier)")]


@router.get("/v1/applications/{application_id}", response_model=models.Delivered, responses=models.problem_responses(404, 409))
def delivered(application_id: ApplicationId, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
    """A consented application, for the department that approves its item."""
    return applications.delivered(state, access, application_id, purpose)


@router.get("/v1/departments/me/grants", response_model=models.DepartmentGrants, responses=models.problem_responses())
def my_grants(access: Department, state: State) -> dict[str, Any]:
    """The calling department's grants (every status, whether each is in force today), the purposes it may
    state on a query (``?purpose=``) and its clearance."""
    return sharing.grants_of(state, access)


def _record(kind: MasterKind) -> Callable[..., dict[str, Any]]:
    def handler(ident: Ident, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
        return masters.record(state, access, kind.master, ident, purpose)
    return handler


def _licences(kind: MasterKind) -> Callable[..., dict[str, Any]]:
    def handler(ident: Ident, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
        return masters.licences(state, access, kind.master, ident, purpose)
    return handler


def _search(kind: MasterKind) -> Callable[..., dict[str, Any]]:
    def handler(body: models.SearchRequest, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
        return masters.search(state, access, kind.master, body.filters(), body.limit, purpose)
    # FastAPI reads the body's model from the annotation: this kind's request, not the base class
    handler.__annotations__["body"] = models.SEARCH_REQUESTS[kind.master]
    return handler


def _add(path: str, name: str, handler: Callable[..., dict[str, Any]], model: type, summary: str,
         method: str = "GET") -> None:
    router.add_api_route(path, handler, methods=[method], name=name, response_model=model,
                         response_model_exclude_unset=True, summary=summary,
                         responses=models.problem_responses() if method == "POST" else models.problem_responses(404),
                         description="Fields the department may not receive for the purpose are absent from "
                                     "`fields` and listed in `withheld` with the reason.")


for _kind in masters.KINDS.values():
    _m, _p = _kind.master, _kind.plural
    _add(f"/v1/{_p}/{{ident}}", _m, _record(_kind), models.record_model(_m),
         f"One {_m} master by master id or identifier")
    if _kind.holds_licences:
        _add(f"/v1/{_p}/{{ident}}/licences", f"{_m}_licences", _licences(_kind), models.licence_list_model(),
             f"The licences held by the {_m}")
    if _kind.search is not None:
        _add(f"/v1/{_p}/search", f"{_m}_search", _search(_kind), models.search_result_model(_m),
             f"Search {_p} by {', '.join(_kind.search_filters)}", method="POST")
