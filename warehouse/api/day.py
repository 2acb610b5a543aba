"""A realistic day at the halls: who applies for what, drawn from the gold masters with SQL.

Applicants come to an item because something in their lives or their licences brings them there,
and the masters say who that is:

* a licence's life cycle - renewals by holders whose licence falls due (valid to within 90 days
  either side: a late one arrives expired), changes, replacements and cancellations by holders of a
  valid licence, first issues by eligible non-holders at the rate the library shows licences of the
  type being issued over the past year;
* life events - births (the mother or the household's parents of a child born in the past year,
  about that child), marriages (unmarried adults, as many a day as marriage certificates were
  issued), deaths (the spouse, children or household of someone who died in the past year, about
  him), starting a business (as many a day as entities were established), moving, school entry
  (parents of six-year-olds), retirement (those who turned 60), buying a home (the buyers of a title
  issued in the past year whose sale contract the housing department filed: :data:`LICENCE_EVENTS`),
  selling one; a dated event's daily count is the median of its past five years (a backlog loaded at
  once does not set the pace);
* everything else - by the eligible (the item's conditions: entity types, ages, marital status,
  employment), at an annual rate per action declared below.

The expected daily count of each service is computed over the whole masters; the day's N
applications are allocated to services in proportion (multinomial, seeded) and each service's
applicants are drawn by a seeded hash order.  An applicant goes to the hall of his county (household
area; an entity's registered area), or to the hall ``halls.csv`` declares for the entities a
department registers in its area (``entities_of``: the development zone's hall serves the
enterprises the city market regulator registers there) where that hall lists the item, or to the
city hall for city-level items.  At the consent step a share of applicants withdraws instead of
letting the hall share their records (:data:`DECLINE_RATE`, seeded per application).

Rates that the masters cannot show are modelling assumptions, named here (:data:`PERSON_RATE`,
:data:`TARGETED_RATE`, :data:`ENTITY_RATE`, :data:`EVENT_RATE`, :data:`DECLINE_RATE`); everything else is
counted in the data.  Licence types the library does not hold at all produce no applicants (nobody
can be shown to hold them), except the resident ID card and the household register book, which every
registered resident holds (public security issues both where the household is registered: a person
the household register does not record applies for neither here).
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import numpy as np

from core.sqltext import lit
from warehouse.api.catalogue import Catalogue, ServiceItem
from warehouse.api.vocabulary import Condition

#: annual applications to one service per eligible person, by action, where no event or licence date
#: says how many (modelling assumptions): a resident seldom needs any one item ...
PERSON_RATE = {"issue": 0.0005, "change": 0.002, "replace": 0.002, "cancel": 0.001, "confirm": 0.001,
               "filing": 0.0005, "benefit": 0.0003, "referral": 0.0002, "service": 0.003, "renew": 0.0}
#: ... unless the item is for a group the masters single out (conditions or a held licence leave fewer
#: than :data:`TARGETED_SHARE` of residents): those claim their benefits and services far more often
TARGETED_RATE = {"benefit": 0.1, "service": 0.02, "confirm": 0.01}
TARGETED_SHARE = 0.2
#: an entity files, changes and confirms more often than a resident (per service, per year)
ENTITY_RATE = {"issue": 0.003, "change": 0.02, "replace": 0.005, "cancel": 0.01, "confirm": 0.02,
               "filing": 0.05, "benefit": 0.01, "referral": 0.002, "service": 0.02, "renew": 0.0}
#: annual events per eligible person where the masters hold no dated record of them (assumptions);
#: an item for parents (``parent``) is claimed at its action's rate among those with a recorded child
EVENT_RATE = {"move": 0.015, "job_loss": 0.02, "property_sale": 0.02, "mortgage": 0.01, "divorce": 0.002}
#: events the masters date by a licence of the type (code) that a department's record shows came from
#: the event (the evidence kind whose source holds the record): a home purchase ends in a title
#: (不动产权证书) issued to a buyer whose sale contract the housing department filed (网签备案).  The
#: title's date stands for the purchase's: the contract's own date is the department's record, not a
#: fact of the masters, and the purchase's items (deed tax, loans, the filing) fall around both.
LICENCE_EVENTS = {"home_purchase": ("035", "purchase_contract")}
#: share of applicants who withdraw at the consent step rather than let the hall share their records
#: and upload everything themselves (a modelling assumption: no hall publishes the figure; consent is
#: one tap in the hall's flow, and a few applicants prefer to hand in their own papers)
DECLINE_RATE = 0.02
#: licence types every registered resident holds although the library may not (yet) hold them: the
#: household register records him (``household_no``), a card from 16, the booklet by the head
UNIVERSAL = {"001": "x.c_age_16 AND x.household_no IS NOT NULL", "002": "x.relation_to_head = '户主'"}
RENEW_WINDOW = 90


@dataclass(frozen=True)
class Drawn:
    """One application of the day."""

    item: str
    person: str
    entity: str | None
    concerning: str | None
    service: str
    #: the applicant consents to the hall sharing his records (else he withdraws and uploads)
    consents: bool = True


def _flag_sql(c: Condition, alias: str, today: str) -> str:
    col = f"{alias}.{c.element}"
    if c.op == "present":
        return f"{col} IS NOT NULL"
    if c.op == "absent":
        return f"{col} IS NULL"
    if c.op in ("in", "not_in"):
        neg = "NOT " if c.op == "not_in" else ""
        return f"coalesce(CAST({col} AS VARCHAR) {neg}IN ({', '.join(lit(v) for v in c.values)}), FALSE)"
    cmp = ">=" if c.op == "age_ge" else "<"
    return f"coalesce(date_sub('year', {col}, DATE {lit(today)}) {cmp} {int(c.values[0])}, FALSE)"


def prepare(con: duckdb.DuckDBPyConnection, cat: Catalogue, today: date) -> None:
    """Temp tables: ``pe`` living persons who can sign in (with a flag per person condition), ``en``
    entities in business with their legal representative (flags of both), ``li`` licences' state."""
    t = today.isoformat()
    pflags = ", ".join(f"{_flag_sql(c, 'p', t)} AS c_{c.code}" for c in cat.conditions.values()
                       if c.master == "person")
    con.execute(f"CREATE OR REPLACE TEMP TABLE pe AS SELECT p.master_id, p.id_number, p.birth_date, "
                f"p.household_area AS area, p.household_no, p.relation_to_head, p.guardian_id_number, "
                f"p.spouse_id_number, {pflags} FROM gold.person_master AS p "
                f"WHERE p.id_number IS NOT NULL AND p.name IS NOT NULL AND p.death_date IS NULL")
    eflags = ", ".join(f"{_flag_sql(c, 'e', t)} AS c_{c.code}" for c in cat.conditions.values()
                       if c.master == "entity")
    pcols = ", ".join(f"p.c_{c.code}" for c in cat.conditions.values() if c.master == "person")
    con.execute(f"CREATE OR REPLACE TEMP TABLE en AS SELECT e.master_id, e.registered_area AS area, "
                f"e.registering_authority AS authority, p.master_id AS rep, {eflags}, {pcols} "
                f"FROM gold.entity_master AS e JOIN pe AS p ON p.id_number = e.legal_rep_id_number "
                f"WHERE coalesce(e.status, '1') = '1' AND e.uscc IS NOT NULL")
    con.execute(f"CREATE OR REPLACE TEMP TABLE li AS SELECT holder_master_id AS holder, type_code, issue_date, "
                f"valid_to, number, CASE WHEN status = '3' THEN 'revoked' WHEN status = '2' THEN 'cancelled' "
                f"WHEN status = '4' OR valid_to < DATE {lit(t)} THEN 'expired' WHEN valid_from > DATE {lit(t)} "
                f"THEN 'not_yet_valid' ELSE 'valid' END AS state FROM gold.licence_master "
                f"WHERE holder_master_id IS NOT NULL")


