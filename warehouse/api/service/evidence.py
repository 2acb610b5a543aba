"""Evidence documents for the approving department: sealed when the applicant consents, delivered to
that department only, verifiable by anyone with the platform's public key.

When the applicant consents to an application (:func:`warehouse.api.service.applications.consent`),
every material the preview showed as served - a department's attestation (``evidence``) or a valid
licence (``held``) - becomes one evidence document: the statement exactly as the applicant saw it,
addressed to the approving department, with the application, the material and the time, sealed
with Ed25519 (:mod:`warehouse.api.sealing`) and stored in the same transaction as the consent and
its audit entry.  Nothing is sealed for a withdrawn application or before consent.

* :func:`documents` / :func:`document` - the sealed documents, to the department the application is
  addressed to (any other caller learns nothing: "not found"), audited;
* :func:`public_key` and :func:`verify` - for any caller: the key that seals them, and whether a
  document is unaltered.
"""

from __future__ import annotations

import secrets
from typing import Any

from warehouse.api import errors
from warehouse.api.evidence import licence_statement
from warehouse.api.sealing import key_id, public_pem, seal
from warehouse.api.sealing import verify as check
from warehouse.api.service import audit
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState


def seal_documents(state: ServingState, application: dict[str, Any], payload: dict[str, Any], at: str
                   ) -> list[dict[str, Any]]:
    """One sealed document per material the application's payload serves from the masters."""
    dep = state.catalogue.departments.get(application["department"]) or {}
    docs = []
    for m in payload["materials"]:
        if m["status"] == "evidence":
            statement = m["evidence"]
        elif m["status"] == "held":
            statement = licence_statement(m, payload["as_of"], payload["build_id"])
        else:
            continue
        doc = {
            "document_id": f"EV{secrets.token_hex(8)}",
            "application_id": application["application_id"],
            "service_item": {"code": payload["service_item"]["code"], "name": payload["service_item"]["name"]},
            "material": {"code": m["code"], "name": m["material"]},
            "issued_to": {"department": application["department"], "name": dep.get("name")},
            "issued_at": at,
            "statement": statement,
        }
        docs.append(seal(doc, state.signing_key))
    return docs


def _addressed(state: ServingState, access: Access, app_id: str) -> dict[str, Any]:
    """A consented application addressed to the caller's department (else not found / no consent)."""
    a = state.store.application(app_id)
    if a is None or a["department"] != access.caller.department:
        raise errors.NotFound("no application with this id addressed to this department", title="No such application")
    access.subject = sorted({a["applicant_master_id"], a["subject_master_id"]})
    if a["status"] != "consented":
        raise errors.NoConsent("evidence is sealed only once the applicant consents "
                               f"(status: {a['status']})")
    return a


def documents(state: ServingState, access: Access, app_id: str, purpose: str) -> dict[str, Any]:
    """The sealed evidence documents of a consented application, for its approving department."""
    access.purpose = purpose
    access.detail = {"application_id": app_id}
    _addressed(state, access, app_id)
    docs = state.store.evidence(application_id=app_id)
    audit.record(state.store, access, 200, [f"evidence:{d['document_id']}" for d in docs])
    return {"application_id": app_id, "count": len(docs), "documents": docs}


def document(state: ServingState, access: Access, document_id: str, purpose: str) -> dict[str, Any]:
    """One sealed evidence document, for the department it is issued to."""
    access.purpose = purpose
    access.detail = {"document_id": document_id}
    found = state.store.evidence(document_id=document_id)
    if not found or found[0]["issued_to"]["department"] != access.caller.department:
        raise errors.NotFound("no evidence document with this id issued to this department",
                              title="No such evidence document")
    _addressed(state, access, found[0]["application_id"])
    audit.record(state.store, access, 200, [f"evidence:{document_id}"])
    return found[0]


def public_key(state: ServingState) -> dict[str, Any]:
    """The key evidence documents are sealed with (a department keeps a copy to verify offline)."""
    pub = state.signing_key.public_key()
    return {"alg": "Ed25519", "key_id": key_id(pub), "public_key": public_pem(pub)}


def verify(state: ServingState, access: Access, document: dict[str, Any]) -> dict[str, Any]:
    """Whether a document is sealed by this platform and unaltered (audited; nothing is disclosed)."""
    access.purpose = "evidence_verification"
    verdict = check(document, state.signing_key.public_key())
    access.detail = {"document_id": str(document.get("document_id"))[:40], "verdict": verdict.reason}
    audit.record(state.store, access, 200, [])
    return {**verdict.as_dict(), "document_id": document.get("document_id")}
