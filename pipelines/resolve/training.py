"""Training the Fellegi-Sunter parameters without labels.

* u (how often a level occurs between two *different* records) from random record pairs: almost
  every random pair is a non-match, so level frequencies in a large random sample estimate u.
* m (how often a level occurs between two records of the *same* entity) by expectation
  maximisation on comparison vectors of pairs sampled from training sessions - pairs that agree on
  some blocking features (Splink's approach).  Comparisons that read a session's blocking features
  are left out of that session: all its pairs agree on them by construction, which says nothing
  about m.  A comparison's m is the mean over the sessions that trained it.
* the prior (probability that two random records match) from the deterministic clusters: the share
  of all record pairs that fall inside one cluster.

The heavy part - comparing hundreds of thousands of pairs - is SQL that groups identical vectors
and returns (vector, count); EM then runs on a few hundred distinct patterns in numpy, which is why
it takes milliseconds.  Sampling is by hashing record ids with a fixed seed (MD5,
:func:`~pipelines.resolve.macros.sample_hash`, the same on DuckDB and Spark), never by the
database's random sampler, so a re-run trains bit-identical parameters.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from core.sqltext import q
from pipelines.resolve.comparisons import Params, comparison_features, gamma_columns, gammas_sql
from pipelines.resolve.config import ResolveConfig, TrainingSession
from pipelines.resolve.macros import sample_hash
from pipelines.resolve.sql import Sql

DEFAULT_TOP_M = 0.9


@dataclass
class Patterns:
    gammas: np.ndarray  # (P, C) int, -1 = null
    counts: np.ndarray  # (P,)


def _patterns(sql: Sql, cfg: ResolveConfig, pairs: str, rec: str) -> Patterns:
    cols = gamma_columns(cfg)
    g = ", ".join(q(c) for c in cols)
    rows = sql.rows(f"SELECT {g}, count(*) FROM ({gammas_sql(cfg, pairs, rec)}) GROUP BY {g} ORDER BY {g}")
    if not rows:
        return Patterns(np.zeros((0, len(cols)), np.int16), np.zeros(0))
    arr = np.array(rows, dtype=np.float64)
    return Patterns(arr[:, :-1].astype(np.int16), arr[:, -1])


def estimate_u(sql: Sql, cfg: ResolveConfig, rec: str) -> tuple[dict[str, list[float]], int]:
    """u per level from ``training.random_pairs`` random pairs (hash-sampled, reproducible)."""
    n = int(sql.one(f"SELECT count(*) FROM {rec}") or 0)
    p = cfg.master
    k = min(cfg.training.random_pairs, max(50 * n, 100_000))  # small inputs need fewer to see every level
    seed = cfg.training.seed
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_pos AS SELECT rid, CAST(row_number() OVER (ORDER BY rid) - 1 AS BIGINT) AS pos "
            f"FROM {rec}")
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {p}_upairs AS SELECT a.rid AS l, b.rid AS r FROM "
        f"(SELECT i, {sample_hash(['i'], seed)} % {max(n, 1)} AS pa, {sample_hash(['i'], seed + 1)} % {max(n, 1)} AS pb "
        f"FROM range({k}) AS t(i)) AS s JOIN {p}_pos AS a ON a.pos = s.pa JOIN {p}_pos AS b ON b.pos = s.pb "
        f"WHERE a.rid <> b.rid"
    )
    pats = _patterns(sql, cfg, f"{p}_upairs", rec)
    sql.run(f"DROP TABLE {p}_upairs")
    u: dict[str, list[float]] = {}
    for j, c in enumerate(cfg.comparisons):
        levels = len(c.levels) + 1
        g = pats.gammas[:, j] if pats.gammas.size else np.zeros(0, np.int16)
        cnt = np.array([pats.counts[g == lv].sum() for lv in range(levels)], dtype=np.float64)
        total = cnt.sum()
        # a level never seen by chance in the sample gets half a count: a conservative upper bound
        u[c.name] = [float(x) for x in np.maximum(cnt, 0.5) / max(total, 1.0)]
    return u, n


def session_pairs_sql(cfg: ResolveConfig, s: TrainingSession, rec: str, fraction: float) -> str:
    keys = ", ".join(q(b) for b in s.block)
    not_null = " AND ".join(f"{q(b)} IS NOT NULL" for b in s.block)
    on = " AND ".join(f"a.{q(b)} = b.{q(b)}" for b in s.block)
    keep = f"{sample_hash([q(b) for b in s.block], cfg.training.seed)} % 1000000 < {int(fraction * 1_000_000)}"
    return (f"WITH k AS (SELECT rid, {keys} FROM {rec} WHERE {not_null} AND {keep}) "
            f"SELECT a.rid AS l, b.rid AS r FROM k AS a JOIN k AS b ON {on} AND a.rid < b.rid")


def session_patterns(sql: Sql, cfg: ResolveConfig, s: TrainingSession, rec: str) -> tuple[Patterns, int]:
    """Comparison patterns of one session's pairs, sampled by key hash to about ``max_pairs``."""
    keys = ", ".join(q(b) for b in s.block)
    not_null = " AND ".join(f"{q(b)} IS NOT NULL" for b in s.block)
    total = int(sql.one(f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM {rec} "
                        f"WHERE {not_null} GROUP BY {keys} HAVING count(*) <= 1000)") or 0)
    fraction = min(1.0, s.max_pairs / max(total, 1))
    p = cfg.master
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_spairs AS {session_pairs_sql(cfg, s, rec, fraction)}")
    pats = _patterns(sql, cfg, f"{p}_spairs", rec)
    sql.run(f"DROP TABLE {p}_spairs")
    return pats, total


