"""Why two records scored what they did: a pair's match weight broken down per comparison level.

A Fellegi-Sunter weight is a sum - the prior's log2 odds, then for each comparison the log2 Bayes
factor ``log2(m/u)`` of the level the pair reached (plus the term-frequency adjustment on levels
that ask for it; zero when a side has nothing to compare).  Laid out in that order it is a
waterfall, and the person deciding whether the engine was right reads at a glance which comparison
carried the pair over (or under) the thresholds.

The bits come from :func:`pipelines.resolve.comparisons.explain_pairs`, i.e. the very terms the
engine scores with, so an explanation's parts add up to the weight the engine gave the pair.  The
same code explains a pair in a ``masterdata link`` run (its TEMP tables, right after scoring) and
in the gold store of the masters (``state.<master>_rec``, the stored term frequencies and
``match_params``; :mod:`pipelines.masters.explain`).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa

from core.errors import NotFoundError
from core.sqltext import q
from pipelines.resolve.comparisons import Params, explain_pairs, probability, weight_of
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.sql import Sql

#: the label of a comparison with nothing to compare (a side is empty) and of the prior's row
NO_COMPARISON, PRIOR = "null", "prior"


class UnknownRecord(NotFoundError):
    """A record id the run or the store does not hold (one line)."""


@dataclass(frozen=True)
class Contribution:
    """What one comparison (or the prior) added to a pair's weight: its level and the bits."""

    comparison: str
    level: int | None
    label: str
    bits: float
    m: float | None = None
    u: float | None = None
    #: bits beyond the level's log2(m/u): the term-frequency adjustment of a rare or common value
    tf_bits: float = 0.0


@dataclass
class Explanation:
    """One pair's waterfall: the prior, each comparison's level and bits, their sum and probability."""

    left: str
    right: str
    parts: list[Contribution]
    weight: float
    probability: float
    #: match / review / no_match by the configuration's thresholds
    verdict: str
    thresholds: dict[str, float] = field(default_factory=dict)
    #: the weight the engine stored for the pair when it scored it (None: not a scored pair)
    scored_weight: float | None = None
    #: how the two records are related in the result (same cluster, a deterministic key ...)
    note: str = ""

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def render(self) -> str:
        """Text waterfall for the command line: one line per part, a bar of its bits."""
        lines = [f"{self.left}  <->  {self.right}" + (f"   ({self.note})" if self.note else "")]
        running = 0.0
        for p in self.parts:
            running += p.bits
            mu = f"m={p.m:.4g} u={p.u:.4g}" if p.m is not None and p.u is not None else ""
            mu += f" tf {p.tf_bits:+.2f}" if abs(p.tf_bits) > 1e-9 else ""
            bar = ("+" if p.bits > 0 else "-") * min(40, int(round(abs(p.bits))))
            lines.append(f"  {p.comparison:14} {p.label:22} {p.bits:>+8.2f}  {running:>+8.2f}  {mu:26} {bar}")
        scored = "" if self.scored_weight is None else f" (engine scored {self.scored_weight:+.2f})"
        lines.append(f"  {'total':14} {'':22} {self.weight:>+8.2f} bits{scored} -> probability "
                     f"{self.probability:.6f}: {self.verdict} (match >= {self.thresholds.get('match')}, review >= "
                     f"{self.thresholds.get('review')})")
        return "\n".join(lines)


def verdict(cfg: ResolveConfig, weight: float) -> str:
    """What the thresholds make of a weight (before clustering's constraints)."""
    if weight >= weight_of(cfg.thresholds.match):
        return "match"
    return "review" if weight >= weight_of(cfg.thresholds.review) else "no_match"


def level_label(cfg: ResolveConfig, comparison: str, level: int | None) -> str:
    if comparison == PRIOR:
        return PRIOR
    c = next(c for c in cfg.comparisons if c.name == comparison)
    if level is None or level < 0:
        return NO_COMPARISON
    return c.levels[level].label if level < len(c.levels) else c.else_label


