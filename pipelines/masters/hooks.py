"""The build's per-master steps, by name: what ``hooks:`` in ``schemas/masters/*.yaml`` may ask for.

The build never branches on a master's name; a master's configuration lists the steps it needs
and the build runs them at their place:

* ``prepare`` - on the source records before resolution, each creating its output as the input
  plus columns (``holder_links``: a licence's holder, see :mod:`pipelines.masters.licences`);
* ``enrich`` - on the golden records before they are written (``legal_reps``: an entity's legal
  representative linked to the population master; ``licence_identifiers``: GB/T 36904 identifiers
  minted for licences that carry none; ``licence_status``: the status on the build's date).  A step
  that only computes columns from a golden record's own values declares them (``derive``) and they
  are computed while the golden records are assembled: at seed scale a step that rewrites the
  finished table copies ~30 M licence rows to add two columns.

A step declares the columns it fills with other masters' ids (kept pointing at live ids when
those merge) and the gold table it writes beside its master, if any (:class:`SideTable`); the
gold writer writes that table like the master itself.  A new step is a function and one line in
:data:`PREPARE` or :data:`ENRICH`; a configuration naming a step not listed fails when it loads.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Protocol

from core.sqltext import lit, q
from pipelines.masters.licences import link_holders, link_legal_reps, mint_identifiers, status_sql
from pipelines.masters.store import exists, state_exists
from pipelines.resolve.config import MasterConfig
from pipelines.resolve.sql import Sql


class HookContext(Protocol):
    """What a step may use of the build (:class:`pipelines.masters.context.Context`)."""

    sql: Sql
    as_of: date
    cache: set[str]
    #: the master being built is applying a delta (a few thousand records against millions)
    delta: bool

    def cfg(self, master: str) -> MasterConfig: ...


@dataclass(frozen=True)
class SideTable:
    """A gold table an enrich step writes beside its master, ``<master>_<suffix>``: the step leaves
    the rows of the masters being rewritten in TEMP ``<master>_<suffix>_new``; ``key`` is the column
    holding the master's id."""

    suffix: str
    columns: str
    key: str
    #: columns holding other masters' ids
    references: tuple[str, ...] = ()

    def table(self, master: str) -> str:
        return f"{master}_{self.suffix}"

    def rows(self, master: str) -> str:
        return f"{master}_{self.suffix}_new"


@dataclass(frozen=True)
class Prepare:
    #: (context, master, source records, output) -> counts for the build report
    run: Callable[[HookContext, str, str, str], dict[str, int]]
    #: columns of the master table holding other masters' ids
    references: tuple[str, ...] = ()


@dataclass(frozen=True)
class Enrich:
    #: (context, master, golden records) -> None; rewrites or updates the golden TEMP table
    run: Callable[[HookContext, str, str], None] | None = None
    references: tuple[str, ...] = ()
    side: SideTable | None = None
    #: (context) -> {column: SQL over the golden record's columns}: added as the golden records are
    #: assembled (:func:`pipelines.masters.survivorship.build_golden`), after every attribute
    derive: Callable[[HookContext], dict[str, str]] | None = None


def derived_columns(ctx: HookContext, cfg: MasterConfig) -> dict[str, str]:
    """The columns the master's ``enrich`` steps derive, in the order the configuration lists them."""
    out: dict[str, str] = {}
    for name in cfg.hooks.enrich:
        if derive := ENRICH[name].derive:
            out.update(derive(ctx))
    return out


def key_map(ctx: HookContext, master: str, key: str, wanted: str | None = None) -> str:
    """TEMP (key, master_id): the values of one deterministic key of ``master`` and the master
    holding each, from the state.  The whole map is built once per build and cached: a master is
    final by the time a later master asks (:data:`pipelines.masters.config.MASTERS` is the build
    order).  ``wanted`` (a SELECT of one column): only those keys, read afresh and not cached - a
    delta looks up a few thousand keys, and the whole map is a pass over every record the master
    holds (at 1 M persons 1.8 s for the map and 2.3 s to copy the maps' union; it grows with the
    city, not with the day)."""
    name = f"__keys_{master}_{key}" + ("_wanted" if wanted else "")
    if wanted is None and name in ctx.cache:
        return name
    cfg = ctx.cfg(master)
    feature = _key_feature(cfg, key)
    if feature and state_exists(ctx.sql, f"{master}_rec"):
        only = f" AND {q(feature)} IN ({wanted})" if wanted else ""
        select = (f"SELECT {q(feature)} AS key, min(master_id) AS master_id FROM state.main.{master}_rec "
                  f"WHERE {q(feature)} IS NOT NULL{only} GROUP BY {q(feature)}")
    else:
        select = "SELECT CAST(NULL AS VARCHAR) AS key, CAST(NULL AS VARCHAR) AS master_id LIMIT 0"
    ctx.sql.run(f"CREATE OR REPLACE TEMP TABLE {name} AS {select}")
    if wanted is None:
        ctx.cache.add(name)
    return name


