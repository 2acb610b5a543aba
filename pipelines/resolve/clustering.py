"""Clustering scored pairs into entities without chaining.

Connected components over match edges chain: one wrong link glues two people together, and every
record of both follows.  Here edges are applied greedily, strongest first, to a union-find whose
components carry their constraint values, and an edge is refused when the merged component would
hold

* two different values of a ``distinct`` feature (two valid resident IDs in one person, two valid
  USCCs in one entity);
* a record's ``foreign`` identifier as its key (the infant filed under the mother's ID never joins
  the mother);
* a steward's "not a match" (cannot-link) between its two sides.

Steward "match" decisions are applied first and may override the distinct rule (a steward knows a
person was re-issued a new ID).  A record whose two best candidate clusters cannot be merged and
score within ``ambiguity_bits`` of each other (two 张伟 born the same day, twins sharing a name) is
not auto-linked to either: it goes to the review queue.  Edges between the review and match
thresholds go to the queue too, and so do pairs of clusters with *different* keys that agree on
everything else (``conflict_review``: a person re-issued a new ID number), which no rule may merge.

Graph work runs in Python only on the nodes that have candidate edges (a small share of all), as
arrays of ints; the partition itself stays in the database.
"""

from __future__ import annotations

from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import numpy as np
import pyarrow as pa

from core.sqltext import lit, q
from pipelines.resolve.comparisons import Params, score_pairs, weight_of
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.sql import Sql


@dataclass
class ClusterStats:
    candidate_edges: int = 0
    accepted: int = 0
    refused: int = 0
    ambiguous: int = 0
    steward_links: int = 0
    review: int = 0
    conflicts: int = 0
    refusals: dict[str, int] = field(default_factory=dict)


def _merge(a: object, b: object) -> object:
    """Union of two constraint values: None, one value, or a frozenset of several (rare)."""
    if a is None or a == b:
        return b
    if b is None:
        return a
    sa = a if isinstance(a, frozenset) else frozenset((a,))
    sb = b if isinstance(b, frozenset) else frozenset((b,))
    return sa | sb


def _conflict(a: object, b: object) -> bool:
    """Distinct-key rule: two non-empty value sets conflict unless one contains the other."""
    if a is None or b is None or a == b:
        return False
    sa = a if isinstance(a, frozenset) else frozenset((a,))
    sb = b if isinstance(b, frozenset) else frozenset((b,))
    return not (sa <= sb or sb <= sa)


def _meets(foreign: object, keys: object) -> bool:
    if foreign is None or keys is None:
        return False
    sf = foreign if isinstance(foreign, frozenset) else frozenset((foreign,))
    sk = keys if isinstance(keys, frozenset) else frozenset((keys,))
    return not sf.isdisjoint(sk)


class _Values:
    """One constraint value per node in 4 bytes: a code >= 0 (one value), -1 (none) or -2-k (the
    k-th of ``sets``: several values, rare).

    Codes stand for the values' strings, from one dictionary over every constraint feature, so a
    foreign id meets a primary key exactly when their strings are equal.  A city's clustering
    holds millions of nodes: as Python strings in lists their values cost ~20x this array.
    """

    __slots__ = ("codes", "sets")

    def __init__(self, codes: array[int]) -> None:
        self.codes = codes
        self.sets: list[frozenset[int]] = []

    def __getitem__(self, i: int) -> object:
        c = self.codes[i]
        if c >= 0:
            return c
        return None if c == -1 else self.sets[-c - 2]

    def __setitem__(self, i: int, value: object) -> None:
        if value is None:
            self.codes[i] = -1
        elif isinstance(value, frozenset):
            self.sets.append(value)
            self.codes[i] = -1 - len(self.sets)
        elif isinstance(value, int):
            self.codes[i] = value
        else:
            raise TypeError(f"a constraint value is None, a code or a frozenset of codes, not {type(value).__name__}")


