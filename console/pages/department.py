"""Department pages: look a master up or search within the department's grants; its grants.

Each answer is the serving layer's own (:mod:`warehouse.api.service.masters`), for the department
of the signed-in user and the purpose he states, so a field reaches the page exactly when it would
reach the department's system over the API - and the access is audited the same way.  The page adds
what a person reads better than codes: element labels and code names beside the codes.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console.labels import element_label
from console.session import Ctx, Viewer, need
from core.errors import MasterdataError
from warehouse.api.service import masters, sharing
from warehouse.api.service.audit import Access
from warehouse.api.store import Caller

router = APIRouter()
Department = Annotated[Viewer, Depends(need("department"))]
WITHHELD = {"not_shared": "不予共享 never shared", "no_grant": "无授权 no grant for this purpose",
            "above_clearance": "超出数据分级权限 above the department's clearance"}


def caller_of(viewer: Viewer) -> Caller:
    """The department user as the serving layer's caller (audited as ``console-<name>``)."""
    assert viewer.user is not None
    return Caller(f"console-{viewer.user.name}", viewer.user.display_name, "department", viewer.user.department,
                  0.0, 0)


def labelled(master: str, answer: dict[str, Any]) -> list[dict[str, Any]]:
    """Each returned field with its element's label and the code's name the service returned."""
    names = answer.get("labels") or {}
    return [{"name": k, "label": element_label(master, k), "value": v, "display": names.get(k)}
            for k, v in answer["fields"].items()]


def _ask(console: Any, viewer: Viewer, kind: str, ident: str, name: str, birth: str, purpose: str
         ) -> tuple[dict[str, Any] | None, str | None]:
    """(the answer, or None with the refusal) of one lookup or search."""
    access = Access(caller_of(viewer), f"console_{kind}")
    try:
        if ident:
            return masters.record(console.state, access, kind, ident.strip(), purpose), None
        filters: dict[str, Any] = {"name": name.strip()}
        if kind == "person":
            filters["birth_date"] = date.fromisoformat(birth) if birth else None
        return masters.search(console.state, access, kind, filters, 20, purpose), None
    except ValueError:
        return None, "出生日期格式应为 YYYY-MM-DD (birth date as YYYY-MM-DD)"
    except MasterdataError as exc:
        from warehouse.api.service.audit import refused

        refused(console.state.store, access, exc.status, exc.title)
        return None, exc.one_line()


@router.get("/department/lookup", response_class=HTMLResponse)
def lookup_page(request: Request, console: Ctx, viewer: Department, kind: str = "person", ident: str = "",
                name: str = "", birth: str = "", purpose: str = "") -> HTMLResponse:
    assert viewer.user is not None
    purposes = console.state.policy().purposes(viewer.user.department or "")
    answer, error = None, None
    kind = kind if kind in masters.KINDS else "person"
    if purpose and (ident or name):
        answer, error = _ask(console, viewer, kind, ident, name, birth, purpose)
    rows: list[dict[str, Any]] = []
    if answer and "fields" in answer:
        rows = [{"master_id": answer["master_id"], "fields": labelled(kind, answer)}]
    elif answer:
        rows = [{"master_id": h["master_id"], "match": h["match"], "fields": labelled(kind, h)}
                for h in answer["results"]]
    withheld = [{"element": w["element"], "label": element_label(*w["element"].split(".", 1)),
                 "reason": WITHHELD.get(w["reason"], w["reason"])} for w in (answer or {}).get("withheld", [])]
    return console.page(request, viewer, "department_lookup.html", kind=kind, ident=ident, name=name, birth=birth,
                        purpose=purpose, purposes=purposes, rows=rows, withheld=withheld, error=error,
                        grants_used=(answer or {}).get("grants", []))


@router.get("/department/grants", response_class=HTMLResponse)
def grants_page(request: Request, console: Ctx, viewer: Department) -> HTMLResponse:
    mine = sharing.grants_of(console.state, Access(caller_of(viewer), "console_grants"))
    for g in mine["grants"]:
        g["labels"] = [element_label(*e.split(".", 1)) for e in g["elements"]]
    return console.page(request, viewer, "department_grants.html", mine=mine)
