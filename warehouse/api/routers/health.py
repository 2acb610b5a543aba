"""``GET /health``: whether the service follows the gold store and the grants (no key needed).

Anyone may ask; only a caller with a valid key reads *why* the service is degraded - the reason names
files and quotes database errors, which tell an outsider where things live and what runs them."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Security
from fastapi.security import HTTPAuthorizationCredentials

from warehouse.api import models
from warehouse.api.deps import API_KEY, BEARER, State

router = APIRouter(tags=["service"])


@router.get("/health", response_model=models.Health)
def health(state: State, bearer: Annotated[HTTPAuthorizationCredentials | None, Security(BEARER)],
           api_key: Annotated[str | None, Security(API_KEY)]) -> models.Health:
    """``ok``, or ``degraded`` with the reason (in full for a caller with a valid key); the build the
    answers come from."""
    key = bearer.credentials.strip() if bearer else api_key
    known = bool(key) and state.auth.caller(key or "") is not None
    return models.Health(**state.health(detailed=known))