class _UnionFind:
    """Union-find over node indexes 0..n-1 whose roots carry their constraint values.

    A value is None, a single code, or (after a merge of different values, or for a node holding
    several) a frozenset of codes - so the common case costs a comparison, not a set operation.
    Parents are an int32 array: 4 bytes a node, whatever the size of the city.
    """

    def __init__(self, n: int, distinct: list[_Values], foreign: _Values, keys: _Values) -> None:
        self.parent = array("i", range(n))
        self.distinct = distinct  # per distinct feature: one value per node
        self.foreign = foreign
        self.keys = keys  # primary-key values (what foreign ids are checked against)
        self.cannot: dict[int, set[int]] = {}

    def find(self, x: int) -> int:
        parent = self.parent
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    def why_not(self, a: int, b: int) -> str | None:
        """Reason the union of roots a and b is forbidden, or None."""
        if self.cannot and (any(self.find(x) == b for x in self.cannot.get(a, ()))
                            or any(self.find(x) == a for x in self.cannot.get(b, ()))):
            return "cannot_link"
        for d in self.distinct:
            if _conflict(d[a], d[b]):
                return "distinct_key"
        if _meets(self.foreign[a], self.keys[b]) or _meets(self.foreign[b], self.keys[a]):
            return "foreign_id"
        return None

    def union(self, a: int, b: int) -> int:
        """Merge roots a and b under the smaller, so a root is always its component's smallest index."""
        if b < a:
            a, b = b, a
        self.parent[b] = a
        for d in self.distinct:
            d[a] = _merge(d[a], d[b])
        self.foreign[a] = _merge(self.foreign[a], self.foreign[b])
        self.keys[a] = _merge(self.keys[a], self.keys[b])
        if b in self.cannot:
            self.cannot.setdefault(a, set()).update(self.cannot.pop(b))
        return a


def node_edges(sql: Sql, cfg: ResolveConfig, rec: str, scored: str, out: str) -> None:
    """Create ``out`` (a < b nodes, w, l, r best record pair): the strongest pair per node pair."""
    review_w = weight_of(cfg.thresholds.review)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT a, b, w, l, r FROM ("
        f"SELECT least(nl.node, nr.node) AS a, greatest(nl.node, nr.node) AS b, s.weight AS w, s.l, s.r "
        f"FROM {scored} AS s JOIN {rec} AS nl ON nl.rid = s.l JOIN {rec} AS nr ON nr.rid = s.r "
        f"WHERE s.weight >= {review_w!r} AND nl.node <> nr.node) "
        f"QUALIFY row_number() OVER (PARTITION BY a, b ORDER BY w DESC, l, r) = 1"
    )


def mark_ambiguous(sql: Sql, cfg: ResolveConfig, rec: str, edges: str) -> None:
    """Add ``ambiguous`` to ``edges``: an unanchored node's near-equal best links to anchored nodes."""
    match_w = weight_of(cfg.thresholds.match)
    bits = cfg.thresholds.ambiguity_bits
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {edges}_amb AS WITH e AS ("
        f"SELECT a AS u, b AS v, w FROM {edges} WHERE w >= {match_w!r} "
        f"UNION ALL SELECT b AS u, a AS v, w FROM {edges} WHERE w >= {match_w!r}), "
        f"na AS (SELECT node, bool_or(anchored) AS anchored FROM {rec} WHERE node IN (SELECT u FROM e) "
        f"GROUP BY node), "
        f"c AS (SELECT e.u, e.v, e.w FROM e JOIN na AS nu ON nu.node = e.u JOIN na AS nv ON nv.node = e.v "
        f"WHERE NOT nu.anchored AND nv.anchored), "
        f"t AS (SELECT u, max(w) AS w1 FROM c GROUP BY u), "
        f"near AS (SELECT c.u, c.v FROM c JOIN t ON t.u = c.u WHERE c.w >= t.w1 - {bits!r}), "
        f"multi AS (SELECT u FROM near GROUP BY u HAVING count(*) >= 2) "
        f"SELECT least(near.u, near.v) AS a, greatest(near.u, near.v) AS b FROM near JOIN multi ON multi.u = near.u"
    )
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {edges} AS SELECT e.*, (x.a IS NOT NULL) AS ambiguous FROM {edges} AS e "
        f"LEFT JOIN (SELECT DISTINCT a, b FROM {edges}_amb) AS x ON x.a = e.a AND x.b = e.b"
    )
    sql.run(f"DROP TABLE {edges}_amb")


