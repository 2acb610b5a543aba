"""``masterdata link``: deduplicate one table or link two with a configuration of one's own.

The same engine as the master libraries, driven by a user's YAML file (the format of
``schemas/masters/*.yaml``; ``id_column`` names the input's record identifier).  With one input
every pair of records may match (deduplication); with two, only pairs across the inputs are
compared (records within one input may still share a cluster through a deterministic key).

The output is a Parquet file with ``record_id`` (the input's identifier, as text) and
``cluster_id`` (an integer; records with the same value are one entity).  When the two inputs use
overlapping identifiers, ``record_id`` becomes ``<input file stem>:<identifier>``.

The run is a sequence of named steps (read, features, deterministic, blocking - one part per
rule -, training, scoring, clustering, write): a ``listener`` hears each one start and end (the
command line draws progress from it), a failure names the step and rule it happened in, and the
:class:`LinkReport` gives pairs per rule, m/u per comparison level, thresholds, clusters and the
time of every step.  Asked to (``explain``, ``explain_records``), it also explains pairs: each
pair's match weight broken down per comparison level (:mod:`pipelines.resolve.explain`), computed
right after scoring with the parameters the run trained, so the parts add up to the weight the run
gave the pair.
"""

from __future__ import annotations

import re
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.db import connect
from core.errors import InputError, MasterdataError, mask
from core.settings import duckdb_share, settings
from core.sqltext import lit, q
from pipelines.lake import atomic_path
from pipelines.resolve.config import ResolveConfig, TrainingSession, load_config
from pipelines.resolve.deterministic import features_sql
from pipelines.resolve.engine import Resolution, resolve
from pipelines.resolve.explain import Explanation, explain, neighbours
from pipelines.resolve.sql import Sql
from pipelines.steps import StepListener

#: What a link process holds outside DuckDB's memory limit: the interpreter and its libraries
#: (~0.3 GiB), the clustering's union-find and what DuckDB's allocator holds beyond its pool
#: (~0.45 GiB at 7.9 M records, benchmarks/RESULTS.md "Faster link"): DuckDB gets
#: ``$MASTERDATA_DUCKDB_MEMORY`` minus this, so the whole process stays within the setting.
LINK_RESERVE = 768 * 2**20
#: The least DuckDB may be left with.
LINK_DUCKDB_MINIMUM = 256 * 2**20


class LinkError(InputError):
    """Bad input for a link job (one line for the command line)."""


@dataclass
class RuleCount:
    """Pairs of one blocking rule: estimated before, made by the rule, kept as the rule's own
    (a pair several rules find counts for the first of them)."""

    estimated: int = 0
    made: int = 0
    kept: int = 0


