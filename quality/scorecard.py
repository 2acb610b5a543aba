"""Scorecards: every suite evaluated over full tables in DuckDB, one aggregate scan per feed.

A *feed* is what one source table sends one master (``silver/<master>/<source>__<table>/``). Its
scorecard counts, over the table's current snapshot:

* completeness - rows whose required elements are all given (placeholders count as missing);
* validity     - rows whose given values all satisfy their rules (format, range, code table);
* consistency  - rows passing the cross-field rules (ID vs birth date and sex, USCC vs org code...);
* conformity   - rows that arrived exactly in the standard's form: valid, consistent, and with no
                 repair (lowercase x, full-width digits, 15-digit upgrade) and no silver issue;
* duplicate rate - surplus copies of the master key: (keyed rows - distinct keys) / keyed rows;
* timeliness   - age of the newest source update (``_updated_at``; extraction time if the source
                 sends none) at the run's ``as_of``;
* quarantine rate - rejected rows / extracted rows of the table, from the batch markers;
* conflict rate (with gold) - compared values that differ from the golden record.

Scores of tables, sources and masters add the feeds' counts, so they are row-weighted means.
Every failing check keeps its count, its defect kinds and a few sample rows (record key and value).
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.errors import mask, redact
from core.sqltext import q
from pipelines.lake import BatchRecord, Lake
from quality.frame import checked_sql, columns_of, parquet_source, snapshot_sql
from quality.suites import Check, Suite
from standards.dictionary import PERSONAL_RULES, dictionary

SAMPLES = 5


@dataclass
class Feed:
    """One source table's silver files for one master, batches oldest first."""

    source: str
    table: str
    master: str
    batches: list[BatchRecord]
    files: list[Path]

    @property
    def name(self) -> str:
        return f"{self.source}.{self.table}.{self.master}"

    @property
    def batch_ids(self) -> list[str]:
        return [b.batch_id for b in self.batches]

    @property
    def latest(self) -> tuple[BatchRecord, Path]:
        return self.batches[-1], self.files[-1]


def batch_sort_key(b: BatchRecord) -> tuple[str, str, str, str]:
    """Oldest first: extraction time, then the landed file's name (dated), the watermark, the id."""
    return (b.extracted_at, str(b.files.get("source_file") or ""), str(b.watermark_to or ""), b.batch_id)


def discover_feeds(lake: Lake, sources: Iterable[str] | None = None) -> list[Feed]:
    """The feeds of committed batches (files of uncommitted batches are never read)."""
    wanted = set(sources) if sources else None
    groups: dict[tuple[str, str, str], list[tuple[BatchRecord, Path]]] = {}
    for b in lake.committed_batches():
        if wanted and b.source not in wanted:
            continue
        for master in sorted(b.files.get("silver") or {}):
            p = lake.silver_path(master, b.source, b.table, b.batch_id)
            if p.exists():
                groups.setdefault((b.source, b.table, master), []).append((b, p))
    feeds = []
    for (s, t, m), items in sorted(groups.items()):
        items.sort(key=lambda bp: batch_sort_key(bp[0]))
        feeds.append(Feed(s, t, m, [b for b, _ in items], [p for _, p in items]))
    return feeds


def table_loads(lake: Lake, sources: Iterable[str] | None = None) -> dict[tuple[str, str], dict[str, int]]:
    """Extracted / standardised / quarantined rows and batches per source table (all committed batches)."""
    wanted = set(sources) if sources else None
    out: dict[tuple[str, str], dict[str, int]] = {}
    for b in lake.committed_batches():
        if wanted and b.source not in wanted:
            continue
        t = out.setdefault((b.source, b.table), {"extracted": 0, "standardised": 0, "quarantined": 0, "batches": 0})
        t["extracted"] += b.extracted
        t["standardised"] += b.standardised
        t["quarantined"] += b.quarantined
        t["batches"] += 1
    return out


# ----------------------------------------------------------------------------------------------
# results
# ----------------------------------------------------------------------------------------------