#: Candidate edges fetched into Python at a time: the clustering's Python side stays a few arrays of
#: 4-8 bytes a node plus one chunk, whatever the number of edges.
EDGE_CHUNK = 500_000

#: ``link_kind`` of a node in ``_Links.kind``: none yet, a probabilistic link, a steward's decision.
_NONE, _PROBABILISTIC, _STEWARD = 0, 1, 2
_REASONS = ("cannot_link", "distinct_key", "foreign_id")


def _sql_case(column: str, labels: dict[int, str]) -> str:
    """SQL mapping the small int codes of ``column`` to their labels (NULL for any other)."""
    return f"CASE {column} " + " ".join(f"WHEN {k} THEN {lit(v)}" for k, v in labels.items()) + " END"


def _involved(sql: Sql, cand: str, steward_nodes: list[int], out: str) -> int:
    """Create ``out`` (node, i): the nodes of candidate edges and steward decisions, numbered
    0..n-1 in node order (so a smaller node has a smaller index); returns n."""
    parts = [f"SELECT a AS node FROM {cand}", f"SELECT b FROM {cand}"]
    if steward_nodes:
        sql.register("__steward_nodes", pa.table({"node": pa.array(sorted(set(steward_nodes)), pa.int64())}))
        parts.append("SELECT node FROM __steward_nodes")
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT node, CAST(row_number() OVER (ORDER BY node) - 1 "
            f"AS INTEGER) AS i FROM ({' UNION '.join(parts)})")
    if steward_nodes:
        sql.unregister("__steward_nodes")
    return int(sql.one(f"SELECT count(*) FROM {out}") or 0)


def _node_constraints(sql: Sql, cfg: ResolveConfig, rec: str, ix: str, n: int
                      ) -> tuple[list[_Values], _Values, _Values]:
    """Per involved node (index of ``ix``): its values of each distinct feature, its foreign ids and
    its primary keys, as codes (:class:`_Values`).

    The values are coded in the database (one ``dense_rank`` over every feature's strings) and come
    back one feature at a time as int32 columns: a node's single value is the common case and
    costs 4 bytes; the few nodes holding several values of a feature get a frozenset.
    """
    foreign = cfg.deterministic.foreign if cfg.deterministic else None
    feats = [*cfg.distinct, foreign or "", cfg.primary_key or ""]
    used = [(j, f) for j, f in enumerate(feats) if f]
    vals = f"{ix}_vals"
    if used:
        parts = [f"SELECT DISTINCT n.i, {j} AS slot, CAST(f.{q(feat)} AS VARCHAR) AS v FROM {ix} AS n "
                 f"JOIN {rec} AS f ON f.node = n.node WHERE f.{q(feat)} IS NOT NULL" for j, feat in used]
        sql.run(f"CREATE OR REPLACE TEMP TABLE {vals} AS SELECT i, slot, CAST(dense_rank() OVER (ORDER BY v) "
                f"AS INTEGER) AS code, count(*) OVER (PARTITION BY i, slot) AS k FROM ({' UNION ALL '.join(parts)})")
    out: list[_Values] = []
    for j, feat in enumerate(feats):
        codes = np.full(n, -1, dtype=np.int32)
        several: list[tuple[int, frozenset[int]]] = []
        if feat:
            one = sql.arrow(f"SELECT i, code FROM {vals} WHERE slot = {j} AND k = 1")
            codes[one.column("i").to_numpy()] = one.column("code").to_numpy()
            del one
            many = sql.arrow(f"SELECT i, list(code) AS codes FROM {vals} WHERE slot = {j} AND k > 1 GROUP BY i")
            several = [(int(i), frozenset(c)) for i, c in zip(many.column("i").to_pylist(),
                                                              many.column("codes").to_pylist())]
        values = _Values(array("i", codes.tobytes()))
        for i, s in several:
            values[i] = s
        out.append(values)
    if used:
        sql.run(f"DROP TABLE {vals}")
    k = len(cfg.distinct)
    return out[:k], out[k], out[k + 1]