@dataclass
class LinkReport:
    records: int
    clusters: int
    review: int = 0
    seconds: float = 0.0
    out: Path | None = None
    rules: dict[str, RuleCount] = field(default_factory=dict)
    #: one row per comparison level: comparison, level, label, m, u, weight, trained
    levels: list[dict[str, Any]] = field(default_factory=list)
    prior: float | None = None
    thresholds: dict[str, float] = field(default_factory=dict)
    auto_links: int = 0
    #: seconds per step, in the order they ran
    steps: dict[str, float] = field(default_factory=dict)
    #: pairs explained on request (``--explain``, ``--explain-record``)
    explanations: list[Explanation] = field(default_factory=list)
    #: records asked about that had nothing to be explained against
    unexplained: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The summary for scripts (``masterdata link --json``)."""
        body = asdict(self)
        body["out"] = str(self.out) if self.out else None
        body["seconds"] = round(self.seconds, 3)
        body["steps"] = {k: round(v, 3) for k, v in self.steps.items()}
        body["explanations"] = [e.as_dict() for e in self.explanations]
        return body

    def render(self) -> str:
        lines = [f"{self.records:,} records -> {self.clusters:,} clusters in {self.seconds:.1f}s -> {self.out}"]
        if self.rules:
            lines.append(f"  {'blocking rule':24} {'estimated':>14} {'made':>12} {'kept':>12}")
            lines += [f"  {name:24} {r.estimated:>14,} {r.made:>12,} {r.kept:>12,}" for name, r in self.rules.items()]
        if self.levels:
            lines.append(f"  {'comparison level':24} {'m':>10} {'u':>10} {'weight':>8}")
            lines += [f"  {lv['comparison'] + ' / ' + lv['label']:24} {lv['m']:>10.4g} {lv['u']:>10.4g} "
                      f"{lv['weight']:>+8.2f}{'' if lv['trained'] else '  (not trained)'}" for lv in self.levels]
        if self.prior is not None:
            lines.append(f"  prior {self.prior:.3g}; thresholds: match {self.thresholds['match']}, review "
                         f"{self.thresholds['review']}; pairs linked {self.auto_links:,}, "
                         f"uncertain (review) {self.review:,}")
        lines.append("  steps: " + ", ".join(f"{k} {v:.1f}s" for k, v in self.steps.items()))
        if self.explanations:
            lines.append(f"  match weight per comparison level ({len(self.explanations)} pair(s)): "
                         f"comparison, level, bits, running total, m and u")
            lines += ["  " + e.render().replace("\n", "\n  ") for e in self.explanations]
        lines += [f"  {r}: alone in its cluster and in no candidate pair: no weight to explain" for r in self.unexplained]
        return "\n".join(lines)


class _RuleCollector:
    """Listens to the engine's steps: keeps the per-rule figures, passes every event on."""

    def __init__(self, forward: StepListener | None) -> None:
        self.forward = forward
        self.rules: dict[str, RuleCount] = {}

    def __call__(self, event: str, path: tuple[str, ...], info: dict[str, Any]) -> None:
        if event == "end" and len(path) == 2 and path[0] == "blocking" and path[1].startswith("rule "):
            self.rules[path[1][5:]] = RuleCount(int(info.get("estimated", 0)), int(info.get("pairs", 0)))
        if self.forward:
            self.forward(event, path, info)


def _with_defaults(cfg: ResolveConfig, two_inputs: bool, max_pairs_per_rule: int | None) -> ResolveConfig:
    """Carry the input number as a feature; train on the key-blocking rules when no session is set."""
    update: dict[str, object] = {}
    if two_inputs:
        update["features"] = {**cfg.features, "_input": "_input"}
    if cfg.comparisons and not cfg.training.sessions:
        sessions = [TrainingSession(block=list(b.keys)) for b in cfg.blocking if b.keys]
        update["training"] = cfg.training.model_copy(update={"sessions": sessions})
    if max_pairs_per_rule is not None:
        update["max_pairs_per_rule"] = max_pairs_per_rule
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
    # views, not copies: the records stay in their Parquet files (read again by each statement,
    # a column at a time) rather than held whole in memory before the features are made
    sql.run(f"CREATE OR REPLACE TEMP VIEW __link_in AS {' UNION ALL BY NAME '.join(parts)}")
    if sql.one("SELECT count(*) FROM __link_in WHERE __id IS NULL"):
        raise LinkError(f"{cfg.id_column!r} is NULL in some rows: every record needs an identifier")
    within = sql.one("SELECT count(*) FROM (SELECT _input, __id FROM __link_in GROUP BY ALL HAVING count(*) > 1)")
    if within:
        raise LinkError(f"{cfg.id_column!r} is not unique within an input ({within:,} repeated values)")
    across = len(inputs) > 1 and sql.one("SELECT count(*) FROM (SELECT __id FROM __link_in GROUP BY __id "
                                         "HAVING count(*) > 1)")
    rid = "__stem || ':' || __id" if across else "__id"
    sql.run(f"CREATE OR REPLACE TEMP VIEW __link_src AS SELECT * EXCLUDE (__id, __stem), {rid} AS record_id "
            f"FROM __link_in")


