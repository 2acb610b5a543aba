"""Evidence from facts (证明): what a department attests about a person or an entity from its own
records in the masters, in place of a document the applicant would otherwise upload.

A statement is built only when the attesting department really holds the fact: the subject has a
record in one of the evidence kind's source tables (the department's own records, from the master's
cross-references) and every element the kind requires has a golden value.  It says

* what is attested (the kind, its title, the attested elements and their values),
* about whom (the relation to the applicant, the master id, the name),
* by which department (the owner of the source table the subject's record is in),
* from which source records: the department's records of the subject (``records``) and, for every
  attested value, the record it survived from (``lineage``: source, table, record key, update time),
* as of when (the day, the gold build).

The identity of the signed-in applicant himself is attested even without a household-register
record: the identity platform authenticated him against public security's data when it opened his
session (``basis: applicant_session``), so his 居民身份证 is never "to upload".

Statements are plain data; :mod:`warehouse.api.sealing` signs them into evidence documents once the
applicant has consented (:mod:`warehouse.api.service.evidence`).
"""

from __future__ import annotations

from datetime import date
from typing import Any

from warehouse.api.catalogue import Catalogue
from warehouse.api.index import ReadModel, Row
from warehouse.api.vocabulary import EvidenceKind

IDENTITY = "identity"


def _record_index(records: list[tuple[str, str | None, str | None, int | None, str | None]]
                  ) -> dict[int, tuple[str, str | None, str | None, str | None]]:
    return {no: (s, t, key, at) for s, t, key, no, at in records if no is not None}


def _lineage(kind: EvidenceKind, row: Row, by_no: dict[int, tuple[str, str | None, str | None, str | None]],
             model: ReadModel) -> dict[str, dict[str, Any] | None]:
    """For each attested value, the source record it survived from (golden-record lineage)."""
    lin = row.data.get("lineage") or {}
    missing = {int(lin[e]) for e in kind.elements if lin.get(e) is not None and int(lin[e]) not in by_no}
    extra = model.lineage(kind.master, missing) if missing else {}
    out: dict[str, dict[str, Any] | None] = {}
    for e in kind.elements:
        no = lin.get(e)
        if row.data.get(e) is None or no is None:
            out[e] = None
            continue
        if int(no) in by_no:
            s, t, key, at = by_no[int(no)]
            out[e] = {"source": s, "table": t, "record_key": key, "updated_at": at}
        elif int(no) in extra:
            s, t, at = extra[int(no)]
            out[e] = {"source": s, "table": t, "record_key": None, "updated_at": at}
        else:
            out[e] = None
    return out


def statement(model: ReadModel, cat: Catalogue, kind: EvidenceKind, subject: Row, relation: str, today: date,
              authenticated: bool = False) -> dict[str, Any] | None:
    """What the kind's department attests about ``subject`` - or None if it holds no record of him
    or a required fact is missing.  ``authenticated``: the subject is the signed-in applicant."""
    records = model.records(kind.master, subject.master_id)
    own = [r for r in records if (r[0], r[1]) in kind.sources]
    for e in kind.requires:
        if subject.data.get(e) is None:
            return None
    basis = "department_records"
    if not own:
        if not (kind.code == IDENTITY and authenticated and relation == "applicant"):
            return None
        basis = "applicant_session"
    # the attesting department: the owner of the most authoritative source holding a record of him
    dep_key = next((s for s, t in kind.sources if any((r[0], r[1]) == (s, t) for r in own)), kind.department)
    dep = cat.departments.get(dep_key or "") or {}
    by_no = _record_index(records)
    return {
        "kind": kind.code,
        "title": kind.name,
        "attests": kind.attests,
        "department": dep_key,
        "department_name": dep.get("name"),
        "department_uscc": dep.get("uscc"),
        "about": {"relation": relation, "master": kind.master, "master_id": subject.master_id,
                  "name": subject.data.get("name")},
        "attested": {e: subject.data.get(e) for e in kind.elements},
        "basis": basis,
        "records": [{"source": s, "table": t, "record_key": key, "updated_at": at} for s, t, key, _no, at in own],
        "lineage": _lineage(kind, subject, by_no, model),
        "as_of": today.isoformat(),
        "build_id": model.build_id,
    }


def licence_statement(material: dict[str, Any], as_of: str, build_id: str) -> dict[str, Any]:
    """A held licence as evidence: its catalogue fields (GB/T 36904) attested by its issuer."""
    lic = material["licence"]
    subject = material.get("subject") or {}
    return {
        "kind": "licence",
        "title": lic.get("type_name"),
        "attests": "the electronic licence the library holds, valid on the day",
        "department": material.get("department"),
        "department_name": lic.get("issuer_name"),
        "department_uscc": lic.get("issuer_code"),
        "about": {**subject, "master": "entity" if str(subject.get("master_id", "")).startswith("E") else "person"},
        "attested": dict(lic),
        "basis": "licence_library",
        "records": [{"source": "licence_master", "table": None, "record_key": lic.get("master_id"),
                     "updated_at": None}],
        "lineage": {},
        "as_of": as_of,
        "build_id": build_id,
    }
