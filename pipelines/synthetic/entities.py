"""Legal entities of the true world: enterprises, individual businesses, cooperatives, social
organisations, private non-enterprise units, foundations, public institutions, law firms, organs of
government and grassroots trade unions (~7 % of persons).

Each gets a USCC whose authority/category match its type (``standards/codes/entity_types.csv``),
whose area is the registering authority's division and whose positions 9-17 are a valid GB 11714
organisation code. Entities founded before the 2015 USCC reform also keep that organisation code
and a 15-digit registration number, because older departmental data holds only those. Names follow
the patterns regulators see (亳州市鑫源药业有限公司, 谯城区张伟百货店, 涡阳县古井镇白芍种植专业合作社)
and are unique, as name registration requires. Law firms (司法行政), organs (机构编制, county level:
the city-level organs are the 32 departments themselves) and trade unions (总工会) carry the USCC
authority of their registrar, so each entity type's licence has holders.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import minting, places, strs
from pipelines.synthetic.names import NameModel
from pipelines.synthetic.population import DAY1, Persons, age_at, years

DATA = Path(__file__).resolve().parent / "data"
#: Our kinds, the entity_types code each maps to, and its share of all entities.
KINDS = (
    "individual", "enterprise", "coop", "social", "private_ne", "foundation", "public", "law_firm", "organ", "union"
)
KIND_TYPE = {
    "individual": "individual_business",
    "enterprise": "enterprise",
    "coop": "farmer_cooperative",
    "social": "social_organisation",
    "private_ne": "private_non_enterprise",
    "foundation": "foundation",
    "public": "public_institution",
    "law_firm": "law_firm",
    "organ": "government_organ",
    "union": "grassroots_trade_union",
}
KIND_SHARE = np.array([0.655, 0.265, 0.045, 0.008, 0.012, 0.001, 0.014, 0.0003, 0.0005, 0.01])
LAW_FIRM, ORGAN, UNION = 7, 8, 9
MARKET_KINDS = (0, 1, 2)  # registered by market regulation
CIVIL_KINDS = (3, 4, 5)  # registered by civil affairs
#: the registrar each kind's registering authority is named after (level name + this)
REGISTRAR = ("市场监督管理局",) * 3 + ("民政局",) * 3 + ("机构编制委员会办公室", "司法局", "机构编制委员会办公室", "总工会")
STATUS = ("1", "2", "3")  # entity_status: 存续, 吊销, 注销
USCC_REFORM = np.datetime64("2015-10-01")
LEVEL_NAMES = ("亳州市",) + places.COUNTY_NAMES
FLAGS = ("food", "tobacco", "construction", "trade", "pollutant", "safety", "water", "ads")


@dataclass
class Industries:
    kind: np.ndarray
    tail: list[str]
    weight: np.ndarray
    flags: np.ndarray  # (K, len(FLAGS)) bool
    scope: list[str]


def load_industries() -> Industries:
    with open(DATA / "industries.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    flags = np.array([[f in r["flags"].split("|") for f in FLAGS] for r in rows], dtype=bool)
    return Industries(
        kind=np.array([KINDS.index(r["kind"]) for r in rows]),
        tail=[r["tail"] for r in rows],
        weight=np.array([float(r["weight"]) for r in rows]),
        flags=flags,
        scope=[r["scope"] for r in rows],
    )


@dataclass
class Entities:
    n: int
    kind: np.ndarray
    type_code: np.ndarray  # entity_types code (str)
    type_name: np.ndarray  # entity_types name (企业, 个体工商户, ...)
    industry: np.ndarray
    industry_name: pa.Array
    flags: np.ndarray  # (n, len(FLAGS))
    name: pa.Array
    uscc: np.ndarray  # <U18
    org_code: np.ndarray  # printed XXXXXXXX-X ('' when founded after the reform)
    reg_no: np.ndarray  # 15 digits ('' when none)
    legal_rep: np.ndarray  # person id
    level: np.ndarray  # 0 = city, 1..4 = county
    area: np.ndarray  # int 6-digit registering area
    county: np.ndarray  # 0..3 where located
    address: pa.Array
    capital: np.ndarray  # 万元
    established: np.ndarray
    status: np.ndarray  # index into STATUS
    status_date: np.ndarray
    scope: pa.Array
    phone: pa.Array
    employees: np.ndarray
    revenue: np.ndarray
    tax_grade: np.ndarray
    authority: pa.Array

    def has(self, flag: str) -> np.ndarray:
        return self.flags[:, FLAGS.index(flag)]

    def of_trade(self, trades: tuple[str, ...]) -> np.ndarray:
        """Whether each entity's industry is one of ``trades`` (``industries.csv`` tails)."""
        return np.asarray(pc.is_in(self.industry_name, value_set=pa.array(list(trades))))


