"""Ingest and standardise a generated city (all 32 sources) and report time, rows and peak memory.

    uv run --frozen python -m benchmarks.bench_ingest --city /work/bench_city [--lake DIR] [--jobs N]

Generate the city first: ``masterdata generate --persons 1000000 --seed 11 --out DIR --no-day2``
(embedded target: PostgreSQL/MariaDB sources as SQLite files), or with ``--target servers`` and
``MASTERDATA_DB_MODE=servers`` to read the real servers.

The tables run as ``masterdata ingest --jobs N`` runs them (:mod:`pipelines.ingest_jobs`): one after
another on one connection (``--jobs 1``, the default here), or in N worker processes, largest
first.  Reported: wall time, CPU of this process and its workers, and two peaks: the largest single
process (``ru_maxrss``, what ``/usr/bin/time`` shows) and the sum over this process and its
workers (sampled every 0.2 s): the memory the run held at once.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path

from benchmarks.sampling import Periodic


class TreePeak(Periodic):
    """The largest summed RSS of this process and its descendants, sampled in a thread."""

    def __init__(self, every_s: float = 0.2) -> None:
        import psutil

        super().__init__(every_s)
        self.me = psutil.Process()
        self.peak = 0

    def sample(self) -> None:
        import psutil

        total = 0
        for p in [self.me, *self.me.children(recursive=True)]:
            try:
                total += p.memory_info().rss
            except psutil.Error:
                pass
        self.peak = max(self.peak, total)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--lake", type=Path, default=None)
    ap.add_argument("--mode", default=os.environ.get("MASTERDATA_DB_MODE", "embedded"))
    ap.add_argument("--jobs", type=int, default=1, help="tables at once, as masterdata ingest --jobs")
    args = ap.parse_args()
    if args.jobs < 1:
        ap.error(f"--jobs must be 1 or more, not {args.jobs}")
    lake_dir = args.lake or args.city / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)

    from dataclasses import replace

    from pipelines.connections import SourceEnvironment
    from pipelines.ingest_jobs import UnitResult, plan, run_units
    from pipelines.lake import Lake
    from pipelines.registry import registry

    env = replace(SourceEnvironment.from_env(), sources_dir=args.city / "sources", db_mode=args.mode)
    lake = Lake(lake_dir)
    t0 = time.perf_counter()
    totals = [0, 0, 0]
    units = plan(list(registry()), env, lake, estimated=args.jobs > 1)
    started: dict[tuple[str, str], float] = {}
    with TreePeak() as tree:
        for event in run_units(units, args.jobs, env, lake):
            key = (event.unit.source, event.unit.table)
            if not isinstance(event, UnitResult):
                started[key] = time.perf_counter()
                continue
            if event.error:
                print(f"FAILED {event.error}", flush=True)
            n = [sum(getattr(o, f) for o in event.outcomes) for f in ("extracted", "standardised", "quarantined")]
            totals = [a + b for a, b in zip(totals, n)]
            seconds = time.perf_counter() - started.get(key, time.perf_counter())
            print(f"{key[0] + '.' + key[1]:36} {n[0]:>10,} rows {seconds:7.1f}s", flush=True)
    wall = time.perf_counter() - t0
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime
    peak = max(me.ru_maxrss, kids.ru_maxrss) / 1024
    print(f"TOTAL extracted {totals[0]:,} = silver {totals[1]:,} + quarantine {totals[2]:,}")
    print(f"jobs {args.jobs}  wall {wall:.1f}s  ({totals[0] / wall:,.0f} rows/s)  CPU {cpu:.1f}s "
          f"({cpu / wall:.2f} cores)  peak RSS {peak:,.0f} MB (largest process), "
          f"{tree.peak / 2**20:,.0f} MB (all processes at once, sampled)")


if __name__ == "__main__":
    main()
