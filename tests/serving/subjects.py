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


def parent_of_newborn(model: ReadModel) -> tuple[Row, Row]:
    """(a signed-in-able parent, the child born in the year before today) as the masters record them."""
    from datetime import timedelta

    since = (date.today() - timedelta(days=365)).isoformat()
    rows = model._all("SELECT p.master_id, c.master_id FROM person AS c JOIN person AS p ON p.id_number = c.guardian_id "
                      "WHERE c.birth_date > ? AND json_extract(p.data, '$.death_date') IS NULL "
                      "AND json_extract(p.data, '$.name') IS NOT NULL ORDER BY c.birth_date DESC, p.master_id", (since,))
    for pid, cid in rows:
        parent, child = model.person(master_id=pid), model.person(master_id=cid)
        if parent is not None and child is not None:
            return parent, child
    raise LookupError("no parent of a child born in the past year")


def unrelated_person(model: ReadModel, person: Row) -> Row:
    """Somebody the masters record no relation of to ``person`` (another household, no spouse or guardian link)."""
    own = person.data.get("id_number")
    for (mid,) in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL ORDER BY master_id DESC LIMIT 200"):
        row = model.person(master_id=mid)
        if row is None or row.master_id == person.master_id:
            continue
        d = row.data
        if own in (d.get("spouse_id_number"), d.get("guardian_id_number")) or d.get("id_number") in (
                person.data.get("spouse_id_number"), person.data.get("guardian_id_number")):
            continue
        if d.get("household_no") and d.get("household_no") == person.data.get("household_no"):
            continue
        return row
    raise LookupError("no unrelated person")
