"""The words a service guide's material rows are written in, as code tables of the standard.

A material row of the catalogue says where the material comes from (来源渠道), what can stand in for
it and when it applies; the words it may use are declared once, here, from four small reviewed CSV
files in ``standards/codes`` (data, not code):

* ``evidence_kinds.csv`` - the facts a department can attest from its own records in the masters
  (``identity``: the household register's resident identity; ``marital_status``: civil affairs'
  marriage registration ...): which master, which source tables (``source.table``, the department
  being the source's owner), which elements are attested and which must be present;
* ``material_conditions.csv`` - when a material (or an item) applies: an element of the applicant's
  master compared with values (``in``), an age reached or not (``age_ge`` / ``age_lt``), a value
  present or absent;
* ``material_relations.csv`` - whom a material is about (the applicant, his spouse, child, parent,
  a deceased relative, a household member, an entity's legal representative): only relations the
  masters record (:mod:`warehouse.api.relations` implements each);
* ``halls.csv`` - the city's six service halls, and which entities a hall serves instead of its
  area's county hall (``entities_of``: the development zone's hall serves the enterprises the city
  market regulator registers in its area).

Every file is checked on load; a bad row fails with one line naming the file, the row and the value.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import ConfigurationError
from standards.codetables import CodeTableError, load_code_table
from standards.dictionary import dictionary

CONDITION_OPS = ("in", "not_in", "age_ge", "age_lt", "present", "absent")
#: relations the masters record; :mod:`warehouse.api.relations` implements every one of them
RELATIONS = ("applicant", "spouse", "child", "parent", "deceased", "household_member", "legal_rep",
             "represented_entity")
#: the evidence kind that is not a department's fact but the hall's own pre-filled online form
ONLINE_FORM = "online_form"


class CatalogueError(ConfigurationError):
    """A catalogue file is inconsistent (one line: file:row: problem)."""


def rows(name: str, codes_dir: Path) -> list[tuple[int, dict[str, str | None]]]:
    """(line number, row) of a code table, its structural errors as :class:`CatalogueError`."""
    try:
        table = load_code_table(name, codes_dir).to_pylist()
    except CodeTableError as exc:
        raise CatalogueError(str(exc)) from None
    return list(enumerate(table, start=2))


def split(value: str | None) -> tuple[str, ...]:
    """A pipe-separated cell as a tuple (empty cell: empty tuple)."""
    return tuple(v.strip() for v in (value or "").split("|") if v.strip())


@dataclass(frozen=True)
class EvidenceKind:
    """A fact a department attests from its records in the masters (or the hall's online form)."""

    code: str
    name: str
    master: str  # person | entity | application (the online form)
    #: (source, table) pairs, most authoritative first; the department is the source's owner
    sources: tuple[tuple[str, str], ...]
    elements: tuple[str, ...]
    requires: tuple[str, ...]
    attests: str

    @property
    def department(self) -> str | None:
        """The department that attests (the owner of the first source)."""
        return self.sources[0][0] if self.sources else None


@dataclass(frozen=True)
class Condition:
    """When a material or an item applies: one test on an element of the applicant's master."""

    code: str
    name: str
    master: str
    element: str
    op: str
    values: tuple[str, ...]

    def holds(self, data: dict[str, Any], today: date) -> bool:
        """Whether the condition holds for a master row (``data``) on ``today``; an element the
        masters do not hold satisfies neither ``in`` nor an age test (nothing is assumed)."""
        v = data.get(self.element)
        if self.op == "present":
            return v is not None
        if self.op == "absent":
            return v is None
        if v is None:
            return False
        if self.op == "in":
            return str(v) in self.values
        if self.op == "not_in":
            return str(v) not in self.values
        age = age_on(str(v), today)
        if age is None:
            return False
        years = int(self.values[0])
        return age >= years if self.op == "age_ge" else age < years


def age_on(birth: str, today: date) -> int | None:
    """Completed years between an ISO birth date and ``today`` (None: not a date)."""
    try:
        b = date.fromisoformat(birth[:10])
    except ValueError:
        return None
    return today.year - b.year - ((today.month, today.day) < (b.month, b.day))


@dataclass(frozen=True)
class Vocabulary:
    evidence: dict[str, EvidenceKind]
    conditions: dict[str, Condition]
    relations: dict[str, str]  # code -> name
    halls: dict[str, dict[str, str | None]]  # key -> row


def _evidence(codes_dir: Path, sources: set[tuple[str, str]]) -> dict[str, EvidenceKind]:
    d = dictionary()
    path = codes_dir / "evidence_kinds.csv"
    out: dict[str, EvidenceKind] = {}
    for line, r in rows("evidence_kinds", codes_dir):
        code, master = str(r["code"]), str(r.get("master") or "")
        if master not in ("person", "entity", "application"):
            raise CatalogueError(f"{path}:{line}: master {master!r} is not person|entity|application")
        pairs = []
        for s in split(r.get("sources")):
            src, _, table = s.partition(".")
            if (src, table) not in sources:
                raise CatalogueError(f"{path}:{line}: source {s!r} is not a source table of schemas/sources")
            pairs.append((src, table))
        if master == "application" and code != ONLINE_FORM:
            raise CatalogueError(f"{path}:{line}: only {ONLINE_FORM!r} is the application's own evidence")
        if master != "application" and not pairs:
            raise CatalogueError(f"{path}:{line}: {code!r} names no source table a department attests it from")
        elements, requires = split(r.get("elements")), split(r.get("requires"))
        for e in (*elements, *requires):
            if not d.has(f"{master}.{e}"):
                raise CatalogueError(f"{path}:{line}: {master}.{e} is not a data element of the standard")
            if d.element(f"{master}.{e}").sharing == "not_shared":
                raise CatalogueError(f"{path}:{line}: {master}.{e} is not shared (不予共享): no evidence attests it")
        missing = [e for e in requires if e not in elements]
        if missing:
            raise CatalogueError(f"{path}:{line}: required element(s) {', '.join(missing)} are not attested")
        out[code] = EvidenceKind(code, str(r.get("name") or code), master, tuple(pairs), elements, requires,
                                 str(r.get("attests") or ""))
    if ONLINE_FORM not in out:
        raise CatalogueError(f"{path}: no {ONLINE_FORM!r} row (the hall's pre-filled form)")
    return out


def _conditions(codes_dir: Path) -> dict[str, Condition]:
    d = dictionary()
    path = codes_dir / "material_conditions.csv"
    out: dict[str, Condition] = {}
    for line, r in rows("material_conditions", codes_dir):
        master, element, op = str(r.get("master") or ""), str(r.get("element") or ""), str(r.get("op") or "")
        if master not in ("person", "entity") or not d.has(f"{master}.{element}"):
            raise CatalogueError(f"{path}:{line}: {master}.{element} is not a person or entity data element")
        if op not in CONDITION_OPS:
            raise CatalogueError(f"{path}:{line}: op {op!r} is not one of {', '.join(CONDITION_OPS)}")
        values = split(r.get("value"))
        if op in ("age_ge", "age_lt") and not (len(values) == 1 and values[0].isdigit()):
            raise CatalogueError(f"{path}:{line}: {op} takes one age in years, not {r.get('value')!r}")
        if op in ("in", "not_in") and not values:
            raise CatalogueError(f"{path}:{line}: {op} needs values")
        out[str(r["code"])] = Condition(str(r["code"]), str(r.get("name") or ""), master, element, op, values)
    return out


def _relations(codes_dir: Path) -> dict[str, str]:
    path = codes_dir / "material_relations.csv"
    out = {str(r["code"]): str(r.get("name") or "") for _line, r in rows("material_relations", codes_dir)}
    unknown = [c for c in out if c not in RELATIONS]
    missing = [c for c in RELATIONS if c not in out]
    if unknown or missing:
        raise CatalogueError(f"{path}: relation(s) {', '.join(unknown or missing)} "
                             f"{'have no implementation' if unknown else 'are implemented but not declared'}")
    return out


def source_tables() -> set[tuple[str, str]]:
    """(source, table) of every departmental source spec (the facts the masters can be traced to)."""
    from pipelines.registry import registry

    return {(s.source, t.name) for s in registry().values() for t in s.tables}


def _halls(codes_dir: Path) -> dict[str, dict[str, str | None]]:
    """The halls; ``entities_of`` names a department key (whose registrations in the hall's area the
    hall serves instead of the area's county hall)."""
    path = codes_dir / "halls.csv"
    departments = {str(r["key"]) for _line, r in rows("departments", codes_dir)}
    out: dict[str, dict[str, str | None]] = {}
    for line, r in rows("halls", codes_dir):
        if r.get("entities_of") and r["entities_of"] not in departments:
            raise CatalogueError(f"{path}:{line}: entities_of {r['entities_of']!r} is not a department key "
                                 "of departments.csv")
        out[str(r["key"])] = r
    return out


def vocabulary(codes_dir: Path) -> Vocabulary:
    """The four code tables, checked (sources against ``schemas/sources``, elements against the
    element dictionary, a hall's ``entities_of`` against the departments)."""
    halls = _halls(codes_dir)
    return Vocabulary(_evidence(codes_dir, source_tables()), _conditions(codes_dir), _relations(codes_dir), halls)