def _base(item: ServiceItem, cat: Catalogue) -> tuple[str, str]:
    """(SELECT of the eligible applicants, the alias whose master holds the item's licence)."""
    conds = " AND ".join(f"x.c_{c}" for c in item.applies_if) or "TRUE"
    if item.target == "entity":
        return (f"SELECT x.rep AS person, x.master_id AS entity, CAST(NULL AS VARCHAR) AS concerning, x.area, "
                f"x.authority FROM en AS x WHERE {conds}", "x.master_id")
    universal = UNIVERSAL.get(item.licence_type or "")
    if universal:
        conds += f" AND {universal}"
    return (f"SELECT x.master_id AS person, CAST(NULL AS VARCHAR) AS entity, CAST(NULL AS VARCHAR) AS concerning, "
            f"x.area, CAST(NULL AS VARCHAR) AS authority FROM pe AS x WHERE {conds}", "x.master_id")


def _holds(holder: str, lt: str, extra: str = "li.state = 'valid'") -> str:
    return f"EXISTS (SELECT 1 FROM li WHERE li.holder = {holder} AND li.type_code = {lit(lt)} AND {extra})"


def _licence_event(cat: Catalogue, event: str) -> str:
    """The licences that date a :data:`LICENCE_EVENTS` event, as a condition on ``li``: of the type,
    to a holder with a record in a source of the evidence kind."""
    lt, kind = LICENCE_EVENTS[event]
    src = " OR ".join(f"(x.source = {lit(s)} AND x.table_name = {lit(t)})" for s, t in cat.evidence_kinds[kind].sources)
    return (f"li.type_code = {lit(lt)} AND li.holder IN (SELECT x.master_id FROM gold.person_xref AS x "
            f"WHERE {src})")