def _entity_type_table() -> dict[str, tuple[str, str, str]]:
    from standards.codetables import load_code_table

    t = load_code_table("entity_types").to_pylist()
    return {r["code"]: (r["name"], r["uscc_authority"], r["uscc_category"]) for r in t}


def _trade_names(rng: np.random.Generator, n: int, width: int = 2) -> pa.Array:
    chars = list((DATA / "trade_chars.txt").read_text(encoding="utf-8").strip())
    parts = [strs.take(chars, rng.integers(0, len(chars), n)) for _ in range(width)]
    return strs.cat(*parts)


def build_entities(
    rng: np.random.Generator,
    n_persons: int,
    persons: Persons,
    names: NameModel,
    gaz: places.Gazetteer,
    person_names: pa.Array,
    n: int | None = None,
    established_on: np.datetime64 | None = None,
    taken_names: pa.Array | None = None,
) -> Entities:
    """About 7 % of the population in entities; representatives are living adults of the city.

    ``n``, ``established_on`` and ``taken_names`` serve the day-2 delta: a few entities registered on
    one day, with names unique against the existing register.
    """
    n = max(20, int(round(0.07 * n_persons))) if n is None else n
    ind = load_industries()
    kind, industry = _kinds(rng, n, ind, day_of_registrations=established_on is not None)
    rep, county, level, area = _placement(rng, persons, kind)
    established, status, status_date = _lifetimes(rng, kind, persons.birth[rep], established_on)
    uscc, org_code, reg_no, tcode, tname = _identifiers(rng, kind, area, established)
    name = _names(rng, kind, industry, ind, level, county, rep, person_names, persons, names, gaz)
    if taken_names is not None and n:
        clash = np.asarray(pc.is_in(name, value_set=taken_names))
        if clash.any():  # a branch ordinal keeps a new registration distinct from the register
            name = pc.if_else(pa.array(clash), strs.cat(name, "（", strs.num(np.arange(n) + 2), "）"), name)
    on_road = ~np.isin(kind, (2,)) & (rng.random(n) < np.where(kind == 0, 0.6, 0.9))
    address = places.business_addresses(rng, gaz, county, on_road)
    capital, employees, revenue, tax_grade = _business_figures(rng, kind)
    rep_phone = persons.phone[rep]
    landline = 5_000_000 + rng.integers(0, 5_000_000, n)
    use_mobile = (rep_phone > 0) & (rng.random(n) < 0.6)
    phone = pc.if_else(pa.array(use_mobile), strs.num(rep_phone), strs.cat("0558-", strs.num(landline)))
    authority = strs.cat(strs.take(LEVEL_NAMES, level), strs.take(list(REGISTRAR), kind))
    return Entities(
        n=n,
        kind=kind.astype(np.int8),
        type_code=tcode,
        type_name=tname,
        industry=industry,
        industry_name=strs.take(ind.tail, industry),
        flags=ind.flags[industry],
        name=name,
        uscc=uscc,
        org_code=org_code,
        reg_no=reg_no,
        legal_rep=rep.astype(np.int64),
        level=level.astype(np.int8),
        area=area.astype(np.int64),
        county=county.astype(np.int8),
        address=address,
        capital=capital,
        established=established,
        status=status,
        status_date=status_date,
        scope=strs.take(ind.scope, industry),
        phone=phone,
        employees=employees,
        revenue=revenue,
        tax_grade=tax_grade,
        authority=authority,
    )