@dataclass
class CheckResult:
    """How one check fared on one relation; ``samples`` are failing rows (record key, value, defect)."""

    suite: str
    kind: str
    source: str | None
    table: str | None
    master: str
    check_id: str
    dimension: str
    element: str
    rule: str
    description: str
    rows: int
    scope: int
    failed: int
    reasons: dict[str, int] = field(default_factory=dict)
    samples: list[dict[str, Any]] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.failed / self.scope if self.scope else 0.0

    @property
    def where(self) -> str:
        return f"{self.source}.{self.table}" if self.kind == "feed" else f"gold {self.master}_master"

    def line(self) -> str:
        """One line naming the source, the element and sample rows, for logs and the CLI."""
        kinds = ", ".join(f"{k} {v:,}" for k, v in sorted(self.reasons.items(), key=lambda kv: -kv[1])[:3])
        hide = self.rule in PERSONAL_RULES or dictionary().is_personal(self.element)
        eg = "; ".join(f"{s.get('record_key')}=" + (mask(s["value"]) if hide and s.get("value") is not None
                                                     else repr(s.get("value"))) for s in self.samples[:3])
        return redact(f"{self.where} {self.element} {self.dimension} ({self.rule}): {self.failed:,} of {self.scope:,} "
                      f"rows ({self.rate:.2%}) fail" + (f" [{kinds}]" if kinds else "") + (f"; e.g. {eg}" if eg else ""))


@dataclass
class Score:
    """Counts behind one scorecard; the rates are properties so aggregation is just addition."""

    level: str  # feed | table | source | master
    source: str | None
    table: str | None
    master: str | None
    rows: int = 0
    incomplete: int = 0
    invalid: int = 0
    inconsistent: int = 0
    nonconforming: int = 0
    keyed: int = 0
    duplicates: int = 0  # surplus copies: keyed rows - distinct keys
    dup_rows: int = 0  # rows whose key is shared
    extracted: int = 0
    quarantined: int = 0
    compared: int = 0
    conflicts: int = 0
    batches: int = 0
    checks: int = 0
    failed_checks: int = 0
    newest_update: dt.datetime | None = None
    newest_extract: dt.datetime | None = None
    as_of: dt.datetime | None = None

    @staticmethod
    def _rate(num: int, den: int) -> float | None:
        return num / den if den else None

    @property
    def completeness(self) -> float | None:
        return None if not self.rows else 1 - self.incomplete / self.rows

    @property
    def validity(self) -> float | None:
        return None if not self.rows else 1 - self.invalid / self.rows

    @property
    def consistency(self) -> float | None:
        return None if not self.rows else 1 - self.inconsistent / self.rows

    @property
    def conformity(self) -> float | None:
        return None if not self.rows else 1 - self.nonconforming / self.rows

    @property
    def duplicate_rate(self) -> float | None:
        return self._rate(self.duplicates, self.keyed)

    @property
    def conflict_rate(self) -> float | None:
        return self._rate(self.conflicts, self.compared)

    @property
    def quarantine_rate(self) -> float | None:
        return self._rate(self.quarantined, self.extracted)

    @property
    def newest(self) -> dt.datetime | None:
        return self.newest_update or self.newest_extract

    @property
    def age_hours(self) -> float | None:
        if self.newest is None or self.as_of is None:
            return None
        return (self.as_of - self.newest).total_seconds() / 3600

    @property
    def score(self) -> float | None:
        """One index for trends: the mean of the dimensions that apply (higher is better)."""
        parts = [self.completeness, self.validity, self.consistency, self.conformity]
        parts += [None if r is None else 1 - r for r in (self.duplicate_rate, self.quarantine_rate,
                                                         self.conflict_rate)]
        vals = [p for p in parts if p is not None]
        return sum(vals) / len(vals) if vals else None

    def record(self) -> dict[str, Any]:
        """Flat row for the quality store (counts and rates)."""
        out = asdict(self)
        for p in ("completeness", "validity", "consistency", "conformity", "duplicate_rate", "conflict_rate",
                  "quarantine_rate", "age_hours", "score"):
            out[p] = getattr(self, p)
        return out

    @property
    def label(self) -> str:
        if self.level == "feed":
            return f"{self.source}.{self.table} -> {self.master}"
        if self.level == "table":
            return f"{self.source}.{self.table}"
        return str(self.source if self.level == "source" else self.master)