def _event_pool(event: str, item: ServiceItem, today: str, cat: Catalogue) -> str | None:
    """Applicants brought by a dated event in the masters (with whom the application is about)."""
    conds = " AND ".join(f"g.c_{c}" for c in item.applies_if)
    where = f" AND {conds}" if conds else ""
    year_ago = f"DATE {lit(today)} - INTERVAL 365 DAY"
    cols = "g.master_id AS person, CAST(NULL AS VARCHAR) AS entity, {c} AS concerning, g.area, " \
           "CAST(NULL AS VARCHAR) AS authority"
    if event in LICENCE_EVENTS:
        return (f"SELECT DISTINCT {cols.format(c='CAST(NULL AS VARCHAR)')} FROM pe AS g JOIN li ON li.holder = "
                f"g.master_id WHERE {_licence_event(cat, event)} AND li.issue_date > {year_ago} AND "
                f"li.issue_date <= DATE {lit(today)}{where}")
    if event in ("birth", "school_entry", "parent"):
        kid = {"birth": f"c.birth_date > {year_ago}", "parent": "TRUE",
               "school_entry": f"date_sub('year', c.birth_date, DATE {lit(today)}) = 6"}[event]
        return (f"SELECT DISTINCT {cols.format(c='c.master_id')} FROM gold.person_master AS c JOIN pe AS g ON "
                f"(g.id_number = c.guardian_id_number OR (g.household_no = c.household_no AND g.relation_to_head "
                f"IN ('户主', '配偶') AND c.relation_to_head IN ('子', '女'))) WHERE {kid} AND c.death_date IS NULL"
                f"{where}")
    if event == "death":
        return (f"SELECT DISTINCT {cols.format(c='d.master_id')} FROM gold.person_master AS d JOIN pe AS g ON "
                f"(g.id_number = d.spouse_id_number OR g.spouse_id_number = d.id_number OR "
                f"g.household_no = d.household_no OR g.guardian_id_number = d.id_number) "
                f"WHERE d.death_date > {year_ago} AND d.death_date <= DATE {lit(today)}{where}")
    if event == "retirement":
        return (f"SELECT {cols.format(c='CAST(NULL AS VARCHAR)')} FROM pe AS g WHERE "
                f"date_sub('year', g.birth_date, DATE {lit(today)}) = 60{where}")
    return None


def per_day(con: duckdb.DuckDBPyConnection, source: str, column: str, today: str, count: str = "count(*)",
            where: str = "TRUE") -> float:
    """Dated records a day: the median over the past five years' counts (one odd year - a backlog
    loaded at once, a source's first year - does not set the day's pace)."""
    years = ", ".join(
        f"(SELECT {count} FROM {source} WHERE {where} AND {column} > DATE {lit(today)} - INTERVAL {365 * (k + 1)} DAY "
        f"AND {column} <= DATE {lit(today)} - INTERVAL {365 * k} DAY)" for k in range(5))
    got = con.execute(f"SELECT median(n) FROM (SELECT unnest([{years}]) AS n)").fetchall()[0][0]
    return float(got or 0) / 365.0


