"""The once-only figure (一次不跑 / 免提交): a day of simulated hall applications against the masters.

Each simulated application picks a service item of the catalogue (uniformly) and an applicant -
a living person with a valid ID number, or for an entity item an entity in business (存续) whose legal
representative is in the population library - and runs the hall's auto-fill on it (the same
function the HTTP endpoint runs).  Reported:

* the share of required materials the applicant no longer uploads because a valid licence is held
  (of all materials, and of the licence-backed ones);
* the share of form fields pre-filled from the masters.
"""

from __future__ import annotations

import json
import random
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from warehouse.api.autofill import fill
from warehouse.api.catalogue import Catalogue
from warehouse.api.index import ReadModel, Row

IN_BUSINESS = "1"


@dataclass
class Tally:
    applications: int = 0
    materials: int = 0
    licence_backed: int = 0
    held: int = 0
    fields: int = 0
    prefilled: int = 0

    def add(self, summary: dict[str, int], licence_backed: int) -> None:
        self.applications += 1
        self.materials += summary["materials"]
        self.licence_backed += licence_backed
        self.held += summary["held"]
        self.fields += summary["fields"]
        self.prefilled += summary["prefilled"]

    def shares(self) -> dict[str, float]:
        return {
            "materials_not_uploaded": self.held / self.materials if self.materials else 0.0,
            "licence_materials_held": self.held / self.licence_backed if self.licence_backed else 0.0,
            "fields_prefilled": self.prefilled / self.fields if self.fields else 0.0,
        }

    def as_dict(self) -> dict[str, Any]:
        return {**self.__dict__, **{k: round(v, 4) for k, v in self.shares().items()}}


@dataclass
class OnceOnlyReport:
    applications: int
    seed: int
    as_of: str
    build_id: str
    total: Tally = field(default_factory=Tally)
    by_target: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    by_class: dict[str, Tally] = field(default_factory=lambda: defaultdict(Tally))
    held_types: Counter = field(default_factory=Counter)
    missing_types: Counter = field(default_factory=Counter)
    skipped: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"applications": self.applications, "seed": self.seed, "as_of": self.as_of, "build_id": self.build_id,
                "total": self.total.as_dict(), "by_target": {k: v.as_dict() for k, v in self.by_target.items()},
                "by_power_class": {k: v.as_dict() for k, v in self.by_class.items()},
                "licence_types_held": dict(self.held_types.most_common()),
                "licence_types_to_upload": dict(self.missing_types.most_common())}

    def render(self) -> str:
        t = self.total
        s = t.shares()
        lines = [
            f"once-only: {t.applications:,} simulated applications (seed {self.seed}, as of {self.as_of}, "
            f"gold build {self.build_id or '?'})",
            f"  required materials not uploaded (valid licence held): {t.held:,} of {t.materials:,} = "
            f"{s['materials_not_uploaded']:.1%}  (of licence-backed materials: {t.held:,} of {t.licence_backed:,} "
            f"= {s['licence_materials_held']:.1%})",
            f"  form fields pre-filled from the masters:               {t.prefilled:,} of {t.fields:,} = "
            f"{s['fields_prefilled']:.1%}",
            "",
            f"  {'':14} {'apps':>6} {'materials':>10} {'held':>6} {'share':>7} {'fields':>7} {'filled':>7} {'share':>7}",
        ]
        for name, tally in [*sorted(self.by_target.items()), *sorted(self.by_class.items())]:
            sh = tally.shares()
            lines.append(f"  {_pad(name, 14)} {tally.applications:>6,} {tally.materials:>10,} {tally.held:>6,} "
                         f"{sh['materials_not_uploaded']:>7.1%} {tally.fields:>7,} {tally.prefilled:>7,} "
                         f"{sh['fields_prefilled']:>7.1%}")
        if self.held_types:
            top = ", ".join(f"{k} {v}" for k, v in self.held_types.most_common(8))
            lines += ["", f"  licences most often held: {top}"]
        return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """Left-justify for a terminal: CJK characters take two columns."""
    import unicodedata

    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(0, width - used)


def _people(model: ReadModel, rng: random.Random, n: int) -> list[Row]:
    ids = model.person_ids()
    out: list[Row] = []
    tries = 0
    while len(out) < n and ids and tries < n * 20:
        tries += 1
        row = model.person(master_id=rng.choice(ids))
        if row is not None and not row.data.get("death_date"):
            out.append(row)
    return out


def _entities(model: ReadModel, rng: random.Random, n: int) -> list[tuple[Row, Row]]:
    cands = model.represented_entity_ids()
    out: list[tuple[Row, Row]] = []
    tries = 0
    while len(out) < n and cands and tries < n * 20:
        tries += 1
        ent = model.entity(master_id=rng.choice(cands))
        if ent is None or ent.data.get("status") not in (IN_BUSINESS, None):
            continue
        rep = model.person(master_id=ent.data.get("legal_rep_master_id")) if ent.data.get("legal_rep_master_id") \
            else None
        if rep is None:
            continue
        out.append((ent, rep))
    return out


def simulate(model: ReadModel, cat: Catalogue, applications: int = 1000, seed: int = 7,
             today: date | None = None) -> OnceOnlyReport:
    today = today or date.today()
    rng = random.Random(seed)
    items = sorted(cat.items.values(), key=lambda i: i.code)
    picks = [rng.choice(items) for _ in range(applications)]
    need_p = sum(1 for i in picks if i.target == "person")
    persons = _people(model, rng, need_p)
    ents = _entities(model, rng, applications - need_p)
    report = OnceOnlyReport(applications, seed, today.isoformat(), model.build_id)
    pi = ei = 0
    for item in picks:
        if item.target == "person":
            if pi >= len(persons):
                report.skipped += 1
                continue
            person, entity = persons[pi], None
            pi += 1
        else:
            if ei >= len(ents):
                report.skipped += 1
                continue
            entity, person = ents[ei]
            ei += 1
        out = fill(model, cat, item, person, entity, today)
        backed = sum(1 for m in item.materials if m.licence_backed)
        for tally in (report.total, report.by_target[item.target], report.by_class[item.power_class]):
            tally.add(out["summary"], backed)
        for m in out["materials"]:
            if m["status"] == "held":
                report.held_types[m["licence"]["type_name"]] += 1
            elif m["licence_types"]:
                report.missing_types[m["licence_types"][0]["name"]] += 1
    return report


def report_json(report: OnceOnlyReport) -> str:
    return json.dumps(report.as_dict(), ensure_ascii=False, indent=1)
