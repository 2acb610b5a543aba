"""The once-only report (一次不跑 / 免提交): a realistic day of hall applications against the masters.

The day is drawn by :mod:`warehouse.api.day` (who really applies for what); each application runs the
hall's auto-fill (:func:`warehouse.api.autofill.fill`, what the HTTP endpoint runs) and the applicant
consents, or withdraws (the day's :data:`~warehouse.api.day.DECLINE_RATE` of applicants, or the
``decline`` given) - then nothing from the masters reaches the department and every held licence and
department evidence counts as to upload, reason ``no_consent`` (the online form stays: the applicant
fills it in himself instead of uploading a paper one).  Reported, over the required materials (those
whose conditions hold for the applicant):

* the share **not uploaded** - served from the masters as a held licence, as a department's
  evidence, or replaced by the hall's pre-filled online form;
* the **ceiling** - the share that is government-issued by 来源渠道 (政府部门核发), and with the
  online forms added the share that could be not uploaded at all;
* for every remaining upload its **reason** (applicant_prepared, third_party, not_integrated,
  not_in_library, no_relation_recorded, not_held_for_applicant, expired, revoked, cancelled,
  no_consent ...);
* all of it by hall, department, power type, applicant kind and action;
* the **served check**: every 政府部门核发 material that applies and that a department holds for its
  subject in the gold store (a valid licence of an accepted type, or a record in the evidence kind's
  source table with the required facts) must have been served - checked in DuckDB against the gold
  file, independently of the read model; any miss is listed with its reason.  The check is over what
  the auto-fill served: an applicant who withdraws declined what was served (counted as
  ``no_consent`` above), which is no defect of the platform.
"""

from __future__ import annotations

import json
import unicodedata
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from core.errors import redact
from warehouse.api.autofill import NOT_UPLOADED, fill
from warehouse.api.catalogue import GOVERNMENT_ISSUED, Catalogue, ServiceItem
from warehouse.api.day import DECLINE_RATE, Drawn, draw
from warehouse.api.index import ReadModel

DIMENSIONS = ("hall", "department", "power_class", "applicant", "action")


@dataclass
class Tally:
    applications: int = 0
    materials: int = 0
    government: int = 0
    form: int = 0
    held: int = 0
    evidence: int = 0
    not_uploaded: int = 0
    fields: int = 0
    prefilled: int = 0
    reasons: Counter = field(default_factory=Counter)

    def add(self, materials: list[dict[str, Any]], fields: tuple[int, int]) -> None:
        self.applications += 1
        self.fields += fields[0]
        self.prefilled += fields[1]
        for m in materials:
            if m["status"] == "not_required":
                continue
            self.materials += 1
            self.government += m["channel"] == GOVERNMENT_ISSUED
            self.form += m["status"] == "form"
            self.held += m["status"] == "held"
            self.evidence += m["status"] == "evidence"
            if m["status"] in NOT_UPLOADED:
                self.not_uploaded += 1
            else:
                self.reasons[m["reason"]] += 1

    def shares(self) -> dict[str, float]:
        def share(a: int, b: int) -> float:
            return a / b if b else 0.0
        return {"share_not_uploaded": share(self.not_uploaded, self.materials),
                "ceiling_government": share(self.government, self.materials),
                "ceiling_with_forms": share(self.government + self.form, self.materials),
                "government_served": share(self.held + self.evidence, self.government),
                "fields_prefilled": share(self.prefilled, self.fields)}

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {k: v for k, v in self.__dict__.items() if k != "reasons"}
        out["to_upload_by_reason"] = dict(self.reasons.most_common())
        return {**out, **{k: round(v, 4) for k, v in self.shares().items()}}


