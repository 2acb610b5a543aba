"""One quality run: derive the suites, score every feed over the lake, add gold, record the run.

This is the function ``masterdata quality run`` and the Airflow task call; it needs no Airflow and
no Great Expectations (that is the report's job, on samples), only DuckDB over the lake.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from core.errors import InputError
from pipelines.lake import Lake
from pipelines.registry import Table
from pipelines.steps import StepListener, Steps
from quality.gold import GoldLayout, GoldStat
from quality.parallel import ordered_map
from quality.scorecard import (
    CheckResult,
    Feed,
    QuarantineStat,
    Score,
    combine,
    discover_feeds,
    dumps,
    evaluate,
    feed_relation,
    quarantine_stats,
    table_loads,
)
from quality.store import QualityStore
from quality.suites import Suite, SuiteError, code_values, feed_suite, master_suite
from standards.dictionary import Dictionary

T = TypeVar("T")

DIMENSION_ORDER = {"completeness": 0, "validity": 1, "membership": 2, "consistency": 3, "uniqueness": 4}


class QualityError(InputError):
    """A one-line reason the run cannot go ahead (empty lake, unknown source...)."""


@dataclass
class RunResult:
    run_id: str
    started_at: dt.datetime
    as_of: dt.datetime
    lake: str
    seconds: float = 0.0
    timings: dict[str, float] = field(default_factory=dict)
    feed_seconds: dict[str, float] = field(default_factory=dict)
    suites: list[Suite] = field(default_factory=list)
    scores: list[Score] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    quarantine: list[QuarantineStat] = field(default_factory=list)
    gold: list[GoldStat] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    dictionary_version: str = ""
    sources: list[str] | None = None
    stored_at: Path | None = None

    def failures(self) -> list[CheckResult]:
        """Failed checks, most failing rows first."""
        return sorted((c for c in self.checks if c.failed), key=lambda c: (-c.failed, c.suite, c.check_id))

    def scores_at(self, level: str) -> list[Score]:
        return [s for s in self.scores if s.level == level]

    def meta(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id, "started_at": self.started_at.isoformat(), "as_of": self.as_of.isoformat(),
            "lake": self.lake, "seconds": round(self.seconds, 3), "timings": self.timings,
            "feed_seconds": self.feed_seconds,
            "dictionary_version": self.dictionary_version, "sources": self.sources, "notes": self.notes,
            "suites": {s.name: {"fingerprint": s.fingerprint(), "checks": len(s.checks),
                                "not_provided": list(s.not_provided)} for s in self.suites},
            "feeds": len(self.scores_at("feed")), "rows": sum(s.rows for s in self.scores_at("feed")),
            "failed_checks": len(self.failures()), "checks": len(self.checks),
        }

    def tables(self) -> dict[str, list[dict[str, Any]]]:
        rid = self.run_id
        return {
            "scores": [{"run_id": rid, "run_at": self.started_at, **s.record()} for s in self.scores],
            "checks": [{"run_id": rid, "run_at": self.started_at, "suite": c.suite, "kind": c.kind,
                        "source": c.source, "table": c.table, "master": c.master, "check_id": c.check_id,
                        "dimension": c.dimension, "element": c.element, "rule": c.rule,
                        "description": c.description, "rows": c.rows, "scope": c.scope, "failed": c.failed,
                        "rate": c.rate, "reasons": dumps(c.reasons), "samples": dumps(c.samples)}
                       for c in self.checks],
            "quarantine": [{"run_id": rid, "run_at": self.started_at, "source": x.source, "table": x.table,
                            "element": x.element, "reason": x.reason, "rows": x.rows, "samples": dumps(x.samples)}
                           for x in self.quarantine],
            "gold": [{"run_id": rid, "run_at": self.started_at, **{k: (dumps(v) if isinstance(v, dict) else v)
                                                                  for k, v in g.record().items()}}
                     for g in self.gold],
        }


def _groups(items: list[tuple[int, T]], limit: int) -> Iterator[list[T]]:
    """Consecutive groups of ``items`` ((size, item) pairs) whose sizes add up to at most ``limit``
    (an item larger than the limit is a group of its own)."""
    group: list[T] = []
    total = 0
    for size, item in items:
        if group and total + size > limit:
            yield group
            group, total = [], 0
        group.append(item)
        total += size
    if group:
        yield group


def new_run_id(now: dt.datetime) -> str:
    return now.strftime("%Y%m%dT%H%M%S%f")


def run_quality(lake: Lake | None = None, store: QualityStore | None = None, gold_path: Path | None = None,
                as_of: dt.datetime | None = None, dictionary: Dictionary | None = None,
                specs: dict[str, Any] | None = None, sources: Iterable[str] | None = None, record: bool = True,
                progress: Callable[[str], None] | None = None, threads: int | None = None,
                listener: StepListener | None = None) -> RunResult:
    """Score the lake against suites derived from the standard; record the run unless ``record=False``.

    ``as_of`` (default: now, city-local time) is the moment ages are measured against and dates may
    not exceed.
    """
    from pipelines.registry import registry
    from quality import frame
    from quality.paths import gold_path as default_gold
    from quality.paths import local_now
    from standards.dictionary import dictionary as default_dictionary

    t0 = time.perf_counter()
    started = dt.datetime.now(dt.UTC).replace(tzinfo=None)
    as_of = as_of or local_now()
    lake = lake or Lake()
    d = dictionary or default_dictionary()
    specs = specs if specs is not None else registry()
    wanted = sorted(set(sources)) if sources else None
    if wanted:
        unknown = [s for s in wanted if s not in specs]
        if unknown:
            raise QualityError(f"unknown source(s) {', '.join(unknown)}; known: {', '.join(sorted(specs))}")
    res = RunResult(new_run_id(started), started, as_of, str(lake.root), dictionary_version=d.version,
                    sources=wanted)
    feeds = discover_feeds(lake, wanted)
    if not feeds:
        raise QualityError(f"no committed batches in the lake at {lake.root}; run `masterdata ingest` first")
    try:
        codes = code_values(d)
    except SuiteError as exc:
        raise QualityError(str(exc)) from None
    con = frame.connect(codes, threads)
    steps = Steps(listener)
    run = _Scoring(con, d, as_of, codes, res, table_loads(lake, wanted), progress or (lambda _m: None), steps)
    res.timings["setup_s"] = round(time.perf_counter() - t0, 3)
    try:
        with run.timed("feeds_s"), steps.step("source tables × masters", total=len(feeds)):
            run.score_feeds(feeds, specs)
        with run.timed("gold_s"), steps.step("gold masters"):
            run.score_gold(gold_path or default_gold(), sorted({f.master for f in feeds} | set(d.masters)))
        with run.timed("quarantine_s"), steps.step("quarantine"):
            qfiles = [p for p in lake.quarantine_files() if not wanted or p.parent.parent.name in wanted]
            res.quarantine = quarantine_stats(con, qfiles)
    finally:
        con.close()
    run.roll_up()
    res.seconds = time.perf_counter() - t0
    res.timings["total_s"] = round(res.seconds, 3)
    if record:
        res.stored_at = (store or QualityStore()).write(res.run_id, res.meta(), res.tables())
    return res


@dataclass
class _Scoring:
    """The state one run's steps share: the connection, the standard, and what was scored so far."""

    con: duckdb.DuckDBPyConnection
    d: Dictionary
    as_of: dt.datetime
    codes: dict[str, list[str]]
    res: RunResult
    loads: dict[tuple[str, str], dict[str, int]]
    say: Callable[[str], None]
    steps: Steps = field(default_factory=Steps)
    feed_scores: list[Score] = field(default_factory=list)
    gold_scores: list[Score] = field(default_factory=list)
    relations: dict[str, str] = field(default_factory=dict)

    @contextmanager
    def timed(self, key: str) -> Iterator[None]:
        t = time.perf_counter()
        try:
            yield
        finally:
            self.res.timings[key] = round(time.perf_counter() - t, 3)

    def score_feeds(self, feeds: list[Feed], specs: dict[str, Any]) -> None:
        """The full current snapshot of every source table, per master it feeds (several at once:
        :mod:`quality.parallel`; recorded in feed order)."""
        from quality.paths import utc_to_local

        res = self.res
        jobs = [(feed, table) for feed in feeds if (table := self._table_of(feed, specs)) is not None]
        scored = ordered_map(self.con, lambda cur, job: self._score_feed(cur, specs, *job), jobs)
        for (feed, _), (suite, rel, score, results, seconds) in zip(jobs, scored, strict=True):
            with self.steps.step(feed.name):
                score.newest_extract = utc_to_local(score.newest_extract)
                ld = self.loads.get((feed.source, feed.table), {})
                score.extracted, score.quarantined = ld.get("extracted", 0), ld.get("quarantined", 0)
                score.batches = ld.get("batches", 0)
                res.suites.append(suite)
                res.checks.extend(results)
                self.feed_scores.append(score)
                self.relations[feed.name] = rel
                res.feed_seconds[feed.name] = seconds
                self.steps.note(rows=score.rows, note=f"{len(suite.checks)} checks, {score.failed_checks} failing")
                self.say(f"{feed.name:52} {score.rows:>10,} rows  {len(suite.checks):>2} checks  "
                         f"{score.failed_checks:>2} failing  {res.feed_seconds[feed.name]:5.1f}s")

    def _score_feed(self, cur: duckdb.DuckDBPyConnection, specs: dict[str, Any], feed: Feed, table: Table
                    ) -> tuple[Suite, str, Score, list[CheckResult], float]:
        """One feed's suite, snapshot SQL, score and check results, and its seconds (on ``cur``)."""
        ft = time.perf_counter()
        rel, cols = feed_relation(cur, feed)
        suite = feed_suite(self.d, specs[feed.source], table, feed.master, self.as_of.date(), self.codes,
                           columns=set(cols))
        score, results = evaluate(cur, suite, rel, self.as_of, present=cols)
        return suite, rel, score, results, round(time.perf_counter() - ft, 3)

    def _table_of(self, feed: Feed, specs: dict[str, Any]) -> Table | None:
        """The spec's table a feed comes from, or None (with a run note) when the spec no longer maps it."""
        spec = specs.get(feed.source)
        if spec is None:
            self.res.notes.append(f"{feed.source}: in the lake but not in the source registry; not scored")
            return None
        try:
            table: Table = spec.table(feed.table)
        except KeyError:
            self.res.notes.append(f"{feed.source}.{feed.table}: in the lake but not in its spec; not scored")
            return None
        if feed.master not in table.feeds:
            self.res.notes.append(f"{feed.name}: the spec no longer feeds {feed.master}; not scored")
            return None
        return table

    def score_gold(self, path: Path, masters: list[str]) -> None:
        """Golden records, links, review queue, conflicts and the master suites of each gold master."""
        from quality import gold

        res = self.res
        why = gold.attach(self.con, path)
        if why:
            res.gold = [GoldStat(m, False, why) for m in masters]
            return
        try:
            for m in masters:
                lay = gold.layout(self.con, m)
                if isinstance(lay, str):
                    res.gold.append(GoldStat(m, False, lay))
                else:
                    self._score_master(m, lay)
        except Exception as exc:  # a gold layout we misread must not cost the silver scorecards
            res.notes.append(f"gold store: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            res.gold = [g for g in res.gold if g.available] + [
                GoldStat(m, False, "gold store could not be read (see run notes)") for m in masters
                if m not in {g.master for g in res.gold}]
        finally:
            gold.detach(self.con)

    def _score_master(self, m: str, lay: GoldLayout) -> None:
        from quality import gold

        res = self.res
        tg = time.perf_counter()
        st = gold.master_figures(self.con, lay)
        suite = master_suite(self.d, m, set(lay.columns), self.as_of.date(), self.codes)
        gscore, gresults = evaluate(self.con, suite, gold.master_relation(lay), self.as_of,
                                    present=gold.relation_columns(lay))
        gscore.level = "gold"
        res.suites.append(suite)
        res.checks.extend(gresults)
        res.timings[f"gold_{m}_checks_s"] = round(time.perf_counter() - tg, 3)
        with self.timed(f"gold_{m}_conflicts_s"):
            self._count_conflicts(m, lay, st)
        st.compared = sum(v[0] for v in st.conflict_by_element.values())
        st.conflicts = sum(v[1] for v in st.conflict_by_element.values())
        gscore.compared, gscore.conflicts = st.compared, st.conflicts
        self.gold_scores.append(gscore)
        res.gold.append(st)
        self.say(f"gold {m:47} {st.golden_records or 0:>10,} golden  match {st.match_rate or 0:.1%}  "
                 f"review {st.review_queue if st.review_queue is not None else '-'}")

    def _count_conflicts(self, m: str, lay: GoldLayout, st: GoldStat) -> None:
        """Values each feed sends that differ from the golden record it is linked to, per element."""
        from quality import gold

        mine = [fs for fs in self.feed_scores if fs.master == m]
        by_table = {(fs.source, fs.table): fs for fs in mine}
        shares = []
        for fs in mine:
            fsuite = next(x for x in self.res.suites if x.name == f"{fs.source}.{fs.table}.{m}")
            shared = {e.split(".", 1)[1]: self.d.element(e).type for e in fsuite.elements
                      if e.split(".", 1)[1] in lay.columns and e.split(".", 1)[1] != lay.id_col}
            shares.append((fs.rows, gold.FeedShare(self.relations[f"{fs.source}.{fs.table}.{m}"], shared,
                                                   fs.source or "", fs.table or "")))
        # each query scans the whole master table: feeds go together, in groups of bounded rows,
        # several groups at once (quality.parallel); counts are added up in feed order
        queries = [built for group in _groups(shares, gold.CONFLICT_ROWS)
                   if (built := gold.conflict_sql(lay, group))]
        counted = ordered_map(self.con, lambda cur, job: cur.execute(job[0]).fetchall(), queries)
        for (_, cols), rows in zip(queries, counted, strict=True):
            for row in rows:
                fs = by_table[(row[0], row[1])]
                for i, col in enumerate(cols):
                    c_, d_ = int(row[2 + 2 * i] or 0), int(row[3 + 2 * i] or 0)
                    fs.compared += c_
                    fs.conflicts += d_
                    acc = st.conflict_by_element.setdefault(col, [0, 0])
                    acc[0] += c_
                    acc[1] += d_

    def roll_up(self) -> None:
        """Feed scores, then tables, sources and masters adding their feeds' counts, then gold."""
        feed_scores, res, loads = self.feed_scores, self.res, self.loads
        res.scores.extend(feed_scores)
        for key in sorted({(s.source, s.table) for s in feed_scores}):
            res.scores.append(combine("table", [s for s in feed_scores if (s.source, s.table) == key], loads,
                                      source=key[0], table=key[1]))
        for src in sorted({s.source for s in feed_scores if s.source}):
            res.scores.append(combine("source", [s for s in feed_scores if s.source == src], loads, source=src))
        for m in sorted({s.master for s in feed_scores if s.master}):
            res.scores.append(combine("master", [s for s in feed_scores if s.master == m], loads, master=m))
        res.scores.extend(self.gold_scores)
