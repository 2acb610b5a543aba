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
  (parents of six-year-olds), retirement (those who turned 60), buying or selling a home;
* everything else - by the eligible (the item's conditions: entity types, ages, marital status,
  employment), at an annual rate per action declared below.

The expected daily count of each service is computed over the whole masters; the day's N
applications are allocated to services in proportion (multinomial, seeded) and each service's
applicants are drawn by a seeded hash order.  An applicant goes to the hall of his county (household
area; an entity's registered area; an enterprise the city market regulator registered in 谯城 to the
development zone's hall where it lists the item), or to the city hall for city-level items.

Rates that the masters cannot show are modelling assumptions, named here (:data:`ANNUAL_RATE`,
:data:`EVENT_RATE`); everything else is counted in the data.  Licence types the library does not hold
at all produce no applicants (nobody can be shown to hold them), except the resident ID card and the
household register book, which every registered resident holds.
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

#: annual applications per eligible person or entity, by action, where no event or licence date says
#: how many (modelling assumptions)
ANNUAL_RATE = {"issue": 0.002, "change": 0.02, "replace": 0.005, "cancel": 0.01, "confirm": 0.005,
               "filing": 0.02, "benefit": 0.02, "referral": 0.002, "service": 0.01, "renew": 0.0}
#: annual events per eligible person where the masters hold no dated record of them (assumptions)
EVENT_RATE = {"move": 0.015, "parent": 0.02, "job_loss": 0.02, "home_purchase": 0.01, "property_sale": 0.02,
              "mortgage": 0.01, "divorce": 0.002}
#: licence types every registered resident holds although the library may not (yet) hold them
UNIVERSAL = {"001": "c_age_16", "002": "TRUE"}
RENEW_WINDOW = 90
CITY_REGULATOR = "亳州市市场监督管理局"
DEVZONE_AREA = "341602"


@dataclass(frozen=True)
class Drawn:
    """One application of the day."""

    item: str
    person: str
    entity: str | None
    concerning: str | None
    service: str


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
    if universal and universal != "TRUE":
        conds += f" AND x.{universal}"
    return (f"SELECT x.master_id AS person, CAST(NULL AS VARCHAR) AS entity, CAST(NULL AS VARCHAR) AS concerning, "
            f"x.area, CAST(NULL AS VARCHAR) AS authority FROM pe AS x WHERE {conds}", "x.master_id")


def _holds(holder: str, lt: str, extra: str = "li.state = 'valid'") -> str:
    return f"EXISTS (SELECT 1 FROM li WHERE li.holder = {holder} AND li.type_code = {lit(lt)} AND {extra})"


def _event_pool(event: str, item: ServiceItem, today: str) -> str | None:
    """Applicants brought by a dated event in the masters (with whom the application is about)."""
    conds = " AND ".join(f"g.c_{c}" for c in item.applies_if)
    where = f" AND {conds}" if conds else ""
    year_ago = f"DATE {lit(today)} - INTERVAL 365 DAY"
    cols = "g.master_id AS person, CAST(NULL AS VARCHAR) AS entity, {c} AS concerning, g.area, " \
           "CAST(NULL AS VARCHAR) AS authority"
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


def _event_volume(con: duckdb.DuckDBPyConnection, event: str, pool_size: int, today: str) -> float:
    """Applications a day an event brings (dated records in the masters, else :data:`EVENT_RATE`)."""
    year_ago = f"DATE {lit(today)} - INTERVAL 365 DAY"
    dated = {
        "birth": f"SELECT count(*) FROM gold.person_master WHERE birth_date > {year_ago}",
        "death": f"SELECT count(*) FROM gold.person_master WHERE death_date > {year_ago}",
        "marriage": f"SELECT count(DISTINCT number) FROM li WHERE type_code = '009' AND issue_date > {year_ago}",
        "business_start": f"SELECT count(*) FROM gold.entity_master WHERE established_date > {year_ago}",
        "organisation_start": f"SELECT count(*) FROM gold.entity_master WHERE established_date > {year_ago} AND "
                              f"entity_type IN ('social_organisation', 'private_non_enterprise', 'foundation')",
        "school_entry": f"SELECT count(*) FROM pe WHERE date_sub('year', birth_date, DATE {lit(today)}) = 6",
        "retirement": f"SELECT count(*) FROM pe WHERE date_sub('year', birth_date, DATE {lit(today)}) = 60",
    }
    if event in dated:
        n = con.execute(dated[event]).fetchall()[0][0]
        return float(n or 0) / 365.0
    return pool_size * EVENT_RATE.get(event, 0.0) / 365.0


def pool(con: duckdb.DuckDBPyConnection, item: ServiceItem, cat: Catalogue, today: date,
         in_library: set[str]) -> tuple[str, float] | None:
    """(SELECT of the service's applicants, expected applications a day), or None if nobody can be
    shown to apply (a licence type the library does not hold)."""
    t = today.isoformat()
    sql, holder = _base(item, cat)
    lt = item.licence_type
    if item.event:
        ev = _event_pool(item.event, item, t)
        if ev is not None:
            sql = ev
        size = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        return (sql, _event_volume(con, item.event, size, t)) if size else None
    universal = lt in UNIVERSAL
    if lt and lt not in in_library and not universal:
        return None
    rate = ANNUAL_RATE[item.action]
    if lt and not universal and item.action == "renew":
        sql += " AND " + _holds(holder, lt, f"li.state IN ('valid', 'expired') AND li.valid_to BETWEEN DATE {lit(t)} "
                                            f"- INTERVAL {RENEW_WINDOW} DAY AND DATE {lit(t)} + INTERVAL {RENEW_WINDOW} DAY")
        size = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        return (sql, size / (2.0 * RENEW_WINDOW)) if size else None
    if lt and not universal and item.action == "issue":
        issued = con.execute(f"SELECT count(*) FROM li WHERE type_code = {lit(lt)} AND issue_date > DATE {lit(t)} "
                             f"- INTERVAL 365 DAY").fetchall()[0][0]
        if item.target == ("entity" if cat.licence_types[lt]["holder_kind"] == "entity" else "person"):
            sql += " AND NOT " + _holds(holder, lt)
        size = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
        return (sql, issued / 365.0) if size and issued else None
    if lt and not universal and cat.licence_types[lt]["holder_kind"] == ("entity" if item.target == "entity"
                                                                         else "person"):
        sql += " AND " + _holds(holder, lt)
    size = con.execute(f"SELECT count(*) FROM ({sql})").fetchall()[0][0]
    if universal and item.action == "renew":
        years = float(cat.licence_types[lt or ""].get("validity_years") or 10)
        return (sql, size / years / 365.0) if size else None
    return (sql, size * rate / 365.0) if size else None


def _route(items: list[ServiceItem], area: str | None, authority: str | None, halls_by_area: dict[str, str]
           ) -> ServiceItem:
    """The item of a service at the hall the applicant goes to."""
    by_hall = {i.hall: i for i in items}
    county = halls_by_area.get(area or "")
    if authority == CITY_REGULATOR and area == DEVZONE_AREA and "devzone" in by_hall:
        return by_hall["devzone"]
    if county in by_hall and by_hall[county].level != "city":
        return by_hall[county]
    return by_hall.get("city") or items[0]


def draw(gold: Path, cat: Catalogue, n: int, seed: int, today: date) -> tuple[list[Drawn], dict[str, float]]:
    """The day's ``n`` applications and the expected daily count of every service drawn from."""
    from core.db import connect

    services: dict[str, list[ServiceItem]] = defaultdict(list)
    for it in sorted(cat.items.values(), key=lambda i: i.code):
        services[it.service].append(it)
    halls_by_area = {str(h["area"]): k for k, h in cat.vocabulary.halls.items() if h["level"] == "county"
                     and k != "devzone"}
    con = connect(standard=False)
    try:
        con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
        prepare(con, cat, today)
        in_library = {r[0] for r in con.execute("SELECT DISTINCT type_code FROM li").fetchall()}
        pools: list[tuple[str, str, float]] = []
        for key, items in services.items():
            got = pool(con, items[0], cat, today, in_library)
            if got is not None and got[1] > 0:
                pools.append((key, got[0], got[1]))
        volume = np.array([v for _k, _s, v in pools])
        counts = np.random.default_rng(seed).multinomial(n, volume / volume.sum())
        out: list[Drawn] = []
        for (key, sql, _v), k in zip(pools, counts, strict=True):
            if k == 0:
                continue
            rows = con.execute(f"SELECT person, entity, concerning, area, authority FROM ({sql}) ORDER BY "
                               f"hash(person || coalesce(entity, '') || coalesce(concerning, '') || "
                               f"{lit(f'{seed}:{key}')}) LIMIT {int(k)}").fetchall()
            for j in range(int(k)):
                person, entity, concerning, area, authority = rows[j % len(rows)]
                item = _route(services[key], area, authority, halls_by_area)
                out.append(Drawn(item.code, person, entity, concerning, key))
        return out, {k: v for k, _s, v in pools}
    finally:
        con.close()