def _edge_chunks(sql: Sql, cand: str, ix: str, n_edges: int) -> Iterator[tuple[list[int], list[int], list[float]]]:
    """The candidate edges as (index a, index b, weight), strongest first (ties by node pair), in
    chunks of :data:`EDGE_CHUNK`: numbered once in the database, fetched a range at a time."""
    num = f"{cand}_k"
    sql.run(f"CREATE OR REPLACE TEMP TABLE {num} AS SELECT x.i AS ia, y.i AS ib, c.w, "
            f"row_number() OVER (ORDER BY c.w DESC, c.a, c.b) AS k FROM {cand} AS c "
            f"JOIN {ix} AS x ON x.node = c.a JOIN {ix} AS y ON y.node = c.b")
    for lo in range(0, n_edges, EDGE_CHUNK):
        got = sql.arrow(f"SELECT ia, ib, w FROM {num} WHERE k > {lo} AND k <= {lo + EDGE_CHUNK} ORDER BY k")
        chunk = got.column("ia").to_pylist(), got.column("ib").to_pylist(), got.column("w").to_pylist()
        del got
        yield chunk
    sql.run(f"DROP TABLE {num}")


def _write_clusters(sql: Sql, find: Callable[[int], int], n: int, kind: array, weight: array, ix: str,
                    out: str) -> None:
    """Create ``out`` (node, cluster, link_weight, link_kind) from the union-find's components.

    The cluster id is the smallest node of the component (node ids are smallest rids: deterministic);
    indexes follow node order, so that is the node of the component's smallest index. The arrays go to
    DuckDB as Arrow arrays of ints and are joined to the node index there, not row by row in Python.
    """
    roots = np.frombuffer(array("i", map(find, range(n))), dtype=np.int32)
    first = np.full(n, n, dtype=np.int32)
    np.minimum.at(first, roots, np.arange(n, dtype=np.int32))
    kinds = np.frombuffer(kind, dtype=np.int8)
    sql.register("__nodemap", pa.table({
        "i": pa.array(np.arange(n, dtype=np.int32)), "ci": pa.array(first[roots]),
        "w": pa.array(np.frombuffer(weight, dtype=np.float64), mask=kinds != _PROBABILISTIC),
        "kind": pa.array(kinds),
    }))
    del roots, first
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT x.node, c.node AS cluster, m.w AS link_weight, "
            f"{_sql_case('m.kind', {_PROBABILISTIC: 'probabilistic', _STEWARD: 'steward'})} AS link_kind "
            f"FROM __nodemap AS m JOIN {ix} AS x ON x.i = m.i JOIN {ix} AS c ON c.i = m.ci")
    sql.unregister("__nodemap")


def _write_refused(sql: Sql, refused: tuple[array, array, array, array], ix: str, out: str) -> None:
    """Create ``{out}_refused`` (a, b, w, reason) from the refused edges' index arrays."""
    ref_a, ref_b, ref_w, ref_why = refused
    sql.register("__refused", pa.table({
        "ia": pa.array(np.frombuffer(ref_a, dtype=np.int32)), "ib": pa.array(np.frombuffer(ref_b, dtype=np.int32)),
        "w": pa.array(np.frombuffer(ref_w, dtype=np.float64)), "why": pa.array(np.frombuffer(ref_why, dtype=np.int8)),
    }))
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out}_refused AS SELECT x.node AS a, y.node AS b, r.w, "
            f"{_sql_case('r.why', dict(enumerate(_REASONS)))} AS reason FROM __refused AS r "
            f"JOIN {ix} AS x ON x.i = r.ia JOIN {ix} AS y ON y.i = r.ib")
    sql.unregister("__refused")


