"""The columns a table takes from the person, entity or licence each of its rows is about.

Which facts of its subject a department's table holds is what its spec maps; these helpers give the
true value of each mapped element of a person, an entity or a licence, so a builder only states what
is particular to its department. :func:`licence_register` builds a whole table that is simply a
department's register of one or more licence types (a row per paper): its columns follow the spec.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import places, strs
from pipelines.synthetic.entities import STATUS
from pipelines.synthetic.extracts.columns import C, Col, D, Extract, K, N, P, S, T, V, extract
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.licences import ENTITY, PERSON, TYPES, licence_types, type_names
from pipelines.synthetic.population import EDUCATION
from standards.codetables import load_code_table

Makers = dict[str, Callable[[], Col]]
#: 签发机关 of the papers a county's public security signs (谯城区 is a district: a branch of the city's).
COUNTY_POLICE = ("亳州市公安局谯城分局", "涡阳县公安局", "蒙城县公安局", "利辛县公安局")


def _wanted(makers: Makers, wanted: set[str]) -> dict[str, Col]:
    """The columns of ``makers`` the table maps, made in the makers' order (so random draws are too)."""
    return {key: make() for key, make in makers.items() if key in wanted}


def person_columns(ctx: Ctx, who: np.ndarray, wanted: set[str]) -> dict[str, Col]:
    """A person's own facts (no random draws): id, name, sex, ethnicity, birth, phone, addresses."""
    w, p = ctx.world, ctx.world.persons

    def phone() -> Col:
        ph, old = ctx.phone(who)
        return T(ph, "phone", old)

    def residence() -> Col:
        addr, old = ctx.res_address(who)
        return T(addr, "address", old)

    makers: Makers = {
        "person.id_number": lambda: P(who),
        "person.name": lambda: N(who),
        "person.sex": lambda: C(ctx.sex(who), "sex"),
        "person.ethnicity": lambda: C(w.ethnic_code(who), "ethnicity"),
        "person.birth_date": lambda: D(p.birth[who], "birth"),
        "person.phone": phone,
        "person.residential_address": residence,
        "person.household_address": lambda: T(ctx.hh_address(who), "address"),
        "person.education": lambda: T(strs.take(EDUCATION, p.education[who])),
    }
    return _wanted(makers, wanted)


def uscc_legacy(ctx: Ctx, ents: np.ndarray) -> pa.Array:
    """What an old record holds instead of the USCC: the printed org code or the registration number."""
    e = ctx.world.entities
    org = e.org_code[ents]
    reg = e.reg_no[ents]
    use_reg = (reg != "") & (ctx.rng.random(ents.size) < 0.5)
    val = np.where(use_reg, reg, org)
    return strs.to_arrow(val, mask=val == "")


def uscc_column(ctx: Ctx, ents: np.ndarray, legacy: pa.Array | None = None) -> Col:
    """The USCC, or (a defect) what the record held before the reform: ``legacy`` if given, else a
    drawn mix of organisation code and registration number."""
    alt = uscc_legacy(ctx, ents) if legacy is None else legacy
    return T(strs.to_arrow(ctx.world.entities.uscc[ents]), role="uscc", alt=alt)


def org_code_of(uscc: np.ndarray) -> np.ndarray:
    """The printed organisation code (positions 9-17, ``XXXXXXXX-X``) embedded in USCCs."""
    cps = np.ascontiguousarray(uscc.astype("<U18")).view(np.uint32).reshape(-1, 18)
    dash = np.full((cps.shape[0], 1), ord("-"), np.uint32)
    return strs.cps_to_str(np.concatenate([cps[:, 8:16], dash, cps[:, 16:17]], axis=1))


def entity_columns(
    ctx: Ctx, ents: np.ndarray, wanted: set[str], uscc_alt: pa.Array | None = None
) -> dict[str, Col]:
    """An entity's own facts; only the USCC draws (which legacy code an old record holds)."""
    e = ctx.world.entities

    def take(values: pa.Array) -> pa.Array:
        return values.take(pa.array(ents))

    def org_code() -> Col:
        org = e.org_code[ents]
        return T(strs.to_arrow(org, mask=org == ""))

    def reg_no() -> Col:
        reg = e.reg_no[ents]
        return T(strs.to_arrow(reg, mask=reg == ""))

    makers: Makers = {
        "entity.uscc": lambda: uscc_column(ctx, ents, uscc_alt),
        "entity.reg_no": reg_no,
        "entity.org_code": org_code,
        "entity.name": lambda: T(take(e.name), "entity_name"),
        "entity.entity_type": lambda: T(strs.to_arrow(e.type_name[ents])),
        "entity.legal_rep_name": lambda: N(e.legal_rep[ents]),
        "entity.legal_rep_id_number": lambda: P(e.legal_rep[ents]),
        "entity.registered_address": lambda: T(take(e.address), "address"),
        "entity.registered_area": lambda: C(np.array(places.COUNTIES)[e.county[ents]]),
        "entity.registered_capital": lambda: V(e.capital[ents]),
        "entity.established_date": lambda: D(e.established[ents]),
        "entity.registering_authority": lambda: T(take(e.authority)),
        "entity.business_scope": lambda: T(take(e.scope)),
        "entity.phone": lambda: T(take(e.phone), "phone"),
        "entity.employee_count": lambda: V(e.employees[ents]),
        "entity.annual_revenue": lambda: V(e.revenue[ents]),
        "entity.tax_credit_grade": lambda: T(strs.to_arrow(e.tax_grade[ents])),
        "entity.status": lambda: C(np.array(STATUS)[e.status[ents]]),
    }
    return _wanted(makers, wanted)


