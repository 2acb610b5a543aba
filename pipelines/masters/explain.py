"""Explanations over the gold store: why any two records of a master scored what they did.

The build keeps what scoring needs: every record's features (``<master>_rec`` of the state file,
with its current master id), the term-frequency tables (``<master>_tf_<feature>``) and the trained
m, u and prior (``match_params``, in the gold file).  A build changes the state file in place and
holds it open while it runs, so explanations are unavailable (:class:`StateBusy`, a 503) until
the build finishes.  From them :func:`explain_gold` breaks the match weight of any pair
down per comparison level (:mod:`pipelines.resolve.explain`) - a queued pair, two records of one
master, or two a steward suspects belong together - without rebuilding anything.  A pair the build
queued as ``conflicting_keys`` is explained as it was scored: with the configuration's ``ignore``
comparisons neutral; a queued pair carries the weight the build stored (``review_queue``) beside.

Callers: ``masterdata steward explain``, the stewards' API endpoint and the console's explain page.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.db import connect
from core.errors import InputError, UnavailableError
from core.sqltext import lit
from pipelines.masters.config import MASTERS, master_config
from pipelines.masters.gold_file import gold_path, state_path
from pipelines.resolve.comparisons import Params
from pipelines.resolve.explain import Explanation, UnknownRecord, explain, neighbours
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql

#: at most this many neighbours of one record are explained
MAX_NEIGHBOURS = 50


class ExplainError(InputError):
    """A request the gold store cannot explain (one line)."""


class NoGold(UnavailableError):
    """No gold store has been built yet."""


class StateBusy(UnavailableError):
    """A build holds the state file (explanations read it): try again when it has finished."""


@dataclass
class GoldExplanation:
    """The explained pairs of one request on one master."""

    master: str
    build_id: str | None
    explanations: list[Explanation] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"master": self.master, "build_id": self.build_id,
                "explanations": [e.as_dict() for e in self.explanations]}

    def render(self) -> str:
        head = f"{self.master}: {len(self.explanations)} pair(s) explained (build {self.build_id})"
        return "\n".join([head, *(e.render() for e in self.explanations)])


@contextmanager
def gold_sql(path: Path | None = None) -> Iterator[Sql]:
    """An engine connection with the gold file attached read-only as ``gold`` and its state file as
    ``state`` (TEMP tables live on the connection, so a reader never writes either file)."""
    path = path or gold_path()
    state = state_path(path)
    if not path.exists() or not state.exists():
        raise NoGold(f"no gold store at {path} (with its state file): run `masterdata build` first")
    con = connect()
    try:
        con.execute(f"ATTACH {lit(str(path))} AS gold (READ_ONLY)")
        try:
            con.execute(f"ATTACH {lit(str(state))} AS state (READ_ONLY)")
        except duckdb.IOException as e:
            raise StateBusy(f"a build is updating {state}; explanations are available again when it has finished") from e
        sql = Sql(con)
        install_resolve_macros(sql)
        yield sql
    finally:
        con.close()


def _master_of(sql: Sql, ids: list[str], master: str | None) -> str:
    """The master the ids belong to: as given, or the one whose records hold the first id."""
    if master:
        if master not in MASTERS:
            raise ExplainError(f"unknown master {master!r}; known: {', '.join(MASTERS)}")
        return master
    for m in MASTERS:
        if sql.table_exists(f"{m}_rec", "state") and sql.one(
                f"SELECT count(*) FROM state.main.{m}_rec WHERE record_id = ? OR master_id = ?", [ids[0], ids[0]]):
            return m
    raise UnknownRecord(f"no record or master {ids[0]!r} in the gold store")


def _params(sql: Sql, master: str) -> Params:
    rows = sql.rows("SELECT comparison, level, m, u, trained, prior FROM gold.match_params WHERE master = ?", [master])
    if not rows:
        raise ExplainError(f"the {master} master has no trained match parameters (no probabilistic matching "
                           f"in its configuration, or not built yet)")
    keys = ("comparison", "level", "m", "u", "trained", "prior")
    return Params.from_rows([dict(zip(keys, r)) for r in rows])


def _record_of(sql: Sql, master: str, ident: str) -> str:
    """A record id as given, or the first record of a master id."""
    rec = f"state.main.{master}_rec"
    if sql.one(f"SELECT count(*) FROM {rec} WHERE record_id = ?", [ident]):
        return ident
    first = sql.one(f"SELECT min(record_id) FROM {rec} WHERE master_id = ?", [ident])
    if first is None:
        raise UnknownRecord(f"no {master} record or master {ident!r} in the gold store")
    return str(first)


def _queued(sql: Sql, master: str) -> None:
    """TEMP ``__queued`` (l, r, weight, conflict): the master's queued pairs by record number."""
    rec = f"state.main.{master}_rec"
    sql.run(f"CREATE OR REPLACE TEMP TABLE __queued AS SELECT fl.rid AS l, fr.rid AS r, q.match_weight AS weight, "
            f"q.reason = 'conflicting_keys' AS conflict FROM gold.review_queue AS q "
            f"JOIN {rec} AS fl ON fl.record_id = q.record_id JOIN {rec} AS fr ON fr.record_id = q.candidate_record_id "
            f"WHERE q.master = {lit(master)}")


