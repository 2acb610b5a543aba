"""Build the service-item catalogue: ``service_items.csv``, ``service_item_materials.csv`` and
``service_item_forms.csv``, at the seed city's scale.

Run (``uv run --frozen python standards/codes/build_service_items.py``) and commit the CSV output;
the platform reads only the CSVs.  Deterministic: the same inputs give byte-identical files.

Inputs, in ``standards/codes/catalogue/`` (reviewed data):

* ``core_items.csv`` / ``core_materials.csv`` / ``core_forms.csv`` - the curated core: 187 items
  written from real service guides (办事指南), their materials with 来源渠道, and their forms.  They keep
  their codes S0001-S0187 in the city hall; ``levels`` says which other halls list them too;
* ``templates.yaml`` - how the rest of the catalogue arises: every licence type's life cycle (issue,
  change, renew, replace, cancel) at the levels its department issues it, with the materials of
  each step, and every department's confirmations, filings, benefits, referrals and public services;
  reusable material rows (``materials``) and form field sets (``forms``); the catalogue's size.

How items arise from a service (one row of the core or one template step): one item per hall that
lists it - ``city`` the city hall (市直), ``county`` each of the four county halls (谯城, 涡阳, 蒙城,
利辛), ``devzone`` the economic development zone's hall.  Services are taken in order (the core, then
the life cycles, then the departments' items) until the seed's published size is reached: 2,994
items of the five power types and 313 public services; the last service taken may fit in fewer halls
than it is listed for.  A template set that yields fewer items than that is an error.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

HERE = Path(__file__).resolve().parent
SRC = HERE / "catalogue"
HALLS = {"city": ("city",), "county": ("qiaocheng", "guoyang", "mengcheng", "lixin"), "devzone": ("devzone",)}
HALL_ORDER = ("city", "qiaocheng", "guoyang", "mengcheng", "lixin", "devzone")
ITEM_COLUMNS = ("code", "name", "power_class", "department", "target", "hall", "level", "service", "action",
                "licence_type", "applies_if", "event")
MATERIAL_COLUMNS = ("code", "item", "material", "channel", "licence_types", "evidence", "department", "about",
                    "condition")
PUBLIC = "公共服务"
ACTION_VERBS = {"issue": "核发", "change": "变更", "renew": "延续", "replace": "补发", "cancel": "注销",
                "filing": "年度报告（执业情况）备案"}


@dataclass
class Service:
    """One service of the catalogue, listed by one or more halls."""

    key: str
    name: str
    power_class: str
    department: str
    target: str
    halls: tuple[str, ...]
    level: str
    action: str
    materials: list[dict[str, str]]
    fields: str
    licence_type: str = ""
    applies_if: str = ""
    event: str = ""
    core_code: str = ""  # the curated code of its city-hall item
    meta: dict[str, Any] = field(default_factory=dict)


def _read(name: str) -> list[dict[str, str]]:
    with (SRC / name).open(encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _halls(levels: str) -> tuple[str, ...]:
    return tuple(h for lv in levels.split("|") if lv for h in HALLS[lv])


def core_services() -> list[Service]:
    """The curated core, as written."""
    mats: dict[str, list[dict[str, str]]] = {}
    for m in _read("core_materials.csv"):
        mats.setdefault(m["item"], []).append({k: m[k] for k in MATERIAL_COLUMNS if k not in ("code", "item")})
    forms = {f["code"]: f["fields"] for f in _read("core_forms.csv")}
    return [Service(f"core:{r['code']}", r["name"], r["power_class"], r["department"], r["target"],
                    _halls(r["levels"]), r["level"], r["action"], mats[r["code"]], forms[r["code"]],
                    r["licence_type"], r["applies_if"], r["event"], core_code=r["code"])
            for r in _read("core_items.csv")]


def _material(spec: Any, lib: dict[str, dict[str, str]], ctx: dict[str, str], where: str) -> dict[str, str]:
    """A material row from a template: a name of the material library, ``{use: name, ...overrides}``,
    or an inline row; ``{type}``, ``{code}``, ``{dept}`` and ``{evidence}`` stand for the item's licence type, its
    department and the department fact that proves it."""
    if isinstance(spec, str):
        if spec not in lib:
            raise SystemExit(f"{where}: material {spec!r} is not in the materials library")
        row = dict(lib[spec])
    elif isinstance(spec, dict):
        base = spec.get("use")
        if base is not None and base not in lib:
            raise SystemExit(f"{where}: material {base!r} is not in the materials library")
        row = {**(lib[base] if base else {}), **{k: str(v) for k, v in spec.items() if k != "use"}}
    else:
        raise SystemExit(f"{where}: a material is a name or a mapping, not {spec!r}")
    row = {k: str(row.get(k, "") or "").format(**ctx) for k in MATERIAL_COLUMNS if k not in ("code", "item")}
    row["channel"] = row["channel"] or "申请人自备"
    row["about"] = row["about"] or "applicant"
    return row


def lifecycle_services(t: dict[str, Any], types: dict[str, dict[str, str]], core: set[tuple[str, str]]
                       ) -> list[Service]:
    """Every licence type's life cycle: one service per step its department performs (a step the
    curated core already has is not repeated)."""
    lib, forms = t["materials"], t["forms"]
    out: list[Service] = []
    for code, spec in t["licences"].items():
        lt = types[code]
        kind = lt["holder_kind"]
        ctx = {"type": lt["name"], "code": code, "dept": lt["department"], "evidence": spec.get("evidence", "")}
        steps = t["lifecycle"][spec.get("steps", kind)]
        for action, step in steps.items():
            if action in spec.get("skip", []) or (action == "renew" and not lt["validity_years"]
                                                   and "renew" not in spec.get("names", {})):
                continue
            if (code, action) in core:
                continue
            where = f"templates.yaml: licences.{code}.{action}"
            names = spec.get("names", {})
            name = names.get(action) or f"{lt['name']}{ACTION_VERBS[action]}"
            mats = [_material(m, lib, ctx, where) for m in
                    [*(m for m in step["materials"] if m not in spec.get("drop", [])),
                     *(spec.get("docs", {}).get(action, []))]]
            power = spec.get("power", {}).get(action) if isinstance(spec.get("power"), dict) else spec.get("power")
            target = step.get("target") or ("entity" if kind == "entity" else "person")
            out.append(Service(f"licence:{code}:{action}", name, power or step["power"], lt["department"],
                               target, _halls(spec.get("levels", "city|county")),
                               spec.get("level", "county"), action, mats,
                               forms[step.get("form") or spec.get("form") or ("entity" if target == "entity" else "person")],
                               licence_type=code, applies_if=spec.get("applies_if", step.get("applies_if", "")),
                               event=spec.get("event", {}).get(action, "") if isinstance(spec.get("event"), dict)
                               else ""))
    return out


def department_services(t: dict[str, Any]) -> list[Service]:
    """The departments' confirmations, filings, benefits, referrals and public services (an entry
    with ``variants`` is one service per variant, ``{v}`` in its name)."""
    lib, forms = t["materials"], t["forms"]
    out: list[Service] = []
    for dept, entries in t["departments"].items():
        for e, spec in enumerate(entries):
            variants = spec.get("variants")
            for k, v in enumerate(variants or [None]):
                name = spec["name"].format(v=v) if v is not None else spec["name"]
                where = f"templates.yaml: departments.{dept} {name}"
                ctx = {"type": "", "code": spec.get("licence_type", ""), "dept": dept, "evidence": ""}
                mats = [_material(m, lib, ctx, where) for m in spec["materials"]]
                target = spec.get("target", "person")
                # variants of one entry share a key prefix: alternatives a day's applicants divide among them
                key = f"dept:{dept}:{e}" + (f".{k}" if variants else "")
                out.append(Service(key, name, spec["power"], dept, target,
                                   _halls(spec.get("levels", "city|county")), spec.get("level", "county"),
                                   spec["action"], mats, forms[spec.get("form", target)],
                                   licence_type=spec.get("licence_type", ""), applies_if=spec.get("applies_if", ""),
                                   event=spec.get("event", "")))
    return out


def select(services: list[Service], size: dict[str, int]) -> list[tuple[Service, str]]:
    """(service, hall) pairs in catalogue order until each class reaches its size."""
    left = {"public": size["public"], "power": size["power"]}
    chosen: list[tuple[Service, str]] = []
    for s in services:
        cls = "public" if s.power_class == PUBLIC else "power"
        for hall in s.halls:
            if left[cls] > 0:
                chosen.append((s, hall))
                left[cls] -= 1
    short = {k: v for k, v in left.items() if v > 0}
    if short:
        raise SystemExit(f"templates.yaml yields too few items: {short} more needed to reach {size}")
    return chosen


def number(chosen: list[tuple[Service, str]]) -> list[tuple[str, Service, str]]:
    """Codes: the core's own in the city hall, then S0188... in hall order, service order."""
    coded = [(s.core_code, s, h) for s, h in chosen if s.core_code and h == "city"]
    used = {c for c, _s, _h in coded}
    n = max(int(c[1:]) for c in used) if used else 0
    rest = sorted(((s, h) for s, h in chosen if not (s.core_code and h == "city")),
                  key=lambda sh: HALL_ORDER.index(sh[1]))
    for s, h in rest:
        n += 1
        coded.append((f"S{n:04d}", s, h))
    return sorted(coded, key=lambda c: c[0])


