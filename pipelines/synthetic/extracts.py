"""What each of the 32 departments holds: one builder per source, selecting its subset of the world.

A builder returns, per table of the source spec, an :class:`Extract`: the rows it holds as TRUE values
in the unified standard (person ids for id and name columns, standard codes, real dates) plus the
true person / entity / licence behind each row. :mod:`pipelines.synthetic.render` then turns an
extract into the department's native form and injects its defects, so the builders stay a readable
statement of coverage ("medical security: 95 % of the living, most infants, some of the recently
dead") and nothing here knows about encodings or typos.

Column constructors: ``P`` resident id of a person, ``N`` name of a person, ``T`` text (``role``
address / phone / uscc / entity_name gets that group's defects), ``D`` date, ``C`` standard code,
``S`` update timestamp, ``V`` number, ``K`` serial record key (duplicates get fresh keys).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import places, strs
from pipelines.synthetic.licences import ENTITY, PERSON
from pipelines.synthetic.population import DAY1, EDUCATION, MARITAL, RELATIONS, age_at, year_of, years
from pipelines.synthetic.profile import SourceProfile


@dataclass
class Col:
    kind: str  # pid | pname | text | date | code | stamp | num | key
    values: Any
    role: str | None = None
    alt: Any = None
    fallback: pa.Array | None = None
    dup_key: Callable[[np.ndarray], Any] | None = None

    def take(self, idx: np.ndarray) -> Col:
        def t(v: Any) -> Any:
            if v is None:
                return None
            if isinstance(v, (pa.Array, pa.ChunkedArray)):
                return v.take(pa.array(idx))
            return v[idx]

        return replace(self, values=t(self.values), alt=t(self.alt), fallback=t(self.fallback))


def P(ids: np.ndarray, fallback: pa.Array | None = None) -> Col:
    return Col("pid", np.asarray(ids, np.int64), fallback=fallback)


def N(ids: np.ndarray, fallback: pa.Array | None = None) -> Col:
    return Col("pname", np.asarray(ids, np.int64), fallback=fallback)


def T(values: pa.Array | np.ndarray, role: str | None = None, alt: pa.Array | None = None) -> Col:
    return Col(
        "text", strs.to_arrow(values) if not isinstance(values, pa.Array) else values, role=role, alt=alt
    )


def D(dates: np.ndarray, role: str | None = None) -> Col:
    return Col("date", np.asarray(dates, "datetime64[D]"), role=role)


def C(codes: np.ndarray, role: str | None = None) -> Col:
    return Col("code", np.asarray(codes).astype(str), role=role)


def S(stamps: np.ndarray) -> Col:
    return Col("stamp", np.asarray(stamps, "datetime64[s]"))


def V(values: np.ndarray) -> Col:
    return Col("num", np.asarray(values))


def K(values: Any, dup_key: Callable[[np.ndarray], Any]) -> Col:
    return Col("key", values, dup_key=dup_key)


@dataclass
class Extract:
    n: int
    cols: dict[str, Col]
    person: np.ndarray
    entity: np.ndarray
    licence: np.ndarray

    def take(self, idx: np.ndarray) -> Extract:
        return Extract(
            idx.size,
            {k: c.take(idx) for k, c in self.cols.items()},
            self.person[idx],
            self.entity[idx],
            self.licence[idx],
        )


def extract(
    cols: dict[str, Col],
    person: np.ndarray | None = None,
    entity: np.ndarray | None = None,
    licence: np.ndarray | None = None,
) -> Extract:
    n = next(len(c.values) for c in cols.values())
    none = np.full(n, -1, np.int64)
    return Extract(
        n,
        cols,
        none if person is None else np.asarray(person, np.int64),
        none if entity is None else np.asarray(entity, np.int64),
        none if licence is None else np.asarray(licence, np.int64),
    )


@dataclass
class Ctx:
    """What a builder may use: the world, its source's profile and its own random stream."""

    world: Any
    prof: SourceProfile
    rng: np.random.Generator
    day: np.datetime64 = DAY1
    # restrict to these persons / entities / licences (day-2 deltas); None = the whole world
    only_persons: np.ndarray | None = None
    only_entities: np.ndarray | None = None
    only_licences: np.ndarray | None = None
    key_offset: int = 0

    # -- selections ----------------------------------------------------------------------------------
    def persons(self, mask: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(mask)
        return sel if self.only_persons is None else np.intersect1d(sel, self.only_persons)

    def entities(self, mask: np.ndarray) -> np.ndarray:
        sel = np.flatnonzero(mask)
        return sel if self.only_entities is None else np.intersect1d(sel, self.only_entities)

    def licences(self, *codes: str) -> np.ndarray:
        sel = self.world.licences.of_type(*codes)
        return sel if self.only_licences is None else np.intersect1d(sel, self.only_licences)

    # -- person attributes ---------------------------------------------------------------------------
    def phone(self, pids: np.ndarray) -> tuple[pa.Array, pa.Array]:
        p = self.world.persons
        safe = np.maximum(pids, 0)
        cur, old = p.phone[safe], p.old_phone[safe]
        return (
            strs.to_arrow(cur.astype(str), mask=(cur == 0) | (pids < 0)),
            strs.to_arrow(old.astype(str), mask=(old == 0) | (pids < 0)),
        )

    def res_address(self, pids: np.ndarray) -> tuple[pa.Array, pa.Array]:
        p = self.world.persons
        safe = np.maximum(pids, 0)
        cur = strs.take(self.world.addresses, np.where(pids < 0, -1, p.res_address[safe]))
        old_i = np.where(pids < 0, -1, p.old_res_address[safe])
        return cur, strs.take(self.world.addresses, old_i)

    def hh_address(self, pids: np.ndarray) -> pa.Array:
        return strs.take(self.world.addresses, self.world.persons.hh_address[pids])

    def sex(self, pids: np.ndarray) -> np.ndarray:
        return self.world.persons.sex[pids].astype("<U1")

    def stamps(self, n: int, created: np.ndarray | None = None) -> np.ndarray:
        """Update times: log-uniform age over ten years (recent dense), never before ``created``."""
        age_days = np.exp(self.rng.uniform(0, np.log(3650), n)).astype(np.int64)
        day = self.day - age_days.astype("timedelta64[D]")
        if created is not None:
            c = np.asarray(created, "datetime64[D]")
            day = np.where(np.isnat(c), day, np.maximum(day, np.minimum(c, self.day)))
        secs = self.rng.integers(8 * 3600, 20 * 3600, n).astype("timedelta64[s]")
        return day.astype("datetime64[s]") + secs

    def serial(self, prefix: str, width: int) -> Callable[[np.ndarray], pa.Array]:
        """Record keys prefix + zero-padded number; ``key_offset`` keeps day-2 keys apart."""
        base = self.key_offset

        def make(i: np.ndarray) -> pa.Array:
            return strs.cat(prefix, strs.to_arrow(strs.zpad(np.asarray(i) + base, width)))

        return make


def _lic_holder(ctx: Ctx, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lic = ctx.world.licences
    is_p = lic.holder_kind[idx] == PERSON
    return np.where(is_p, lic.holder[idx], -1), np.where(is_p, -1, lic.holder[idx])


def _licence_of_entities(ctx: Ctx, codes: tuple[str, ...], ents: np.ndarray) -> np.ndarray:
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


def org_code_of(uscc: np.ndarray) -> np.ndarray:
    """The printed organisation code (positions 9-17, ``XXXXXXXX-X``) embedded in USCCs."""
    cps = np.ascontiguousarray(uscc.astype("<U18")).view(np.uint32).reshape(-1, 18)
    dash = np.full((cps.shape[0], 1), ord("-"), np.uint32)
    return strs.cps_to_str(np.concatenate([cps[:, 8:16], dash, cps[:, 16:17]], axis=1))


def _uscc_legacy(ctx: Ctx, ents: np.ndarray) -> pa.Array:
    """What an old record holds instead of the USCC: the printed org code or the registration number."""
    e = ctx.world.entities
    org = e.org_code[ents]
    reg = e.reg_no[ents]
    use_reg = (reg != "") & (ctx.rng.random(ents.size) < 0.5)
    val = np.where(use_reg, reg, org)
    return strs.to_arrow(val, mask=val == "")


def _uscc_col(ctx: Ctx, ents: np.ndarray) -> Col:
    return T(strs.to_arrow(ctx.world.entities.uscc[ents]), role="uscc", alt=_uscc_legacy(ctx, ents))


def _status_code(lic_status: np.ndarray) -> np.ndarray:
    return lic_status.astype("<U1")


# ====================================================================================================
# persons
# ====================================================================================================


def public_security(ctx: Ctx) -> dict[str, Extract]:
    w, p = ctx.world, ctx.world.persons
    sel = ctx.persons(np.ones(p.n, bool))
    former = w.names.render(p.sur[sel], p.former_g1[sel], p.former_g2[sel])
    created = np.where(np.isnat(p.death[sel]), p.birth[sel], p.death[sel])
    cols = {
        "rkbh": K(ctx.serial("3416", 12)(sel), ctx.serial("3416", 12)),
        "gmsfhm": P(sel),
        "xm": N(sel),
        "cym": T(pc.if_else(pa.array(p.former_g1[sel] > 0), former, pa.scalar(None, pa.string()))),
        "xb": C(ctx.sex(sel), "sex"),
        "mz": C(w.ethnic_code(sel), "ethnicity"),
        "csrq": D(p.birth[sel], "birth"),
        "hjqh": C(np.array(places.COUNTIES)[p.county[sel]]),
        "hjdz": T(ctx.hh_address(sel), "address"),
        "hh": T(w.households.number[p.household[sel]].astype(str)),
        "yhzgx": T(strs.take(RELATIONS, p.relation[sel])),
        "hyzk": C(np.array(MARITAL)[p.marital[sel]]),
        "swrq": D(p.death[sel]),
        "gxsj": S(ctx.stamps(sel.size, created)),
    }
    return {"hjxx_czrk": extract(cols, person=sel)}


def medical_security(ctx: Ctx) -> dict[str, Extract]:
    w, p, rng = ctx.world, ctx.world.persons, ctx.rng
    age = age_at(p.birth)
    recent_dead = ~p.alive & (p.death > DAY1 - np.timedelta64(730, "D"))
    u = rng.random(p.n)
    keep = np.where(
        p.alive,
        u < np.where(age < 2, ctx.prof.cov("infant", 0.8), ctx.prof.cov("alive", 0.95)),
        recent_dead & (u < ctx.prof.cov("recent_dead", 0.3)),
    )
    sel = ctx.persons(keep)
    ph, old_ph = ctx.phone(sel)
    guardian = p.guardian()[sel]
    infant = age[sel] < 16
    gph, _ = ctx.phone(np.where(guardian >= 0, guardian, sel))
    ph = pc.if_else(pa.array(infant), gph, ph)
    addr, old_addr = ctx.res_address(sel)
    stas = np.where(p.alive[sel], np.where(rng.random(sel.size) < 0.93, "1", "2"), "4")
    cols = {
        "psn_no": K(ctx.serial("34160000", 10)(sel), ctx.serial("34169999", 10)),
        "certno": P(sel),
        "psn_name": N(sel),
        "gend": C(ctx.sex(sel), "sex"),
        "naty": C(w.ethnic_code(sel), "ethnicity"),
        "brdy": D(p.birth[sel], "birth"),
        "tel": T(ph, "phone", old_ph),
        "addr": T(addr, "address", old_addr),
        "psn_insu_stas": T(strs.take(["", "正常参保", "暂停参保", "", "终止参保"], stas.astype(int))),
        "updt_time": S(ctx.stamps(sel.size, p.birth[sel])),
    }
    return {"yb_cbdj": extract(cols, person=sel)}


def hrss(ctx: Ctx) -> dict[str, Extract]:
    p, rng = ctx.world.persons, ctx.rng
    age = age_at(p.birth)
    worker = p.alive & (p.employer >= 0) & (rng.random(p.n) < ctx.prof.cov("worker", 0.9))
    retiree = p.alive & (age > 60) & (rng.random(p.n) < ctx.prof.cov("retiree", 0.35))
    sel = ctx.persons(worker | retiree)
    ph, old_ph = ctx.phone(sel)
    addr, old_addr = ctx.res_address(sel)
    emp = p.employer[sel]
    e = ctx.world.entities
    emp_uscc = strs.to_arrow(np.where(emp >= 0, e.uscc[np.maximum(emp, 0)], ""), mask=emp < 0)
    status = np.where(emp >= 0, np.where(rng.random(sel.size) < 0.9, "正常参保", "暂停缴费"), "退休")
    cols = {
        "grbh": K(ctx.serial("1000", 10)(sel), ctx.serial("1099", 10)),
        "shbzhm": P(sel),
        "xm": N(sel),
        "xb": C(ctx.sex(sel), "sex"),
        "csrq": D(p.birth[sel], "birth"),
        "dwxydm": T(emp_uscc, "uscc", alt=pa.nulls(sel.size, pa.string())),
        "cbzt": T(status),
        "sjhm": T(ph, "phone", old_ph),
        "jzdz": T(addr, "address", old_addr),
        "last_modified": S(ctx.stamps(sel.size, p.birth[sel] + years(18))),
    }
    return {"si_cbry": extract(cols, person=sel)}


def provident_fund(ctx: Ctx) -> dict[str, Extract]:
    p, e, rng = ctx.world.persons, ctx.world.entities, ctx.rng
    emp = p.employer
    formal = (emp >= 0) & np.isin(e.kind[np.maximum(emp, 0)], (1, 6))
    sel = ctx.persons(p.alive & formal & (rng.random(p.n) < ctx.prof.cov("employee", 0.6)))
    ph, old_ph = ctx.phone(sel)
    cols = {
        "grzh": K(ctx.serial("GJ", 12)(sel), ctx.serial("GK", 12)),
        "zjhm": P(sel),
        "xingming": N(sel),
        "dwdm": T(strs.to_arrow(e.uscc[p.employer[sel]]), "uscc", alt=_uscc_legacy(ctx, p.employer[sel])),
        "sjhm": T(ph, "phone", old_ph),
        "zhzt": T(strs.take(["正常", "封存"], (rng.random(sel.size) < 0.08).astype(int))),
        "gxsj": S(ctx.stamps(sel.size)),
    }
    return {"gjj_grzh": extract(cols, person=sel)}


def traffic_police(ctx: Ctx) -> dict[str, Extract]:
    lic, p = ctx.world.licences, ctx.world.persons
    idx = ctx.licences("004")
    who = lic.holder[idx]
    ph, old_ph = ctx.phone(who)
    addr, old_addr = ctx.res_address(who)
    cols = {
        "dabh": T(lic.number.take(pa.array(idx))),
        "xm": N(who),
        "sfzmhm": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "csrq": D(p.birth[who], "birth"),
        "lxdh": T(ph, "phone", old_ph),
        "lxzsxxdz": T(addr, "address", old_addr),
        "zjcx": T(lic.detail.take(pa.array(idx))),
        "cclzrq": D(lic.issue[idx]),
        "yxqs": D(lic.valid_from[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "zt": C(_status_code(lic.status[idx])),
        "gxsj": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {"drv_license": extract(cols, person=who, licence=idx)}


def exit_entry(ctx: Ctx) -> dict[str, Extract]:
    w, lic, p = ctx.world, ctx.world.licences, ctx.world.persons
    idx = ctx.licences("006", "007", "008")
    idx = idx[np.argsort(lic.issue[idx], kind="stable")]  # id watermark grows with issue date
    who = lic.holder[idx]
    tname = np.select(
        [lic.type_code[idx] == "006", lic.type_code[idx] == "007"],
        ["普通护照", "往来港澳通行证"],
        "往来台湾通行证",
    )
    pinyin = w.variants_pinyin(who)
    ids = np.arange(idx.size, dtype=np.int64) + 1 + ctx.key_offset
    cols = {
        "id": K(ids, lambda i, b=ctx.key_offset: np.asarray(i, np.int64) + 1 + b),
        "zjzl": T(tname),
        "zjhm": T(lic.number.take(pa.array(idx))),
        "xm": N(who),
        "xmpy": T(pinyin),
        "xb": C(ctx.sex(who), "sex"),
        "csrq": D(p.birth[who], "birth"),
        "sfzh": P(who),
        "qfrq": D(lic.issue[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "zjzt": C(_status_code(lic.status[idx])),
    }
    return {"crj_zjxx": extract(cols, person=who, licence=idx)}


def civil_affairs(ctx: Ctx) -> dict[str, Extract]:
    w, lic, p, e, rng = ctx.world, ctx.world.licences, ctx.world.persons, ctx.world.entities, ctx.rng
    idx = ctx.licences("009")
    since = np.datetime64(f"{int(ctx.prof.cov('digitised_since', 2003))}-01-01")
    keep = (lic.issue[idx] >= since) | (rng.random(idx.size) < ctx.prof.cov("older_share", 0.1))
    # keep both parties of a couple together: the first row of each paper group decides
    grp = lic.group[idx]
    order = np.argsort(grp, kind="stable")
    gs = grp[order]
    keep_sorted = keep[order][np.searchsorted(gs, gs, side="left")]
    keep = np.empty_like(keep)
    keep[order] = keep_sorted
    idx = idx[keep]
    who = lic.holder[idx]
    spouse = p.spouse[who]
    mar = np.array(MARITAL)[p.marital[who]]
    mar = np.where(np.isin(mar, ("20", "21", "22", "23")), mar, "20")
    hydj = {
        "djbh": T(lic.number.take(pa.array(idx))),
        "rylx": T(strs.take(["", "男方", "女方"], p.sex[who].astype(np.int64))),
        "djlx": T(np.full(idx.size, "结婚证")),
        "xm": N(who),
        "sfzh": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "mz": C(w.ethnic_code(who), "ethnicity"),
        "csrq": D(p.birth[who], "birth"),
        "djrq": D(lic.issue[idx]),
        "po_sfzh": P(spouse),
        "hyzk": C(mar),
        "update_time": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    ents = ctx.entities(np.isin(e.kind, (3, 4, 5)))
    lid = _licence_of_entities(ctx, ("011", "012", "013"), ents)
    rep = e.legal_rep[ents]
    shzz = {
        "tyshxydm": T(strs.to_arrow(e.uscc[ents]), "uscc", alt=_uscc_legacy(ctx, ents)),
        "zzmc": T(e.name.take(pa.array(ents)), "entity_name"),
        "zzlx": T(strs.to_arrow(e.type_name[ents])),
        "fddbr": N(rep),
        "fddbr_sfzh": P(rep),
        "zs": T(e.address.take(pa.array(ents)), "address"),
        "kbzj": V(e.capital[ents]),
        "clrq": D(e.established[ents]),
        "djzt": C(np.array(["1", "2", "3"])[e.status[ents]]),
        "djzh": T(lic.number.take(pa.array(np.maximum(lid, 0)))),
        "zsyxq": D(np.where(lid >= 0, lic.valid_to[np.maximum(lid, 0)], np.datetime64("NaT"))),
        "update_time": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"hydj": extract(hydj, person=who, licence=idx), "shzz": extract(shzz, entity=ents, licence=lid)}


def archives(ctx: Ctx) -> dict[str, Extract]:
    lic, p, rng = ctx.world.licences, ctx.world.persons, ctx.rng
    idx = ctx.licences("009")
    until = np.datetime64(f"{int(ctx.prof.cov('until', 2003))}-01-01")
    idx = idx[(lic.issue[idx] < until) & (p.sex[lic.holder[idx]] == 1)]  # one row per couple: the husband
    idx = idx[rng.random(idx.size) < ctx.prof.cov("share", 0.9)]
    husband = lic.holder[idx]
    wife = p.spouse[husband]
    issue = lic.issue[idx]
    keys = strs.cat(
        "HY-", strs.num(year_of(issue)), "-", strs.to_arrow(strs.zpad(np.arange(idx.size) + 1, 6))
    )
    cols = {
        "档号": K(keys, lambda i: strs.cat("HY-B-", strs.to_arrow(strs.zpad(np.asarray(i) + 1, 6)))),
        "男方姓名": N(husband),
        "男方身份证": P(husband),
        "女方身份证": P(wife),
        "登记日期": T(strs.to_arrow(strs.format_dates(issue, "%Y.%m.%d"))),
        "住址": T(ctx.hh_address(husband), "address"),
    }
    return {"hyda": extract(cols, person=husband, licence=idx)}


def education(ctx: Ctx) -> dict[str, Extract]:
    w, p, lic, rng = ctx.world, ctx.world.persons, ctx.world.licences, ctx.rng
    age = age_at(p.birth)
    share = np.select(
        [age < 6, age <= 15, age <= 18, age <= 22],
        [0.0, ctx.prof.cov("primary", 0.98), ctx.prof.cov("secondary", 0.88), ctx.prof.cov("tertiary", 0.4)],
        0.0,
    )
    sel = ctx.persons(p.alive & (rng.random(p.n) < share))
    guardian = p.guardian()[sel]
    addr, old_addr = ctx.res_address(sel)
    gph, _ = ctx.phone(guardian)
    xjh = strs.cat("G", strs.to_arrow(w.id_strings(sel)))
    student = {
        "xjh": K(xjh, ctx.serial("L341600", 11)),
        "xm": N(sel),
        "sfzjh": P(sel),
        "xb": C(ctx.sex(sel), "sex"),
        "mz": C(w.ethnic_code(sel), "ethnicity"),
        "csny": D(p.birth[sel], "birth"),
        "jtzz": T(addr, "address", old_addr),
        "jhrsfzh": P(guardian),
        "jhrdh": T(gph, "phone"),
        "update_at": S(ctx.stamps(sel.size, p.birth[sel] + years(6))),
    }
    idx = ctx.licences("025")
    who = lic.holder[idx]
    teacher = {
        "zsbh": T(lic.number.take(pa.array(idx))),
        "xm": N(who),
        "sfzjh": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "xl": T(strs.take(EDUCATION, p.education[who])),
        "rjxk": T(lic.detail.take(pa.array(idx))),
        "bfrq": D(lic.issue[idx]),
        "update_at": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    return {"xj_student": extract(student, person=sel), "jszg": extract(teacher, person=who, licence=idx)}


def health(ctx: Ctx) -> dict[str, Extract]:
    p, lic = ctx.world.persons, ctx.world.licences
    since = np.datetime64(f"{int(ctx.prof.cov('births_since', 2010))}-01-01")
    idx = ctx.licences("020")
    idx = idx[lic.issue[idx] >= since]
    child = lic.holder[idx]
    mother, father = p.mother[child], p.father[child]
    birth = {
        "zmbh": T(lic.number.take(pa.array(idx))),
        "xsexm": N(child),
        "xsexb": C(ctx.sex(child), "sex"),
        "csrq": D(p.birth[child], "birth"),
        "mqxm": N(mother),
        "mqsfzh": P(mother),
        "fqsfzh": P(father),
        "qfrq": D(lic.issue[idx]),
        "gxsj": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    idx2 = ctx.licences("021")
    who = lic.holder[idx2]
    doctor = {
        "zsbm": T(lic.number.take(pa.array(idx2))),
        "xm": N(who),
        "sfzh": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "zylb": T(lic.detail.take(pa.array(idx2))),
        "zcrq": D(lic.issue[idx2]),
        "zyzt": C(_status_code(lic.status[idx2])),
        "gxsj": S(ctx.stamps(idx2.size, lic.issue[idx2])),
    }
    return {
        "csyxzm": extract(birth, person=child, licence=idx),
        "ysyyzc": extract(doctor, person=who, licence=idx2),
    }


def finance(ctx: Ctx) -> dict[str, Extract]:
    p, hh, rng = ctx.world.persons, ctx.world.households, ctx.rng
    age = age_at(p.birth)
    rural_head = (p.role == 0) & ~hh.urban[p.household]
    pick = p.alive & (
        (rural_head & (rng.random(p.n) < ctx.prof.cov("recipient", 0.6)))
        | ((age >= 60) & (rng.random(p.n) < ctx.prof.cov("elderly", 0.5)))
    )
    who = ctx.persons(pick)
    times = rng.integers(1, 4, who.size)
    rows = np.repeat(who, times)
    ph, old_ph = ctx.phone(rows)
    paid = (ctx.day - rng.integers(0, 730, rows.size).astype("timedelta64[D]")).astype(
        "datetime64[s]"
    ) + rng.integers(9 * 3600, 17 * 3600, rows.size).astype("timedelta64[s]")
    upd = paid + rng.integers(0, 20 * 86400, rows.size).astype("timedelta64[s]")
    upd = np.minimum(upd, (ctx.day + np.timedelta64(1, "D")).astype("datetime64[s]") - np.timedelta64(1, "s"))
    cols = {
        "record_id": K(ctx.serial("BT", 10)(np.arange(rows.size)), ctx.serial("BTD", 9)),
        "name": N(rows),
        "id_no": P(rows),
        "sex": C(ctx.sex(rows), "sex"),
        "mobile": T(ph, "phone", old_ph),
        "village": T(ctx.hh_address(rows), "address"),
        "paid_at": S(paid),
        "updated": S(upd),
    }
    return {"btff": extract(cols, person=rows)}


def grassroots_service(ctx: Ctx) -> dict[str, Extract]:
    p, rng = ctx.world.persons, ctx.rng
    age = age_at(p.birth)
    pool = ctx.persons(p.alive & (age >= 16))
    k = int(round(pool.size * ctx.prof.cov("records_per_person", 0.8)))
    w = np.where(age[pool] >= 60, 2.0, 1.0)
    rows = np.sort(pool[rng.choice(pool.size, size=k, p=w / w.sum())]) if pool.size else pool
    ph, old_ph = ctx.phone(rows)
    addr, old_addr = ctx.res_address(rows)
    cols = {
        "id": K(ctx.serial("FW", 10)(np.arange(rows.size)), ctx.serial("FWD", 9)),
        "xm": N(rows),
        "zjhm": P(rows),
        "xb": C(ctx.sex(rows), "sex"),
        "lxdh": T(ph, "phone", old_ph),
        "jzdz": T(addr, "address", old_addr),
        "fwsj": S(ctx.stamps(rows.size)),
    }
    return {"fwjl": extract(cols, person=rows)}


def trade_unions(ctx: Ctx) -> dict[str, Extract]:
    w, p, e, rng = ctx.world, ctx.world.persons, ctx.world.entities, ctx.rng
    pool = ctx.persons(p.alive & (p.employer >= 0))
    k = min(int(ctx.prof.cov("max_rows", 30000)), int(round(p.n * ctx.prof.cov("member", 0.06))), pool.size)
    sel = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
    ph, old_ph = ctx.phone(sel)
    cols = {
        "会员编号": K(ctx.serial("GH", 10)(np.arange(sel.size)), ctx.serial("GHD", 9)),
        "姓名": N(sel),
        "身份证号码": P(sel),
        "性别": C(ctx.sex(sel), "sex"),
        "民族": C(w.ethnic_code(sel), "ethnicity"),
        "手机号": T(ph, "phone", old_ph),
        "工作单位代码": T(
            strs.to_arrow(e.uscc[p.employer[sel]]), "uscc", alt=_uscc_legacy(ctx, p.employer[sel])
        ),
        "学历": T(strs.take(EDUCATION, p.education[sel])),
    }
    return {"hyxx": extract(cols, person=sel)}


def _person_licence_table(ctx: Ctx, code: str | tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    idx = ctx.licences(*((code,) if isinstance(code, str) else code))
    return idx, ctx.world.licences.holder[idx]


def culture_tourism(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, who = _person_licence_table(ctx, "057")
    ph, old_ph = ctx.phone(who)
    cols = {
        "dyzh": T(lic.number.take(pa.array(idx))),
        "xm": N(who),
        "zjhm": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "yz": T(lic.detail.take(pa.array(idx))),
        "lqrq": D(lic.issue[idx]),
        "sj": T(ph, "phone", old_ph),
        "gxsj": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    return {"dyz": extract(cols, person=who, licence=idx)}


def disabled_federation(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, who = _person_licence_table(ctx, "049")
    ph, old_ph = ctx.phone(who)
    addr, old_addr = ctx.res_address(who)
    cols = {
        "残疾人证号": T(lic.number.take(pa.array(idx))),
        "姓名": N(who),
        "性别": C(ctx.sex(who), "sex"),
        "身份证号": P(who),
        "残疾类别": T(lic.detail.take(pa.array(idx))),
        "发证日期": D(lic.issue[idx]),
        "有效期至": D(lic.valid_to[idx]),
        "联系电话": T(ph, "phone", old_ph),
        "住址": T(addr, "address", old_addr),
    }
    return {"cjrz": extract(cols, person=who, licence=idx)}


def forestry(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, who = _person_licence_table(ctx, "069")
    ph, old_ph = ctx.phone(who)
    cols = {
        "permit_no": T(lic.number.take(pa.array(idx))),
        "applicant": N(who),
        "id_card": P(who),
        "location": T(lic.detail.take(pa.array(idx))),
        "issue_date": D(lic.issue[idx]),
        "expire_date": D(lic.valid_to[idx]),
        "tel": T(ph, "phone", old_ph),
    }
    return {"lmcf": extract(cols, person=who, licence=idx)}


def justice(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, who = _person_licence_table(ctx, ("050", "051"))
    tname = np.where(lic.type_code[idx] == "050", "律师执业证", "公证员执业证")
    cols = {
        "zyzh": T(lic.number.take(pa.array(idx))),
        "zylb": T(tname),
        "xm": N(who),
        "sfzh": P(who),
        "xb": C(ctx.sex(who), "sex"),
        "zyjg": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.issue[idx]),
        "zt": C(_status_code(lic.status[idx])),
        "gxsj": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    return {"zyry": extract(cols, person=who, licence=idx)}


def veterans(ctx: Ctx) -> dict[str, Extract]:
    lic, p = ctx.world.licences, ctx.world.persons
    idx, who = _person_licence_table(ctx, "047")
    idx = idx[np.argsort(lic.issue[idx], kind="stable")]
    who = lic.holder[idx]
    ph, old_ph = ctx.phone(who)
    addr, old_addr = ctx.res_address(who)
    ids = np.arange(idx.size, dtype=np.int64) + 1 + ctx.key_offset
    cols = {
        "id": K(ids, lambda i, b=ctx.key_offset: np.asarray(i, np.int64) + 1 + b),
        "name": N(who),
        "idcard": P(who),
        "gender": C(ctx.sex(who), "sex"),
        "birthday": D(p.birth[who], "birth"),
        "phone": T(ph, "phone", old_ph),
        "address": T(addr, "address", old_addr),
        "yhzh": T(lic.number.take(pa.array(idx))),
        "fzrq": D(lic.issue[idx]),
    }
    return {"tyjr": extract(cols, person=who, licence=idx)}


def agriculture(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, who = _person_licence_table(ctx, "043")
    ph, old_ph = ctx.phone(who)
    cols = {
        "cbjyqzbm": T(lic.number.take(pa.array(idx))),
        "cbfdbxm": N(who),
        "cbfdbzjhm": P(who),
        "cbfdz": T(ctx.hh_address(who), "address"),
        "lxdh": T(ph, "phone", old_ph),
        "htmj": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.issue[idx]),
        "gxsj": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    return {"tdcb_cbf": extract(cols, person=who, licence=idx)}


def natural_resources(ctx: Ctx) -> dict[str, Extract]:
    lic, e, rng = ctx.world.licences, ctx.world.entities, ctx.rng
    idx = ctx.licences("035")
    hp, he = _lic_holder(ctx, idx)
    ent_safe = np.maximum(he, 0)
    use_org = (he >= 0) & (e.org_code[ent_safe] != "") & (rng.random(idx.size) < 0.2)
    ent_id = np.where(use_org, e.org_code[ent_safe], e.uscc[ent_safe])
    id_type = np.where(hp >= 0, "111", np.where(use_org, "002", "001"))
    ent_name = e.name.take(pa.array(ent_safe))
    reg_time = lic.issue[idx].astype("datetime64[s]") + rng.integers(8 * 3600, 18 * 3600, idx.size).astype(
        "timedelta64[s]"
    )
    cols = {
        "bdcqzh": T(lic.number.take(pa.array(idx))),
        "qlrmc": N(hp, fallback=ent_name),
        "qlrzjh": P(hp, fallback=strs.to_arrow(ent_id)),
        "zjzl": C(id_type),
        "zl": T(lic.detail.take(pa.array(idx))),
        "dbsj": S(reg_time),
        "qszt": C(_status_code(lic.status[idx])),
    }
    return {"bdc_qlr": extract(cols, person=hp, entity=he, licence=idx)}


# ====================================================================================================
# entities
# ====================================================================================================


def _rep_cols(ctx: Ctx, ents: np.ndarray) -> tuple[np.ndarray, pa.Array, pa.Array]:
    e = ctx.world.entities
    return e.legal_rep[ents], e.name.take(pa.array(ents)), e.address.take(pa.array(ents))


def market_regulation(ctx: Ctx) -> dict[str, Extract]:
    e, lic = ctx.world.entities, ctx.world.licences
    ents = ctx.entities(np.isin(e.kind, (0, 1, 2)))
    rep, name, addr = _rep_cols(ctx, ents)
    lid = _licence_of_entities(ctx, ("028", "029", "030"), ents)
    reg = e.reg_no[ents]
    county_code = np.array(places.COUNTIES)[e.county[ents]]
    main = {
        "pripid": K(ctx.serial("PR3416", 14)(ents), ctx.serial("PR3417", 14)),
        "uniscid": _uscc_col(ctx, ents),
        "regno": T(strs.to_arrow(reg, mask=reg == "")),
        "entname": T(name, "entity_name"),
        "enttype": T(strs.to_arrow(e.type_name[ents])),
        "lerep": N(rep),
        "lerep_cerno": P(rep),
        "dom": T(addr, "address"),
        "domdistrict": C(county_code),
        "regcap": V(e.capital[ents]),
        "estdate": D(e.established[ents]),
        "regstate": C(np.array(["1", "2", "3"])[e.status[ents]]),
        "regorg": T(e.authority.take(pa.array(ents))),
        "opscope": T(e.scope.take(pa.array(ents))),
        "tel": T(e.phone.take(pa.array(ents)), "phone"),
        "gxsj": S(
            ctx.stamps(
                ents.size, np.where(np.isnat(e.status_date[ents]), e.established[ents], e.status_date[ents])
            )
        ),
    }
    idx = ctx.licences("031")
    he = lic.holder[idx]
    rep2, name2, addr2 = _rep_cols(ctx, he)
    food = {
        "xkzbh": T(lic.number.take(pa.array(idx))),
        "jyzmc": T(name2, "entity_name"),
        "shxydm": _uscc_col(ctx, he),
        "fddbr": N(rep2),
        "jycs": T(addr2, "address"),
        "ztyt": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.valid_from[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "zt": C(_status_code(lic.status[idx])),
        "gxsj": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {
        "scztdj": extract(main, entity=ents, licence=lid),
        "spjyxk": extract(food, entity=he, licence=idx),
    }


def tax(ctx: Ctx) -> dict[str, Extract]:
    e, rng = ctx.world.entities, ctx.rng
    share = np.where(np.isin(e.kind, (0, 1, 2)), ctx.prof.cov("market", 0.75), ctx.prof.cov("other", 0.3))
    ents = ctx.entities(rng.random(e.n) < share)
    rep, name, addr = _rep_cols(ctx, ents)
    legacy_tax = strs.to_arrow(
        np.char.add(e.area[ents].astype(str), np.char.replace(e.org_code[ents], "-", "")),
        mask=e.org_code[ents] == "",
    )
    cols = {
        "djxh": K(ctx.serial("1013416", 13)(ents), ctx.serial("1013417", 13)),
        "nsrsbh": T(strs.to_arrow(e.uscc[ents]), "uscc", alt=legacy_tax),
        "nsrmc": T(name, "entity_name"),
        "fddbrxm": N(rep),
        "fddbrsfzjhm": P(rep),
        "scjydz": T(addr, "address"),
        "zgswjg": T(
            strs.cat("国家税务总局", strs.take(("亳州市",) + places.COUNTY_NAMES, e.level[ents]), "税务局")
        ),
        "nsrzt": C(np.array(["1", "2", "3"])[e.status[ents]]),
        "xydj": T(strs.to_arrow(e.tax_grade[ents])),
        "cyrs": V(e.employees[ents]),
        "yysr": V(e.revenue[ents]),
        "xgrq": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"dj_nsrxx": extract(cols, entity=ents)}


def statistics(ctx: Ctx) -> dict[str, Extract]:
    e, rng = ctx.world.entities, ctx.rng
    share = np.select(
        [e.kind == 1, e.kind == 0, e.kind == 2],
        [ctx.prof.cov("enterprise", 1.0), ctx.prof.cov("individual", 0.05), ctx.prof.cov("coop", 0.5)],
        0.0,
    )
    ents = ctx.entities((rng.random(e.n) < share) & (e.status != 1))  # revoked units leave the directory
    rep, name, addr = _rep_cols(ctx, ents)
    org = np.where(e.org_code[ents] != "", e.org_code[ents], org_code_of(e.uscc[ents]))
    status = np.where(e.status[ents] == 0, "1", "3")
    cols = {
        "dwdm": T(strs.to_arrow(e.uscc[ents]), "uscc", alt=_uscc_legacy(ctx, ents)),
        "zzjgdm": T(strs.to_arrow(org)),
        "dwxxmc": T(name, "entity_name"),
        "fddbr": N(rep),
        "dz": T(addr, "address"),
        "qhdm": C(np.array(places.COUNTIES)[e.county[ents]]),
        "cyry": V(e.employees[ents]),
        "kysj": D(e.established[ents]),
        "yyzt": C(status),
        "gxsj": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"jbdw_ml": extract(cols, entity=ents)}


def staffing_office(ctx: Ctx) -> dict[str, Extract]:
    e, lic = ctx.world.entities, ctx.world.licences
    ents = ctx.entities(e.kind == 6)
    rep, name, addr = _rep_cols(ctx, ents)
    lid = _licence_of_entities(ctx, ("071",), ents)
    safe = np.maximum(lid, 0)
    cols = {
        "tyshxydm": T(strs.to_arrow(e.uscc[ents]), "uscc", alt=_uscc_legacy(ctx, ents)),
        "dwmc": T(name, "entity_name"),
        "fddbr": N(rep),
        "fddbrsfzh": P(rep),
        "zs": T(addr, "address"),
        "kbzj": V(e.capital[ents]),
        "zsh": T(lic.number.take(pa.array(safe))),
        "yxqz": D(np.where(lid >= 0, lic.valid_to[safe], np.datetime64("NaT"))),
        "zzfw": T(e.scope.take(pa.array(ents))),
        "gxsj": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"sydw": extract(cols, entity=ents, licence=lid)}


def development_reform(ctx: Ctx) -> dict[str, Extract]:
    e, rng = ctx.world.entities, ctx.rng
    pool = ctx.entities((e.kind == 1) & (e.status == 0))
    k = min(
        int(ctx.prof.cov("max_rows", 30000)),
        max(3, int(round(pool.size * ctx.prof.cov("enterprise", 0.08)))),
        pool.size,
    )
    ents = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
    rep, name, addr = _rep_cols(ctx, ents)
    filed = np.maximum(e.established[ents], DAY1 - np.timedelta64(2000, "D")) + rng.integers(
        0, 300, ents.size
    ).astype("timedelta64[D]")
    filed = np.minimum(filed, ctx.day)
    y, m, _d = strs.date_parts(filed)
    code = strs.cat(
        strs.to_arrow(strs.zpad(y % 100, 2)),
        strs.to_arrow(strs.zpad(m, 2)),
        "-",
        strs.num(np.array([int(c) for c in places.COUNTIES])[e.county[ents]]),
        "-04-01-",
        strs.to_arrow(strs.zpad(np.arange(ents.size) + 1 + ctx.key_offset, 6)),
    )
    cols = {
        "项目代码": K(
            code, lambda i: strs.cat("2611-341600-04-02-", strs.to_arrow(strs.zpad(np.asarray(i) + 1, 6)))
        ),
        "项目单位": T(name, "entity_name"),
        "统一社会信用代码": _uscc_col(ctx, ents),
        "法定代表人": N(rep),
        "单位地址": T(addr, "address"),
        "备案日期": D(filed),
    }
    return {"xmba": extract(cols, entity=ents)}


def _entity_licence_table(
    ctx: Ctx, code: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, pa.Array, pa.Array]:
    idx = ctx.licences(code)
    he = ctx.world.licences.holder[idx]
    rep, name, addr = _rep_cols(ctx, he)
    return idx, he, rep, name, addr


def commerce(ctx: Ctx) -> dict[str, Extract]:
    lic, e = ctx.world.licences, ctx.world.entities
    idx, he, rep, name, addr = _entity_licence_table(ctx, "060")
    cols = {
        "beian_no": T(lic.number.take(pa.array(idx))),
        "company_name": T(name, "entity_name"),
        "credit_code": _uscc_col(ctx, he),
        "legal_person": N(rep),
        "address": T(addr, "address"),
        "filing_date": D(lic.issue[idx]),
        "phone": T(e.phone.take(pa.array(he)), "phone"),
    }
    return {"dwmy_ba": extract(cols, entity=he, licence=idx)}


def ecology_environment(ctx: Ctx) -> dict[str, Extract]:
    lic, e = ctx.world.licences, ctx.world.entities
    idx, he, rep, name, addr = _entity_licence_table(ctx, "053")
    org = np.where(e.org_code[he] != "", e.org_code[he], "")
    cols = {
        "xkzbh": T(lic.number.take(pa.array(idx))),
        "dwmc": T(name, "entity_name"),
        "tyshxydm": _uscc_col(ctx, he),
        "zzjgdm": T(strs.to_arrow(org, mask=org == "")),
        "fddbr": N(rep),
        "scjydz": T(addr, "address"),
        "hylb": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.valid_from[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "update_time": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {"pwxk": extract(cols, entity=he, licence=idx)}


def emergency_management(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, he, rep, name, addr = _entity_licence_table(ctx, "055")
    cols = {
        "xkzh": T(lic.number.take(pa.array(idx))),
        "qymc": T(name, "entity_name"),
        "shxydm": _uscc_col(ctx, he),
        "zyfzr": N(rep),
        "dz": T(addr, "address"),
        "xkfw": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.valid_from[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "gxsj": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {"aqsc_xk": extract(cols, entity=he, licence=idx)}


def housing_construction(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, he, rep, name, addr = _entity_licence_table(ctx, "038")
    cols = {
        "zsbh": T(lic.number.take(pa.array(idx))),
        "qymc": T(name, "entity_name"),
        "xydm": _uscc_col(ctx, he),
        "fr": N(rep),
        "zclb": T(lic.detail.take(pa.array(idx))),
        "fzrq": D(lic.valid_from[idx]),
        "yxq": D(lic.valid_to[idx]),
        "modify_time": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {"qy_zz": extract(cols, entity=he, licence=idx)}


def tobacco(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, he, rep, name, addr = _entity_licence_table(ctx, "073")
    cols = {
        "xkzh": T(lic.number.take(pa.array(idx))),
        "qymc": T(name, "entity_name"),
        "fzr": N(rep),
        "fzrsfz": P(rep),
        "shxydm": _uscc_col(ctx, he),
        "jydz": T(addr, "address"),
        "fzrq": D(lic.valid_from[idx]),
        "yxqz": D(lic.valid_to[idx]),
        "xkzt": C(_status_code(lic.status[idx])),
        "update_time": S(ctx.stamps(idx.size, lic.valid_from[idx])),
    }
    return {"lsxkz": extract(cols, entity=he, licence=idx)}


def urban_management(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, he, rep, name, addr = _entity_licence_table(ctx, "065")
    cols = {
        "许可编号": T(lic.number.take(pa.array(idx))),
        "申请单位": T(name, "entity_name"),
        "信用代码": _uscc_col(ctx, he),
        "设置地点": T(lic.detail.take(pa.array(idx))),
        "许可日期": D(lic.valid_from[idx]),
        "到期日期": D(lic.valid_to[idx]),
    }
    return {"hwgg": extract(cols, entity=he, licence=idx)}


def water_resources(ctx: Ctx) -> dict[str, Extract]:
    lic = ctx.world.licences
    idx, he, rep, name, addr = _entity_licence_table(ctx, "068")
    cols = {
        "取水许可证编号": T(lic.number.take(pa.array(idx))),
        "取水权人": T(name, "entity_name"),
        "统一社会信用代码": _uscc_col(ctx, he),
        "法定代表人": N(rep),
        "取水地点": T(lic.detail.take(pa.array(idx))),
        "发证日期": D(lic.valid_from[idx]),
        "有效期限": D(lic.valid_to[idx]),
    }
    return {"qsxk": extract(cols, entity=he, licence=idx)}


BUILDERS: dict[str, Callable[[Ctx], dict[str, Extract]]] = {
    f.__name__: f
    for f in (
        public_security,
        medical_security,
        hrss,
        provident_fund,
        traffic_police,
        exit_entry,
        civil_affairs,
        archives,
        education,
        health,
        finance,
        grassroots_service,
        trade_unions,
        culture_tourism,
        disabled_federation,
        forestry,
        justice,
        veterans,
        agriculture,
        natural_resources,
        market_regulation,
        tax,
        statistics,
        staffing_office,
        development_reform,
        commerce,
        ecology_environment,
        emergency_management,
        housing_construction,
        tobacco,
        urban_management,
        water_resources,
    )
}
__all__ = ["BUILDERS", "Col", "Ctx", "Extract"]
