"""Hall applications: the auto-filled form, the applicant's preview and consent, delivery to the
approving department.

The hall acts for an applicant (:class:`~.access.Applicant`, from his session) and reaches only his
own data and the entities he legally represents (and relatives only through relations the masters
record).  An auto-fill is stored as a *preview*; nothing reaches the approving department before the
applicant consents, and the department receives exactly the payload he saw (stored with its hash) -
with what the masters serve sealed as evidence documents at the moment of consent.  Every step is audited in the same transaction as the
application row it writes.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from warehouse.api import errors, ids
from warehouse.api.autofill import fill
from warehouse.api.catalogue import ServiceItem
from warehouse.api.index import Row
from warehouse.api.service import audit
from warehouse.api.service.access import Applicant
from warehouse.api.service.audit import Access
from warehouse.api.service.evidence import seal_documents
from warehouse.api.service.state import ServingState
from warehouse.api.store import iso, now_utc, sha256


def service_item(state: ServingState, code: str) -> ServiceItem:
    item = state.catalogue.items.get(code)
    if item is None:
        raise errors.NotFound(f"{code!r} is not in the catalogue", title="No such service item")
    return item


def _acting_for(state: ServingState, access: Access, applicant: Applicant, item: ServiceItem,
                uscc: str | None) -> tuple[Row, Row | None]:
    """(the applicant's person master, the entity he applies for or None), refused unless he may."""
    m = state.model()
    person = m.person(id_number=applicant.id_number)
    if person is None:
        raise errors.NotFound("the applicant is not in the population library", title="No such person")
    if item.target != "entity":
        if uscc:
            raise errors.NotAnEntityItem(f"{item.code} {item.name} is applied for by a person: leave uscc out")
        return person, None
    if not uscc:
        raise errors.EntityRequired(f"{item.code} {item.name} is applied for by a legal entity: give the uscc of "
                                    f"the entity you represent")
    entity = m.entity(uscc=ids.uscc(uscc))
    if entity is None:
        raise errors.NotFound("no entity in the legal-entity library has this USCC", title="No such entity")
    access.subject = [person.master_id, entity.master_id]
    rep_id, rep_mid = entity.data.get("legal_rep_id_number"), entity.data.get("legal_rep_master_id")
    if rep_id != applicant.id_number and rep_mid != person.master_id:
        raise errors.ApplicantOnly("an applicant may only act for an entity he legally represents; the "
                                   "legal-entity library names someone else", title="Not the legal representative")
    return person, entity


def autofill(state: ServingState, access: Access, applicant: Applicant, item_code: str, uscc: str | None = None,
             id_number: str | None = None, concerning: str | None = None) -> dict[str, Any]:
    """The form of a service item pre-filled for the applicant and his materials served or to upload,
    stored as a preview until he consents.  ``concerning``: the ID number of the relative the
    application is about (the newborn, the deceased); served only if the masters record the relation."""
    access.purpose = f"autofill:{item_code}"
    access.subject = [applicant.person_master_id]
    item = service_item(state, item_code)
    if id_number is not None and ids.resident_id(id_number) != applicant.id_number:
        raise errors.ApplicantOnly("an applicant may only retrieve his own data: the ID number is not the "
                                   "signed-in applicant's")
    person, entity = _acting_for(state, access, applicant, item, uscc)
    today, m = state.today(), state.model()
    about = ids.resident_id(concerning) if concerning is not None else None
    filled = fill(m, state.catalogue, item, person, entity, today, about, authenticated=True)
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
    returned += [f"evidence:{x['evidence']['kind']}:{x['evidence']['about']['master_id']}"
                 for x in filled["materials"] if x["evidence"]]
    access.detail = {"application_id": app_id, "item": item.code}
    audit.record(state.store, access, 200, returned, application={
        "application_id": app_id, "item": item.code, "department": item.department,
        "applicant_master_id": person.master_id, "subject_kind": item.target,
        "subject_master_id": subject.master_id, "hall_caller": access.caller.label, "created_at": iso(now_utc()),
        "payload": text, "payload_hash": sha256(text), "status": "preview", "consent_at": None,
        "delivered_at": None})
    return payload


def _own(state: ServingState, access: Access, applicant: Applicant, app_id: str) -> dict[str, Any]:
    """The applicant's own application; anyone else's is "not found" to him (nothing to learn from it)."""
    a = state.store.application(app_id)
    access.detail = {"application_id": app_id}
    if a is None or a["applicant_master_id"] != applicant.person_master_id:
        raise errors.NotFound("no application with this id for this applicant", title="No such application")
    access.subject = sorted({a["applicant_master_id"], a["subject_master_id"]})
    return a


def _payload(a: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """The stored payload with the application's current status, and the elements it returns."""
    payload = json.loads(a["payload"])
    payload["status"] = a["status"]
    return payload, [f["element"] for f in payload["fields"] if f["prefilled"]]


def preview(state: ServingState, access: Access, applicant: Applicant, app_id: str) -> dict[str, Any]:
    """The applicant reads his application as the department would receive it."""
    access.purpose = "preview"
    payload, returned = _payload(_own(state, access, applicant, app_id))
    audit.record(state.store, access, 200, returned)
    return payload


def consent(state: ServingState, access: Access, applicant: Applicant, app_id: str, agree: bool) -> dict[str, Any]:
    """The applicant consents (the application goes to the approving department, and what the masters
    serve becomes sealed evidence addressed to it) or withdraws (nothing is sealed); once."""
    access.purpose = "consent"
    a = _own(state, access, applicant, app_id)
    if a["status"] != "preview":
        raise errors.AlreadyDecided(f"the applicant already {a['status']} this application")
    status = "consented" if agree else "withdrawn"
    at = iso(now_utc())
    docs = seal_documents(state, a, json.loads(a["payload"]), at) if agree else []
    access.detail = {"application_id": app_id, "decision": status, "payload_hash": a["payload_hash"],
                     "evidence": [d["document_id"] for d in docs]}
    audit.record(state.store, access, 200, [], update=(app_id, {"status": status, "consent_at": at}), evidence=docs)
    return {"application_id": app_id, "status": status, "consent_at": at, "department": a["department"],
            "evidence_documents": len(docs)}


def delivered(state: ServingState, access: Access, app_id: str, purpose: str) -> dict[str, Any]:
    """A consented application, to the department that approves its item (and to no other)."""
    access.purpose = purpose
    access.detail = {"application_id": app_id}
    a = state.store.application(app_id)
    if a is None or a["department"] != access.caller.department:
        raise errors.NotFound("no application with this id addressed to this department",
                              title="No such application")
    access.subject = sorted({a["applicant_master_id"], a["subject_master_id"]})
    if a["status"] != "consented":
        raise errors.NoConsent("nothing is passed to the approving department before the applicant consents "
                               f"(status: {a['status']})")
    payload, returned = _payload(a)
    update = None if a["delivered_at"] else (app_id, {"delivered_at": iso(now_utc())})
    audit.record(state.store, access, 200, returned, update=update)
    return {"application_id": app_id, "status": a["status"], "consent_at": a["consent_at"], "application": payload}