def write(coded: list[tuple[str, Service, str]], out_dir: Path) -> dict[str, int]:
    items, mats, forms = [], [], []
    for code, s, hall in coded:
        level = s.level if hall != "city" else "city"
        items.append({"code": code, "name": s.name, "power_class": s.power_class, "department": s.department,
                      "target": s.target, "hall": hall, "level": level, "service": s.key, "action": s.action,
                      "licence_type": s.licence_type, "applies_if": s.applies_if, "event": s.event})
        for i, m in enumerate(s.materials, start=1):
            mats.append({"code": f"{code}-M{i:02d}", "item": code, **m})
        forms.append({"code": code, "fields": s.fields})
    for name, cols, rows in (("service_items.csv", ITEM_COLUMNS, items),
                             ("service_item_materials.csv", MATERIAL_COLUMNS, mats),
                             ("service_item_forms.csv", ("code", "fields"), forms)):
        with (out_dir / name).open("w", encoding="utf-8", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=list(cols), lineterminator="\n")
            w.writeheader()
            w.writerows(rows)
    return {"items": len(items), "materials": len(mats)}


def build(out_dir: Path = HERE) -> dict[str, int]:
    t = yaml.safe_load((SRC / "templates.yaml").read_text(encoding="utf-8"))
    with (HERE / "licence_types.csv").open(encoding="utf-8", newline="") as fh:
        types = {r["code"]: r for r in csv.DictReader(fh)}
    core = core_services()
    # a core item that gives a licence type out (issue, or a service/filing that produces it) is that
    # type's first issue; the life cycle does not repeat it
    done = {(s.licence_type, s.action if s.action in ("change", "renew", "replace", "cancel") else "issue")
            for s in core if s.licence_type}
    depts = department_services(t)
    core_names = {(s.department, s.name) for s in core}
    again = [s.name for s in depts if (s.department, s.name.replace("（县级）", "")) in core_names]
    if again:
        raise SystemExit(f"templates.yaml: department item(s) repeat a core item: {', '.join(again[:5])}")
    services = core + lifecycle_services(t, types, done) + depts
    keys = [s.key for s in services]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise SystemExit(f"templates.yaml: service key(s) repeated: {sorted(dupes)[:5]}")
    return write(number(select(services, t["size"])), out_dir)


if __name__ == "__main__":
    print(build())
