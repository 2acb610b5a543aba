"""Ingest and standardise a generated city (all 32 sources) and report time, rows and peak memory.

    uv run --frozen python -m benchmarks.bench_ingest --city /work/bench_city [--lake DIR]

Generate the city first: ``masterdata generate --persons 1000000 --seed 11 --out DIR --no-day2``
(embedded target: PostgreSQL/MariaDB sources as SQLite files), or with ``--target servers`` and
``MASTERDATA_DB_MODE=servers`` to read the real servers.
"""

from __future__ import annotations

import argparse
import os
import resource
import shutil
import time
from pathlib import Path


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--city", type=Path, required=True)
    ap.add_argument("--lake", type=Path, default=None)
    ap.add_argument("--mode", default=os.environ.get("MASTERDATA_DB_MODE", "embedded"))
    args = ap.parse_args()
    lake_dir = args.lake or args.city / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)

    from dataclasses import replace

    from core.db import connect
    from pipelines.connections import SourceEnvironment
    from pipelines.ingest import ingest_table
    from pipelines.lake import Lake
    from pipelines.registry import registry

    env = replace(SourceEnvironment.from_env(), sources_dir=args.city / "sources", db_mode=args.mode)
    lake = Lake(lake_dir)
    con = connect()
    t0 = time.perf_counter()
    totals = [0, 0, 0]
    for name, spec in registry().items():
        t = time.perf_counter()
        n = [0, 0, 0]
        for table in spec.tables:
            for o in ingest_table(spec, table, env, lake, con=con):
                n = [n[0] + o.extracted, n[1] + o.standardised, n[2] + o.quarantined]
        totals = [a + b for a, b in zip(totals, n)]
        print(f"{name:22} {n[0]:>10,} rows {time.perf_counter() - t:7.1f}s", flush=True)
    wall = time.perf_counter() - t0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"TOTAL extracted {totals[0]:,} = silver {totals[1]:,} + quarantine {totals[2]:,}")
    print(f"wall {wall:.1f}s  ({totals[0] / wall:,.0f} rows/s)  peak RSS {peak:,.0f} MB")


if __name__ == "__main__":
    main()