SUM_FIELDS = ("rows", "incomplete", "invalid", "inconsistent", "nonconforming", "keyed", "duplicates", "dup_rows",
              "compared", "conflicts", "checks", "failed_checks")


def combine(level: str, parts: list[Score], loads: dict[tuple[str, str], dict[str, int]],
            source: str | None = None, table: str | None = None, master: str | None = None) -> Score:
    """Add feed scores up to a table, source or master score (quarantine counted once per table)."""
    out = Score(level, source, table, master, as_of=parts[0].as_of if parts else None)
    for p in parts:
        for f in SUM_FIELDS:
            setattr(out, f, getattr(out, f) + getattr(p, f))
        for f in ("newest_update", "newest_extract"):
            a, b = getattr(out, f), getattr(p, f)
            setattr(out, f, b if a is None else (a if b is None else max(a, b)))
    for key in sorted({(p.source, p.table) for p in parts if p.source is not None and p.table is not None}):
        ld = loads.get(key)
        if ld:
            out.extracted += ld["extracted"]
            out.quarantined += ld["quarantined"]
            out.batches += ld["batches"]
    return out


# ----------------------------------------------------------------------------------------------
# evaluation
# ----------------------------------------------------------------------------------------------


def _masked(c: Check) -> str:
    return f"(({c.scope_sql}) AND {c.fail_sql})"


def aggregate_sql(suite: Suite, relation: str, samples: int = SAMPLES) -> str:
    """One scan computing every check's counts, defect kinds and samples, and the row-level flags."""
    parts = ["count(*) AS n_rows", "max(_updated_at) AS newest_update", "max(_extracted_at) AS newest_extract"]
    for i, c in enumerate(suite.checks):
        m = _masked(c)
        reason = c.reason_sql or "NULL"
        parts += [
            f"count_if({c.scope_sql}) AS s{i}",
            f"count_if({m}) AS f{i}",
            f"histogram(CAST({reason} AS VARCHAR)) FILTER (WHERE {m}) AS h{i}",
            f"min_by({{'record_key': _record_key, 'value': CAST({c.value_sql} AS VARCHAR), "
            f"'reason': CAST({reason} AS VARCHAR)}}, hash(_record_key), {samples}) FILTER (WHERE {m}) AS x{i}",
        ]

    def any_of(dims: tuple[str, ...], extra: list[str] | None = None) -> str:
        terms = [_masked(c) for c in suite.checks if c.dimension in dims] + (extra or [])
        return " OR ".join(terms) if terms else "FALSE"

    repaired = [f"{q(col)}" for col, _, _ in suite.derived if col.endswith("__repaired")]
    issues = [f"len(list_filter(_issues, lambda __i: starts_with(__i.element, '{suite.master}.'))) > 0"] \
        if any(col.endswith("__issue") for col, _, _ in suite.derived) and suite.kind == "feed" else []
    parts += [
        f"count_if({any_of(('completeness',))}) AS incomplete",
        f"count_if({any_of(('validity', 'membership'))}) AS invalid",
        f"count_if({any_of(('consistency',))}) AS inconsistent",
        f"count_if({any_of(('validity', 'membership', 'consistency'), repaired + issues)}) AS nonconforming",
    ]
    if suite.key:
        std, dup = q(f"{suite.key}__std"), q(f"{suite.key}__dup")
        # distinct keys = keyed rows - the surplus copies of the shared keys: only the few shared
        # keys are counted distinctly, not every key of the table (a hash table of millions)
        parts += [f"count({std}) AS keyed",
                  f"count({std}) - count_if({dup}) + count(DISTINCT {std}) FILTER (WHERE {dup}) AS distinct_keys",
                  f"count_if({dup}) AS dup_rows"]
    else:
        parts += ["0 AS keyed", "0 AS distinct_keys", "0 AS dup_rows"]
    return f"SELECT {', '.join(parts)} FROM ({relation})"