def _failing_feature(sql: Sql, cfg: ResolveConfig, source: str) -> str | None:
    """The first feature whose SQL does not bind over the input (a misspelt column or function)."""
    names = list(cfg.features)
    for k in range(1, len(names) + 1):
        part = cfg.model_copy(update={"features": {n: cfg.features[n] for n in names[:k]}})
        try:
            sql.con.execute(f"DESCRIBE {features_sql(part, source)}").fetchall()
        except duckdb.Error:
            return names[k - 1]
    return None


def _failure(sql: Sql, cfg: ResolveConfig, config: Path, message: str) -> LinkError:
    """A one-line error naming the step (and rule or feature) the run failed in; quoted values in
    the database's message (a value that did not convert) are masked."""
    where = sql.failed_at or "link"
    if where.startswith("features") and (name := _failing_feature(sql, cfg, "__link_src")):
        where += f" / feature {name}"
    message = re.sub(r"'([^']*)'", lambda m: f"'{mask(m.group(1))}'", message)
    return LinkError(f"{config}: failed in {where}: {message}")


def _release(sql: Sql, keep: str) -> None:
    """Drop every TEMP table but ``keep`` (the clusters the output is written from): the records'
    features, pairs and edges would otherwise stay in memory while the output is sorted."""
    for (name,) in sql.rows("SELECT table_name FROM duckdb_tables() WHERE temporary AND table_name <> ?", [keep]):
        sql.run(f"DROP TABLE {q(name)}")


def _write(sql: Sql, res: Resolution, out: Path) -> int:
    """Write (record_id, cluster_id); returns the number of clusters."""
    # cluster ids numbered in the order of each cluster's smallest record id: ranked over the
    # clusters (one row each), not over every record, then joined back on the integer cluster
    sql.run(f"CREATE OR REPLACE TEMP TABLE __link_out AS SELECT c.record_id, m.cluster_id FROM {res.clusters} AS c "
            f"JOIN (SELECT cluster, CAST(dense_rank() OVER (ORDER BY first) AS BIGINT) AS cluster_id FROM "
            f"(SELECT cluster, min(record_id) AS first FROM {res.clusters} GROUP BY cluster)) AS m "
            f"ON m.cluster = c.cluster")
    out.parent.mkdir(parents=True, exist_ok=True)
    with atomic_path(out) as tmp:
        sql.io(f"COPY (SELECT record_id, cluster_id FROM __link_out ORDER BY cluster_id, record_id) "
               f"TO {lit(str(tmp))} (FORMAT parquet)")
    return int(sql.one("SELECT count(DISTINCT cluster_id) FROM __link_out") or 0)


def _report(cfg: ResolveConfig, res: Resolution, clusters: int, collector: _RuleCollector) -> LinkReport:
    rules = {name: collector.rules.get(name, RuleCount()) for name in res.pairs_per_rule}
    for name, kept in res.pairs_per_rule.items():
        rules[name].kept = kept
    levels = [{k: v for k, v in row.items() if k not in ("master", "prior")} for row in res.params.rows(cfg)] \
        if res.params else []
    return LinkReport(res.records, clusters, res.cluster_stats.review, rules=rules,
                      levels=levels, prior=res.params.prior if res.params else None,
                      thresholds={"match": cfg.thresholds.match, "review": cfg.thresholds.review},
                      auto_links=res.cluster_stats.accepted)


@dataclass(frozen=True)
class ExplainRequest:
    """Pairs to explain after scoring, and records to explain against their neighbours (the other
    records of their cluster, then their strongest candidates), at most ``per_record`` each."""

    pairs: tuple[tuple[str, str], ...] = ()
    records: tuple[str, ...] = ()
    per_record: int = 10

    def __bool__(self) -> bool:
        return bool(self.pairs or self.records)