@dataclass
class OnceOnlyReport:
    applications: int
    seed: int
    as_of: str
    build_id: str
    decline: float = 0.0
    total: Tally = field(default_factory=Tally)
    by: dict[str, dict[str, Tally]] = field(default_factory=lambda: {d: defaultdict(Tally) for d in DIMENSIONS})
    #: 政府部门核发 materials a department holds for the subject (gold), and those not served
    check_held: int = 0
    misses: list[dict[str, Any]] = field(default_factory=list)
    #: materials to upload because the library holds no licence of their types (type name -> count)
    not_in_library: Counter = field(default_factory=Counter)
    not_integrated: Counter = field(default_factory=Counter)
    services: int = 0
    #: applications whose applicant withdrew at the consent step
    withdrawn: int = 0

    def as_dict(self) -> dict[str, Any]:
        return {"applications": self.applications, "seed": self.seed, "as_of": self.as_of,
                "build_id": self.build_id, "decline": self.decline, "withdrawn": self.withdrawn,
                "services_drawn_from": self.services,
                "total": self.total.as_dict(),
                **{f"by_{d}": {k: v.as_dict() for k, v in sorted(t.items())} for d, t in self.by.items()},
                "served_check": {"government_held_for_subject": self.check_held, "not_served": len(self.misses),
                                 "served_share": round(1 - len(self.misses) / self.check_held, 4)
                                 if self.check_held else 1.0, "misses": self.misses[:50]},
                "to_upload_not_in_library": dict(self.not_in_library.most_common()),
                "to_upload_not_integrated": dict(self.not_integrated.most_common())}

    def render(self) -> str:
        t, s = self.total, self.total.shares()
        served = 1 - len(self.misses) / self.check_held if self.check_held else 1.0
        lines = [
            f"once-only: {t.applications:,} applications of a simulated day (seed {self.seed}, as of {self.as_of}, "
            f"gold build {self.build_id or '?'}; {self.services} services drawn from; {self.withdrawn} withdrew at "
            f"consent, decline rate {self.decline:.0%})",
            f"  required materials not uploaded:   {t.not_uploaded:,} of {t.materials:,} = {s['share_not_uploaded']:.1%}  "
            f"(licence held {t.held:,}, department evidence {t.evidence:,}, pre-filled online form {t.form:,})",
            f"  ceiling (来源渠道 政府部门核发):        {t.government:,} of {t.materials:,} = {s['ceiling_government']:.1%}"
            f"  (with the online forms: {s['ceiling_with_forms']:.1%})",
            f"  government-held served:            {t.held + t.evidence:,} of {t.government:,} = "
            f"{s['government_served']:.1%}; of those a department holds for the subject: "
            f"{self.check_held - len(self.misses):,} of {self.check_held:,} = {served:.1%} served by the auto-fill"
            + (f" ({t.reasons['no_consent']:,} of them then declined by applicants who withdrew)"
               if t.reasons["no_consent"] else ""),
            f"  form fields pre-filled:            {t.prefilled:,} of {t.fields:,} = {s['fields_prefilled']:.1%}",
            "", "  still to upload, by reason: " + ", ".join(f"{k} {v:,}" for k, v in t.reasons.most_common()),
        ]
        for dim in DIMENSIONS:
            lines += ["", f"  {'by ' + dim:16} {'apps':>6} {'materials':>9} {'not upl.':>8} {'share':>7} "
                          f"{'ceiling':>8}  top reason to upload"]
            for name, tally in sorted(self.by[dim].items(), key=lambda kv: -kv[1].applications):
                sh = tally.shares()
                top = tally.reasons.most_common(1)
                lines.append(f"  {_pad(name, 16)} {tally.applications:>6,} {tally.materials:>9,} "
                             f"{tally.not_uploaded:>8,} {sh['share_not_uploaded']:>7.1%} {sh['ceiling_government']:>8.1%}  "
                             f"{top[0][0] + ' ' + str(top[0][1]) if top else ''}")
        if self.not_in_library:
            lines += ["", "  to upload because the library holds no licence of the type yet: " + ", ".join(
                f"{k} {v}" for k, v in self.not_in_library.most_common(10))]
        if self.misses:
            lines += ["", f"  DEFECTS: {len(self.misses)} government-held material(s) a department holds were not "
                          "served:"] + [f"    {m['item']} {m['material']}: {m['reason']}" for m in self.misses[:10]]
        return "\n".join(lines)


def _pad(text: str, width: int) -> str:
    """Left-justify for a terminal: CJK characters take two columns."""
    used = sum(2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text)
    return text + " " * max(0, width - used)


def _keys(item: ServiceItem) -> dict[str, str]:
    return {"hall": item.hall, "department": item.department, "power_class": item.power_class,
            "applicant": item.target, "action": item.action}


