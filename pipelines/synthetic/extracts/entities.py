"""Departments that hold legal entities: registers of market entities, taxpayers, statistical units
and public institutions, and the registers of entity-held permits.

Each builder states the department's coverage and what is particular to it; the entity's own facts
come from :func:`~.subjects.entity_columns` and a permit register is a
:func:`~.subjects.licence_register`.
"""

from __future__ import annotations

import numpy as np

from pipelines.synthetic import strs
from pipelines.synthetic.entities import LEVEL_NAMES
from pipelines.synthetic.extracts.columns import C, Extract, K, S, T, extract
from pipelines.synthetic.extracts.context import Ctx
from pipelines.synthetic.extracts.subjects import (
    entity_columns,
    licence_columns,
    licence_of_entities,
    licence_register,
    org_code_of,
)


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
