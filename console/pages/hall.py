"""The applicant's page in the hall: pick a service item, see the form pre-filled and each material
held (with the licence that proves it) or to upload and why; preview; consent or withdraw.

The applicant arrives through the identity platform's session (``/console/hall/enter``); every
step is the serving layer's own hall function (:mod:`warehouse.api.service.applications`), acting as
the console's hall caller, so the rules - his own data only, an entity only if he legally represents
it, nothing passed on before he consents - and the audit entries are exactly the API's.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from console.session import Console, Ctx, Viewer, checked, need, redirect
from warehouse.api.autofill import UPLOAD_REASONS
from warehouse.api.service import applications
from warehouse.api.service.audit import Access
from warehouse.api.store import Caller

router = APIRouter()
Applicant = Annotated[Viewer, Depends(need("applicant"))]
#: the console acting as a hall system (audited under this name)
HALL = Caller("console", "console-hall", "hall", None, 0.0, 0)
#: a material's status and why one must still be uploaded, in the applicant's words
STATUS = {"held": "已持有证照，免提交 held: no upload", "evidence": "部门出具证明，免提交 attested by a department",
          "form": "由网上申请表替代 replaced by the online form", "to_upload": "需上传 to upload",
          "not_required": "本次无需提供 not required"}
#: why a material is still to upload, as the applicant reads it (declared with the codes in autofill)
WHY = {code: text.hall for code, text in UPLOAD_REASONS.items()}


def _represented(console: Console, viewer: Viewer) -> list[dict[str, Any]]:
    """Entities the applicant legally represents (he may apply for them)."""
    assert viewer.applicant is not None
    rows = console.state.model().entities_represented_by(viewer.applicant.person_master_id,
                                                         viewer.applicant.id_number)
    return [{"master_id": r.master_id, "uscc": r.data.get("uscc"), "name": r.data.get("name")} for r in rows]


@router.get("/hall", response_class=HTMLResponse)
def items_page(request: Request, console: Ctx, viewer: Applicant, q: str = "") -> HTMLResponse:
    assert viewer.applicant is not None
    person = console.state.model().person(master_id=viewer.applicant.person_master_id)
    items = [i for i in console.state.catalogue.items.values()
             if not q or q in i.name or q == i.code]
    entities = _represented(console, viewer)
    if not entities:
        items = [i for i in items if i.target == "person"]
    return console.page(request, viewer, "hall_items.html", items=items[:200], q=q, entities=entities,
                        person=person.data if person else {}, departments=console.state.catalogue.departments)


@router.post("/hall/apply")
def apply(console: Ctx, viewer: Applicant, csrf: Annotated[str, Form()],
          service_item: Annotated[str, Form(pattern=r"^S[0-9]{4}$")], uscc: Annotated[str, Form()] = "") -> Response:
    checked(viewer, console, csrf)
    assert viewer.applicant is not None
    got = applications.autofill(console.state, Access(HALL, "console_autofill"), viewer.applicant, service_item,
                                uscc or None)
    return redirect(f"/hall/applications/{got['application_id']}")


@router.get("/hall/applications/{application_id}", response_class=HTMLResponse)
def application_page(request: Request, console: Ctx, viewer: Applicant, application_id: str) -> HTMLResponse:
    assert viewer.applicant is not None
    app = applications.preview(console.state, Access(HALL, "console_preview"), viewer.applicant, application_id)
    return console.page(request, viewer, "hall_form.html", app=app, why=WHY, statuses=STATUS)


@router.post("/hall/applications/{application_id}/consent")
def consent(console: Ctx, viewer: Applicant, application_id: str, csrf: Annotated[str, Form()],
            agree: Annotated[str, Form(pattern="^(yes|no)$")]) -> Response:
    checked(viewer, console, csrf)
    assert viewer.applicant is not None
    got = applications.consent(console.state, Access(HALL, "console_consent"), viewer.applicant, application_id,
                               agree == "yes")
    msg = ("已同意，申请已提交审批部门 Consented: sent to the approving department" if got["status"] == "consented"
           else "已撤回 Withdrawn")
    return redirect(f"/hall/applications/{application_id}", msg)