def _withdraw(materials: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """What the department gets when the applicant withdraws: every licence and evidence the masters
    would have served is to upload (the online form is still his to fill in)."""
    return [{**m, "status": "to_upload", "reason": "no_consent"} if m["status"] in ("held", "evidence") else m
            for m in materials]


def _check_rows(n: int, item: ServiceItem, materials: list[dict[str, Any]], cat: Catalogue
                ) -> list[tuple[int, str, str, str, str, str]]:
    """(application, material, subject, licence types, evidence sources, required elements) of every
    required 政府部门核发 material with a subject, for the served check."""
    rows = []
    for m in materials:
        if m["status"] == "not_required" or m["channel"] != GOVERNMENT_ISSUED or not m["subject"]:
            continue
        kinds = [cat.evidence_kinds[k] for k in m["evidence_kinds"]]
        srcs = "|".join(f"{s}.{t}:{','.join(k.requires)}" for k in kinds for s, t in k.sources)
        rows.append((n, m["code"], m["subject"]["master_id"], "|".join(t["code"] for t in m["licence_types"]),
                     srcs, m["status"]))
    return rows


def served_check(gold: Path, rows: list[tuple[int, str, str, str, str, str]], today: date
                 ) -> tuple[int, list[tuple[int, str, str]]]:
    """(materials a department holds for the subject, those not served) - in DuckDB over the gold
    file: a licence of an accepted type valid on the day, or a record in an evidence kind's source
    table whose master holds every required fact."""
    from core.db import connect
    from core.sqltext import lit

    if not rows:
        return 0, []
    con = connect(standard=False)
    try:
        con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
        con.execute("CREATE TEMP TABLE chk (app INTEGER, material VARCHAR, subject VARCHAR, types VARCHAR, "
                    "srcs VARCHAR, status VARCHAR)")
        con.executemany("INSERT INTO chk VALUES (?, ?, ?, ?, ?, ?)", rows)
        t = lit(today.isoformat())
        lic = (f"EXISTS (SELECT 1 FROM gold.licence_master AS l WHERE l.holder_master_id = c.subject AND "
               f"list_contains(string_split(c.types, '|'), l.type_code) AND coalesce(l.status, '1') = '1' AND "
               f"(l.valid_to IS NULL OR l.valid_to >= DATE {t}) AND (l.valid_from IS NULL OR l.valid_from <= DATE {t}))")
        con.execute("CREATE TEMP TABLE src AS SELECT c.app, c.material, c.subject, "
                    "split_part(s, ':', 1) AS st, string_split(split_part(s, ':', 2), ',') AS req "
                    "FROM chk AS c, unnest(string_split(c.srcs, '|')) AS u(s) WHERE c.srcs <> ''")
        ev = []
        for master in ("person", "entity"):
            cols = [r[0] for r in con.execute(f"SELECT column_name FROM duckdb_columns() WHERE database_name = "
                                              f"'gold' AND table_name = '{master}_master'").fetchall()]
            facts = " AND ".join(f"(NOT list_contains(s.req, {lit(c)}) OR to_json(m.{c}) <> 'null')"
                                 for c in cols if c not in ("lineage", "sources"))
            ev.append(f"SELECT s.app, s.material FROM src AS s JOIN gold.{master}_xref AS x ON x.master_id = s.subject "
                      f"AND x.source || '.' || x.table_name = s.st JOIN gold.{master}_master AS m ON "
                      f"m.master_id = s.subject WHERE {facts}")
        con.execute("CREATE TEMP TABLE has_ev AS " + " UNION ".join(ev))
        held = con.execute(f"SELECT c.app, c.material, c.status FROM chk AS c WHERE {lic} OR EXISTS (SELECT 1 FROM "
                           f"has_ev AS h WHERE h.app = c.app AND h.material = c.material)").fetchall()
    finally:
        con.close()
    return len(held), [(a, m, st) for a, m, st in held if st not in ("held", "evidence")]


def simulate(model: ReadModel, cat: Catalogue, gold: Path, applications: int = 1000, seed: int = 7,
             today: date | None = None, decline: float | None = None) -> OnceOnlyReport:
    """The day's report; ``decline`` overrides the day's stated share of withdrawals."""
    today = today or date.today()
    decline = DECLINE_RATE if decline is None else decline
    drawn, volumes = draw(gold, cat, applications, seed, today, decline)
    report = OnceOnlyReport(len(drawn), seed, today.isoformat(), model.build_id, decline, services=len(volumes))
    checks: list[tuple[int, str, str, str, str, str]] = []
    seen: dict[tuple[int, str], tuple[ServiceItem, dict[str, Any]]] = {}
    for n, d in enumerate(drawn):
        item, outcome = _run(model, cat, d, today)
        if outcome is None:
            continue
        materials = outcome["materials"]
        if not d.consents:
            report.withdrawn += 1
            materials = _withdraw(materials)
        f = (outcome["summary"]["fields"], outcome["summary"]["prefilled"])
        for tally in (report.total, *(report.by[k][v] for k, v in _keys(item).items())):
            tally.add(materials, f)
        for m in materials:
            seen[(n, m["code"])] = (item, m)
            if m["reason"] == "not_in_library":
                report.not_in_library[" | ".join(t["name"] for t in m["licence_types"])] += 1
            elif m["reason"] == "not_integrated":
                report.not_integrated[m["material"]] += 1
        # the platform's side: what the auto-fill served (an applicant who withdraws declined it himself)
        checks += _check_rows(n, item, outcome["materials"], cat)
    report.check_held, misses = served_check(gold, checks, today)
    for n, code, _st in misses:
        item, m = seen[(n, code)]
        report.misses.append({"item": item.code, "item_name": item.name, "material": m["material"],
                              "status": m["status"], "reason": m["reason"], "note": m["note"]})
    return report


def _run(model: ReadModel, cat: Catalogue, d: Drawn, today: date) -> tuple[ServiceItem, dict[str, Any] | None]:
    """The auto-fill of one drawn application (None if its applicant is not in the read model)."""
    item = cat.items[d.item]
    person = model.person(master_id=d.person)
    entity = model.entity(master_id=d.entity) if d.entity else None
    if person is None or (d.entity and entity is None):
        return item, None
    return item, fill(model, cat, item, person, entity, today, d.concerning, authenticated=True)


def report_json(report: OnceOnlyReport) -> str:
    """The report as JSON, with any ID or phone number an example carries masked (it is read by
    analysts, whose grants cover no person)."""
    return redact(json.dumps(report.as_dict(), ensure_ascii=False, indent=1))


def save_latest(report: OnceOnlyReport, path: Path) -> Path:
    """Keep the report where the analysts' report finds it (``Settings.once_only_report``)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report_json(report), encoding="utf-8")
    return path