def licence_columns(ctx: Ctx, idx: np.ndarray, wanted: set[str]) -> dict[str, Col]:
    """A licence's facts (no random draws); ``idx`` -1 (no licence) gives empty values."""
    lic = ctx.world.licences
    has = idx >= 0
    safe = np.maximum(idx, 0)

    def text(values: pa.Array) -> Col:
        v = values.take(pa.array(safe))
        return T(v if has.all() else pc.if_else(pa.array(has), v, pa.scalar(None, v.type)))

    def date(values: np.ndarray) -> Col:
        return D(np.where(has, values[safe], np.datetime64("NaT")))

    def type_name() -> Col:
        names = type_names(lic.type_code[safe])
        return T(names if has.all() else strs.to_arrow(names, mask=~has))

    makers: Makers = {
        "licence.number": lambda: text(lic.number),
        "licence.type_code": type_name,
        "licence.detail": lambda: text(lic.detail),
        "licence.issue_date": lambda: date(lic.issue),
        "licence.valid_from": lambda: date(lic.valid_from),
        "licence.valid_to": lambda: date(lic.valid_to),
        "licence.status": lambda: C(np.where(has, lic.status[safe], "").astype("<U1")),
        "licence.issuer_name": lambda: T(issuer_names(ctx, idx)),
    }
    return _wanted(makers, wanted)


def issuer_names(ctx: Ctx, idx: np.ndarray) -> pa.Array:
    """Who signed each paper (null for ``idx`` -1): the issuing department's name, or for the types
    a county office issues (:attr:`~pipelines.synthetic.licences.model.LicenceType.issued_by`) the
    public security bureau of the holder's county, or the police station of the household's town."""
    w, lic = ctx.world, ctx.world.licences
    safe = np.maximum(idx, 0)
    codes = lic.type_code[safe]
    departments = {r["key"]: r["name"] for r in load_code_table("departments").to_pylist()}
    types = licence_types()
    uniq = np.unique(codes)
    dept = np.array([departments[types[c]["department"]] for c in uniq])
    out = strs.to_arrow(dept[np.searchsorted(uniq, codes)] if codes.size else np.empty(0, str), mask=idx < 0)
    by = {t.code: t.issued_by for t in TYPES if t.issued_by != "department"}
    for code in set(uniq.tolist()) & set(by):
        m = (codes == code) & (lic.holder_kind[safe] == PERSON) & (idx >= 0)
        who = lic.holder[safe[m]]
        office = strs.take(list(COUNTY_POLICE), w.persons.county[who])
        if by[code] == "police_station":
            town = strs.take(w.gazetteer.town_name, w.households.town[w.persons.household[who]])
            office = strs.cat(office, pc.replace_substring_regex(town, "(镇|乡|街道)$", ""), "派出所")
        out = pc.replace_with_mask(out, pa.array(m), office)
    return out


def licence_holders(ctx: Ctx, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Person and entity holder of each licence (-1 where the holder is of the other kind)."""
    lic = ctx.world.licences
    is_p = lic.holder_kind[idx] == PERSON
    return np.where(is_p, lic.holder[idx], -1), np.where(is_p, -1, lic.holder[idx])


def licence_of_entities(ctx: Ctx, codes: tuple[str, ...], ents: np.ndarray) -> np.ndarray:
    """The licence of one of ``codes`` held by each entity (-1 if none)."""
    lic = ctx.world.licences
    idx = lic.of_type(*codes)
    idx = idx[lic.holder_kind[idx] == ENTITY]
    if idx.size == 0:
        return np.full(ents.size, -1, np.int64)
    order = np.argsort(lic.holder[idx], kind="stable")
    hs = lic.holder[idx][order]
    pos = np.minimum(np.searchsorted(hs, ents), hs.size - 1)
    return np.where(hs[pos] == ents, idx[order][pos], -1)


def licence_register(ctx: Ctx, table: str, codes: tuple[str, ...], stamped_from: str = "issue") -> Extract:
    """A department's register of papers of ``codes`` (one holder kind): a row per paper, with the
    elements its spec maps from the paper and its holder. An id-watermark table numbers its rows in
    issue order; update times start at the paper's ``stamped_from`` date (issue or valid_from)."""
    t = ctx.spec.table(table)
    wanted = ctx.wants(table)
    lic = ctx.world.licences
    idx = ctx.licences(*codes)
    if t.incremental.kind == "id":  # the id watermark grows with the issue date
        idx = idx[np.argsort(lic.issue[idx], kind="stable")]
    holders = lic.holder[idx]
    cols = licence_columns(ctx, idx, wanted)
    by_person = licence_types()[codes[0]]["holder_kind"] == "person"
    if by_person:
        cols |= person_columns(ctx, holders, wanted)
    else:
        cols |= entity_columns(ctx, holders, wanted)
    if t.incremental.kind == "id" and "meta.record_key" in wanted:
        ids, make = ctx.running_ids(idx.size)
        cols["meta.record_key"] = K(ids, make)
    if "meta.updated_at" in wanted:
        since = lic.issue[idx] if stamped_from == "issue" else lic.valid_from[idx]
        cols["meta.updated_at"] = S(ctx.stamps(idx.size, since))
    if by_person:
        return extract(cols, person=holders, licence=idx)
    return extract(cols, entity=holders, licence=idx)
