"""The identity platform (统一身份认证): applicant sessions after real-name authentication."""

from __future__ import annotations

from fastapi import APIRouter

from warehouse.api import models
from warehouse.api.deps import Identity, State
from warehouse.api.service import identity

router = APIRouter(tags=["hall"])


@router.post("/v1/identity/sessions", response_model=models.SessionResponse, status_code=201,
             responses=models.problem_responses(404))
def open_session(body: models.SessionRequest, access: Identity, state: State) -> models.SessionResponse:
    """Open an applicant session: the token binds the hall's requests to this person."""
    return models.SessionResponse(**identity.open_session(state, access, body.id_number, body.name, body.method))
