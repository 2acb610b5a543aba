"""Benchmark of the master build: a generated city, resolved and mastered, then its day-2 delta.

    uv run --frozen python -m benchmarks.bench_masters --persons 1000000 --out var/bench/masters-1m
    uv run --frozen python -m benchmarks.bench_masters --persons 20000 --out var/bench/masters-20k

Steps (each timed; the builds run in child processes so their peak memory is measured alone):

1. generate the city's day 1 (``generate_city(day2=False)``) and ingest it (``masterdata ingest``);
2. full build of the three masters, then ``evaluate`` against the truth;
3. generate day 2 over the same folder and ingest the new batches;
4. incremental build (the delta), then ``evaluate`` again; ids kept across the delta are counted.

Results go to ``OUT/bench_masters.json`` and a markdown table is printed for RESULTS_masters.md.
``--skip-generate`` reuses an existing city (and lake) in OUT; ``--ingest-pythonpath`` runs the
ingestion from another checkout (e.g. while the working tree's ingestion is being edited).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent

BUILD = r"""
import json, sys, time
from pathlib import Path
from pipelines.lake import Lake
from pipelines.masters.build import build
t = time.perf_counter()
rep = build(lake=Lake(Path(sys.argv[1])), gold=Path(sys.argv[2]), full=sys.argv[3] == "full")
print("RESULT" + json.dumps({"seconds": time.perf_counter() - t, "masters": [
    {"master": m.master, "mode": m.mode, "records": m.records, "masters": m.masters, "seconds": m.seconds,
     "minted": m.ids.minted, "merged": m.ids.merged, "split": m.ids.split, "retired": m.ids.retired,
     "review": m.review, "timings": m.timings} for m in rep.masters]}))
"""


def child(args: list[str], env: dict[str, str] | None = None) -> tuple[float, float, str]:
    """(wall seconds, peak RSS GB of the child, stdout) of a child process."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    t = time.perf_counter()
    res = subprocess.run(args, cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args[:3])}...\n{res.stdout[-2000:]}\n{res.stderr[-4000:]}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return wall, max(peak, before) / 1024 / 1024, res.stdout


def ingest(city: Path, pythonpath: str | None) -> float:
    env = {"MASTERDATA_SOURCES": str(city / "sources"), "MASTERDATA_LAKE": str(city / "lake")}
    cwd_path = pythonpath or str(ROOT)
    env["PYTHONPATH"] = cwd_path
    wall, _, _ = child([sys.executable, "-c", "from pipelines.cli import app; app()", "ingest"], env)
    return wall


def build(city: Path, full: bool) -> dict[str, Any]:
    wall, peak, out = child([sys.executable, "-c", BUILD, str(city / "lake"), str(city / "gold" / "gold.duckdb"),
                             "full" if full else "auto"])
    line = next(ln for ln in out.splitlines() if ln.startswith("RESULT"))
    res = json.loads(line[len("RESULT"):])
    res.update(wall=wall, peak_gb=peak)
    return res


def evaluate(city: Path) -> dict[str, Any]:
    from pipelines.masters.evaluate import evaluate as ev

    e = ev(city / "gold" / "gold.duckdb", city / "truth")
    return e.as_dict()


def kept_ids(city: Path, before: dict[str, str]) -> dict[str, int]:
    import duckdb

    with duckdb.connect(str(city / "gold" / "gold.duckdb"), read_only=True) as con:
        after = dict(con.execute("SELECT record_id, master_id FROM person_xref").fetchall())
    same = sum(1 for r, m in before.items() if after.get(r) == m)
    return {"records_before": len(before), "same_master_after": same, "records_after": len(after)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--skip-generate", action="store_true", help="reuse the city and lake in OUT")
    ap.add_argument("--ingest-pythonpath", default=None, help="run `masterdata ingest` from this checkout")
    args = ap.parse_args(argv)
    city = args.out
    res: dict[str, object] = {"persons": args.persons, "seed": args.seed, "cpus": os.cpu_count(),
                              "machine": platform.platform()}
    from pipelines.synthetic.city import generate_city

    if not args.skip_generate:
        shutil.rmtree(city, ignore_errors=True)
        t = time.perf_counter()
        generate_city(persons=args.persons, seed=args.seed, out=city, day2=False)
        res["generate_day1_s"] = time.perf_counter() - t
        res["ingest_day1_s"] = ingest(city, args.ingest_pythonpath)
    shutil.rmtree(city / "gold", ignore_errors=True)
    print(f"full build of {args.persons:,} persons ...", flush=True)
    res["full"] = build(city, full=True)
    res["full_eval"] = evaluate(city)
    import duckdb

    with duckdb.connect(str(city / "gold" / "gold.duckdb"), read_only=True) as con:
        before = dict(con.execute("SELECT record_id, master_id FROM person_xref").fetchall())
    print("day 2 ...", flush=True)
    t = time.perf_counter()
    generate_city(persons=args.persons, seed=args.seed, out=city, day2=True)
    res["generate_day2_s"] = time.perf_counter() - t
    res["ingest_day2_s"] = ingest(city, args.ingest_pythonpath)
    res["delta"] = build(city, full=False)
    res["delta_eval"] = evaluate(city)
    res["delta_ids"] = kept_ids(city, before)
    (city / "bench_masters.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    print(render(res))
    return 0


def render(res: dict[str, Any]) -> str:
    lines = [f"N = {res['persons']:,} persons (seed {res['seed']}), {res['cpus']} CPUs"]
    for phase in ("full", "delta"):
        b = res[phase]
        per = ", ".join(f"{m['master']} {m['seconds']:.1f}s ({m['mode']}, {m['records']:,} records)" for m in b["masters"])
        lines.append(f"{phase}: {b['wall']:.1f}s wall, build {b['seconds']:.1f}s, peak {b['peak_gb']:.1f} GB - {per}")
        ev = res[f"{phase}_eval"]
        for m, s in ev["masters"].items():
            lines.append(f"  {m:8} P {s['precision']:.5f}  R {s['recall']:.5f}  F1 {s['f1']:.5f}  ({s['records']:,} records)")
        if ev.get("licence_holder"):
            lines.append(f"  licence-to-holder {ev['licence_holder']['accuracy']:.5f}")
    d = res["delta_ids"]
    lines.append(f"person records keeping their master id across the delta: {d['same_master_after']:,} / "
                 f"{d['records_before']:,}")
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
