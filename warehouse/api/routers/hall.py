"""The online service hall (网上办事大厅), acting for an applicant signed in through the identity platform."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path

from warehouse.api import models
from warehouse.api.deps import ApplicantOf, Hall, State
from warehouse.api.service import applications

router = APIRouter(tags=["hall"])
ApplicationId = Annotated[str, Path(pattern=r"^A[0-9]{8}[0-9a-f]{12}$")]


@router.post("/v1/hall/autofill", response_model=models.Autofill, responses=models.problem_responses(404))
def autofill(body: models.AutofillRequest, access: Hall, applicant: ApplicantOf, state: State) -> dict[str, Any]:
    """The form of a service item pre-filled for the applicant, his materials held or to upload; stored
    as a preview until he consents."""
    return applications.autofill(state, access, applicant, body.service_item, body.uscc, body.id_number,
                                 body.concerning)


@router.get("/v1/hall/applications/{application_id}", response_model=models.Autofill, responses=models.problem_responses(404))
def preview(application_id: ApplicationId, access: Hall, applicant: ApplicantOf, state: State) -> dict[str, Any]:
    """The applicant reads his application as the approving department would receive it."""
    return applications.preview(state, access, applicant, application_id)


@router.post("/v1/hall/applications/{application_id}/consent", response_model=models.ConsentResponse,
             responses=models.problem_responses(404, 409))
def consent(body: models.ConsentRequest, application_id: ApplicationId, access: Hall, applicant: ApplicantOf,
            state: State) -> dict[str, Any]:
    """The applicant consents (the application goes to the approving department) or withdraws; once."""
    return applications.consent(state, access, applicant, application_id, body.agree)
