"""The data stewards' systems: explanations of match weights (steward keys only)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query

from warehouse.api import models
from warehouse.api.deps import State, Steward
from warehouse.api.service import stewards

router = APIRouter(tags=["stewards"])
RecordOrMaster = Annotated[str, Query(min_length=3, max_length=200,
                                      description="a record id (source:table:key) or a master id (P0000000001)")]


@router.get("/v1/steward/explain", response_model=models.Explanations, responses=models.problem_responses(404))
def explain(access: Steward, state: State, a: RecordOrMaster,
            b: Annotated[str | None, Query(min_length=3, max_length=200, description="the other record id")] = None,
            master: Annotated[str | None, Query(pattern="^(person|entity|licence)$")] = None,
            limit: Annotated[int, Query(ge=1, le=50, description="neighbours of a record to explain")] = 10,
            ) -> dict[str, Any]:
    """The match weight of the pair ``a`` / ``b`` broken down per comparison level (prior + each
    level's log2 Bayes factor = the weight, and its probability); with ``a`` alone, that record (or
    the first record of that master) against the other records of its master and its queued
    candidates."""
    return stewards.explain(state, access, a, b, master, limit)
