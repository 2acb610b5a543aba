"""Benchmark of the synthetic-city generator: wall time, peak memory and rows written at a given size.

    uv run --frozen python -m benchmarks.bench_generate --persons 1000000
    uv run --frozen python benchmarks/bench_generate.py --persons 20000 --target servers

Prints one line per generator stage (from the ``progress`` callback, with elapsed seconds) and a final
summary. The output goes to a temporary folder that is removed afterwards unless ``--out`` is given.
Peak RSS is the process high-water mark (``ru_maxrss``), i.e. everything the run ever held at once.
"""

from __future__ import annotations

import argparse
import os
import platform
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipelines.synthetic import generate_city


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--target", choices=("embedded", "servers"), default="embedded")
    ap.add_argument("--no-day2", action="store_true")
    ap.add_argument("--db-prefix", default="", help="prefix for server database names (servers target)")
    ap.add_argument(
        "--out", type=Path, default=None, help="keep the city here (default: a temp dir, removed)"
    )
    args = ap.parse_args(argv)

    out = args.out or Path(tempfile.mkdtemp(prefix="bench_city_")) / "city"
    t0 = time.perf_counter()

    def progress(msg: str) -> None:
        print(f"[{time.perf_counter() - t0:7.1f} s] {msg}", flush=True)

    try:
        s = generate_city(
            args.persons,
            args.seed,
            out,
            target=args.target,
            day2=not args.no_day2,
            progress=progress,
            database_prefix=args.db_prefix,
        )
        wall = time.perf_counter() - t0
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print()
        print(s.render().split("\n\nsource.table")[0])
        print()
        print(
            f"machine: {os.cpu_count()} cores, {_mem_gb():.0f} GB RAM, {platform.python_implementation()} "
            f"{platform.python_version()}"
        )
        print(
            f"persons={args.persons:,} target={args.target} day2={not args.no_day2}: wall {wall:.1f} s, "
            f"peak RSS {rss:,.0f} MB, day-1 rows {s.rows:,}, day-2 rows {s.day2_rows:,}, "
            f"{s.rows / wall:,.0f} rows/s"
        )
    finally:
        if args.out is None:
            shutil.rmtree(out.parent, ignore_errors=True)
    return 0


def _mem_gb() -> float:
    try:
        with open("/proc/meminfo") as fh:
            return int(fh.readline().split()[1]) / 1024 / 1024
    except OSError:  # pragma: no cover
        return float("nan")


if __name__ == "__main__":
    sys.exit(main())
