"""Comparison vectors and Fellegi-Sunter match weights, as generated SQL.

A pair's comparison vector holds one level index per comparison (``g_<name>``): -1 when the
comparison has nothing to say (a side is NULL), 0 for the first level whose condition holds, ...,
``len(levels)`` for the implicit "different" level.  The weight of a pair is
``log2(prior odds) + sum(log2(m/u))`` over its levels, with term-frequency adjustment on levels
that ask for it: an exact match on a rare name is stronger evidence than on 张伟, so the level's
average u is replaced by the frequency of the value itself (``log2(u / tf(value))`` is added).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import sqlglot
import sqlglot.expressions as exp

from core.sqltext import lit, q
from pipelines.resolve.config import Comparison, ResolveConfig
from pipelines.resolve.sql import Sql


def gamma_sql(c: Comparison) -> str:
    whens = " ".join(f"WHEN {lv.when} THEN {i}" for i, lv in enumerate(c.levels))
    return f"CAST(CASE WHEN {c.null_when} THEN -1 {whens} ELSE {len(c.levels)} END AS TINYINT)"


def gamma_columns(cfg: ResolveConfig) -> list[str]:
    return [f"g_{c.name}" for c in cfg.comparisons]


def gammas_sql(cfg: ResolveConfig, pairs: str, rec: str, extra: str = "") -> str:
    """SELECT pairs' columns plus every ``g_<comparison>`` (features joined as ``l`` and ``r``)."""
    cols = ", ".join(f"{gamma_sql(c)} AS {q('g_' + c.name)}" for c in cfg.comparisons)
    return (f"SELECT p.*, {cols}{extra} FROM {pairs} AS p "
            f"JOIN {rec} AS l ON l.rid = p.l JOIN {rec} AS r ON r.rid = p.r")


def comparison_features(c: Comparison) -> set[str]:
    """Features a comparison reads (to leave it out of EM sessions blocked on them)."""
    names: set[str] = set()
    for sql_text in [c.null_when] + [lv.when for lv in c.levels]:
        for col in sqlglot.parse_one(sql_text, read="duckdb").find_all(exp.Column):
            names.add(col.name)
    return names


@dataclass
class Params:
    """Trained parameters: m and u per comparison level, and the prior match probability."""

    prior: float
    m: dict[str, list[float]]
    u: dict[str, list[float]]
    trained: dict[str, bool] = field(default_factory=dict)
    min_u: float = 1e-8

    def weight(self, comparison: str, level: int) -> float:
        return float(math.log2(self.m[comparison][level] / max(self.u[comparison][level], self.min_u)))

    @property
    def prior_weight(self) -> float:
        return math.log2(self.prior / (1 - self.prior))

    def rows(self, cfg: ResolveConfig) -> list[dict[str, object]]:
        """One row per comparison level, for the ``match_params`` table and reports."""
        out: list[dict[str, object]] = []
        for c in cfg.comparisons:
            labels = [lv.label for lv in c.levels] + [c.else_label]
            for i, label in enumerate(labels):
                out.append({"master": cfg.master, "comparison": c.name, "level": i, "label": label,
                            "m": self.m[c.name][i], "u": self.u[c.name][i], "weight": self.weight(c.name, i),
                            "trained": self.trained.get(c.name, False), "prior": self.prior})
        return out

    def neutralised(self, ignore: set[str] | list[str] | tuple[str, ...]) -> Params:
        """These parameters with the ``ignore`` comparisons made neutral (m = u: zero bits at every
        level), as the conflicting-keys review scores pairs whose differing key must not veto them."""
        return Params(prior=self.prior, min_u=self.min_u, trained=self.trained,
                      m={c: (list(self.u[c]) if c in ignore else list(v)) for c, v in self.m.items()},
                      u={c: list(v) for c, v in self.u.items()})

    @classmethod
    def from_rows(cls, rows: list[dict[str, object]]) -> Params:
        m: dict[str, list[float]] = {}
        u: dict[str, list[float]] = {}
        trained: dict[str, bool] = {}
        prior = 1e-6
        for r in sorted(rows, key=lambda r: (str(r["comparison"]), int(r["level"]))):  # type: ignore[call-overload]
            m.setdefault(str(r["comparison"]), []).append(float(r["m"]))  # type: ignore[arg-type]
            u.setdefault(str(r["comparison"]), []).append(float(r["u"]))  # type: ignore[arg-type]
            trained[str(r["comparison"])] = bool(r["trained"])
            prior = float(r["prior"])  # type: ignore[arg-type]
        return cls(prior=prior, m=m, u=u, trained=trained)


def tf_features(cfg: ResolveConfig) -> list[str]:
    return sorted({lv.tf for c in cfg.comparisons for lv in c.levels if lv.tf})


