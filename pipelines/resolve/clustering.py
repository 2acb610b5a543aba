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

from dataclasses import dataclass, field

import pyarrow as pa

from core.sqltext import q
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


class _UnionFind:
    """Union-find whose roots carry their constraint values.

    A value is None, a single string, or (only after a steward merge) a frozenset - so the common
    case costs a comparison, not a set operation.
    """

    def __init__(self, n: int, distinct: list[list[object]], foreign: list[object], keys: list[object]) -> None:
        self.parent = list(range(n))
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


def _node_constraints(sql: Sql, cfg: ResolveConfig, rec: str, nodes: list[int]
                      ) -> tuple[list[list[object]], list[object], list[object]]:
    """Per involved node: its values of each distinct feature, its foreign ids, its primary keys
    (None / one value / frozenset), in the order of ``nodes``."""
    distinct = cfg.distinct
    foreign = cfg.deterministic.foreign if cfg.deterministic else None
    pk = cfg.primary_key
    sql.register("__nodes", pa.table({"node": pa.array(nodes, pa.int64()), "i": pa.array(range(len(nodes)), pa.int64())}))
    feats = list(distinct) + [foreign or "", pk or ""]
    cols = [f"list(DISTINCT CAST({q(f)} AS VARCHAR)) FILTER (WHERE {q(f)} IS NOT NULL)" if f
            else "CAST(NULL AS VARCHAR[])" for f in feats]
    got = sql.arrow(f"SELECT n.i, {', '.join(f'{c} AS c{j}' for j, c in enumerate(cols))} FROM __nodes AS n "
                    f"JOIN {rec} AS f ON f.node = n.node GROUP BY n.i")
    sql.unregister("__nodes")
    n = len(nodes)
    idx = got.column("i").to_pylist()

    def column(j: int) -> list[object]:
        out: list[object] = [None] * n
        for i, v in zip(idx, got.column(f"c{j}").to_pylist()):
            if v:
                out[i] = v[0] if len(v) == 1 else frozenset(v)
        return out

    k = len(distinct)
    return [column(j) for j in range(k)], column(k), column(k + 1)


def cluster(sql: Sql, cfg: ResolveConfig, rec: str, edges: str, out: str,
            must_links: list[tuple[int, int]] | None = None,
            cannot_links: list[tuple[int, int]] | None = None) -> ClusterStats:
    """Create ``out`` (node, cluster, link_weight, link_kind) for every node that changed cluster
    and ``{out}_refused`` (a, b, w, reason) for refused match edges; ``must_links`` and
    ``cannot_links`` are node pairs from steward decisions."""
    stats = ClusterStats()
    match_w = weight_of(cfg.thresholds.match)
    must_links = must_links or []
    cannot_links = cannot_links or []
    got = sql.arrow(f"SELECT a, b, w FROM {edges} WHERE w >= {match_w!r} AND NOT ambiguous ORDER BY w DESC, a, b")
    cand = list(zip(got.column("a").to_pylist(), got.column("b").to_pylist(), got.column("w").to_pylist()))
    stats.candidate_edges = len(cand)
    stats.ambiguous = int(sql.one(f"SELECT count(*) FROM {edges} WHERE ambiguous") or 0)
    involved = sorted(set(got.column("a").to_pylist()) | set(got.column("b").to_pylist())
                      | {x for e in must_links for x in e} | {x for e in cannot_links for x in e})
    index = {node: i for i, node in enumerate(involved)}
    distinct, foreign, keys = _node_constraints(sql, cfg, rec, involved) if involved else ([], [], [])
    uf = _UnionFind(len(involved), distinct, foreign, keys)
    for a, b in cannot_links:
        ia, ib = index[a], index[b]
        uf.cannot.setdefault(ia, set()).add(ib)
        uf.cannot.setdefault(ib, set()).add(ia)
    link_w: dict[int, tuple[float, str]] = {}
    for a, b in must_links:
        ra, rb = uf.find(index[a]), uf.find(index[b])
        if ra != rb:
            uf.union(ra, rb)
            stats.steward_links += 1
        for x in (a, b):
            link_w[x] = (float("inf"), "steward")
    refused: list[tuple[int, int, float, str]] = []
    find, why_not = uf.find, uf.why_not
    for a, b, w in cand:
        ra, rb = find(index[a]), find(index[b])
        if ra == rb:
            continue
        reason = why_not(ra, rb)
        if reason:
            refused.append((a, b, w, reason))
            stats.refusals[reason] = stats.refusals.get(reason, 0) + 1
            continue
        uf.union(ra, rb)
        stats.accepted += 1
        for x in (a, b):
            if x not in link_w or (link_w[x][1] != "steward" and link_w[x][0] < w):
                link_w[x] = (w, "probabilistic")
    stats.refused = len(refused)
    # cluster id = smallest node of the component (node ids are smallest rids: deterministic)
    comp_min: dict[int, int] = {}
    for node in involved:
        r = uf.find(index[node])
        comp_min[r] = min(comp_min.get(r, node), node)
    nodes_col = involved
    clusters_col = [comp_min[uf.find(index[n])] for n in involved]
    weights = [link_w.get(n, (None, None))[0] for n in involved]
    kinds = [link_w.get(n, (None, None))[1] for n in involved]
    weights = [None if w is None or w == float("inf") else w for w in weights]
    sql.register("__nodemap", pa.table({
        "node": pa.array(nodes_col, pa.int64()), "cluster": pa.array(clusters_col, pa.int64()),
        "link_weight": pa.array(weights, pa.float64()), "link_kind": pa.array(kinds, pa.string()),
    }))
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM __nodemap")
    sql.unregister("__nodemap")
    sql.register("__refused", pa.table({
        "a": pa.array([r[0] for r in refused], pa.int64()), "b": pa.array([r[1] for r in refused], pa.int64()),
        "w": pa.array([r[2] for r in refused], pa.float64()), "reason": pa.array([r[3] for r in refused], pa.string()),
    }))
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out}_refused AS SELECT * FROM __refused")
    sql.unregister("__refused")
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