def _event_volume(con: duckdb.DuckDBPyConnection, item: ServiceItem, pool_size: int, today: str,
                  cat: Catalogue) -> float:
    """Applications a day an event brings (dated records in the masters, else :data:`EVENT_RATE`)."""
    pm, em = "gold.person_master", "gold.entity_master"
    social = "entity_type IN ('social_organisation', 'private_non_enterprise', 'foundation')"
    dated = {
        "birth": (pm, "birth_date", "count(*)", "TRUE"),
        "death": (pm, "death_date", "count(*)", "TRUE"),
        "marriage": ("li", "issue_date", "count(DISTINCT number)", "type_code = '009'"),
        "business_start": (em, "established_date", "count(*)", "TRUE"),
        "organisation_start": (em, "established_date", "count(*)", social),
        # those who turn 6 (60) this year: the births of 6 (60) years before
        "school_entry": (pm, "birth_date + INTERVAL 6 YEAR", "count(*)", "TRUE"),
        "retirement": (pm, "birth_date + INTERVAL 60 YEAR", "count(*)", "death_date IS NULL"),
        **{e: ("li", "issue_date", "count(DISTINCT number)", _licence_event(cat, e)) for e in LICENCE_EVENTS},
    }
    event = item.event or ""
    if event in dated:
        return per_day(con, *dated[event][:2], today, *dated[event][2:])
    if event in EVENT_RATE:
        return pool_size * EVENT_RATE[event] / 365.0
    return pool_size * _rate(con, item, pool_size) / 365.0  # a pool (parents ...), not a dated event


def pool(con: duckdb.DuckDBPyConnection, item: ServiceItem, cat: Catalogue, today: date,
         in_library: set[str]) -> tuple[str, float] | None:
    """(SELECT of the service's applicants, expected applications a day), or None if nobody can be
    shown to apply (a licence type the library does not hold)."""
    t = today.isoformat()
    sql, holder = _base(item, cat)
    lt = item.licence_type or ""
    universal = lt in UNIVERSAL
    own = bool(lt) and cat.licence_types[lt]["holder_kind"] == ("entity" if item.target == "entity" else "person")
    if lt and lt not in in_library and not universal and item.action != "issue":
        return None
    if item.event:
        ev = _event_pool(item.event, item, t, cat)
        if ev is not None:  # about a relative (the newborn, the deceased): he holds the item's licence
            sql = ev if not (own and lt in in_library and item.action != "issue") else \
                f"SELECT * FROM ({ev}) AS r WHERE " + _holds("r.concerning", lt)
        elif own and lt in in_library:
            sql += " AND " + _holds(holder, lt)
        size = _count(con, sql)
        return (sql, _event_volume(con, item, size, t, cat)) if size else None
    if own and not universal and item.action == "renew":
        sql += " AND " + _holds(holder, lt, f"li.state IN ('valid', 'expired') AND li.valid_to BETWEEN DATE {lit(t)} "
                                            f"- INTERVAL {RENEW_WINDOW} DAY AND DATE {lit(t)} + INTERVAL {RENEW_WINDOW} DAY")
        size = _count(con, sql)
        return (sql, size / (2.0 * RENEW_WINDOW)) if size else None
    if lt in in_library and item.action == "issue":
        issued = per_day(con, "li", "issue_date", t, "count(DISTINCT number)", f"type_code = {lit(lt)}")
        if own:
            sql += " AND NOT " + _holds(holder, lt)
        size = _count(con, sql)
        return (sql, issued) if size and issued else None
    if own and not universal and item.action != "issue":
        sql += " AND " + _holds(holder, lt)
    size = _count(con, sql)
    if universal and item.action == "renew" and cat.licence_types[lt].get("validity_years"):
        return (sql, size / float(cat.licence_types[lt]["validity_years"] or 1) / 365.0) if size else None
    return (sql, size * _rate(con, item, size) / 365.0) if size else None