def _key_feature(cfg: MasterConfig, key: str) -> str | None:
    """The feature holding deterministic key ``key`` of a master (None: the master has no such key)."""
    return next((k.feature for k in cfg.deterministic.keys if k.name == key), None) if cfg.deterministic else None


def holds_keys(ctx: HookContext, master: str, key: str) -> bool:
    """Whether ``master`` holds values of key ``key`` to look up (its state exists)."""
    return _key_feature(ctx.cfg(master), key) is not None and state_exists(ctx.sql, f"{master}_rec")


def forget(ctx: HookContext, master: str) -> None:
    """Drop the key maps of ``master`` from the cache (it is being rebuilt)."""
    ctx.cache -= {n for n in ctx.cache if n.startswith(f"__keys_{master}_")}


def holder_links(ctx: HookContext, master: str, src: str, out: str) -> dict[str, int]:
    """``out`` = the records of ``src`` + holder_kind, holder_master_id, holder_link."""
    holders = ctx.cfg(master).holders
    masters = list(dict.fromkeys(h.master for h in holders.values()))
    empty = "SELECT CAST(NULL AS VARCHAR) AS holder_kind, CAST(NULL AS VARCHAR) AS record_id, " \
            "CAST(NULL AS VARCHAR) AS master_id LIMIT 0"
    # the holder masters' records (views: joins only touch what they need)
    parts = [f"SELECT {lit(m)} AS holder_kind, record_id, master_id FROM gold.{m}_xref" for m in masters
             if exists(ctx.sql, f"{m}_xref") and state_exists(ctx.sql, f"{m}_rec")]
    ctx.sql.run(f"CREATE OR REPLACE TEMP VIEW {master}_holder_records AS {' UNION ALL '.join(parts) or empty}")
    pairs = list(dict.fromkeys((h.master, h.key) for h in holders.values()))
    held = [m for m, k in pairs if holds_keys(ctx, m, k)]

    def keys(wanted: str) -> str:
        # a delta's few thousand licences: only the keys they name; a full build: every key (cached)
        return " UNION ALL ".join(f"SELECT {lit(m)} AS holder_kind, {lit(k)} AS kind, key, master_id "
                                  f"FROM {key_map(ctx, m, k, wanted if ctx.delta else None)}" for m, k in pairs)

    counts = link_holders(ctx.sql, src, f"{master}_holder_records", keys, f"{master}_holder", holders, held)
    ctx.sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT s.*, h.holder_kind, h.holder_master_id, "
                f"h.holder_link FROM {src} AS s JOIN {master}_holder AS h ON h.record_id = s.record_id")
    return counts


def legal_reps(ctx: HookContext, master: str, golden: str) -> None:
    """Link each legal representative to the population master holding their resident ID."""
    person = ctx.cfg("person")
    assert person.deterministic, "the population master is keyed by the resident ID"
    rows = LEGAL_REPS.rows(master)
    wanted = f"SELECT legal_rep_id_number FROM {golden}" if ctx.delta else None
    link_legal_reps(ctx.sql, golden, key_map(ctx, "person", person.deterministic.keys[0].name, wanted), rows)
    ctx.sql.run(f"CREATE OR REPLACE TEMP TABLE {golden} AS SELECT g.*, l.person_master_id AS legal_rep_master_id "
                f"FROM {golden} AS g LEFT JOIN {rows} AS l ON l.entity_master_id = g.master_id")


def licence_identifiers(ctx: HookContext, master: str, golden: str) -> None:
    mint_identifiers(ctx.sql, golden)


def licence_status(ctx: HookContext) -> dict[str, str]:
    return {"status_as_of": status_sql(ctx.as_of), "as_of": f"DATE {lit(ctx.as_of.isoformat())}"}


LEGAL_REPS = SideTable("legal_rep", "entity_master_id VARCHAR, legal_rep_name VARCHAR, legal_rep_id_number VARCHAR, "
                                    "person_master_id VARCHAR, link VARCHAR", key="entity_master_id",
                       references=("person_master_id",))

#: name -> step, for ``hooks.prepare``
PREPARE: dict[str, Prepare] = {
    "holder_links": Prepare(holder_links, references=("holder_master_id",)),
}
#: name -> step, for ``hooks.enrich`` (run in the order the configuration lists them)
ENRICH: dict[str, Enrich] = {
    "legal_reps": Enrich(legal_reps, references=("legal_rep_master_id",), side=LEGAL_REPS),
    "licence_identifiers": Enrich(licence_identifiers),
    "licence_status": Enrich(derive=licence_status),
}


def side_tables(cfg: MasterConfig) -> list[SideTable]:
    return [s for name in cfg.hooks.enrich if (s := ENRICH[name].side)]


def references(cfg: MasterConfig) -> list[tuple[str, str]]:
    """(gold table, column) pairs of this master holding other masters' ids."""
    out = [(f"{cfg.master}_master", c) for name in cfg.hooks.prepare for c in PREPARE[name].references]
    for name in cfg.hooks.enrich:
        e = ENRICH[name]
        out += [(f"{cfg.master}_master", c) for c in e.references]
        out += [(e.side.table(cfg.master), c) for c in e.side.references] if e.side else []
    return out