def build_tf_tables(sql: Sql, cfg: ResolveConfig, rec: str) -> None:
    """``{master}_tf_<feature>`` (v, tf): share of clusters (deterministic nodes) holding each value.

    Nodes, not records, are counted, so a person present in twelve departments does not make
    their name look twelve times as common.
    """
    for f in tf_features(cfg):
        sql.run(
            f"CREATE OR REPLACE TEMP TABLE {cfg.master}_tf_{f} AS SELECT v, CAST(n AS DOUBLE) / sum(n) OVER () AS tf "
            f"FROM (SELECT {q(f)} AS v, count(DISTINCT node) AS n FROM {rec} WHERE {q(f)} IS NOT NULL GROUP BY {q(f)})"
        )


def _dbl(x: float) -> str:
    """A DOUBLE literal (a bare 1.25 is a DECIMAL in DuckDB, and sums of them stay DECIMAL)."""
    return f"CAST({float(x)!r} AS DOUBLE)"


def weight_terms(cfg: ResolveConfig, params: Params, tf_table: str = "{master}_tf_{feature}"
                 ) -> tuple[list[tuple[str, str]], list[str]]:
    """([(term name, expression)], LEFT JOINs): the prior and each comparison's contribution in bits.

    A comparison's term is its level's ``log2(m/u)`` plus, on levels that ask for it, the
    term-frequency adjustment of the left record's value.  ``tf_table`` names the frequency
    tables (``{master}`` and ``{feature}`` filled in): the TEMP ones while resolving, the state
    file's (``state.main...``) when a queued pair is explained later.
    """
    terms = [("prior", _dbl(params.prior_weight))]
    joins: list[str] = []
    for c in cfg.comparisons:
        g = q(f"g_{c.name}")
        cases = " ".join(f"WHEN {i} THEN {_dbl(params.weight(c.name, i))}" for i in range(len(c.levels) + 1))
        parts = [f"CASE {g} {cases} ELSE {_dbl(0.0)} END"]
        for i, lv in enumerate(c.levels):
            if lv.tf:
                alias = f"tf_{c.name}_{i}"
                table = tf_table.format(master=cfg.master, feature=lv.tf)
                joins.append(f"LEFT JOIN {table} AS {alias} ON {alias}.v = l.{q(lv.tf)}")
                u = float(max(params.u[c.name][i], params.min_u))
                parts.append(f"CASE WHEN {g} = {i} AND {alias}.tf IS NOT NULL "
                             f"THEN log2({_dbl(u)} / greatest({alias}.tf, {_dbl(params.min_u)})) ELSE {_dbl(0.0)} END")
        terms.append((c.name, " + ".join(parts)))
    return terms, joins


def weight_sql(cfg: ResolveConfig, params: Params) -> tuple[str, str]:
    """(weight expression over ``g_*`` columns and tf joins, the LEFT JOINs it needs).

    Terms are summed in a fixed order row by row, so a re-run yields bit-identical weights.
    """
    terms, joins = weight_terms(cfg, params)
    return " + ".join(t for _n, t in terms), " ".join(joins)


def score_pairs(sql: Sql, cfg: ResolveConfig, params: Params, pairs: str, rec: str, out: str) -> None:
    """Create ``out``: pairs with comparison vectors, ``weight`` (bits) and ``prob``."""
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out}_g AS {gammas_sql(cfg, pairs, rec)}")
    w, joins = weight_sql(cfg, params)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT s.*, ({w}) AS weight FROM {out}_g AS s "
        f"JOIN {rec} AS l ON l.rid = s.l {joins}"
    )
    sql.run(f"DROP TABLE {out}_g")


def explain_pairs(sql: Sql, cfg: ResolveConfig, params: Params, pairs: str, rec: str, out: str,
                  tf_table: str = "{master}_tf_{feature}") -> None:
    """Create ``out`` (l, r, comparison, level, bits): what each comparison level contributed to
    each pair's weight - the prior as comparison ``prior`` (level NULL), a comparison with nothing
    to say as level -1 and 0 bits.  The bits of a pair add up to the weight :func:`score_pairs`
    gives it with the same parameters (the same terms, in the same order)."""
    terms, joins = weight_terms(cfg, params, tf_table)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out}_g AS {gammas_sql(cfg, pairs, rec)}")
    cols = ", ".join(f"({t}) AS {q('b_' + n)}" for n, t in terms)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out}_w AS SELECT s.*, {cols} FROM {out}_g AS s "
            f"JOIN {rec} AS l ON l.rid = s.l {' '.join(joins)}")
    parts = [f"SELECT l, r, 'prior' AS comparison, CAST(NULL AS INTEGER) AS level, b_prior AS bits FROM {out}_w"]
    parts += [f"SELECT l, r, {lit(c.name)}, CAST({q('g_' + c.name)} AS INTEGER), {q('b_' + c.name)} FROM {out}_w"
              for c in cfg.comparisons]
    sql.run(f"CREATE OR REPLACE TEMP TABLE {out} AS {' UNION ALL '.join(parts)}")
    sql.run(f"DROP TABLE {out}_g")
    sql.run(f"DROP TABLE {out}_w")


def probability(weight: float) -> float:
    return 1.0 / (1.0 + 2.0 ** (-weight))


def weight_of(prob: float) -> float:
    return math.log2(prob / (1.0 - prob))