def _count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return int(con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0])


def _rate(con: duckdb.DuckDBPyConnection, item: ServiceItem, size: int) -> float:
    """Annual applications per eligible applicant of a service without dated events."""
    if item.target == "entity":
        return ENTITY_RATE[item.action]
    if item.action == "renew":  # a universal document without a validity period: renewed when worn out
        return PERSON_RATE["replace"]
    everyone = con.execute("SELECT count(*) FROM pe").fetchall()[0][0]
    if size < TARGETED_SHARE * everyone and item.action in TARGETED_RATE:
        return TARGETED_RATE[item.action]
    return PERSON_RATE[item.action]


@dataclass(frozen=True)
class Routes:
    """Where an applicant goes: the county hall of an area, and the halls that serve the entities a
    department registers in their area (``halls.csv``: ``entities_of``)."""

    county: dict[str, str]  # area -> hall
    entities: dict[tuple[str, str], str]  # (area, registering authority's name) -> hall

    @classmethod
    def of(cls, cat: Catalogue) -> Routes:
        halls = cat.vocabulary.halls
        county = {str(h["area"]): k for k, h in halls.items() if h["level"] == "county" and not h["entities_of"]}
        entities = {(str(h["area"]), str(cat.departments[str(h["entities_of"])]["name"])): k
                    for k, h in halls.items() if h["entities_of"]}
        return cls(county, entities)

    def hall(self, items: list[ServiceItem], area: str | None, authority: str | None, entity: bool
             ) -> ServiceItem:
        """The item of a service at the hall the applicant goes to."""
        by_hall = {i.hall: i for i in items}
        declared = self.entities.get((area or "", authority or "")) if entity else None
        if declared in by_hall:
            return by_hall[declared]
        county = self.county.get(area or "")
        if county in by_hall and by_hall[county].level != "city":
            return by_hall[county]
        return by_hall.get("city") or items[0]


def draw(gold: Path, cat: Catalogue, n: int, seed: int, today: date, decline: float = DECLINE_RATE
         ) -> tuple[list[Drawn], dict[str, float]]:
    """The day's ``n`` applications (each withdrawing at the consent step with probability
    ``decline``) and the expected daily count of every service drawn from."""
    from core.db import connect

    services: dict[str, list[ServiceItem]] = defaultdict(list)
    for it in sorted(cat.items.values(), key=lambda i: i.code):
        services[it.service].append(it)
    routes = Routes.of(cat)
    con = connect(standard=False)
    try:
        con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
        prepare(con, cat, today)
        in_library = {r[0] for r in con.execute("SELECT DISTINCT type_code FROM li").fetchall()}
        # the variants of one template entry (dept:x:3.0, dept:x:3.1 ...) are alternatives for the same
        # applicants: an event's applicants divide among them
        group = {k: k.split(".")[0] for k in services}
        size = {g: sum(1 for k in group.values() if k == g) for g in set(group.values())}
        pools: list[tuple[str, str, float]] = []
        for key, items in services.items():
            got = pool(con, items[0], cat, today, in_library)
            if got is not None and got[1] > 0:
                share = 1.0 / size[group[key]] if items[0].event else 1.0
                pools.append((key, got[0], got[1] * share))
        volume = np.array([v for _k, _s, v in pools])
        counts = np.random.default_rng(seed).multinomial(n, volume / volume.sum())
        declines = iter(np.random.default_rng([seed, 1]).random(int(counts.sum())) < decline)
        out: list[Drawn] = []
        for (key, sql, _v), k in zip(pools, counts, strict=True):
            if k == 0:
                continue
            rows = con.execute(f"SELECT person, entity, concerning, area, authority FROM ({sql}) ORDER BY "
                               f"hash(person || coalesce(entity, '') || coalesce(concerning, '') || "
                               f"{lit(f'{seed}:{key}')}) LIMIT {int(k)}").fetchall()
            for j in range(int(k)):
                person, entity, concerning, area, authority = rows[j % len(rows)]
                item = routes.hall(services[key], area, authority, entity is not None)
                out.append(Drawn(item.code, person, entity, concerning, key, not next(declines)))
        return out, {k: v for k, _s, v in pools}
    finally:
        con.close()
