"""``GET /health``: whether the service follows the gold store and the grants (no key needed)."""

from __future__ import annotations

from fastapi import APIRouter

from warehouse.api import models
from warehouse.api.deps import State

router = APIRouter(tags=["service"])


@router.get("/health", response_model=models.Health)
def health(state: State) -> models.Health:
    """``ok``, or ``degraded`` with the reason; the build the answers come from."""
    return models.Health(**state.health())