def cluster(sql: Sql, cfg: ResolveConfig, rec: str, edges: str, out: str,
            must_links: list[tuple[int, int]] | None = None,
            cannot_links: list[tuple[int, int]] | None = None) -> ClusterStats:
    """Create ``out`` (node, cluster, link_weight, link_kind) for every node that changed cluster
    and ``{out}_refused`` (a, b, w, reason) for refused match edges; ``must_links`` and
    ``cannot_links`` are node pairs from steward decisions.

    Only the union-find runs in Python, over node indexes (``{out}_ix`` maps them to nodes) and
    edges streamed in chunks; its memory is a few bytes per involved node (parents, constraint
    codes, link weights) - not Python objects per edge, which at a million persons' records cost
    gigabytes outside DuckDB's memory limit.
    """
    stats = ClusterStats()
    match_w = weight_of(cfg.thresholds.match)
    must_links = must_links or []
    cannot_links = cannot_links or []
    cand, ix = f"{out}_cand", f"{out}_ix"
    sql.run(f"CREATE OR REPLACE TEMP TABLE {cand} AS SELECT a, b, w FROM {edges} WHERE w >= {match_w!r} "
            f"AND NOT ambiguous")
    stats.candidate_edges = int(sql.one(f"SELECT count(*) FROM {cand}") or 0)
    stats.ambiguous = int(sql.one(f"SELECT count(*) FROM {edges} WHERE ambiguous") or 0)
    steward_nodes = [x for e in must_links + cannot_links for x in e]
    n = _involved(sql, cand, steward_nodes, ix)
    index: dict[int, int] = {}
    if steward_nodes:
        index = {int(a): int(b) for a, b in sql.rows(
            f"SELECT node, i FROM {ix} WHERE node IN ({', '.join(str(int(x)) for x in set(steward_nodes))})")}
    distinct, foreign, keys = _node_constraints(sql, cfg, rec, ix, n)
    uf = _UnionFind(n, distinct, foreign, keys)
    for a, b in cannot_links:
        ia, ib = index[a], index[b]
        uf.cannot.setdefault(ia, set()).add(ib)
        uf.cannot.setdefault(ib, set()).add(ia)
    weight = array("d", bytes(8 * n))  # a node's strongest accepted link
    kind = array("b", bytes(n))  # _NONE / _PROBABILISTIC / _STEWARD
    for a, b in must_links:
        ra, rb = uf.find(index[a]), uf.find(index[b])
        if ra != rb:
            uf.union(ra, rb)
            stats.steward_links += 1
        for x in (index[a], index[b]):
            kind[x] = _STEWARD
    ref_a, ref_b, ref_w, ref_why = array("i"), array("i"), array("d"), array("b")
    find, why_not, union = uf.find, uf.why_not, uf.union
    for col_a, col_b, col_w in _edge_chunks(sql, cand, ix, stats.candidate_edges):
        for a, b, w in zip(col_a, col_b, col_w):
            ra, rb = find(a), find(b)
            if ra == rb:
                continue
            reason = why_not(ra, rb)
            if reason:
                ref_a.append(a)
                ref_b.append(b)
                ref_w.append(w)
                ref_why.append(_REASONS.index(reason))
                stats.refusals[reason] = stats.refusals.get(reason, 0) + 1
                continue
            union(ra, rb)
            stats.accepted += 1
            for x in (a, b):
                k = kind[x]
                if k == _NONE or (k != _STEWARD and weight[x] < w):
                    weight[x] = w
                    kind[x] = _PROBABILISTIC
    stats.refused = len(ref_a)
    _write_clusters(sql, find, n, kind, weight, ix, out)
    _write_refused(sql, (ref_a, ref_b, ref_w, ref_why), ix, out)
    sql.run(f"DROP TABLE {cand}")
    sql.run(f"DROP TABLE {ix}")
    return stats


def record_clusters(sql: Sql, cfg: ResolveConfig, rec: str, nodemap: str, edges: str, out: str) -> None:
    """Create ``out`` (rid, record_id, cluster, rule, weight): every record's cluster and how it got there."""
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT f.rid, f.record_id, coalesce(m.cluster, f.node) AS cluster, "
        f"CASE WHEN m.link_kind = 'steward' THEN 'steward' "
        f"WHEN f.anchored THEN 'key' "
        f"WHEN m.link_weight IS NOT NULL THEN 'probabilistic' "
        f"WHEN f.det_key IS NOT NULL THEN 'key_secondary' "
        f"WHEN m.cluster IS NOT NULL THEN 'probabilistic' "
        f"ELSE 'singleton' END AS rule, "
        f"CASE WHEN NOT f.anchored THEN m.link_weight END AS weight "
        f"FROM {rec} AS f LEFT JOIN {nodemap} AS m ON m.node = f.node"
    )


