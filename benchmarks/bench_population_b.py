"""The shipped person configuration on population B: pairwise precision / recall, time, memory.

    uv run --frozen python -m benchmarks.bench_population_b --persons 20000 [--seed 2027] [--json OUT]

Population B (:mod:`benchmarks.population_b`) is a second, independent test population: its own
names, households, twins, namesakes, six departments with their own formats and defect rates.  Its
records are standardised by the standard's element rules and resolved by the engine with
``schemas/masters/person.yaml`` as shipped (nothing is tuned to this population); the clusters are
scored pairwise against the truth, and every record's missed and wrong links are counted per
defect it carries, so a shortfall names its causes.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def per_defect(sql: Any) -> dict[str, dict[str, float]]:
    """Per defect: records carrying it, their true mates, the mates missed, the wrong mates."""
    rows = sql.rows(
        "WITH s AS (SELECT defects, count(*) OVER (PARTITION BY cluster) AS m, count(*) OVER (PARTITION BY person) "
        "AS t, count(*) OVER (PARTITION BY cluster, person) AS c FROM pb_ev) "
        "SELECT d, count(*), sum(t - 1), sum(t - c), sum(m - c) FROM (SELECT unnest(CASE WHEN defects = '' THEN "
        "['none'] ELSE string_split(defects, ',') END) AS d, c, t, m FROM s) GROUP BY d ORDER BY d")
    return {str(d): {"records": int(n), "true_mates": int(tm), "missed": int(mi), "wrong": int(wr),
                     "recall": 1 - float(mi) / max(float(tm), 1.0)} for d, n, tm, mi, wr in rows}


def run(persons: int, seed: int = 2027) -> dict[str, Any]:
    """Generate, standardise, resolve with the shipped person config, and score."""
    from benchmarks.population_b import raw_records, standardise
    from core.db import connect
    from pipelines.masters.config import master_config
    from pipelines.masters.evaluate import Scores
    from pipelines.resolve.engine import resolve
    from pipelines.resolve.macros import install_resolve_macros
    from pipelines.resolve.sql import Sql

    t0 = time.perf_counter()
    raw = raw_records(persons, seed)
    t_gen = time.perf_counter() - t0
    con = connect()
    sql = Sql(con)
    install_resolve_macros(sql)
    sql.register("pb_raw_arrow", raw)
    sql.run("CREATE TEMP TABLE pb_raw AS SELECT * FROM pb_raw_arrow")
    sql.unregister("pb_raw_arrow")
    del raw
    t1 = time.perf_counter()
    n = standardise(sql, "pb_raw", "pb_silver")
    t_std = time.perf_counter() - t1
    t2 = time.perf_counter()
    res = resolve(sql, master_config("person"), "pb_silver")
    t_resolve = time.perf_counter() - t2
    sql.run(f"CREATE TEMP TABLE pb_ev AS SELECT s.record_id, s.person, s.defects, c.cluster FROM {res.clusters} AS c "
            f"JOIN {res.rec} AS f ON f.rid = c.rid JOIN pb_silver AS s ON s.record_id = f.record_id")

    def pairs(group: str) -> int:
        return int(sql.one(f"SELECT coalesce(sum(k * (k - 1) / 2), 0) FROM (SELECT count(*) AS k FROM pb_ev "
                           f"GROUP BY {group})") or 0)

    scored = int(sql.one("SELECT count(*) FROM pb_ev") or 0)
    s = Scores.of(pairs("cluster, person"), pairs("cluster"), pairs("person"), scored)
    out = {"persons": persons, "seed": seed, "records": n, "scored_records": scored, "precision": s.precision,
           "recall": s.recall, "f1": s.f1, "review_queue": res.cluster_stats.review,
           "seconds": {"generate": round(t_gen, 1), "standardise": round(t_std, 1), "resolve": round(t_resolve, 1)},
           "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024, 2),
           "per_defect": per_defect(sql)}
    con.close()
    return out


def render(r: dict[str, Any]) -> str:
    lines = [f"population B, {r['persons']:,} persons (seed {r['seed']}), {r['records']:,} records: precision "
             f"{r['precision']:.5f}, recall {r['recall']:.5f}, F1 {r['f1']:.5f}; review queue {r['review_queue']:,}; "
             f"resolve {r['seconds']['resolve']}s (generate {r['seconds']['generate']}s, standardise "
             f"{r['seconds']['standardise']}s), peak RSS {r['peak_rss_gb']} GB",
             "", "| defect | records | true mates | missed | wrong | recall |", "| --- | ---: | ---: | ---: | ---: | ---: |"]
    for d, v in r["per_defect"].items():
        lines.append(f"| {d} | {v['records']:,} | {v['true_mates']:,} | {v['missed']:,} | {v['wrong']:,} | "
                     f"{v['recall']:.4f} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=20_000)
    ap.add_argument("--seed", type=int, default=2027)
    ap.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = ap.parse_args(argv)
    r = run(args.persons, args.seed)
    print(render(r))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1, ensure_ascii=False), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
