"""Evidence documents (证明) for the approving department, and their verification for anyone.

The approving department fetches the sealed documents of a consented application addressed to it;
every caller may fetch the platform's public key and ask whether a document is unaltered (the
department can also check offline: ``masterdata evidence verify FILE --public-key KEY.pem``).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from warehouse.api import models
from warehouse.api.deps import AnyCaller, Department, Purpose, State
from warehouse.api.routers.hall import ApplicationId
from warehouse.api.service import evidence

router = APIRouter(tags=["evidence"])
DocumentId = Annotated[str, Path(pattern=r"^EV[0-9a-f]{16}$")]


@router.get("/v1/applications/{application_id}/evidence", response_model=models.EvidenceDocuments,
            responses=models.problem_responses(404, 409))
def documents(application_id: ApplicationId, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
    """The sealed evidence documents of a consented application, for the department that approves it."""
    return evidence.documents(state, access, application_id, purpose)


@router.get("/v1/evidence/public-key", response_model=models.PublicKey, responses=models.problem_responses())
def public_key(_caller: AnyCaller, state: State) -> dict[str, Any]:
    """The Ed25519 key evidence documents are sealed with."""
    return evidence.public_key(state)


@router.get("/v1/evidence/{document_id}", response_model=models.EvidenceDocument,
            responses=models.problem_responses(404, 409))
def document(document_id: DocumentId, purpose: Purpose, access: Department, state: State) -> dict[str, Any]:
    """One sealed evidence document, for the department it is issued to."""
    return evidence.document(state, access, document_id, purpose)


@router.post("/v1/evidence/verify", response_model=models.Verdict, responses=models.problem_responses())
def verify(access: AnyCaller, state: State,
           document: Annotated[dict[str, Any], Body(description="an evidence document as received")]) -> dict[str, Any]:
    """Whether the document is sealed by this platform and unaltered since."""
    return evidence.verify(state, access, document)