def review_items(sql: Sql, cfg: ResolveConfig, edges: str, clusters: str, nodemap: str, out: str) -> int:
    """Create ``out`` (l, r, weight, reason): pairs a steward should look at, none already together."""
    match_w = weight_of(cfg.thresholds.match)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS WITH items AS ("
        f"SELECT l, r, w AS weight, 'uncertain' AS reason FROM {edges} WHERE w < {match_w!r} "
        f"UNION ALL SELECT l, r, w, 'ambiguous' FROM {edges} WHERE ambiguous "
        f"UNION ALL SELECT e.l, e.r, e.w, x.reason FROM {nodemap}_refused AS x "
        f"JOIN {edges} AS e ON e.a = x.a AND e.b = x.b "
        f"WHERE NOT EXISTS (SELECT 1 FROM {nodemap} AS m WHERE m.node IN (x.a, x.b) AND m.link_weight IS NOT NULL)) "
        f"SELECT i.* FROM items AS i JOIN {clusters} AS cl ON cl.rid = i.l JOIN {clusters} AS cr ON cr.rid = i.r "
        f"WHERE cl.cluster <> cr.cluster "
        f"QUALIFY row_number() OVER (PARTITION BY i.l, i.r ORDER BY i.weight DESC, i.reason) = 1"
    )
    return int(sql.one(f"SELECT count(*) FROM {out}") or 0)


def conflict_review_items(sql: Sql, cfg: ResolveConfig, params: Params, rec: str, clusters: str, review: str) -> int:
    """Queue pairs of clusters with different keys that agree on everything else (``conflict_review``).

    Both sides are anchored records; the pair's weight leaves out the ``ignore`` comparisons (the
    differing ID would veto it), and only pairs at the match threshold or above are queued, once
    per pair of clusters, with reason ``conflicting_keys``.
    """
    cr = cfg.conflict_review
    if not cr:
        return 0
    p = cfg.master
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_kraw (l BIGINT, r BIGINT, rule INTEGER)")
    for i, rule in enumerate(cr.rules):
        # one record per (cluster, key value): a person's five records agreeing on name and birth
        # date must not become twenty-five candidate pairs
        keys = [q(k) for k in rule.keys]
        kc = ", ".join(keys)
        on = " AND ".join(f"a.{k} = b.{k}" for k in keys)
        not_null = " AND ".join(f"{k} IS NOT NULL" for k in keys)
        sql.run(
            f"INSERT INTO {p}_kraw WITH k AS (SELECT node, min(rid) AS rid, {kc} FROM {rec} WHERE anchored AND "
            f"{not_null} GROUP BY node, {kc}), big AS (SELECT {kc} FROM k GROUP BY {kc} HAVING count(*) > "
            f"{rule.max_block}) SELECT a.rid AS l, b.rid AS r, {i} AS rule FROM k AS a JOIN k AS b ON {on} "
            f"AND a.node < b.node WHERE NOT EXISTS (SELECT 1 FROM big WHERE "
            + " AND ".join(f"big.{k} = a.{k}" for k in keys) + ")"
        )
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_kpairs AS SELECT DISTINCT l, r, min(rule) AS rule FROM {p}_kraw "
            f"GROUP BY l, r")
    score_pairs(sql, cfg, params.neutralised(cr.ignore), f"{p}_kpairs", rec, f"{p}_kscored")
    match_w = weight_of(cfg.thresholds.match)
    sql.run(
        f"INSERT INTO {review} SELECT s.l, s.r, s.weight, 'conflicting_keys' FROM {p}_kscored AS s "
        f"JOIN {clusters} AS cl ON cl.rid = s.l JOIN {clusters} AS cr ON cr.rid = s.r "
        f"WHERE s.weight >= {match_w!r} AND cl.cluster <> cr.cluster "
        f"QUALIFY row_number() OVER (PARTITION BY least(cl.cluster, cr.cluster), greatest(cl.cluster, cr.cluster) "
        f"ORDER BY s.weight DESC, s.l, s.r) = 1"
    )
    for t in (f"{p}_kraw", f"{p}_kpairs", f"{p}_kscored"):
        sql.run(f"DROP TABLE {t}")
    return int(sql.one(f"SELECT count(*) FROM {review} WHERE reason = 'conflicting_keys'") or 0)