def _kinds(
    rng: np.random.Generator, n: int, ind: Industries, day_of_registrations: bool
) -> tuple[np.ndarray, np.ndarray]:
    """Kind and industry of each entity: at least three of every kind even in a tiny city (every
    source table then has rows); a day's registrations are market entities."""
    kind = rng.choice(len(KINDS), size=n, p=KIND_SHARE / KIND_SHARE.sum())
    if not day_of_registrations:
        kind[: 3 * len(KINDS)] = np.tile(np.arange(len(KINDS)), 3)[:n]
    else:
        kind = rng.choice(3, size=n, p=[0.7, 0.26, 0.04])
    industry = np.zeros(n, dtype=np.int64)
    for k in range(len(KINDS)):
        sel = np.flatnonzero(kind == k)
        opts = np.flatnonzero(ind.kind == k)
        w = ind.weight[opts]
        industry[sel] = opts[rng.choice(opts.size, size=sel.size, p=w / w.sum())]
    return kind, industry


def _placement(
    rng: np.random.Generator, persons: Persons, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Legal representative (a living adult), county (mostly the representative's), registering
    level (city or county) and the registering area code."""
    n = kind.shape[0]
    age = age_at(persons.birth)
    adults = np.flatnonzero(persons.alive & (age >= 22) & (age <= 75))
    rep = adults[rng.integers(0, adults.size, n)]
    county = persons.county[rep].astype(np.int64)
    moved = rng.random(n) < 0.15
    county = np.where(moved, rng.integers(0, 4, n), county)
    city_level = np.isin(kind, (1, 3, 5)) & (rng.random(n) < np.where(kind == 1, 0.4, 0.6))
    city_level |= np.isin(kind, (6, LAW_FIRM)) & (rng.random(n) < 0.35)
    city_level &= kind != ORGAN  # the city's own organs are the 32 departments
    level = np.where(city_level, 0, county + 1)
    area = np.where(level == 0, 341600, np.array([int(c) for c in places.COUNTIES])[county])
    return rep, county, level, area


def _lifetimes(
    rng: np.random.Generator, kind: np.ndarray, rep_birth: np.ndarray, established_on: np.datetime64 | None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Establishment (registrations growing exponentially since the kind's first year, after the
    representative turned 20) and status: some deregistered or, before the reform, revoked."""
    n = kind.shape[0]
    standing = np.isin(kind, (6, ORGAN))  # public institutions and organs: founded evenly since 1950
    y0 = np.where(standing, 1950, np.where(np.isin(kind, CIVIL_KINDS + (LAW_FIRM,)), 1995, 1990))
    span = 2026 - y0
    growth = np.where(standing, 0.0, 0.11)
    # inverse-CDF of an exponential growth of registrations between y0 and DAY1
    u = rng.random(n)
    t = np.where(
        growth > 0, np.log1p(u * np.expm1(growth * span)) / np.where(growth > 0, growth, 1), u * span
    )
    established = (np.datetime64("1950-01-01") + years(y0 - 1950 + t)).astype("datetime64[D]")
    established = np.maximum(established, rep_birth + years(20))
    established = np.minimum(established, DAY1 - np.timedelta64(1, "D"))
    if established_on is not None:
        established = np.full(n, established_on, dtype="datetime64[D]")
    ent_age = (DAY1 - established).astype(np.int64) / 365.25
    p_cancel = np.where(standing, 0.0, np.where(kind == 0, 0.30, 0.18)) * (1 - np.exp(-ent_age / 8))
    p_revoke = np.where(np.isin(kind, MARKET_KINDS) & (established < USCC_REFORM), 0.06, 0.0)
    u = rng.random(n)
    status = np.where(u < p_cancel, 2, np.where(u < p_cancel + p_revoke, 1, 0)).astype(np.int8)
    if established_on is not None:
        status[:] = 0
    lived = np.multiply(DAY1 - established, rng.uniform(0.3, 0.98, n))
    status_date = np.where(status > 0, established + lived, np.datetime64("NaT")).astype("datetime64[D]")
    return established, status, status_date


def _identifiers(
    rng: np.random.Generator, kind: np.ndarray, area: np.ndarray, established: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """USCC (authority and category of the entity type), the organisation code and 15-digit
    registration number of entities founded before the reform, and the type's code and name."""
    types = _entity_type_table()
    n = kind.shape[0]
    old = established < USCC_REFORM
    org9 = minting.mint_org_codes(rng, n, modern=~old)
    tcode = np.array([KIND_TYPE[KINDS[k]] for k in range(len(KINDS))])[kind]
    auth = np.array([types[KIND_TYPE[k]][1] for k in KINDS])[kind]
    cat = np.array([types[KIND_TYPE[k]][2] for k in KINDS])[kind]
    tname = np.array([types[KIND_TYPE[k]][0] for k in KINDS])[kind]
    uscc = minting.mint_usccs(auth, cat, area, org9)
    org_code = np.where(old, minting.org_code_strings(org9), "")
    reg_no = np.where(old & np.isin(kind, MARKET_KINDS), minting.mint_reg_nos(rng, area), "")
    return uscc, org_code, reg_no, tcode, tname


def _business_figures(
    rng: np.random.Generator, kind: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Registered capital (万元), employees, annual revenue and tax credit grade, log-normal by kind."""
    n = kind.shape[0]
    cap_mu = np.array([1.5, 5.0, 4.0, 2.0, 3.0, 6.0, 5.5, 3.0, 5.5, 1.0])[kind]
    capital = np.round(np.exp(rng.normal(cap_mu, 1.0)), 2)
    capital = np.where(kind == 5, np.maximum(capital, 200.0), capital)
    emp_mu = np.array([0.7, 2.3, 2.0, 1.0, 2.3, 1.0, 3.5, 1.6, 3.2, 0.5])[kind]
    employees = np.maximum(1, np.exp(rng.normal(emp_mu, 0.9))).astype(np.int64)
    revenue = np.round(np.exp(rng.normal(np.array([2.5, 5.5, 4.0, 1.5, 3.5, 3.0, 5.0, 4.0, 5.0, 1.0])[kind], 1.2)), 2)
    tax_grade = np.array(list("ABMCD"))[rng.choice(5, size=n, p=[0.15, 0.45, 0.25, 0.10, 0.05])]
    return capital, employees, revenue, tax_grade


def _names(
    rng: np.random.Generator,
    kind: np.ndarray,
    industry: np.ndarray,
    ind: Industries,
    level: np.ndarray,
    county: np.ndarray,
    rep: np.ndarray,
    person_names: pa.Array,
    persons: Persons,
    names: NameModel,
    gaz: places.Gazetteer,
) -> pa.Array:
    """Entity names by kind; duplicates get a town or an ordinal inserted until all are unique."""
    n = kind.shape[0]
    level_name = strs.take(LEVEL_NAMES, level)
    county_name = strs.take(places.COUNTY_NAMES, county)
    tail = strs.take(ind.tail, industry)
    trade = _trade_names(rng, n)
    form = strs.take(["有限公司", "有限责任公司", "股份有限公司"], rng.choice(3, size=n, p=[0.8, 0.16, 0.04]))
    prefix_e = strs.take(
        ["亳州", "亳州市", "安徽", "安徽省"], rng.choice(4, size=n, p=[0.35, 0.25, 0.3, 0.1])
    )
    prefix_e = pc.if_else(pa.array(level > 0), county_name, prefix_e)
    enterprise = strs.cat(prefix_e, trade, tail, form)
    rep_name = strs.take(person_names, rep)
    old_young = strs.cat(
        strs.take(["老", "小"], rng.integers(0, 2, n)), strs.take(names.vocab, persons.sur[rep])
    )
    u = rng.random(n)
    shop_key = pc.if_else(pa.array(u < 0.45), rep_name, pc.if_else(pa.array(u < 0.75), trade, old_young))
    individual = strs.cat(county_name, shop_key, tail)
    town = strs.take(gaz.town_name, _county_towns(rng, gaz, county))
    coop_key = pc.if_else(pa.array(rng.random(n) < 0.5), town, trade)
    coop = strs.cat(county_name, coop_key, tail)
    social = strs.cat(level_name, pc.if_else(pa.array(rng.random(n) < 0.3), trade, ""), tail)
    private = strs.cat(level_name, trade, tail)
    foundation = strs.cat(strs.take(["亳州市", "安徽"], rng.integers(0, 2, n)), trade, tail)
    public = strs.cat(level_name, pc.if_else(pa.array(level > 0), town, trade), tail)
    law_firm = strs.cat(strs.take(["安徽", "安徽亳州", "亳州"], rng.integers(0, 3, n)), trade, tail)
    # organs: a town's government (county + town + 人民政府) or a county bureau (county + tail)
    organ = strs.cat(county_name, pc.if_else(pc.equal(tail, "人民政府"), town, ""), tail)
    trades = [ind.tail[i] for i in np.flatnonzero(ind.kind == 1)]
    firm = strs.cat(prefix_e, trade, strs.take(trades, rng.integers(0, len(trades), n)), form)
    union = pc.if_else(  # a company's union or a town's joint union
        pc.equal(tail, "联合工会"), strs.cat(county_name, town, tail), strs.cat(firm, tail)
    )
    by_kind = [individual, enterprise, coop, social, private, foundation, public, law_firm, organ, union]
    out = by_kind[0]
    for k in range(1, len(KINDS)):
        out = pc.if_else(pa.array(kind == k), by_kind[k], out)
    # uniqueness: insert a town after the county/level prefix, then an ordinal shop number
    for attempt in range(4):
        dup = pd.Series(out.to_numpy(zero_copy_only=False)).duplicated().to_numpy()
        if not dup.any():
            break
        fresh_trade = _trade_names(rng, n, width=2 + attempt // 2)
        town2 = strs.take(gaz.town_name, _county_towns(rng, gaz, county))
        variants = [
            strs.cat(county_name, town2, shop_key, tail),
            strs.cat(prefix_e, fresh_trade, tail, form),
            strs.cat(county_name, town2, fresh_trade, tail),
            strs.cat(level_name, town2, fresh_trade, tail),
            strs.cat(level_name, fresh_trade, tail),
            strs.cat(level_name, fresh_trade, fresh_trade, tail),
            strs.cat(level_name, town2, fresh_trade, tail),
            strs.cat(level_name, fresh_trade, tail),
            strs.cat(county_name, town2, tail),
            strs.cat(prefix_e, fresh_trade, tail),
        ]
        alt = variants[0]
        for k in range(1, len(KINDS)):
            alt = pc.if_else(pa.array(kind == k), variants[k], alt)
        out = pc.if_else(pa.array(dup), alt, out)
    dup = pd.Series(out.to_numpy(zero_copy_only=False)).duplicated().to_numpy()
    if dup.any():  # last resort: an ordinal branch number, unique by construction
        ordinal = strs.cat("（", strs.num(np.arange(n)), "）")
        out = pc.if_else(pa.array(dup), strs.cat(out, ordinal), out)
    return out


def _county_towns(rng: np.random.Generator, gaz: places.Gazetteer, county: np.ndarray) -> np.ndarray:
    out = np.zeros(county.shape[0], dtype=np.int64)
    for c in range(4):
        sel = np.flatnonzero(county == c)
        pool = gaz.towns_of(c)
        out[sel] = pool[rng.integers(0, pool.size, sel.size)]
    return out


def assign_employers(rng: np.random.Generator, persons: Persons, ent: Entities) -> np.ndarray:
    """Employer entity per person (-1 if none): about half of living 18-60 year-olds work for one."""
    age = age_at(persons.birth)
    worker = persons.alive & (age >= 18) & (age <= 60) & (rng.random(persons.n) < 0.5)
    employer = np.full(persons.n, -1, dtype=np.int64)
    hiring = np.flatnonzero((ent.status == 0) & (ent.kind != 0))
    if hiring.size:
        w = ent.employees[hiring].astype(float)
        idx = np.flatnonzero(worker)
        employer[idx] = hiring[rng.choice(hiring.size, size=idx.size, p=w / w.sum())]
    return employer
