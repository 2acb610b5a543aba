"""Departments that hold legal entities: registers of market entities, taxpayers, statistical units,
public institutions and investment projects, and the registers of entity-held permits.

Each builder states the department's coverage and what is particular to it; the entity's own facts
come from :func:`~.subjects.entity_columns` and a permit register is a
:func:`~.subjects.licence_register`.
"""

from __future__ import annotations

import numpy as np

from pipelines.synthetic import places, strs
from pipelines.synthetic.entities import LEVEL_NAMES
from pipelines.synthetic.extracts.columns import C, D, Extract, K, S, T, extract
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.extracts.subjects import (
    entity_columns,
    licence_columns,
    licence_of_entities,
    licence_register,
    org_code_of,
)
from pipelines.synthetic.population import DAY1


def market_regulation(ctx: Ctx) -> dict[str, Extract]:
    """Every market entity (with its business licence) and the food business licences."""
    e = ctx.world.entities
    ents = ctx.entities(np.isin(e.kind, (0, 1, 2)))
    lid = licence_of_entities(ctx, ("028", "029", "030"), ents)
    last_change = np.where(np.isnat(e.status_date[ents]), e.established[ents], e.status_date[ents])
    main = entity_columns(ctx, ents, ctx.wants("scztdj")) | {
        "meta.record_key": K(ctx.serial("PR3416", 14)(ents), ctx.serial("PR3417", 14)),
        "meta.updated_at": S(ctx.stamps(ents.size, last_change)),
    }
    return {
        "scztdj": extract(main, entity=ents, licence=lid),
        "spjyxk": licence_register(ctx, "spjyxk", ("031",)),
    }


def tax(ctx: Ctx) -> dict[str, Extract]:
    """Taxpayers: most market entities, some others; old ones under their former tax number."""
    e, rng = ctx.world.entities, ctx.rng
    share = np.where(np.isin(e.kind, (0, 1, 2)), ctx.prof.cov("market", 0.75), ctx.prof.cov("other", 0.3))
    ents = ctx.entities(rng.random(e.n) < share)
    legacy_tax = strs.to_arrow(
        np.char.add(e.area[ents].astype(str), np.char.replace(e.org_code[ents], "-", "")),
        mask=e.org_code[ents] == "",
    )
    cols = entity_columns(ctx, ents, ctx.wants("dj_nsrxx"), uscc_alt=legacy_tax) | {
        "meta.record_key": K(ctx.serial("1013416", 13)(ents), ctx.serial("1013417", 13)),
        "zgswjg": T(strs.cat("国家税务总局", strs.take(LEVEL_NAMES, e.level[ents]), "税务局")),
        "meta.updated_at": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"dj_nsrxx": extract(cols, entity=ents)}


def statistics(ctx: Ctx) -> dict[str, Extract]:
    """The directory of statistical units: enterprises, a few individual businesses, half the
    cooperatives; revoked units leave it, and it prints an organisation code for every unit."""
    e, rng = ctx.world.entities, ctx.rng
    share = np.select(
        [e.kind == 1, e.kind == 0, e.kind == 2],
        [ctx.prof.cov("enterprise", 1.0), ctx.prof.cov("individual", 0.05), ctx.prof.cov("coop", 0.5)],
        0.0,
    )
    ents = ctx.entities((rng.random(e.n) < share) & (e.status != 1))
    org = np.where(e.org_code[ents] != "", e.org_code[ents], org_code_of(e.uscc[ents]))
    cols = entity_columns(ctx, ents, ctx.wants("jbdw_ml")) | {
        "entity.org_code": T(strs.to_arrow(org)),
        "entity.status": C(np.where(e.status[ents] == 0, "1", "3")),
        "meta.updated_at": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"jbdw_ml": extract(cols, entity=ents)}


def staffing_office(ctx: Ctx) -> dict[str, Extract]:
    """Public institutions and their 事业单位法人证书."""
    e = ctx.world.entities
    ents = ctx.entities(e.kind == 6)
    lid = licence_of_entities(ctx, ("071",), ents)
    wanted = ctx.wants("sydw")
    cols = entity_columns(ctx, ents, wanted) | licence_columns(ctx, lid, wanted) | {
        "meta.updated_at": S(ctx.stamps(ents.size, e.established[ents])),
    }
    return {"sydw": extract(cols, entity=ents, licence=lid)}


def development_reform(ctx: Ctx) -> dict[str, Extract]:
    """Filed investment projects of a share of the living enterprises, coded by filing month."""
    e, rng = ctx.world.entities, ctx.rng
    pool = ctx.entities((e.kind == 1) & (e.status == 0))
    k = min(
        int(ctx.prof.cov("max_rows", 30000)),
        max(3, int(round(pool.size * ctx.prof.cov("enterprise", 0.08)))),
        pool.size,
    )
    ents = np.sort(rng.choice(pool, size=k, replace=False)) if k else pool[:0]
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
    cols = entity_columns(ctx, ents, ctx.wants("xmba")) | {
        "meta.record_key": K(
            code, lambda i: strs.cat("2611-341600-04-02-", strs.to_arrow(strs.zpad(np.asarray(i) + 1, 6)))
        ),
        "备案日期": D(filed),
    }
    return {"xmba": extract(cols, entity=ents)}