def _conflicting(sql: Sql, master: str, pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
    rec = f"state.main.{master}_rec"
    rows = sql.rows(f"SELECT a.record_id, b.record_id FROM __queued AS q JOIN {rec} AS a ON a.rid = q.l "
                    f"JOIN {rec} AS b ON b.rid = q.r WHERE q.conflict")
    found = {tuple(sorted((str(a), str(b)))) for a, b in rows}
    return {p for p in pairs if tuple(sorted(p)) in found}


def explain_gold(a: str, b: str | None = None, master: str | None = None, *, limit: int = 10,
                 path: Path | None = None) -> GoldExplanation:
    """Explain the pair ``a`` / ``b`` (record ids), or the record (or master) ``a`` against the
    other records of its master and the candidates it is queued with (at most ``limit``)."""
    if not 1 <= limit <= MAX_NEIGHBOURS:
        raise ExplainError(f"limit must be between 1 and {MAX_NEIGHBOURS}, not {limit}")
    with gold_sql(path) as sql:
        m = _master_of(sql, [a] if b is None else [a, b], master)
        cfg = master_config(m)
        params = _params(sql, m)
        rec = f"state.main.{m}_rec"
        _queued(sql, m)
        if b is not None:
            pairs = [(a, b)]
        else:
            first = _record_of(sql, m, a)
            pairs = [(first, o) for o in neighbours(sql, rec, first, "master_id", limit, "__queued")]
        conflict = _conflicting(sql, m, pairs)
        tf = "state.main.{master}_tf_{feature}"
        done: dict[tuple[str, str], Explanation] = {}
        ignore = cfg.conflict_review.ignore if cfg.conflict_review else []
        for group, with_params in (([x for x in pairs if x not in conflict], params),
                                   ([x for x in pairs if x in conflict], params.neutralised(ignore))):
            for e in explain(sql, cfg, with_params, rec, group, tf_table=tf, scored="__queued",
                             what=f"{m} record"):
                done[(e.left, e.right)] = e
        masters = dict(sql.rows(f"SELECT record_id, master_id FROM {rec} WHERE record_id IN (SELECT unnest(?))",
                                [sorted({x for p in pairs for x in p})]))
        build = sql.one("SELECT max(build_id) FROM gold.builds") if sql.table_exists("builds", "gold") else None
    out = GoldExplanation(m, str(build) if build else None)
    for p in pairs:
        e = done[p]
        ma, mb = masters.get(e.left), masters.get(e.right)
        e.note = f"both in {ma}" if ma == mb else f"{ma} / {mb}"
        if p in conflict:
            e.note += f"; queued as conflicting keys: {', '.join(ignore)} neutral"
        elif e.scored_weight is not None:
            e.note += "; in the review queue"
        out.explanations.append(e)
    return out
