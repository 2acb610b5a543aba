"""The service-item catalogue (办事事项目录), for every kind of caller."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query

from warehouse.api import models
from warehouse.api.deps import AnyCaller, State
from warehouse.api.service.applications import service_item as find_item

router = APIRouter(tags=["catalogue"])


@router.get("/v1/service-items", response_model=models.ServiceItems, responses=models.problem_responses())
def service_items(
    state: State,
    _caller: AnyCaller,
    target: Annotated[str | None, Query(pattern="^(person|entity)$")] = None,
    department: Annotated[str | None, Query(max_length=40)] = None,
    power_class: Annotated[str | None, Query(max_length=10)] = None,
    hall: Annotated[str | None, Query(max_length=20, description="a hall key of halls.csv (city, qiaocheng ...)")]
    = None,
) -> models.ServiceItems:
    """The items matching every filter given."""
    items = [models.ItemSummary.model_validate(i.summary())
             for i in state.catalogue.select(target, department, power_class, hall)]
    return models.ServiceItems(count=len(items), items=items)


@router.get("/v1/service-items/{code}", response_model=models.ServiceItemOut, responses=models.problem_responses(404))
def service_item(state: State, _caller: AnyCaller, code: Annotated[str, Path(max_length=10)]) -> models.ServiceItemOut:
    """One item with its form's fields and required materials."""
    return models.ServiceItemOut.model_validate(find_item(state, code).describe())