def rid_pairs(sql: Sql, rec: str, pairs: list[tuple[str, str]], out: str, what: str = "record") -> None:
    """Create TEMP ``out`` (i, l, r): the engine's record numbers of the record-id ``pairs``, in
    their order; an id ``rec`` does not hold is a one-line :class:`UnknownRecord`."""
    ids = sorted({x for p in pairs for x in p})
    sql.register("__explain_ids", pa.table({"record_id": pa.array(ids, pa.string())}))
    try:
        known = {r[0]: r[1] for r in sql.rows(f"SELECT f.record_id, f.rid FROM {rec} AS f "
                                              f"JOIN __explain_ids AS i ON i.record_id = f.record_id")}
    finally:
        sql.unregister("__explain_ids")
    missing = [x for x in ids if x not in known]
    if missing:
        more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
        raise UnknownRecord(f"no {what} {missing[0]!r}{more}")
    for a, b in pairs:
        if a == b:
            raise UnknownRecord(f"a pair needs two different records, not {a!r} twice")
    sql.register("__explain_pairs", pa.table({
        "i": pa.array(range(len(pairs)), pa.int64()),
        "l": pa.array([known[a] for a, _ in pairs], pa.int64()),
        "r": pa.array([known[b] for _, b in pairs], pa.int64())}))
    try:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT * FROM __explain_pairs")
    finally:
        sql.unregister("__explain_pairs")


def explain(sql: Sql, cfg: ResolveConfig, params: Params, rec: str, pairs: list[tuple[str, str]], *,
            tf_table: str = "{master}_tf_{feature}", scored: str | None = None, prefix: str = "__explain",
            what: str = "record") -> list[Explanation]:
    """Explain each record-id pair of ``pairs`` over the features ``rec`` (rid, record_id, features)
    with ``params``; ``scored`` (l, r, weight) adds the weight the engine gave a pair it scored."""
    if not pairs:
        return []
    rid_pairs(sql, rec, pairs, f"{prefix}_p", what)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {prefix}_d AS SELECT DISTINCT l, r FROM {prefix}_p")  # a pair asked twice
    explain_pairs(sql, cfg, params, f"{prefix}_d", rec, f"{prefix}_x", tf_table)
    rows = sql.rows(f"SELECT p.i, x.comparison, x.level, x.bits FROM {prefix}_x AS x JOIN {prefix}_p AS p "
                    f"ON p.l = x.l AND p.r = x.r")
    stored: dict[int, float] = {}
    if scored:
        stored = {int(i): float(w) for i, w in sql.rows(
            f"SELECT p.i, s.weight FROM {prefix}_p AS p JOIN {scored} AS s ON (s.l = p.l AND s.r = p.r) "
            f"OR (s.l = p.r AND s.r = p.l)")}
    for t in ("x", "d", "p"):
        sql.run(f"DROP TABLE {prefix}_{t}")
    order = {PRIOR: -1, **{c.name: k for k, c in enumerate(cfg.comparisons)}}
    by_pair: dict[int, list[Contribution]] = {}
    for i, comparison, level, bits in rows:
        lv = None if level is None else int(level)
        m = u = None
        tf = 0.0
        if comparison != PRIOR and lv is not None and lv >= 0:
            m, u = params.m[comparison][lv], params.u[comparison][lv]
            tf = float(bits) - params.weight(comparison, lv)
        by_pair.setdefault(int(i), []).append(
            Contribution(comparison, lv, level_label(cfg, comparison, lv), float(bits), m, u, tf))
    out = []
    thresholds = {"match": cfg.thresholds.match, "review": cfg.thresholds.review}
    for i, (a, b) in enumerate(pairs):
        parts = sorted(by_pair.get(i, []), key=lambda c: order.get(c.comparison, len(order)))
        total = 0.0
        for c in parts:  # in the engine's order, so the sum is the engine's to the last bit
            total += c.bits
        out.append(Explanation(a, b, parts, total, probability(total), verdict(cfg, total), thresholds,
                               stored.get(i)))
    return out


def neighbours(sql: Sql, rec: str, record_id: str, group: str, limit: int,
               candidates: str | None = None) -> list[str]:
    """Records to explain a record against: those ``group`` (a column of ``rec``: its cluster or
    master) puts with it, then pairs in ``candidates`` (l, r, weight) by weight - at most ``limit``."""
    own = sql.rows(f"SELECT rid, {q(group)} FROM {rec} WHERE record_id = ?", [record_id])
    if not own:
        raise UnknownRecord(f"no record {record_id!r}")
    rid, g = own[0]
    mates = [r[0] for r in sql.rows(f"SELECT record_id FROM {rec} WHERE {q(group)} = ? AND rid <> ? "
                                    f"ORDER BY record_id LIMIT {int(limit)}", [g, rid])]
    if candidates and len(mates) < limit:
        more = sql.rows(
            f"SELECT f.record_id FROM {candidates} AS s JOIN {rec} AS f ON f.rid = CASE WHEN s.l = ? THEN s.r "
            f"ELSE s.l END WHERE (s.l = ? OR s.r = ?) AND f.{q(group)} IS DISTINCT FROM ? "
            f"ORDER BY s.weight DESC, f.record_id LIMIT {int(limit - len(mates))}", [rid, rid, rid, g])
        mates += [r[0] for r in more if r[0] not in mates]
    return mates
