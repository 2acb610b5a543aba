"""Serving store bounded under a 60-s load: the issue's figure, from the suite's own test.

    uv run --frozen python benchmarks/bench_bounded.py [--seconds 60] [--json out.json]

Runs ``tests/serving/test_bounded.py::test_store_and_wal_stay_bounded_under_load`` - the same server
fixture (a generated city, gold store and read model; a two-worker server with its own serving
store, previews kept 2 s), the same flood of hall auto-fills from four threads and the same
assertions - with ``BOUNDED_LOAD_S`` set to ``--seconds`` instead of the suite's 16, and prints the
store and WAL sizes over time from the samples the test records (every 0.5 s; shown every 5 s).
A failed assertion fails the benchmark: the figures are of a run that held its bounds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TEST = "tests/serving/test_bounded.py::test_store_and_wal_stay_bounded_under_load"


def run(seconds: float) -> dict[str, Any]:
    """The test under ``seconds`` of load; its recorded figures."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "samples.json"
        env = {**os.environ, "BOUNDED_LOAD_S": str(seconds), "BOUNDED_SAMPLES": str(out)}
        res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", TEST],
                             cwd=ROOT, env=env, capture_output=True, text=True)
        if res.returncode != 0 or not out.exists():
            raise SystemExit(f"the bounded-serving test failed:\n{res.stdout[-4000:]}\n{res.stderr[-2000:]}")
        return dict(json.loads(out.read_text(encoding="utf-8")))


def render(r: dict[str, Any], every: float = 5.0) -> str:
    mb = 1024 * 1024
    lines = [f"{r['requests']:,} auto-fills in {r['load_s']:.0f} s ({r['requests'] / r['load_s']:.0f}/s), "
             f"{r['errors']} errors; {r['threads']} client threads, {r['workers']} workers, previews kept "
             f"{r['preview_ttl_s']:g} s, purge every {r['purge_every_s']:g} s, WAL limit {r['wal_limit'] / mb:.0f} MB",
             f"steady growth {r['steady_bytes_per_request']:,.0f} bytes/request (one preview weighs "
             f"{r['preview_bytes']:,.0f}); largest WAL {r['largest_wal'] / mb:.1f} MB; previews at the end "
             f"{r['previews_at_end']}, after the next purge {r['previews_after_purge']}",
             "", "| t (s) | requests | store (MB) | WAL (MB) |", "|---:|---:|---:|---:|"]
    next_t = 0.0
    for k, (t, store, wal, n) in enumerate(r["samples"]):
        if t >= next_t or k == len(r["samples"]) - 1:  # every ``every`` seconds, and the last sample
            lines.append(f"| {t:.1f} | {n:,} | {store / mb:.2f} | {wal / mb:.2f} |")
            next_t = t + every
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    ap.add_argument("--json", type=Path)
    args = ap.parse_args()
    r = run(args.seconds)
    print(render(r))
    if args.json:
        args.json.write_text(json.dumps(r, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
