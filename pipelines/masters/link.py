"""``masterdata link``: deduplicate one table or link two with a configuration of one's own.

The same engine as the master libraries, driven by a user's YAML file (the format of
``schemas/masters/*.yaml``; ``id_column`` names the input's record identifier).  With one input
every pair of records may match (deduplication); with two, only pairs across the inputs are
compared (records within one input may still share a cluster through a deterministic key).

The output is a Parquet file with ``record_id`` (the input's identifier, as text) and
``cluster_id`` (an integer; records with the same value are one entity).  When the two inputs use
overlapping identifiers, ``record_id`` becomes ``<input file stem>:<identifier>``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.db import connect
from core.errors import InputError
from core.sqltext import lit, q
from pipelines.lake import atomic_path
from pipelines.resolve.config import ResolveConfig, TrainingSession, load_config
from pipelines.resolve.engine import resolve
from pipelines.resolve.sql import Sql


class LinkError(InputError):
    """Bad input for a link job (one line for the command line)."""


@dataclass
class LinkReport:
    records: int
    clusters: int
    pairs: dict[str, int] = field(default_factory=dict)
    review: int = 0
    seconds: float = 0.0
    out: Path | None = None

    def render(self) -> str:
        pairs = ", ".join(f"{k} {v:,}" for k, v in self.pairs.items())
        return (f"{self.records:,} records -> {self.clusters:,} clusters in {self.seconds:.1f}s "
                f"(pairs: {pairs or 'none'}; uncertain pairs {self.review:,}) -> {self.out}")


def _with_defaults(cfg: ResolveConfig, two_inputs: bool) -> ResolveConfig:
    """Carry the input number as a feature; train on the key-blocking rules when no session is set."""
    update: dict[str, object] = {}
    if two_inputs:
        update["features"] = {**cfg.features, "_input": "_input"}
    if cfg.comparisons and not cfg.training.sessions:
        sessions = [TrainingSession(block=list(b.keys)) for b in cfg.blocking if b.keys]
        update["training"] = cfg.training.model_copy(update={"sessions": sessions})
    return cfg.model_copy(update=update) if update else cfg


def _read_inputs(sql: Sql, cfg: ResolveConfig, inputs: list[Path]) -> None:
    for p in inputs:
        if not p.exists():
            raise LinkError(f"{p}: no such file")
    parts = []
    for i, p in enumerate(inputs):
        try:
            cols = [r[0] for r in sql.con.execute(f"SELECT name FROM parquet_schema({lit(str(p))})").fetchall()]
        except duckdb.Error as exc:
            raise LinkError(f"{p}: not a readable Parquet file ({str(exc).splitlines()[0]})") from None
        if cfg.id_column not in cols:
            raise LinkError(f"{p}: no column {cfg.id_column!r} (the config's id_column)")
        sql.io(f"CREATE OR REPLACE TEMP VIEW __link_file{i} AS SELECT * FROM read_parquet({lit(str(p))})")
        parts.append(f"SELECT *, CAST({q(cfg.id_column)} AS VARCHAR) AS __id, {i} AS _input, "
                     f"{lit(p.stem)} AS __stem FROM __link_file{i}")
    sql.run(f"CREATE OR REPLACE TEMP TABLE __link_in AS {' UNION ALL BY NAME '.join(parts)}")
    if sql.one("SELECT count(*) FROM __link_in WHERE __id IS NULL"):
        raise LinkError(f"{cfg.id_column!r} is NULL in some rows: every record needs an identifier")
    within = sql.one("SELECT count(*) FROM (SELECT _input, __id FROM __link_in GROUP BY ALL HAVING count(*) > 1)")
    if within:
        raise LinkError(f"{cfg.id_column!r} is not unique within an input ({within:,} repeated values)")
    across = len(inputs) > 1 and sql.one("SELECT count(*) FROM (SELECT __id FROM __link_in GROUP BY __id "
                                         "HAVING count(*) > 1)")
    rid = "__stem || ':' || __id" if across else "__id"
    sql.run(f"CREATE OR REPLACE TEMP TABLE __link_src AS SELECT * EXCLUDE (__id, __stem), {rid} AS record_id "
            f"FROM __link_in")
    sql.run("DROP TABLE __link_in")


def link(config: Path, inputs: list[Path], out: Path) -> LinkReport:
    """Run a link / dedupe job; see the module docstring."""
    t0 = time.perf_counter()
    if not 1 <= len(inputs) <= 2:
        raise LinkError(f"give one input (deduplicate) or two (link), not {len(inputs)}")
    cfg = _with_defaults(load_config(config), len(inputs) == 2)
    con = connect()
    sql = Sql(con)
    try:
        _read_inputs(sql, cfg, inputs)
        two = len(inputs) == 2
        try:
            res = resolve(sql, cfg, "__link_src", pair_filter="lk._input <> rk._input" if two else None,
                          extra=["_input"] if two else None)
        except duckdb.Error as exc:
            raise LinkError(f"{config}: {str(exc).splitlines()[0]}") from None
        sql.run(f"CREATE OR REPLACE TEMP TABLE __link_out AS SELECT f.record_id, "
                f"CAST(dense_rank() OVER (ORDER BY m.first) AS BIGINT) AS cluster_id FROM {res.clusters} AS c "
                f"JOIN {res.rec} AS f ON f.rid = c.rid JOIN (SELECT c2.cluster, min(f2.record_id) AS first "
                f"FROM {res.clusters} AS c2 JOIN {res.rec} AS f2 ON f2.rid = c2.rid GROUP BY c2.cluster) AS m "
                f"ON m.cluster = c.cluster")
        out.parent.mkdir(parents=True, exist_ok=True)
        with atomic_path(out) as tmp:
            sql.io(f"COPY (SELECT record_id, cluster_id FROM __link_out ORDER BY cluster_id, record_id) "
                   f"TO {lit(str(tmp))} (FORMAT parquet)")
        clusters = int(sql.one("SELECT count(DISTINCT cluster_id) FROM __link_out") or 0)
        return LinkReport(res.records, clusters, res.pairs_per_rule, res.cluster_stats.review,
                          time.perf_counter() - t0, out)
    finally:
        con.close()
