"""Departments that register papers held by persons: driving, travel, marriage, birth, professions,
veterans, disability, land, woodland and real estate.

Most tables are simply a department's register of its licence types (:func:`~.subjects.licence_register`);
the builders here state only what a register holds beyond the paper and its holder (a couple's
records, a birth certificate's parents, a title's corporate owners).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.synthetic import places, strs
from pipelines.synthetic.extracts.columns import C, D, Extract, K, N, P, S, T, extract
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.extracts.subjects import (
    entity_columns,
    licence_columns,
    licence_holders,
    licence_of_entities,
    licence_register,
    person_columns,
)
from pipelines.synthetic.population import MARITAL, year_of

#: Marital status codes a marriage registration records (others are written as 20, married).
MARRIED = ("20", "21", "22", "23")



def exit_entry(ctx: Ctx) -> dict[str, Extract]:
    ex = licence_register(ctx, "crj_zjxx", ("006", "007", "008"))
    ex.cols["xmpy"] = T(ctx.world.variants_pinyin(ex.person))  # the name as printed on the passport
    return {"crj_zjxx": ex}


#: A driver renewing his licence first takes the medical examination (机动车驾驶人身体条件证明) at a
#: designated medical institution, which uploads the result to traffic police (电子体检); the
#: examination is valid six months and renewal opens 90 days before the licence expires.
EXAM_VALID_DAYS, RENEWAL_OPENS_DAYS = 182, 90


def traffic_police(ctx: Ctx) -> dict[str, Extract]:
    """Drivers' medical examinations uploaded by the designated medical institutions (电子体检): every
    living driver whose licence is due - it expires within the renewal window or expired less than
    the examination's validity ago (a late renewal) - has taken his examination, on a day between
    the window's opening and the extract's day, within the last six months; the day draws its
    renewals from these drivers, and one who comes to renew has taken it first."""
    lic, p, rng = ctx.world.licences, ctx.world.persons, ctx.rng
    idx = ctx.licences("004")
    due = lic.valid_to[idx]
    idx = idx[~np.isnat(due) & (due <= ctx.day + np.timedelta64(RENEWAL_OPENS_DAYS, "D"))
              & (due > ctx.day - np.timedelta64(EXAM_VALID_DAYS, "D")) & p.alive[lic.holder[idx]]
              & np.isin(lic.status[idx], ("1", "4"))]
    driver = lic.holder[idx]
    lo = np.maximum(lic.valid_to[idx] - np.timedelta64(RENEWAL_OPENS_DAYS, "D"),
                    ctx.day - np.timedelta64(EXAM_VALID_DAYS - 1, "D")).astype(np.int64)
    hi = np.maximum(ctx.day.astype("datetime64[D]").astype(np.int64), lo)
    exam = (lo + np.floor(rng.random(idx.size) * (hi - lo + 1)).astype(np.int64)).astype("datetime64[D]")
    county = np.array(places.COUNTY_NAMES)[p.county[driver]]
    key = ctx.serial("TJ341600", 10)
    cols = person_columns(ctx, driver, ctx.wants("jsr_tjxx")) | {
        "meta.record_key": K(key(np.arange(idx.size)), key),
        "dabh": T(lic.number.take(pa.array(idx))),
        "tjyymc": T(strs.to_arrow(np.char.add(county, "人民医院"))),
        "tjrq": T(strs.to_arrow(strs.format_dates(exam, "%Y-%m-%d"))),
        "tjjl": T(strs.take(["合格"], np.zeros(idx.size, np.int64))),
        "yxqz": T(strs.to_arrow(strs.format_dates(exam + np.timedelta64(EXAM_VALID_DAYS, "D"), "%Y-%m-%d"))),
        "meta.updated_at": S(ctx.stamps(idx.size, exam)),
    }
    return {"jsr_tjxx": extract(cols, person=driver, licence=idx)}


def civil_affairs(ctx: Ctx) -> dict[str, Extract]:
    """Marriage registrations since digitisation (some older ones typed in; both spouses of a couple
    together), the register of social organisations with their certificates, and the cremations."""
    lic, p, e, rng = ctx.world.licences, ctx.world.persons, ctx.world.entities, ctx.rng
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
    mar = np.array(MARITAL)[p.marital[who]]
    wanted = ctx.wants("hydj")
    hydj = licence_columns(ctx, idx, wanted) | person_columns(ctx, who, wanted) | {
        "rylx": T(strs.take(["", "男方", "女方"], p.sex[who].astype(np.int64))),
        "person.spouse_id_number": P(p.spouse[who]),
        "person.marital_status": C(np.where(np.isin(mar, MARRIED), mar, "20"), as_recorded=True),
        "meta.updated_at": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    ents = ctx.entities(np.isin(e.kind, (3, 4, 5)))
    lid = licence_of_entities(ctx, ("011", "012", "013"), ents)
    wanted = ctx.wants("shzz")
    shzz = entity_columns(ctx, ents, wanted) | licence_columns(ctx, lid, wanted) | {
        "meta.updated_at": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"hydj": extract(hydj, person=who, licence=idx), "shzz": extract(shzz, entity=ents, licence=lid),
            "hhjl": cremations(ctx)}


def _deaths_recorded(ctx: Ctx, since_key: str, share_key: str, share: float) -> tuple[np.ndarray, np.ndarray]:
    """The persons who died since the register's start (profile ``since_key``, 2014 by default) and
    whose death this register recorded (profile ``share_key`` of them), with their death dates."""
    p = ctx.world.persons
    since = np.datetime64(f"{int(ctx.prof.cov(since_key, 2014))}-01-01")
    dead = ~p.alive & (p.death >= since)
    who = ctx.persons(dead & (ctx.rng.random(p.n) < ctx.prof.cov(share_key, share)))
    return who, p.death[who]


def cremations(ctx: Ctx) -> Extract:
    """The funeral homes' cremation records (遗体火化记录) civil affairs' funeral administration holds:
    the deaths since its register went online (2014) that ended in cremation (``cremated`` of them:
    an assumption - the province's cremation rate is high but burials remain), cremated one to five
    days after the death at the funeral home of the deceased's household county."""
    p, rng = ctx.world.persons, ctx.rng
    who, death = _deaths_recorded(ctx, "cremations_since", "cremated", 0.9)
    cremated = np.minimum(death + rng.integers(1, 6, who.size).astype("timedelta64[D]"), ctx.day)
    home = np.char.add(np.array(places.COUNTY_NAMES)[p.county[who]], "殡仪馆")
    key = ctx.serial("HH", 9)
    cols = person_columns(ctx, who, ctx.wants("hhjl")) | {
        "meta.record_key": K(strs.cat(strs.num(year_of(cremated)), key(who)), key),
        "person.death_date": D(death),
        "hhrq": D(cremated),
        "byg": T(strs.to_arrow(home)),
        "meta.updated_at": S(ctx.stamps(who.size, cremated)),
    }
    return extract(cols, person=who)


def archives(ctx: Ctx) -> dict[str, Extract]:
    """Paper marriage records from before digitisation, one per couple (the husband's row)."""
    lic, p, rng = ctx.world.licences, ctx.world.persons, ctx.rng
    idx = ctx.licences("009")
    until = np.datetime64(f"{int(ctx.prof.cov('until', 2003))}-01-01")
    idx = idx[(lic.issue[idx] < until) & (p.sex[lic.holder[idx]] == 1)]
    idx = idx[rng.random(idx.size) < ctx.prof.cov("share", 0.9)]
    husband = lic.holder[idx]
    issue = lic.issue[idx]
    keys = strs.cat(
        "HY-", strs.num(year_of(issue)), "-", strs.to_arrow(strs.zpad(np.arange(idx.size) + 1, 6))
    )
    cols = person_columns(ctx, husband, ctx.wants("hyda")) | {
        "meta.record_key": K(
            keys, lambda i: strs.cat("HY-B-", strs.to_arrow(strs.zpad(np.asarray(i) + 1, 6)))
        ),
        "person.spouse_id_number": P(p.spouse[husband]),
        "登记日期": T(strs.to_arrow(strs.format_dates(issue, "%Y.%m.%d"))),
    }
    return {"hyda": extract(cols, person=husband, licence=idx)}


def health(ctx: Ctx) -> dict[str, Extract]:
    """Birth certificates since the register went online (with the parents), physicians, and the
    death certificates of the death registry."""
    p, lic = ctx.world.persons, ctx.world.licences
    since = np.datetime64(f"{int(ctx.prof.cov('births_since', 2010))}-01-01")
    idx = ctx.licences("020")
    idx = idx[lic.issue[idx] >= since]
    child = lic.holder[idx]
    mother, father = p.mother[child], p.father[child]
    wanted = ctx.wants("csyxzm")
    birth = licence_columns(ctx, idx, wanted) | person_columns(ctx, child, wanted) | {
        "mqxm": N(mother),
        "person.guardian_id_number": P(mother),
        "fqsfzh": P(father),
        "meta.updated_at": S(ctx.stamps(idx.size, lic.issue[idx])),
    }
    out = {"csyxzm": extract(birth, person=child, licence=idx), "ysyyzc": licence_register(ctx, "ysyyzc", ("021",))}
    return out | {"swyxzm": death_certificates(ctx)}


#: Where a death certified by the health system happened (swdd), and its share: in a medical
#: institution the attending one issues the 死亡医学证明; at home or elsewhere the township health centre
#: or community health service centre issues the 推断书 after an inquiry.
DEATH_PLACES = ("医疗卫生机构", "家中", "其他场所")
DEATH_PLACE_SHARE = (0.55, 0.40, 0.05)


def death_certificates(ctx: Ctx) -> Extract:
    """死亡医学证明（推断）书 the health system's death registry holds: every death since the national
    form (2014) that a medical institution or the township health centre certified and reported
    (``certified`` of them: a few rural deaths are never reported), about the deceased, issued within
    days of the death by a hospital or a health centre of his household county."""
    p, rng = ctx.world.persons, ctx.rng
    who, death = _deaths_recorded(ctx, "deaths_since", "certified", 0.97)
    issued = np.minimum(death + rng.integers(0, 4, who.size).astype("timedelta64[D]"), ctx.day)
    place = rng.choice(len(DEATH_PLACES), who.size, p=np.array(DEATH_PLACE_SHARE))
    county = np.array(places.COUNTY_NAMES)[p.county[who]]
    issuer = np.where(place == 0, np.char.add(county, "人民医院"),
                      np.char.add(county, np.where(p.county[who] == 0, "社区卫生服务中心", "乡镇卫生院")))
    key = ctx.serial("SW", 9)
    cols = person_columns(ctx, who, ctx.wants("swyxzm")) | {
        "meta.record_key": K(strs.cat(strs.num(year_of(issued)), key(who)), key),
        "person.death_date": D(death),
        "swdd": T(strs.take(DEATH_PLACES, place)),
        "qfjg": T(strs.to_arrow(issuer)),
        "qfrq": D(issued),
        "meta.updated_at": S(ctx.stamps(who.size, issued)),
    }
    return extract(cols, person=who)



def disabled_federation(ctx: Ctx) -> dict[str, Extract]:
    ex = licence_register(ctx, "cjrz", ("049",))
    ex.cols["person.disability_category"] = T(ctx.world.licences.detail.take(pa.array(ex.licence)))
    return {"cjrz": ex}






def natural_resources(ctx: Ctx) -> dict[str, Extract]:
    """Real-estate titles and their holders: persons by resident id, entities by USCC or (older
    registrations) organisation code, as the holder id type says."""
    lic, e, rng = ctx.world.licences, ctx.world.entities, ctx.rng
    idx = ctx.licences("035")
    hp, he = licence_holders(ctx, idx)
    ent_safe = np.maximum(he, 0)
    use_org = (he >= 0) & (e.org_code[ent_safe] != "") & (rng.random(idx.size) < 0.2)
    ent_id = np.where(use_org, e.org_code[ent_safe], e.uscc[ent_safe])
    id_type = np.where(hp >= 0, "111", np.where(use_org, "002", "001"))
    reg_time = lic.issue[idx].astype("datetime64[s]") + rng.integers(8 * 3600, 18 * 3600, idx.size).astype(
        "timedelta64[s]"
    )
    cols = licence_columns(ctx, idx, ctx.wants("bdc_qlr")) | {
        "licence.holder_name": N(hp, fallback=e.name.take(pa.array(ent_safe))),
        "licence.holder_id": P(hp, fallback=strs.to_arrow(ent_id)),
        "licence.holder_id_type": C(id_type),
        "licence.issue_date": S(reg_time),  # the registration time, to the second
    }
    return {"bdc_qlr": extract(cols, person=hp, entity=he, licence=idx)}


#: The two kinds of home sale contract the housing department files (网签备案): a new home sold on
#: presale (商品房买卖合同（预售）) and an existing home (存量房买卖合同).
CONTRACT_KINDS = ("商品房买卖合同（预售）", "存量房买卖合同")
#: Days from signing to the title's registration: a presold home is delivered and registered six
#: months to two years after the contract; an existing home's transfer follows within weeks.
NEW_HOME_LAG, EXISTING_HOME_LAG = (180, 730), (20, 60)


def housing_construction(ctx: Ctx) -> dict[str, Extract]:
    """Home sale contracts signed online and filed with the housing department (网签备案), which the
    law requires of every sale of a new or an existing home: an urban household's title came from a
    purchase (``purchased`` of them - the others were inherited, given or re-registered when the
    registers were unified; a village household's house stands on its own homestead plot, which is
    not sold), and its buyer's contract was signed before it - a presold new home (``new_home`` of
    the purchases) months or years before, an existing one weeks before - and filed the day it was
    signed or within two days."""
    w, lic, rng = ctx.world, ctx.world.licences, ctx.rng
    idx = ctx.licences("035")
    buyer, _ent = licence_holders(ctx, idx)
    urban = (buyer >= 0) & w.households.urban[w.persons.household[np.maximum(buyer, 0)]]
    keep = urban & (rng.random(idx.size) < ctx.prof.cov("purchased", 0.8))
    idx, buyer = idx[keep], buyer[keep]
    new = rng.random(idx.size) < ctx.prof.cov("new_home", 0.6)
    lag = np.where(new, rng.integers(NEW_HOME_LAG[0], NEW_HOME_LAG[1] + 1, idx.size),
                   rng.integers(EXISTING_HOME_LAG[0], EXISTING_HOME_LAG[1] + 1, idx.size))
    signed = lic.issue[idx].astype("datetime64[D]") - lag.astype("timedelta64[D]")
    filed = signed + rng.integers(0, 3, idx.size).astype("timedelta64[D]")
    key = ctx.serial("WQ", 9)
    cols = person_columns(ctx, buyer, ctx.wants("wqba_mm")) | {
        "meta.record_key": K(strs.cat(strs.num(year_of(filed)), key(np.arange(idx.size))), key),
        "htlx": T(strs.take(CONTRACT_KINDS, np.where(new, 0, 1))),
        "fwzl": T(lic.detail.take(pa.array(idx))),
        "qyrq": D(signed),
        "barq": D(filed),
        "meta.updated_at": S(ctx.stamps(idx.size, filed)),
    }
    return {"wqba_mm": extract(cols, person=buyer, licence=idx)}
