"""The hall's service-item catalogue (办事事项目录), read from the standard's code tables.

Three reviewed CSV files in ``standards/codes`` (data, not code):

* ``service_items.csv`` - code, name, power class (行政审批 / 行政确认 / 行政备案 / 行政给付 / 审核转报 /
  公共服务), approving department, target (person | entity);
* ``service_item_materials.csv`` - one row per required material: the item, the material's name,
  ``licence_types`` (pipe-separated licence type codes any of which satisfies it; empty = a document
  only the applicant has) and ``holder`` (``applicant``, or ``legal_rep`` for a person's licence an
  entity's legal representative holds);
* ``service_item_forms.csv`` - per item, the form fields as qualified data elements
  (``person.name|person.id_number|...``); for an entity item ``person.*`` is the legal representative.

:func:`catalogue` validates the references (departments, licence types, elements, targets) and fails
with one line naming the file, the row and the problem.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from core.errors import ConfigurationError
from standards.codetables import CODES_DIR, CodeTableError, load_code_table
from standards.dictionary import dictionary

POWER_CLASSES = ("行政审批", "行政确认", "行政备案", "行政给付", "审核转报", "公共服务")


class CatalogueError(ConfigurationError):
    """A catalogue file is inconsistent (one line: file:row: problem)."""


@dataclass(frozen=True)
class Material:
    code: str
    name: str
    licence_types: tuple[str, ...]  # empty: only the applicant has it
    holder: str  # applicant | legal_rep

    @property
    def licence_backed(self) -> bool:
        return bool(self.licence_types)


@dataclass(frozen=True)
class ServiceItem:
    code: str
    name: str
    power_class: str
    department: str
    target: str  # person | entity
    materials: tuple[Material, ...]
    fields: tuple[str, ...]

    def summary(self) -> dict[str, object]:
        return {"code": self.code, "name": self.name, "power_class": self.power_class,
                "department": self.department, "target": self.target}

    def describe(self) -> dict[str, object]:
        """The summary with the form's fields and the required materials (the catalogue entry)."""
        return {**self.summary(), "fields": list(self.fields),
                "materials": [{"code": m.code, "material": m.name, "licence_types": list(m.licence_types),
                               "holder": m.holder} for m in self.materials]}


@dataclass(frozen=True)
class Catalogue:
    items: dict[str, ServiceItem]
    licence_types: dict[str, dict[str, str | None]]
    departments: dict[str, dict[str, str | None]]

    def select(self, target: str | None = None, department: str | None = None,
               power_class: str | None = None) -> list[ServiceItem]:
        """The items matching every filter given (None: any)."""
        return [i for i in self.items.values()
                if (target is None or i.target == target) and (department is None or i.department == department)
                and (power_class is None or i.power_class == power_class)]

    def department_by_uscc(self, uscc: str | None) -> dict[str, str | None] | None:
        if not uscc:
            return None
        for d in self.departments.values():
            if d["uscc"] == uscc:
                return d
        return None


def _rows(name: str, codes_dir: Path) -> list[dict[str, str | None]]:
    try:
        return load_code_table(name, codes_dir).to_pylist()
    except CodeTableError as exc:
        raise CatalogueError(str(exc)) from None


@lru_cache(maxsize=4)
def catalogue(codes_dir: Path = CODES_DIR) -> Catalogue:
    """Load and cross-check the catalogue (cached)."""
    d = dictionary()
    departments = {str(r["key"]): r for r in _rows("departments", codes_dir)}
    ltypes = {str(r["code"]): r for r in _rows("licence_types", codes_dir)}
    items_file = codes_dir / "service_items.csv"
    mats_file = codes_dir / "service_item_materials.csv"
    forms_file = codes_dir / "service_item_forms.csv"
    raw = _rows("service_items", codes_dir)
    heads: dict[str, dict[str, str | None]] = {}
    for line, r in enumerate(raw, start=2):
        if r["power_class"] not in POWER_CLASSES:
            raise CatalogueError(f"{items_file}:{line}: power_class {r['power_class']!r} is not one of {POWER_CLASSES}")
        if r["department"] not in departments:
            raise CatalogueError(f"{items_file}:{line}: department {r['department']!r} is not a department key")
        if r["target"] not in ("person", "entity"):
            raise CatalogueError(f"{items_file}:{line}: target {r['target']!r} is not person|entity")
        heads[str(r["code"])] = r
    mats: dict[str, list[Material]] = {c: [] for c in heads}
    for line, r in enumerate(_rows("service_item_materials", codes_dir), start=2):
        item = r.get("item")
        if item not in heads:
            raise CatalogueError(f"{mats_file}:{line}: item {item!r} is not in service_items.csv")
        types = tuple(t for t in (r.get("licence_types") or "").split("|") if t)
        for t in types:
            if t not in ltypes:
                raise CatalogueError(f"{mats_file}:{line}: licence type {t!r} is not in licence_types.csv")
        holder = r.get("holder") or "applicant"
        if holder not in ("applicant", "legal_rep"):
            raise CatalogueError(f"{mats_file}:{line}: holder {holder!r} is not applicant|legal_rep")
        if holder == "legal_rep":
            if heads[item]["target"] != "entity":
                raise CatalogueError(f"{mats_file}:{line}: holder legal_rep only applies to entity items")
            bad = [t for t in types if ltypes[t]["holder_kind"] != "person"]
            if bad:
                raise CatalogueError(f"{mats_file}:{line}: a legal representative holds person licences, "
                                     f"not type(s) {', '.join(bad)}")
        if not r.get("material"):
            raise CatalogueError(f"{mats_file}:{line}: empty material name")
        mats[item].append(Material(str(r["code"]), str(r["material"]), types, holder))
    forms: dict[str, tuple[str, ...]] = {}
    for line, r in enumerate(_rows("service_item_forms", codes_dir), start=2):
        item = str(r["code"])
        if item not in heads:
            raise CatalogueError(f"{forms_file}:{line}: item {item!r} is not in service_items.csv")
        fields = tuple(f for f in (r.get("fields") or "").split("|") if f)
        for f in fields:
            if not d.has(f) or f.startswith("meta."):
                raise CatalogueError(f"{forms_file}:{line}: {f!r} is not a data element of the standard")
            master = f.split(".")[0]
            if master not in ("person", "entity"):
                raise CatalogueError(f"{forms_file}:{line}: {f!r}: forms draw on the person and entity masters")
            if master == "entity" and heads[item]["target"] != "entity":
                raise CatalogueError(f"{forms_file}:{line}: {f!r} in a person item")
        if len(set(fields)) != len(fields):
            raise CatalogueError(f"{forms_file}:{line}: a field is listed twice")
        forms[item] = fields
    missing = [c for c in heads if c not in forms]
    if missing:
        raise CatalogueError(f"{forms_file}: no form for item(s) {', '.join(missing[:5])}")
    items = {
        c: ServiceItem(c, str(h["name"]), str(h["power_class"]), str(h["department"]), str(h["target"]),
                       tuple(mats[c]), forms[c])
        for c, h in heads.items()
    }
    return Catalogue(items, ltypes, departments)
