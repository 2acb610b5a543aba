"""Where the full master build's memory goes: peak RSS per build step, next to DuckDB's own share.

    MASTERDATA_BUILD_MEMORY=8GB uv run --frozen python -m benchmarks.bench_build_peak \\
        --lake /tmp/bench200k/lake --gold /tmp/buildpeak/gold.duckdb

Runs ``build(full=True)`` in this process with a sampler thread that reads ``VmRSS`` every 50 ms and
asks DuckDB (through a cursor of the build's own connection) how many bytes its buffer manager
holds (``duckdb_memory()``).  Each sample is charged to the innermost build step running at that
moment, so the table printed at the end says which step the peak belongs to and how much of it
was *outside* DuckDB's pool (RSS minus DuckDB's bytes: the Python objects, Arrow results and
allocator slack that ``memory_limit`` does not bound).  The process peak (``ru_maxrss``) closes
the report; run it under ``/usr/bin/time -v`` for wall and CPU.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import duckdb

from benchmarks.sampling import Periodic


def rss_bytes() -> int:
    """This process's resident set size now (``VmRSS``)."""
    with open("/proc/self/status", encoding="ascii") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


class Sampler(Periodic):
    """Samples RSS and DuckDB's buffer-managed bytes, charging each sample to the current step."""

    def __init__(self) -> None:
        super().__init__(0.05)
        self.step = "(setup)"
        self.con: duckdb.DuckDBPyConnection | None = None
        self.peaks: dict[str, dict[str, int]] = {}
        self.order: list[str] = []

    def listener(self, event: str, path: tuple[str, ...], info: dict[str, Any]) -> None:
        """The build's step listener: the innermost running step is the one charged."""
        if event == "start":
            self.step = " / ".join(path)
        else:
            self.step = " / ".join(path[:-1]) or "(between masters)"

    def _duck(self) -> int:
        if self.con is None:
            return 0
        try:
            cur = self.con.cursor()
            try:
                got = cur.execute("SELECT sum(memory_usage_bytes) FROM duckdb_memory()").fetchone()
            finally:
                cur.close()
            return int(got[0] or 0) if got else 0
        except duckdb.Error:
            return 0

    def sample(self) -> None:
        step, rss, duck = self.step, rss_bytes(), self._duck()
        p = self.peaks.get(step)
        if p is None:
            p = self.peaks[step] = {"rss": 0, "duck_at_rss": 0, "outside": 0, "duck": 0}
            self.order.append(step)
        if rss > p["rss"]:
            p["rss"], p["duck_at_rss"] = rss, duck
        p["outside"] = max(p["outside"], rss - duck)
        p["duck"] = max(p["duck"], duck)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lake", type=Path, required=True)
    ap.add_argument("--gold", type=Path, required=True)
    ap.add_argument("--json", type=Path, default=None, help="also write the per-step peaks here")
    args = ap.parse_args(argv)

    from pipelines.lake import Lake
    from pipelines.masters import build as build_mod

    sampler = Sampler()
    opened = build_mod.work_connection

    def work_connection(database: Path | None = None) -> duckdb.DuckDBPyConnection:
        sampler.con = opened(database)
        return sampler.con

    build_mod.work_connection = work_connection
    t = time.perf_counter()
    with sampler:
        rep = build_mod.build(lake=Lake(args.lake), gold=args.gold, full=True, listener=sampler.listener)
        sampler.con = None
    wall = time.perf_counter() - t
    gb = 1024 ** 3
    print(f"{'step':58} {'peak RSS':>9} {'DuckDB then':>11} {'max outside':>11} {'max DuckDB':>10}  (GiB)")
    for step in sampler.order:
        p = sampler.peaks[step]
        print(f"{step[:58]:58} {p['rss'] / gb:9.2f} {p['duck_at_rss'] / gb:11.2f} {p['outside'] / gb:11.2f} "
              f"{p['duck'] / gb:10.2f}")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(f"build {wall:.1f} s wall; process peak RSS {peak / gb:.2f} GiB; "
          + ", ".join(f"{m.master} {m.masters:,} masters of {m.records:,} records" for m in rep.masters))
    if args.json:
        args.json.write_text(json.dumps({"wall": wall, "peak": peak, "steps": sampler.peaks,
                                         "masters": [[m.master, m.records, m.masters] for m in rep.masters]},
                                        indent=1), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
