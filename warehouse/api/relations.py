"""Whom a material is about: the relations the masters record, one function each.

A material about someone other than the applicant (his spouse's ID card, his child's birth
certificate, a deceased relative's death record, the legal representative's ID for an entity) is
served only through a relation a department recorded - never because the applicant names a person:

* ``spouse`` - ``person.spouse_id_number`` (marriage registration, household register), either way;
* ``child`` - a person whose ``guardian_id_number`` is the applicant's (birth certificates, school
  enrolment), or a 子/女 in the household the applicant heads (or whose head he is married to);
* ``parent`` - the applicant's ``guardian_id_number``, or the head (and the head's spouse) of the
  household in which the applicant is a 子/女, or a 父亲/母亲 in the household he heads;
* ``deceased`` - a spouse, child, parent or household member whose death the masters record;
* ``household_member`` - the same ``household_no`` (the household register);
* ``legal_rep`` - the entity's legal representative (registering authority's record);
* ``represented_entity`` - an entity whose legal representative is the applicant.

:func:`related` returns the candidates in the order a hall would pick them (the newborn first among
children, the latest death first); a request naming a person (``concerning``) gets that person only
if he is one of them.
"""

from __future__ import annotations

from collections.abc import Callable

from warehouse.api.index import ReadModel, Row

HEAD, SPOUSE_OF_HEAD = "户主", "配偶"
CHILDREN, PARENTS = ("子", "女"), ("父亲", "母亲")
IN_BUSINESS = "1"


def _by_id(model: ReadModel, id_number: str | None) -> list[Row]:
    if not id_number:
        return []
    row = model.person(id_number=id_number)
    return [row] if row is not None else []


def _household(model: ReadModel, person: Row) -> list[Row]:
    no = person.data.get("household_no")
    if not no:
        return []
    return [r for r in model.persons_where("household_no", str(no)) if r.master_id != person.master_id]


def _unique(rows: list[Row]) -> list[Row]:
    seen: set[str] = set()
    out = []
    for r in rows:
        if r.master_id not in seen:
            seen.add(r.master_id)
            out.append(r)
    return out


def spouses(model: ReadModel, person: Row) -> list[Row]:
    own = person.data.get("id_number")
    rows = _by_id(model, person.data.get("spouse_id_number"))
    if own:
        rows += model.persons_where("spouse_id", str(own))
    # the living spouse first
    return sorted(_unique(rows), key=lambda r: r.data.get("death_date") is not None)


def children(model: ReadModel, person: Row) -> list[Row]:
    own = person.data.get("id_number")
    rows = model.persons_where("guardian_id", str(own)) if own else []
    if person.data.get("relation_to_head") in (HEAD, SPOUSE_OF_HEAD):
        rows += [r for r in _household(model, person) if r.data.get("relation_to_head") in CHILDREN]
    # the youngest (a newborn) first
    return sorted(_unique(rows), key=lambda r: str(r.data.get("birth_date") or ""), reverse=True)


def parents(model: ReadModel, person: Row) -> list[Row]:
    rows = _by_id(model, person.data.get("guardian_id_number"))
    rel = person.data.get("relation_to_head")
    if rel in CHILDREN:
        rows += [r for r in _household(model, person) if r.data.get("relation_to_head") in (HEAD, SPOUSE_OF_HEAD)]
    elif rel == HEAD:
        rows += [r for r in _household(model, person) if r.data.get("relation_to_head") in PARENTS]
    return _unique(rows)


def deceased(model: ReadModel, person: Row) -> list[Row]:
    rows = [*spouses(model, person), *children(model, person), *parents(model, person), *_household(model, person)]
    dead = [r for r in _unique(rows) if r.data.get("death_date")]
    return sorted(dead, key=lambda r: str(r.data.get("death_date")), reverse=True)


def household_members(model: ReadModel, person: Row) -> list[Row]:
    return _household(model, person)


def represented_entities(model: ReadModel, person: Row) -> list[Row]:
    own = person.data.get("id_number")
    rows = model.represented_by(str(own)) if own else []
    return sorted(rows, key=lambda r: r.data.get("status") not in (IN_BUSINESS, None))


PERSON_RELATIONS: dict[str, Callable[[ReadModel, Row], list[Row]]] = {
    "spouse": spouses, "child": children, "parent": parents, "deceased": deceased,
    "household_member": household_members, "represented_entity": represented_entities,
}


def related(model: ReadModel, relation: str, person: Row, entity: Row | None,
            concerning: str | None = None) -> list[Row]:
    """The masters ``relation`` reaches from the applicant (``person``, acting for ``entity`` or not),
    best candidate first; only ``concerning`` (an ID number or master id) if given and reached."""
    if relation == "applicant":
        rows = [entity if entity is not None else person]
    elif relation == "legal_rep":
        rows = [person] if entity is not None else []
    else:
        rows = PERSON_RELATIONS[relation](model, person)
    if concerning is not None:
        rows = [r for r in rows if concerning in (r.master_id, r.data.get("id_number"), r.data.get("uscc"))]
    return rows