def em(pats: Patterns, active: list[int], m0: list[np.ndarray], u: list[np.ndarray], prior0: float,
       max_iter: int, tol: float) -> tuple[list[np.ndarray], float]:
    """Expectation maximisation of m (u fixed) over the ``active`` comparisons of the patterns."""
    m = [x.copy() for x in m0]
    lam = prior0
    if pats.counts.size == 0 or not active:
        return m, lam
    g = pats.gammas
    w = pats.counts
    for _ in range(max_iter):
        lm = np.full(len(w), math.log(lam))
        lu = np.full(len(w), math.log(1 - lam))
        for j in active:
            gj = g[:, j]
            ok = gj >= 0
            lm[ok] += np.log(m[j][gj[ok]])
            lu[ok] += np.log(u[j][gj[ok]])
        post = 1.0 / (1.0 + np.exp(np.clip(lu - lm, -700, 700)))
        pw = post * w
        new_lam = float(np.clip(pw.sum() / w.sum(), 1e-9, 1 - 1e-9))
        delta = abs(new_lam - lam)
        for j in active:
            gj = g[:, j]
            levels = len(m[j])
            num = np.array([pw[gj == lv].sum() for lv in range(levels)])
            den = num.sum()
            if den <= 0:
                continue
            new = np.clip(num / den, 1e-6, None)
            new = new / new.sum()
            delta = max(delta, float(np.abs(new - m[j]).max()))
            m[j] = new
        lam = new_lam
        if delta < tol:
            break
    return m, lam


def initial_m(cfg: ResolveConfig) -> dict[str, np.ndarray]:
    """Starting m: the config's values, else a spread from 0.9 on the first level down."""
    out: dict[str, np.ndarray] = {}
    for c in cfg.comparisons:
        n = len(c.levels)
        default = [DEFAULT_TOP_M * (0.1 ** i) for i in range(n)] + [0.05]
        given = [lv.m for lv in c.levels]
        if all(g is not None for g in given):  # the last level takes what the given ones leave
            last = max(1.0 - sum(given), 1e-6)  # type: ignore[arg-type]
            out[c.name] = np.array([*given, last], dtype=np.float64)
            continue
        vals = np.array([g if g is not None else default[i] for i, g in enumerate(given)] + [default[-1]])
        out[c.name] = vals / vals.sum()
    return out


def deterministic_prior(sql: Sql, nodes_rec: str, n: int) -> float:
    """Share of all record pairs that lie inside one deterministic node (floor 1 / n^2)."""
    within = float(sql.one(f"SELECT coalesce(sum(k * (k - 1) / 2), 0) FROM (SELECT count(*) AS k FROM {nodes_rec} "
                           f"GROUP BY node)") or 0.0)
    total = n * (n - 1) / 2
    return min(max(within / max(total, 1.0), 1.0 / max(n * n, 4)), 0.5)


def _given_u(cfg: ResolveConfig, sampled: dict[str, list[float]]) -> dict[str, list[float]]:
    """Levels with a configured u keep it; the implicit last level takes the remaining mass."""
    out = {}
    for c in cfg.comparisons:
        u = list(sampled.get(c.name, [1.0 / (len(c.levels) + 1)] * (len(c.levels) + 1)))
        given = [lv.u for lv in c.levels]
        if any(g is not None for g in given):
            for i, g in enumerate(given):
                if g is not None:
                    u[i] = float(g)
            if all(g is not None for g in given):
                u[-1] = max(1.0 - sum(u[:-1]), 1e-9)
        out[c.name] = u
    return out


def train(sql: Sql, cfg: ResolveConfig, rec: str) -> Params:
    """Train m, u and the prior on ``rec`` (features + ``node``); see the module docstring."""
    u_map: dict[str, list[float]]
    if all(c.u_given for c in cfg.comparisons):
        u_map, n = {}, int(sql.one(f"SELECT count(*) FROM {rec}") or 0)  # nothing to sample
    else:
        with sql.step("u from random pairs", timed=False):
            u_map, n = estimate_u(sql, cfg, rec)
    u_map = _given_u(cfg, u_map)
    m_init = initial_m(cfg)
    names = [c.name for c in cfg.comparisons]
    u_list = [np.array(u_map[c]) for c in names]
    sums = {c: np.zeros_like(m_init[c]) for c in names}
    counts = dict.fromkeys(names, 0)
    lam_estimates: list[float] = []
    for s in cfg.training.sessions:
        block = set(s.block)
        active = [j for j, c in enumerate(cfg.comparisons)
                  if not (comparison_features(c) & block) and not all(lv.fixed for lv in c.levels)]
        with sql.step(f"m by EM on pairs agreeing on {', '.join(s.block)}", timed=False):
            pats, total = session_patterns(sql, cfg, s, rec)
            m_list, lam = em(pats, active, [m_init[c] for c in names], u_list, 0.5,
                             cfg.training.max_iterations, cfg.training.tolerance)
            sql.note(pairs=total)
        for j in active:
            sums[names[j]] += m_list[j]
            counts[names[j]] += 1
        if pats.counts.size:
            lam_estimates.append(lam * total / max(n * (n - 1) / 2, 1))
    m_final: dict[str, list[float]] = {}
    for c in names:
        m_final[c] = [float(x) for x in (sums[c] / counts[c] if counts[c] else m_init[c])]
    if cfg.training.prior is not None:
        prior = cfg.training.prior
    elif cfg.deterministic:
        prior = deterministic_prior(sql, rec, n)
    elif lam_estimates:
        prior = float(min(max(max(lam_estimates), 1e-12), 0.5))
    else:
        prior = 1.0 / max(n, 2)
    return Params(prior=float(prior), m=m_final, u=u_map, trained={c: counts[c] > 0 for c in names},
                  min_u=cfg.training.min_u)
