"""Departments that register papers held by persons: driving, travel, marriage, birth, professions,
veterans, disability, land, woodland and real estate.

Most tables are simply a department's register of its licence types (:func:`~.subjects.licence_register`);
the builders here state only what a register holds beyond the paper and its holder (a couple's
records, a birth certificate's parents, a title's corporate owners).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from pipelines.synthetic import strs
from pipelines.synthetic.extracts.columns import C, Extract, K, N, P, S, T, extract
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


def civil_affairs(ctx: Ctx) -> dict[str, Extract]:
    """Marriage registrations since digitisation (some older ones typed in; both spouses of a couple
    together) and the register of social organisations with their certificates."""
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
    return {"hydj": extract(hydj, person=who, licence=idx), "shzz": extract(shzz, entity=ents, licence=lid)}


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
    """Birth certificates since the register went online (with the parents) and physicians."""
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
    return {"csyxzm": extract(birth, person=child, licence=idx), "ysyyzc": licence_register(ctx, "ysyyzc", ("021",))}



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