def evaluate(con: duckdb.DuckDBPyConnection, suite: Suite, relation_sql: str, as_of: dt.datetime,
             present: Iterable[str] | None = None, samples: int = SAMPLES) -> tuple[Score, list[CheckResult]]:
    """Run a suite over a relation (silver snapshot or gold table) in one aggregate query."""
    sql = aggregate_sql(suite, checked_sql(suite, relation_sql, present), samples)
    cur = con.execute(sql)
    names = [d[0] for d in cur.description]
    [values] = cur.fetchall()  # an aggregate without GROUP BY: exactly one row
    row = dict(zip(names, values, strict=True))
    level = "feed" if suite.kind == "feed" else "master"
    score = Score(level, suite.source, suite.table, suite.master, rows=row["n_rows"], incomplete=row["incomplete"],
                  invalid=row["invalid"], inconsistent=row["inconsistent"], nonconforming=row["nonconforming"],
                  keyed=row["keyed"], duplicates=row["keyed"] - row["distinct_keys"], dup_rows=row["dup_rows"],
                  newest_update=row["newest_update"], newest_extract=row["newest_extract"], as_of=as_of,
                  checks=len(suite.checks))
    results = []
    for i, c in enumerate(suite.checks):
        failed = row[f"f{i}"]
        score.failed_checks += 1 if failed else 0
        reasons = {str(k): int(v) for k, v in (row[f"h{i}"] or {}).items()}
        results.append(CheckResult(
            suite=suite.name, kind=suite.kind, source=suite.source, table=suite.table, master=suite.master,
            check_id=c.id, dimension=c.dimension, element=c.element, rule=c.rule, description=c.description,
            rows=row["n_rows"], scope=row[f"s{i}"], failed=failed, reasons=reasons,
            samples=[dict(s) for s in (row[f"x{i}"] or [])],
        ))
    return score, results


def feed_relation(con: duckdb.DuckDBPyConnection, feed: Feed) -> tuple[str, dict[str, str]]:
    """The feed's current snapshot SQL and the columns it has."""
    rel = snapshot_sql(feed.files, feed.batch_ids)
    return rel, columns_of(con, f"SELECT * FROM {parquet_source(feed.files)}")


# ----------------------------------------------------------------------------------------------
# quarantine
# ----------------------------------------------------------------------------------------------


@dataclass
class QuarantineStat:
    """Rejected rows of one source table for one element and reason, with examples."""

    source: str
    table: str
    element: str | None
    reason: str
    rows: int
    samples: list[dict[str, Any]] = field(default_factory=list)


def quarantine_stats(con: duckdb.DuckDBPyConnection, files: list[Path], samples: int = 3) -> list[QuarantineStat]:
    """Counts per (source, table, element, reason) over every reason of every quarantined row."""
    if not files:
        return []
    src = parquet_source(files)
    key = "coalesce(_record_key, 'line ' || CAST(_line AS VARCHAR))"
    sql = (f"SELECT _source, _table, r.element, r.reason, count(*) AS n, "
           f"min_by({{'record_key': {key}, 'value': r.value, 'raw': left(raw, 300)}}, hash({key}), {samples}) "
           f"FROM (SELECT *, unnest(reasons) AS r FROM {src}) GROUP BY ALL ORDER BY n DESC, 1, 2, 3, 4")
    return [QuarantineStat(s, t, e, r, n, [dict(x) for x in (xs or [])])
            for s, t, e, r, n, xs in con.execute(sql).fetchall()]


def dumps(obj: Any) -> str:
    return json.dumps(obj, ensure_ascii=False, default=str, sort_keys=True)
