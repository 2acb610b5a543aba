"""What the engine's stages share: the tables they pass on, the result, and the plan they follow.

The engine (:func:`pipelines.resolve.engine.run`) owns the order of the stages; a :class:`Plan`
says how each stage runs.  Two plans exist: :class:`~pipelines.resolve.full.FullPlan` resolves
every record from scratch; :class:`~pipelines.resolve.delta.DeltaPlan` links new records to a
previous resolution and re-decides only the clusters they touch.  Every TEMP table a stage creates
for a later one is named here, once (:class:`Tables`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Protocol

import pyarrow as pa

from pipelines.resolve.clustering import ClusterStats
from pipelines.resolve.comparisons import Params
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.sql import Sql


@dataclass
class Constraints:
    """Steward decisions as record-id pairs: must-link, cannot-link, and split-off groups."""

    must: list[tuple[str, str]] = field(default_factory=list)
    cannot: list[tuple[str, str]] = field(default_factory=list)
    #: (record_id, split_key): records a steward split off their cluster, grouped by split_key.
    splits: list[tuple[str, str]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.must or self.cannot or self.splits)


@dataclass
class Resolution:
    """Names of the result tables (TEMP, on the engine's connection) and what happened."""

    cfg: ResolveConfig
    rec: str  # rid, record_id, features..., node, anchored, det_key (every record the clusters name)
    clusters: str  # rid, record_id, cluster, rule, weight
    review: str  # l, r, weight, reason
    scored: str | None
    params: Params | None
    pairs_per_rule: dict[str, int] = field(default_factory=dict)
    cluster_stats: ClusterStats = field(default_factory=ClusterStats)
    records: int = 0


@dataclass(frozen=True)
class Tables:
    """The TEMP tables the stages share, prefixed with the configuration's ``master``.

    Both plans: ``feat`` (rid, record_id, features of the records to resolve), ``rec`` (``feat`` +
    node, anchored, det_key), ``pairs`` (l, r, rule), ``scored``, ``edges`` (node pairs),
    ``nodemap`` (node -> cluster), ``clusters`` and ``review`` (see :class:`Resolution`).
    Full plan: ``splits`` (steward split-offs).  Delta plan: ``keysrc`` (keys of existing and new
    records, for the crosswalks), ``keys`` (det key of each new record), ``combined`` (existing
    and new records in one relation, ``is_delta`` telling them apart), ``touched`` (nodes a
    candidate pair touches), ``scope`` (their records: what scoring and clustering see) and
    ``changed`` (clusters whose membership may have changed).
    """

    master: str
    feat: str
    splits: str
    rec: str
    keysrc: str
    keys: str
    combined: str
    pairs: str
    touched: str
    scope: str
    scored: str
    edges: str
    nodemap: str
    clusters: str
    changed: str
    review: str

    @classmethod
    def of(cls, master: str) -> Tables:
        return cls(master, **{f.name: f"{master}_{f.name}" for f in fields(cls) if f.name != "master"})

    def tf(self, feature: str) -> str:
        """Term frequencies of a feature (v, tf), as :func:`comparisons.build_tf_tables` names them."""
        return f"{self.master}_tf_{feature}"


class Plan(Protocol):
    """How each stage of the engine runs (the engine fixes their order)."""

    constraints: Constraints

    def check_features(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        """After ``feat`` exists: any check beyond unique record numbers."""

    def nodes(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> Resolution:
        """The deterministic pass: create ``rec``; the result names what blocking pairs up."""
        ...

    def pairs(self, sql: Sql, cfg: ResolveConfig, t: Tables, rec: str) -> dict[str, int]:
        """Blocking: create ``pairs``; returns pairs per rule."""
        ...

    def scope(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> str:
        """The records scoring, edges and clustering look at."""
        ...

    def parameters(self, sql: Sql, cfg: ResolveConfig, t: Tables, scope: str) -> Params:
        """m, u and the prior (trained or stored), and the term-frequency tables scoring reads."""
        ...

    def record_clusters(self, sql: Sql, cfg: ResolveConfig, t: Tables) -> None:
        """Create ``clusters`` from ``nodemap``: every record the plan re-decided."""

    def more_review(self, sql: Sql, cfg: ResolveConfig, t: Tables, res: Resolution) -> None:
        """Review items beyond uncertain and refused pairs."""


def steward_node_pairs(sql: Sql, rec: str, pairs: list[tuple[str, str]], name: str) -> list[tuple[int, int]]:
    """Record-id pairs -> distinct node pairs (pairs naming unknown records are ignored)."""
    if not pairs:
        return []
    sql.register(name, pa.table({"a": pa.array([p[0] for p in pairs], pa.string()),
                                 "b": pa.array([p[1] for p in pairs], pa.string())}))
    rows = sql.rows(f"SELECT DISTINCT least(x.node, y.node), greatest(x.node, y.node) FROM {name} AS s "
                    f"JOIN {rec} AS x ON x.record_id = s.a JOIN {rec} AS y ON y.record_id = s.b "
                    f"WHERE x.node <> y.node ORDER BY 1, 2")
    sql.unregister(name)
    return [(int(a), int(b)) for a, b in rows]


def empty_edges(sql: Sql, edges: str) -> None:
    sql.run(f"CREATE OR REPLACE TEMP TABLE {edges} (a BIGINT, b BIGINT, w DOUBLE, l BIGINT, r BIGINT, "
            f"ambiguous BOOLEAN)")
