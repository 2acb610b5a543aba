"""Departments that hold persons: population register, insurance, funds, schools, subsidies, services.

Each builder states the department's coverage ("medical security: 95 % of the living, most infants,
some of the recently dead") and the facts particular to it; the person's own facts come from
:func:`~.subjects.person_columns` for whatever the table's spec maps.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from pipelines.synthetic import places, strs
from pipelines.synthetic.extracts.columns import C, D, Extract, K, P, S, T, extract
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.extracts.subjects import licence_register, person_columns, uscc_column
from pipelines.synthetic.population import DAY1, MARITAL, RELATIONS, age_at, years

INSURANCE_STATUS = ("", "正常参保", "暂停参保", "", "终止参保")


def public_security(ctx: Ctx) -> dict[str, Extract]:
    w, p = ctx.world, ctx.world.persons
    sel = ctx.persons(np.ones(p.n, bool))
    former = w.names.render(p.sur[sel], p.former_g1[sel], p.former_g2[sel])
    created = np.where(np.isnat(p.death[sel]), p.birth[sel], p.death[sel])
    key = ctx.serial("3416", 12)
    cols = person_columns(ctx, sel, ctx.wants("hjxx_czrk")) | {
        "meta.record_key": K(key(sel), key),
        "person.former_names": T(
            pc.if_else(pa.array(p.former_g1[sel] > 0), former, pa.scalar(None, pa.string()))
        ),
        "person.household_area": C(np.array(places.COUNTIES)[p.county[sel]]),
        "person.household_no": T(w.households.number[p.household[sel]].astype(str)),
        "person.relation_to_head": T(strs.take(RELATIONS, p.relation[sel])),
        "person.marital_status": C(np.array(MARITAL)[p.marital[sel]]),
        "person.death_date": D(p.death[sel]),
        "meta.updated_at": S(ctx.stamps(sel.size, created)),
    }
    return {"hjxx_czrk": extract(cols, person=sel)}


def medical_security(ctx: Ctx) -> dict[str, Extract]:
    p, rng = ctx.world.persons, ctx.rng
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
    gph, _ = ctx.phone(np.where(guardian >= 0, guardian, sel))
    ph = pc.if_else(pa.array(age[sel] < 16), gph, ph)  # a child's record carries a parent's phone
    stas = np.where(p.alive[sel], np.where(rng.random(sel.size) < 0.93, "1", "2"), "4")
    cols = person_columns(ctx, sel, ctx.wants("yb_cbdj")) | {
        "meta.record_key": K(ctx.serial("34160000", 10)(sel), ctx.serial("34169999", 10)),
        "person.phone": T(ph, "phone", old_ph),
        "person.insurance_status": T(strs.take(INSURANCE_STATUS, stas.astype(int))),
        "meta.updated_at": S(ctx.stamps(sel.size, p.birth[sel])),
    }
    return {"yb_cbdj": extract(cols, person=sel)}


def hrss(ctx: Ctx) -> dict[str, Extract]:
    p, e, rng = ctx.world.persons, ctx.world.entities, ctx.rng
    age = age_at(p.birth)
    worker = p.alive & (p.employer >= 0) & (rng.random(p.n) < ctx.prof.cov("worker", 0.9))
    retiree = p.alive & (age > 60) & (rng.random(p.n) < ctx.prof.cov("retiree", 0.35))
    sel = ctx.persons(worker | retiree)
    emp = p.employer[sel]
    emp_uscc = strs.to_arrow(np.where(emp >= 0, e.uscc[np.maximum(emp, 0)], ""), mask=emp < 0)
    status = np.where(emp >= 0, np.where(rng.random(sel.size) < 0.9, "正常参保", "暂停缴费"), "退休")
    cols = person_columns(ctx, sel, ctx.wants("si_cbry")) | {
        "meta.record_key": K(ctx.serial("1000", 10)(sel), ctx.serial("1099", 10)),
        "person.employer_uscc": T(emp_uscc, "uscc", alt=pa.nulls(sel.size, pa.string())),
        "person.insurance_status": T(status),
        "meta.updated_at": S(ctx.stamps(sel.size, p.birth[sel] + years(18))),
    }
    return {"si_cbry": extract(cols, person=sel)}


def provident_fund(ctx: Ctx) -> dict[str, Extract]:
    p, e, rng = ctx.world.persons, ctx.world.entities, ctx.rng
    emp = p.employer
    formal = (emp >= 0) & np.isin(e.kind[np.maximum(emp, 0)], (1, 6))
    sel = ctx.persons(p.alive & formal & (rng.random(p.n) < ctx.prof.cov("employee", 0.6)))
    cols = person_columns(ctx, sel, ctx.wants("gjj_grzh")) | {
        "meta.record_key": K(ctx.serial("GJ", 12)(sel), ctx.serial("GK", 12)),
        "person.employer_uscc": uscc_column(ctx, p.employer[sel]),
        "person.insurance_status": T(strs.take(["正常", "封存"], (rng.random(sel.size) < 0.08).astype(int))),
        "meta.updated_at": S(ctx.stamps(sel.size)),
    }
    return {"gjj_grzh": extract(cols, person=sel)}


def education(ctx: Ctx) -> dict[str, Extract]:
    w, p, rng = ctx.world, ctx.world.persons, ctx.rng
    age = age_at(p.birth)
    cov = ctx.prof.cov
    share = np.select(
        [age < 6, age <= 15, age <= 18, age <= 22],
        [0.0, cov("primary", 0.98), cov("secondary", 0.88), cov("tertiary", 0.4)],
        0.0,
    )
    sel = ctx.persons(p.alive & (rng.random(p.n) < share))
    guardian = p.guardian()[sel]
    gph, _ = ctx.phone(guardian)
    xjh = strs.cat("G", strs.to_arrow(w.id_strings(sel)))
    student = person_columns(ctx, sel, ctx.wants("xj_student")) | {
        "meta.record_key": K(xjh, ctx.serial("L341600", 11)),
        "person.guardian_id_number": P(guardian),
        "person.phone": T(gph, "phone"),  # the guardian's
        "meta.updated_at": S(ctx.stamps(sel.size, p.birth[sel] + years(6))),
    }
    return {"xj_student": extract(student, person=sel), "jszg": licence_register(ctx, "jszg", ("025",))}


def finance(ctx: Ctx) -> dict[str, Extract]:
    p, hh, rng = ctx.world.persons, ctx.world.households, ctx.rng
    age = age_at(p.birth)
    rural_head = (p.role == 0) & ~hh.urban[p.household]
    pick = p.alive & (
        (rural_head & (rng.random(p.n) < ctx.prof.cov("recipient", 0.6)))
        | ((age >= 60) & (rng.random(p.n) < ctx.prof.cov("elderly", 0.5)))
    )
    who = ctx.persons(pick)
    rows = np.repeat(who, rng.integers(1, 4, who.size))  # one to three payments each
    paid = (ctx.day - rng.integers(0, 730, rows.size).astype("timedelta64[D]")).astype(
        "datetime64[s]"
    ) + rng.integers(9 * 3600, 17 * 3600, rows.size).astype("timedelta64[s]")
    upd = paid + rng.integers(0, 20 * 86400, rows.size).astype("timedelta64[s]")
    upd = np.minimum(upd, (ctx.day + np.timedelta64(1, "D")).astype("datetime64[s]") - np.timedelta64(1, "s"))
    cols = person_columns(ctx, rows, ctx.wants("btff")) | {
        "meta.record_key": K(ctx.serial("BT", 10)(np.arange(rows.size)), ctx.serial("BTD", 9)),
        "paid_at": S(paid),
        "meta.updated_at": S(upd),
    }
    return {"btff": extract(cols, person=rows)}


def grassroots_service(ctx: Ctx) -> dict[str, Extract]:
    p, rng = ctx.world.persons, ctx.rng
    age = age_at(p.birth)
    pool = ctx.persons(p.alive & (age >= 16))
    k = int(round(pool.size * ctx.prof.cov("records_per_person", 0.8)))
    w = np.where(age[pool] >= 60, 2.0, 1.0)
    rows = np.sort(pool[rng.choice(pool.size, size=k, p=w / w.sum())]) if pool.size else pool
    cols = person_columns(ctx, rows, ctx.wants("fwjl")) | {
        "meta.record_key": K(ctx.serial("FW", 10)(np.arange(rows.size)), ctx.serial("FWD", 9)),
        "meta.updated_at": S(ctx.stamps(rows.size)),
    }
    return {"fwjl": extract(cols, person=rows)}


def trade_unions(ctx: Ctx) -> dict[str, Extract]:
    p, rng = ctx.world.persons, ctx.rng
    pool = ctx.persons(p.alive & (p.employer >= 0))
    k = min(int(ctx.prof.cov("max_rows", 30000)), int(round(p.n * ctx.prof.cov("member", 0.06))), pool.size)
    sel = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
    cols = person_columns(ctx, sel, ctx.wants("hyxx")) | {
        "meta.record_key": K(ctx.serial("GH", 10)(np.arange(sel.size)), ctx.serial("GHD", 9)),
        "person.employer_uscc": uscc_column(ctx, p.employer[sel]),
    }
    return {"hyxx": extract(cols, person=sel)}
