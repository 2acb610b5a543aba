"""Benchmark of the quality scorecards (and the report) on a generated city.

    uv run --frozen python -m benchmarks.bench_quality --persons 1000000 --dir /tmp/bench_quality
    uv run --frozen python benchmarks/bench_quality.py --persons 20000 --report
    uv run --frozen python -m benchmarks.bench_quality --lake /tmp/bench1m/lake \
        --gold /tmp/bench1m/gold/gold.duckdb --dir /tmp/bench1m_quality --report

The city is generated, ingested and (when the master build is available and ``--masters`` is given)
mastered once into ``--dir``, then reused by later runs: only the quality steps are timed.
``--lake`` and ``--gold`` reuse a lake and gold store made elsewhere (e.g. by ``bench_masters``)
instead; the quality store and the report are then still written under ``--dir``. Prints
the stage timings, the slowest feeds, rows scored and peak memory, as a Markdown block to paste
into ``benchmarks/RESULTS_quality.md``. Peak RSS is the process high-water mark (``ru_maxrss``).
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def prepare(root: Path, persons: int, seed: int, masters: bool) -> tuple[Path, Path]:
    """Generate + ingest (+ build masters) into ``root`` unless already there; returns (lake, gold)."""
    from pipelines.connections import SourceEnvironment
    from pipelines.ingest import ingest_source
    from pipelines.lake import Lake
    from pipelines.registry import registry

    city, lake_root, gold = root / "city", root / "lake", root / "warehouse" / "gold.duckdb"
    if not (city / "manifest.json").exists():
        from pipelines.synthetic.city import generate_city

        t = time.perf_counter()
        generate_city(persons, seed, city)
        print(f"generated {persons:,} persons in {time.perf_counter() - t:.0f} s", flush=True)
    lake = Lake(lake_root)
    if not lake.committed_batches():
        env = SourceEnvironment(sources_dir=city / "sources")
        t = time.perf_counter()
        for name in sorted(registry()):
            ingest_source(name, env, lake)
        print(f"ingested in {time.perf_counter() - t:.0f} s", flush=True)
    if masters and not gold.exists():
        from pipelines.masters.build import build

        t = time.perf_counter()
        build(lake=lake, gold=gold)
        print(f"masters built in {time.perf_counter() - t:.0f} s", flush=True)
    return lake_root, gold


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--dir", type=Path, default=Path("var/bench_quality"), help="city, lake and gold (reused)")
    ap.add_argument("--masters", action="store_true", help="build the masters too, so gold figures are timed")
    ap.add_argument("--report", action="store_true", help="also time the GX validation and the HTML report")
    ap.add_argument("--runs", type=int, default=1, help="scorecard runs to time (the best is reported)")
    ap.add_argument("--lake", type=Path, default=None, help="score this existing lake (no generation)")
    ap.add_argument("--gold", type=Path, default=None, help="with --lake: this existing gold store")
    args = ap.parse_args(argv)

    if args.lake is not None:
        if not (args.lake / "_state").is_dir():
            raise SystemExit(f"--lake {args.lake}: not a lake (no _state folder)")
        if args.gold is not None and not args.gold.is_file():
            raise SystemExit(f"--gold {args.gold}: no such gold file")
        lake_root, gold = args.lake, args.gold or args.dir / "warehouse" / "gold.duckdb"
    else:
        lake_root, gold = prepare(args.dir, args.persons, args.seed, args.masters)
    from pipelines.lake import Lake
    from quality.run import run_quality
    from quality.store import QualityStore

    store = QualityStore(args.dir / "warehouse" / "quality")
    best = None
    for i in range(args.runs):
        t = time.perf_counter()
        res = run_quality(Lake(lake_root), store, gold_path=gold)
        wall = time.perf_counter() - t
        print(f"scorecard run {i + 1}: {wall:.1f} s  {res.timings}", flush=True)
        if best is None or wall < best[0]:
            best = (wall, res)
    assert best is not None
    wall, res = best
    feeds = res.scores_at("feed")
    rows = sum(s.rows for s in feeds)
    lines = [
        f"### Scorecards, N = {args.persons:,} persons (seed {args.seed})",
        "",
        f"- machine: {platform.machine()}, {os.cpu_count()} CPUs, Python {platform.python_version()}",
        f"- silver rows scored: {rows:,} in {len(feeds)} feeds (source table x master), "
        f"{len(res.checks):,} checks, {len(res.failures())} failing",
        f"- **all scorecards: {wall:.1f} s** (setup {res.timings.get('setup_s')} s, feeds {res.timings.get('feeds_s')} s, "
        f"gold {res.timings.get('gold_s')} s, quarantine {res.timings.get('quarantine_s')} s)",
        f"- throughput: {rows / max(res.timings.get('feeds_s', wall), 1e-9) / 1e6:.2f} M rows/s over the feeds",
        f"- gold: {', '.join(f'{g.master} {g.golden_records:,} golden' for g in res.gold if g.available) or res.gold[0].note}",
    ]
    if args.report:
        from quality.gxrun import validate_batches
        from quality.report import render

        out = args.dir / "report"
        t = time.perf_counter()
        outcome = validate_batches(out, Lake(lake_root), gold_path=gold)
        gx_s = time.perf_counter() - t
        t = time.perf_counter()
        path = render(store, out, res.run_id, outcome)
        lines.append(f"- report: GX validation of {len(outcome.results)} latest batches (<= 5,000 rows each) "
                     f"+ Data Docs {gx_s:.1f} s; HTML page {time.perf_counter() - t:.2f} s "
                     f"({path.stat().st_size / 1024:.0f} KiB)")
    lines.append(f"- peak RSS: {_rss_mb():,.0f} MiB")
    print("\n".join(lines))
    print("\nslowest feeds:")
    for name, sec in sorted(res.feed_seconds.items(), key=lambda kv: -kv[1])[:8]:
        rows_ = next(s.rows for s in feeds if f"{s.source}.{s.table}.{s.master}" == name)
        print(f"  {name:45} {rows_:>10,} rows {sec:6.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
