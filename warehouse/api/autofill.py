"""Auto-fill of a hall application from the masters (pure functions over the read model).

For an applicant (a person, or an entity acting through its legal representative) and a service
item: each form field with the golden value, where it came from (department, table) and when that
source record was last updated; each required material, by its 来源渠道:

* not required - a condition of the material (married applicants only, ...) does not hold;
* ``form`` - an application form the hall's online form, pre-filled here, replaces;
* 政府部门核发 - about the applicant or a relation the masters record (:mod:`warehouse.api.relations`):
  ``held`` (a valid licence of an accepted type, with its GB/T 36904 identifier, issuer and
  validity), else ``evidence`` (a department attests the fact from its records:
  :mod:`warehouse.api.evidence`), else to upload because the licence is expired / revoked /
  cancelled, no relation is recorded, the library holds no licence of the type, the department's
  records are not in the masters, or nothing is held for this applicant;
* 申请人自备 / 其他 - to upload (applicant-prepared; issued by a third party).

Rules: a ``not_shared`` element (不予共享) is never pre-filled, because the form goes to the approving
department once the applicant consents (the applicant types it himself); a licence counts only if it
is valid on the day (not revoked, cancelled, expired or not yet valid).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Any, Literal

from standards.codetables import load_code_table
from standards.dictionary import dictionary
from warehouse.api.catalogue import APPLICANT_PREPARED, Catalogue, Material, ServiceItem
from warehouse.api.evidence import statement
from warehouse.api.index import ReadModel, Row
from warehouse.api.relations import related

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


#: Why a required material is still to upload: the codes the API returns (``reason``).
UploadReason = Literal["applicant_prepared", "third_party", "not_integrated", "not_in_library", "no_relation_recorded",
                       "not_held_for_applicant", "expired", "revoked", "cancelled", "not_yet_valid", "no_consent"]


@dataclass(frozen=True)
class ReasonText:
    """How one upload reason is put: to the applicant on the hall form, and to analysts in the
    once-only report (which counts each)."""

    hall: str
    report: str


#: The one declaration of the upload reasons with their texts; the hall form (console) and the
#: once-only report (quality) both read it, and a test holds it to the codes :data:`UploadReason` lists.
UPLOAD_REASONS: dict[UploadReason, ReasonText] = {
    "applicant_prepared": ReasonText("申请人自备材料 prepared by the applicant",
                                     "申请人自备 (forms signed, photos, contracts, plans, examinations)"),
    "third_party": ReasonText("由第三方机构出具 issued by a third party (hospital, insurer, court ...)",
                              "其他: issued by a third party (hospital, insurer, school, court ...)"),
    "not_integrated": ReasonText("该部门数据尚未接入 the issuing department is not integrated yet",
                                 "政府部门核发, but the issuing department's records are not in the masters"),
    "not_in_library": ReasonText("证照库中未查到 not in the licence library",
                                 "政府部门核发 licence of a type the library holds none of yet"),
    "no_relation_recorded": ReasonText("未登记相关亲属关系 the relation is not on record",
                                       "about a relative the masters record no relation to"),
    "not_held_for_applicant": ReasonText("未查到您的相关记录 nothing on record for you",
                                         "no department holds it for this applicant"),
    "expired": ReasonText("证照已过期 the licence has expired", "the licence held has expired"),
    "revoked": ReasonText("证照已被吊销 the licence was revoked", "the licence held was revoked"),
    "cancelled": ReasonText("证照已注销 the licence was cancelled", "the licence held was cancelled"),
    "not_yet_valid": ReasonText("证照尚未生效 not yet valid", "the licence held is not valid yet"),
    "no_consent": ReasonText("需当事人授权 the person concerned has not consented",
                             "the applicant withdrew instead of consenting"),
}
NOT_UPLOADED = ("held", "evidence", "form")


def _outcome(m: Material, cat: Catalogue) -> dict[str, Any]:
    dep = cat.departments.get(m.department or "") or {}
    return {"code": m.code, "material": m.name, "channel": m.channel, "department": m.department,
            "department_name": dep.get("name"), "about": m.about,
            "licence_types": [{"code": t, "name": cat.licence_types[t]["name"]} for t in m.licence_types],
            "evidence_kinds": list(m.evidence), "status": "to_upload", "reason": None, "licence": None,
            "evidence": None, "subject": None, "note": None}


def _subject(row: Row, relation: str) -> dict[str, Any]:
    return {"relation": relation, "master_id": row.master_id, "name": row.data.get("name")}


def _from_masters(model: ReadModel, cat: Catalogue, m: Material, out: dict[str, Any], subjects: list[Row],
                  today: date, authenticated: bool) -> None:
    """A 政府部门核发 material: the first subject's valid licence, else a department's attestation, else why not."""
    today_s = today.isoformat()
    invalid: list[tuple[dict[str, Any], str]] = []
    for subject in subjects:
        if m.licence_types:
            best, bad = _best(model.licences_of(subject.master_id, list(m.licence_types)), today_s)
            invalid += bad
            if best is not None:
                out.update(status="held", licence=licence_view(best, cat, "valid"), subject=_subject(subject, m.about))
                return
        for code in m.evidence:
            attested = statement(model, cat, cat.evidence_kinds[code], subject, m.about, today, authenticated)
            if attested is not None:
                out.update(status="evidence", evidence=attested, subject=_subject(subject, m.about))
                return
    out["subject"] = _subject(subjects[0], m.about)
    if invalid:
        lic, st = invalid[0]
        when = lic.get("valid_to") if st == "expired" else None
        out["reason"] = st if st in UPLOAD_REASONS else "not_held_for_applicant"
        out["note"] = f"licence {lic.get('identifier')} is {st}" + (f" (valid to {when})" if when else "")
    elif not m.evidence and not any(model.licence_types.get(t) for t in m.licence_types):
        # nothing the platform holds can stand in for it: the issuing department's records are not in
        # the masters, or the library holds no licence of these types (yet)
        out["reason"] = "not_in_library" if m.licence_types else "not_integrated"
    else:
        out["reason"] = "not_held_for_applicant"


def material_status(model: ReadModel, cat: Catalogue, item: ServiceItem, person: Row, entity: Row | None,
                    today: date, concerning: str | None = None, authenticated: bool = True) -> list[dict[str, Any]]:
    """Each material of ``item``: not required (a condition does not hold), served from the masters
    (``held`` licence, ``evidence`` from a department's records, the pre-filled online ``form``), or
    to upload with the reason."""
    materials = []
    for m in item.materials:
        out = _outcome(m, cat)
        materials.append(out)
        if not cat.holds(m.conditions, person.data, entity.data if entity else None, today):
            out.update(status="not_required", note="applies only to: " + ", ".join(
                cat.conditions[c].name for c in m.conditions))
        elif m.online_form:
            out["status"] = "form"
        elif m.channel == APPLICANT_PREPARED:
            out["reason"] = "applicant_prepared"
        elif not m.government:
            out["reason"] = "third_party"
        else:
            # the person named is the one the item's event concerns; other relatives are the recorded ones
            who = concerning if m.about not in ("applicant", "legal_rep") and item.concerns in (None, m.about) \
                else None
            subjects = related(model, m.about, person, entity, who)
            if not subjects:
                out["reason"] = "no_relation_recorded"
                out["note"] = f"the masters record no {cat.vocabulary.relations[m.about]} of the applicant" + (
                    " matching the person named" if who else "")
                continue
            _from_masters(model, cat, m, out, subjects, today, authenticated)
    return materials


def summary(fields: list[dict[str, Any]], materials: list[dict[str, Any]]) -> dict[str, int]:
    """Counts of an application: form fields pre-filled, required materials by outcome."""
    required = [m for m in materials if m["status"] != "not_required"]
    by = {k: sum(1 for m in required if m["status"] == k) for k in (*NOT_UPLOADED, "to_upload")}
    return {"fields": len(fields), "prefilled": sum(1 for f in fields if f["prefilled"]),
            "materials": len(required), **by, "not_uploaded": sum(by[k] for k in NOT_UPLOADED),
            "not_required": len(materials) - len(required)}


def fill(model: ReadModel, cat: Catalogue, item: ServiceItem, person: Row, entity: Row | None,
         today: date, concerning: str | None = None, authenticated: bool = True) -> dict[str, Any]:
    """The auto-filled form and material list (``fields``, ``materials``, ``summary``)."""
    fields = form_fields(model, cat, item, {"person": person, "entity": entity})
    materials = material_status(model, cat, item, person, entity, today, concerning, authenticated)
    return {"fields": fields, "materials": materials, "summary": summary(fields, materials)}