def _check_explain_ids(sql: Sql, cfg: ResolveConfig, request: ExplainRequest) -> None:
    """Before the long part of the run: every id to explain is an input record, and there is a
    model to explain with (comparisons)."""
    if not request:
        return
    if not cfg.probabilistic:
        raise LinkError("--explain: the configuration has no blocking rules and comparisons, so no pair has a "
                        "match weight to explain")
    ids = sorted({x for p in request.pairs for x in p} | set(request.records))
    known = {r[0] for r in sql.rows("SELECT record_id FROM __link_src WHERE record_id IN (SELECT unnest(?))", [ids])}
    missing = [x for x in ids if x not in known]
    if missing:
        raise LinkError(f"--explain: no record {missing[0]!r} in the input(s)"
                        + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))


def _explanations(sql: Sql, cfg: ResolveConfig, res: Resolution, request: ExplainRequest,
                  report: LinkReport) -> None:
    """The requested pairs, then each requested record against its neighbours, with the trained
    model, into ``report``."""
    assert res.params is not None
    pairs = list(request.pairs)
    for rid in request.records:
        near = neighbours(sql, res.clusters, rid, "cluster", request.per_record, res.scored)
        pairs += [(rid, other) for other in near]
        if not near:
            report.unexplained.append(rid)
    out = explain(sql, cfg, res.params, res.rec, pairs, scored=res.scored)
    cluster = dict(sql.rows(f"SELECT record_id, cluster FROM {res.clusters} WHERE record_id IN (SELECT unnest(?))",
                            [sorted({x for p in pairs for x in p})]))
    for e in out:
        e.note = "same cluster" if cluster.get(e.left) == cluster.get(e.right) else "different clusters"
        if e.scored_weight is None:
            e.note += "; no blocking rule made this pair (never scored)"
    report.explanations = out


def link(config: Path, inputs: list[Path], out: Path, *, max_pairs_per_rule: int | None = None,
         listener: StepListener | None = None, explain_request: ExplainRequest | None = None) -> LinkReport:
    """Run a link / dedupe job; see the module docstring.

    ``max_pairs_per_rule`` overrides the configuration's budget of candidate pairs per blocking
    rule; ``listener`` hears every step start and end (progress); ``explain_request`` names pairs
    and records whose match weights the report breaks down per comparison level.
    """
    t0 = time.perf_counter()
    if not 1 <= len(inputs) <= 2:
        raise LinkError(f"give one input (deduplicate) or two (link), not {len(inputs)}")
    cfg = _with_defaults(load_config(config), len(inputs) == 2, max_pairs_per_rule)
    request = explain_request or ExplainRequest()
    collector = _RuleCollector(listener)
    share = duckdb_share(settings().duckdb_memory, LINK_RESERVE, LINK_DUCKDB_MINIMUM, "MASTERDATA_DUCKDB_MEMORY")
    # insertion order is not kept: every statement that needs an order says so (the output's ORDER BY)
    con = connect(f"{share // 2**20}MiB", preserve_order=False)
    sql = Sql(con, listener=collector)
    try:
        with sql.step("read"):
            _read_inputs(sql, cfg, inputs)
            _check_explain_ids(sql, cfg, request)
        two = len(inputs) == 2
        try:
            res = resolve(sql, cfg, "__link_src", pair_filter="lk._input <> rk._input" if two else None,
                          extra=["_input"] if two else None)
            if not request:
                _release(sql, keep=res.clusters)
            with sql.step("write"):
                clusters = _write(sql, res, out)
            report = _report(cfg, res, clusters, collector)
            if request:
                with sql.step("explain"):
                    _explanations(sql, cfg, res, request, report)
        except duckdb.Error as exc:
            raise _failure(sql, cfg, config, str(exc).splitlines()[0]) from None
        except MasterdataError as exc:
            raise LinkError(f"{config}: failed in {sql.failed_at or 'link'}: {exc.one_line()}") from None
        report.out, report.steps, report.seconds = out, dict(sql.timings), time.perf_counter() - t0
        return report
    finally:
        con.close()
