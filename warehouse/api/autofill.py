"""Auto-fill of a hall application from the masters (pure functions over the read model).

For an applicant (a person, or an entity acting through its legal representative) and a service
item: each form field with the golden value, where it came from (department, table) and when that
source record was last updated; each required material either *held* - a valid licence of one of the
accepted types, with its GB/T 36904 identifier, issuer and validity - or *to upload*.

Rules: a ``not_shared`` element (不予共享) is never pre-filled, because the form goes to the approving
department once the applicant consents (the applicant types it himself); a licence counts only if it
is valid on the day (not revoked, cancelled, expired or not yet valid).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Any

from standards.codetables import load_code_table
from standards.dictionary import dictionary
from warehouse.api.catalogue import Catalogue, ServiceItem
from warehouse.api.index import ReadModel, Row

#: codes of licence status in the standard (licence_status.csv): 2 cancelled, 3 revoked, 4 expired
LICENCE_PREFIX_PARTS = 6  # 1.2.156.3005.2.{type}.{issuer}.{serial}.{version}.{check}


@lru_cache(maxsize=32)
def code_names(table: str) -> dict[str, str]:
    try:
        rows = load_code_table(table).to_pylist()
    except Exception:  # an element's table that does not exist: no display names
        return {}
    return {str(r["code"]): str(r.get("name") or "") for r in rows}


@lru_cache(maxsize=512)
def element_info(qualified: str) -> tuple[str, str, str | None, str]:
    """(label, sharing, code table, grade) of an element."""
    e = dictionary().element(qualified)
    return e.label, e.sharing, e.code_table, e.grade


def display(qualified: str, value: Any) -> str | None:
    table = element_info(qualified)[2]
    if table is None or value is None:
        return None
    return code_names(table).get(str(value))


def licence_state(lic: dict[str, Any], today: str) -> str:
    """valid | revoked | cancelled | expired | not_yet_valid on ``today`` (ISO date), as the build
    derives ``status_as_of`` (pipelines/masters/licences.py), but for the day of the request."""
    s = lic.get("status")
    if s == "3":
        return "revoked"
    if s == "2":
        return "cancelled"
    vt, vf = lic.get("valid_to"), lic.get("valid_from")
    if s == "4" or (vt and vt < today):
        return "expired"
    if vf and vf > today:
        return "not_yet_valid"
    return "valid"


def issuer_of(lic: dict[str, Any], cat: Catalogue) -> tuple[str | None, str | None]:
    """(issuer name, issuer USCC): as recorded, else the issuer code inside the identifier and the
    department that carries that USCC."""
    name, code = lic.get("issuer_name"), lic.get("issuer_code")
    ident = lic.get("identifier") or ""
    if not code and ident.count(".") >= LICENCE_PREFIX_PARTS:
        code = ident.split(".")[LICENCE_PREFIX_PARTS] or None
    if not name and code:
        dep = cat.department_by_uscc(code)
        name = dep["name"] if dep else None
    if not name:
        lt = cat.licence_types.get(str(lic.get("type_code")))
        dep = cat.departments.get(str(lt["department"])) if lt else None
        if dep:
            name, code = dep["name"], code or dep["uscc"]
    return name, code


def licence_view(lic: dict[str, Any], cat: Catalogue, state: str) -> dict[str, Any]:
    issuer_name, issuer_code = issuer_of(lic, cat)
    lt = cat.licence_types.get(str(lic.get("type_code")))
    return {
        "master_id": lic.get("master_id"),
        "identifier": lic.get("identifier"),
        "type_code": lic.get("type_code"),
        "type_name": lt["name"] if lt else None,
        "number": lic.get("number"),
        "issuer_name": issuer_name,
        "issuer_code": issuer_code,
        "issue_date": lic.get("issue_date"),
        "valid_from": lic.get("valid_from"),
        "valid_to": lic.get("valid_to"),
        "status": state,
    }


def _best(lics: list[dict[str, Any]], today: str) -> tuple[dict[str, Any] | None, list[tuple[dict[str, Any], str]]]:
    """The valid licence to use (longest validity; permanent first) and the invalid ones seen."""
    valid: list[tuple[dict[str, Any], str]] = []
    invalid: list[tuple[dict[str, Any], str]] = []
    for lic in lics:
        st = licence_state(lic, today)
        (valid if st == "valid" else invalid).append((lic, st))
    if not valid:
        return None, invalid
    valid.sort(key=lambda p: (p[0].get("valid_to") or "9999-12-31", p[0].get("issue_date") or ""), reverse=True)
    return valid[0][0], invalid


def _source(cat: Catalogue, lin: tuple[str, str | None, str | None] | None) -> dict[str, Any] | None:
    if lin is None:
        return None
    src, table, at = lin
    dep = cat.departments.get(src or "")
    return {"department": src, "department_name": dep["name"] if dep else None, "table": table, "updated_at": at}


def form_fields(model: ReadModel, cat: Catalogue, item: ServiceItem, rows: dict[str, Row | None]
                ) -> list[dict[str, Any]]:
    """Each form field of ``item`` with its golden value and where it came from (or why it is empty)."""
    # lineage: one lookup per master for every value used
    wanted: dict[str, set[int]] = {"person": set(), "entity": set()}
    plan = []
    for q in item.fields:
        master, name = q.split(".", 1)
        label, sharing, _table, _grade = element_info(q)
        row = rows.get(master)
        value = row.data.get(name) if row is not None else None
        rec = None
        if sharing != "not_shared" and value is not None and row is not None:
            rec = (row.data.get("lineage") or {}).get(name)
            if rec is not None:
                wanted[master].add(rec)
        plan.append((q, master, label, sharing, value, rec))
    lineage = {m: model.lineage(m, nos) for m, nos in wanted.items() if nos}
    fields: list[dict[str, Any]] = []
    for q, master, label, sharing, value, rec in plan:
        if sharing == "not_shared" or value is None:
            fields.append({"element": q, "label": label, "value": None, "display": None, "prefilled": False,
                           "reason": "not_shared" if sharing == "not_shared" else "not_held", "source": None})
        else:
            src = _source(cat, lineage.get(master, {}).get(rec)) if rec is not None else None
            fields.append({"element": q, "label": label, "value": value, "display": display(q, value),
                           "prefilled": True, "reason": None, "source": src})
    return fields


def material_status(model: ReadModel, cat: Catalogue, item: ServiceItem, person: Row, entity: Row | None,
                    today: date) -> list[dict[str, Any]]:
    """Each required material: held (the valid licence that satisfies it) or to upload, and why."""
    today_s = today.isoformat()
    held_by: dict[str, list[dict[str, Any]]] = {}
    materials = []
    for m in item.materials:
        types = [{"code": t, "name": cat.licence_types[t]["name"]} for t in m.licence_types]
        out: dict[str, Any] = {"code": m.code, "material": m.name, "licence_types": types, "holder": m.holder,
                               "status": "to_upload", "reason": None, "licence": None, "note": None}
        materials.append(out)
        if not m.licence_backed:
            out["reason"] = "applicant_document"
            continue
        # the applicant's licences (entity or person), or the legal representative's
        holder = person.master_id if (m.holder == "legal_rep" or entity is None) else entity.master_id
        if holder not in held_by:
            held_by[holder] = model.licences_of(holder)
        best, invalid = _best([lc for lc in held_by[holder] if lc.get("type_code") in m.licence_types], today_s)
        if best is not None:
            out["status"] = "held"
            out["licence"] = licence_view(best, cat, "valid")
        elif invalid:
            out["reason"] = "no_valid_licence"
            lic, st = invalid[0]
            when = lic.get("valid_to") if st == "expired" else None
            out["note"] = f"licence {lic.get('identifier')} is {st}" + (f" (valid to {when})" if when else "")
        else:
            out["reason"] = "no_licence"
    return materials


def fill(model: ReadModel, cat: Catalogue, item: ServiceItem, person: Row, entity: Row | None,
         today: date) -> dict[str, Any]:
    """The auto-filled form and material list (``fields``, ``materials``, ``summary``)."""
    fields = form_fields(model, cat, item, {"person": person, "entity": entity})
    materials = material_status(model, cat, item, person, entity, today)
    prefilled = sum(1 for f in fields if f["prefilled"])
    held = sum(1 for m in materials if m["status"] == "held")
    return {
        "fields": fields,
        "materials": materials,
        "summary": {"fields": len(fields), "prefilled": prefilled, "materials": len(materials), "held": held,
                    "to_upload": len(materials) - held},
    }
