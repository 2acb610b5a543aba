"""Picking test subjects out of the real (generated) masters through the server's read model."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from warehouse.api.autofill import licence_state
from warehouse.api.index import ReadModel, Row

TODAY = date.today().isoformat()


def licences_of_type(model: ReadModel, types: tuple[str, ...]) -> list[dict[str, Any]]:
    marks = ",".join("?" * len(types))
    return [json.loads(r[0]) for r in model._all(f"SELECT data FROM licence WHERE type_code IN ({marks}) "
                                                 f"ORDER BY master_id", types)]


def person_holding(model: ReadModel, types: tuple[str, ...], state: str = "valid",
                   exclude_valid: bool = False) -> tuple[Row, dict[str, Any]]:
    """A living person with an ID number holding a licence of ``types`` in ``state`` today (and, with
    ``exclude_valid``, no valid one of those types)."""
    for lic in licences_of_type(model, types):
        if lic.get("holder_kind") != "person" or licence_state(lic, TODAY) != state:
            continue
        row = model.person(master_id=lic["holder_master_id"]) if lic.get("holder_master_id") else None
        if row is None or not row.data.get("id_number") or row.data.get("death_date") or not row.data.get("name"):
            continue
        if exclude_valid and any(licence_state(x, TODAY) == "valid" for x in model.licences_of(row.master_id, list(types))):
            continue
        return row, lic
    raise LookupError(f"no person holding a {state} licence of type {types}")


def represented_entity(model: ReadModel, types: tuple[str, ...] = ("028", "029", "030")) -> tuple[Row, Row, dict[str, Any]]:
    """(entity, legal representative, valid licence of ``types``) of an entity in business."""
    for lic in licences_of_type(model, types):
        if lic.get("holder_kind") != "entity" or licence_state(lic, TODAY) != "valid":
            continue
        ent = model.entity(master_id=lic.get("holder_master_id") or "")
        if ent is None or not ent.data.get("uscc") or ent.data.get("status") not in ("1", None):
            continue
        rep = model.person(master_id=ent.data.get("legal_rep_master_id") or "")
        if rep is None or not rep.data.get("id_number") or not rep.data.get("name"):
            continue
        if rep.data["id_number"] != ent.data.get("legal_rep_id_number"):
            continue
        return ent, rep, lic
    raise LookupError("no represented entity with a valid business licence")


def rich_person(model: ReadModel) -> Row:
    """The person with the most filled elements (so that every grade has values to leak)."""
    best, n = None, -1
    for (mid,) in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL"):
        row = model.person(master_id=mid)
        assert row is not None
        k = sum(1 for v in row.data.values() if v is not None)
        if k > n and row.data.get("birth_date") and row.data.get("name"):
            best, n = row, k
    assert best is not None
    return best


def rich_entity(model: ReadModel) -> Row:
    best, n = None, -1
    for (mid,) in model._all("SELECT master_id FROM entity"):
        row = model.entity(master_id=mid)
        assert row is not None
        k = sum(1 for v in row.data.values() if v is not None)
        if k > n and row.data.get("name"):
            best, n = row, k
    assert best is not None
    return best


def other_person(model: ReadModel, not_id: str) -> Row:
    for (mid,) in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL ORDER BY master_id LIMIT 50"):
        row = model.person(master_id=mid)
        if row is not None and row.data.get("id_number") != not_id and row.data.get("name"):
            return row
    raise LookupError("no other person")
