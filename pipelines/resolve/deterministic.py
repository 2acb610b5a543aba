"""Features and the deterministic pass: every record gets a *node* before any probabilistic work.

A node is a set of records that certainly belong together: all records sharing a validated primary
key (a resident ID after repair and 15-to-18 upgrade, a USCC), plus records whose secondary key
(organisation code, registration number) maps onto exactly one primary key through records that
hold both (the crosswalk).  A record with no key is a node of its own.  Nodes holding a primary key
are *anchored*; only records in unanchored nodes ("the rest") start probabilistic comparisons, so
the expensive pass touches a few percent of the records instead of all of them.

The node id is the smallest ``rid`` among its records: deterministic, and cheap (a grouping of the
keys joined back - not a window, which would hold every feature of every record at once).
"""

from __future__ import annotations

from core.errors import InputError
from core.sqltext import lit, q
from pipelines.resolve import pervalue
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.library import PRIVATE_PREFIX
from pipelines.resolve.sql import Sql


def features_sql(cfg: ResolveConfig, source: str, where: str | None = None, *, per_value: bool = True) -> str:
    """SELECT computing ``rid``, ``record_id`` and every feature from the records in ``source``.

    ``rid`` is a 63-bit digest of ``record_id``: deterministic without sorting millions of strings,
    and stable across runs, so a record keeps its number in incremental builds (collisions are
    checked by :func:`check_rids`).  Features may refer to features declared before them (DuckDB
    resolves select-list aliases; Spark 3.4+ does too).  An empty or whitespace-only text feature
    is NULL (``blank_null``): '' is no value, and as a key it would tie every such record together.

    Features named ``_lib_*`` (the normal forms the comparison library derives once and its other
    features read, :mod:`pipelines.resolve.library`) are computed first, as columns of an inner
    SELECT: a select-list alias may not stand for an expression holding a subquery (``rid_normalise``
    looks the area code up), and a column can.  With ``per_value`` those that depend on one input
    column, and the features reading only them, are computed once per distinct value of it and
    joined back (:mod:`pipelines.resolve.pervalue`; same values, a fraction of the work).  The
    SELECT holds the configuration's ``table_features`` (private ones no other part names are
    only read inside it).
    """
    private = {n: e for n, e in cfg.features.items() if n.startswith(PRIVATE_PREFIX)}
    src = f"(SELECT * FROM {source} WHERE {where})" if where else source
    gs = pervalue.groups(cfg.features, set(private)) if private and per_value else []
    done: set[str] = set()
    if gs:
        src, done = pervalue.per_value_source(cfg.features, gs, src, "blank_null")
        for g in gs:
            for n in g.private:
                private.pop(n)
    kept = set(cfg.table_features)
    cols = ", ".join(f"{q('__pv_' + name)} AS {q(name)}" if name in done else
                     f"blank_null(({q(name) if name.startswith(PRIVATE_PREFIX) else expr})) AS {q(name)}"
                     for name, expr in cfg.features.items() if name in kept)
    if private:
        inner = ", ".join(f"({expr}) AS {q(name)}" for name, expr in private.items())
        src = f"(SELECT *, {inner} FROM {src})"
    return f"SELECT {RID} AS rid, record_id, {cols} FROM {src} AS __lib_src"


#: 63-bit record number: the top bits of the record id's MD5 (``hash63``; DuckDB's ``hash()`` of
#: strings is not collision-free enough: 16 collisions among 4.7 million record ids).
RID = "hash63(record_id)"


def check_rids(sql: Sql, table: str) -> None:
    """Fail loudly on a record-number collision (~1e-6 probability at five million records)."""
    dup = sql.one(f"SELECT count(*) - count(DISTINCT rid) FROM {table}")
    if dup:
        raise InputError(f"{table}: {dup} record-number collision(s); rename the colliding record ids")


def det_key_sql(cfg: ResolveConfig, feat: str, alias: str = "f") -> tuple[list[str], str, str]:
    """(statements creating crosswalk maps, the det-key expression, the joins it needs).

    The det key is the primary key, else a secondary key's unique primary through the crosswalk,
    else ``'<key name>:' || value`` of the first secondary key present.
    """
    assert cfg.deterministic
    keys = cfg.deterministic.keys
    pk = keys[0].feature
    stmts: list[str] = []
    joins: list[str] = []
    mapped: list[str] = []
    for i, k in enumerate(keys[1:], start=1):
        m = f"{cfg.master}_xwalk_{i}"
        stmts.append(
            f"CREATE OR REPLACE TEMP TABLE {m} AS SELECT {q(k.feature)} AS v, min({q(pk)}) AS pk FROM {feat} "
            f"WHERE {q(pk)} IS NOT NULL AND {q(k.feature)} IS NOT NULL GROUP BY {q(k.feature)} "
            f"HAVING count(DISTINCT {q(pk)}) = 1"
        )
        joins.append(f"LEFT JOIN {m} AS x{i} ON x{i}.v = {alias}.{q(k.feature)}")
        mapped.append(f"x{i}.pk")
    own = [f"{lit(k.name + ':')} || {alias}.{q(k.feature)}" for k in keys[1:]]
    expr = "coalesce(" + ", ".join([f"{alias}.{q(pk)}", *mapped, *own]) + ")" if len(keys) > 1 else f"{alias}.{q(pk)}"
    return stmts, expr, " ".join(joins)


def anchored_sql(cfg: ResolveConfig, alias: str = "f") -> str:
    """Whether a record is anchored: it holds the primary key, or a secondary key the crosswalk
    maps onto one (over the joins of :func:`det_key_sql`)."""
    assert cfg.deterministic
    keys = cfg.deterministic.keys
    return " OR ".join([f"{alias}.{q(keys[0].feature)} IS NOT NULL"] + [f"x{i}.pk IS NOT NULL" for i in range(1, len(keys))])


def assign_nodes(sql: Sql, cfg: ResolveConfig, feat: str, out: str, splits: str | None = None) -> None:
    """Create ``out``: ``feat`` + node, anchored, det_key (the deterministic partition).

    ``splits`` (record_id, split_key) overrides the det key of records a steward split off, so
    they form their own node; the split's cannot-links keep it apart from the rest afterwards.
    """
    if not cfg.deterministic:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT f.*, f.rid AS node, FALSE AS anchored, "
                f"CAST(NULL AS VARCHAR) AS det_key FROM {feat} AS f")
        return
    stmts, expr, joins = det_key_sql(cfg, feat)
    for s in stmts:
        sql.run(s)
    anchored = anchored_sql(cfg)
    split_join = f"LEFT JOIN {splits} AS s ON s.record_id = f.record_id" if splits else ""
    key = f"coalesce(s.split_key, {expr})" if splits else expr
    # the node of a keyed record: the smallest rid of its key, from a grouping of (key, rid) joined
    # back - a window over the records would hold every feature of every record at once
    nodes = f"SELECT {key} AS det_key, min(f.rid) AS node FROM {feat} AS f {joins} {split_join} GROUP BY 1"
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT f.*, {key} AS det_key, ({anchored}) AS anchored, "
        f"coalesce(n.node, f.rid) AS node FROM {feat} AS f {joins} {split_join} "
        f"LEFT JOIN ({nodes}) AS n ON n.det_key = {key}"
    )
