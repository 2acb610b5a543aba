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
``--prepare-only`` generates and ingests day 1 and writes day 2's sources, then stops: at seed scale
generation takes half an hour, and a later ``--skip-generate`` run (on newer code) reuses all of it.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any, NamedTuple

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

GENERATE = r"""
import json, sys
from pathlib import Path
from pipelines.synthetic.city import generate_city
s = generate_city(persons=int(sys.argv[2]), seed=int(sys.argv[3]), out=Path(sys.argv[1]), day2=sys.argv[4] == "True")
print("RESULT" + json.dumps({"rows": s.rows, "day2_rows": s.day2_rows, "licences": s.licences,
                             "entities": s.entities, "seconds": s.seconds}))
"""


class Ran(NamedTuple):
    """What a child process cost and printed."""

    wall: float
    #: peak RSS (GB) of the child alone
    peak_gb: float
    #: user + system seconds of the child and its waited-for children (on 2 cores, 30 minutes are
    #: 3,600 CPU seconds at most)
    cpu_s: float
    stdout: str

    def figures(self) -> dict[str, float]:
        return {"wall": self.wall, "peak_gb": self.peak_gb, "cpu_s": self.cpu_s}


def child(args: list[str], env: dict[str, str] | None = None) -> Ran:
    """Run a child process to its end: its wall seconds, peak, CPU seconds and stdout.

    The peak comes from ``wait4`` on the child itself: ``RUSAGE_CHILDREN`` would be the maximum over
    every child so far, so a delta build would report the full build's peak.
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t = time.perf_counter()
        proc = subprocess.Popen(args, cwd=ROOT, env={**os.environ, **(env or {})}, stdout=out, stderr=err)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
        wall = time.perf_counter() - t
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(errors="replace"), err.read().decode(errors="replace")
    if proc.returncode != 0:
        raise SystemExit(f"failed: {' '.join(args[:3])}...\n{stdout[-2000:]}\n{stderr[-4000:]}")
    return Ran(wall, usage.ru_maxrss / 1024 / 1024, usage.ru_utime + usage.ru_stime, stdout)


def generate(city: Path, persons: int, seed: int, day2: bool) -> dict[str, Any]:
    """Generate day 1 (or day 2 over it) in a child process: wall, peak RSS and source rows written."""
    ran = child([sys.executable, "-c", GENERATE, str(city), str(persons), str(seed), str(day2)])
    line = next(ln for ln in ran.stdout.splitlines() if ln.startswith("RESULT"))
    return {**json.loads(line[len("RESULT"):]), **ran.figures()}


def ingest(city: Path, pythonpath: str | None) -> dict[str, Any]:
    """``masterdata ingest`` in a child process: wall, peak RSS and the rows of the batches it committed."""
    from pipelines.lake import Lake

    env = {"MASTERDATA_SOURCES": str(city / "sources"), "MASTERDATA_LAKE": str(city / "lake")}
    env["PYTHONPATH"] = pythonpath or str(ROOT)
    before = {b.batch_id for b in Lake(city / "lake").committed_batches()}
    ran = child([sys.executable, "-c", "from pipelines.cli import app; app()", "ingest"], env)
    new = [b for b in Lake(city / "lake").committed_batches() if b.batch_id not in before]
    return {**ran.figures(), "batches": len(new), "extracted": sum(b.extracted for b in new),
            "silver": sum(b.standardised for b in new), "quarantine": sum(b.quarantined for b in new)}


def build(city: Path, full: bool) -> dict[str, Any]:
    ran = child([sys.executable, "-c", BUILD, str(city / "lake"), str(city / "gold" / "gold.duckdb"),
                 "full" if full else "auto"])
    line = next(ln for ln in ran.stdout.splitlines() if ln.startswith("RESULT"))
    return {**json.loads(line[len("RESULT"):]), **ran.figures()}


def evaluate(city: Path) -> dict[str, Any]:
    from pipelines.masters.evaluate import evaluate as ev

    e = ev(city / "gold" / "gold.duckdb", city / "truth")
    return e.as_dict()


def save_ids(city: Path) -> Path:
    """The person cross-references before the delta, written to a Parquet file by DuckDB.

    Not held in this process: children are started by ``vfork`` + ``exec``, and Linux carries the
    parent's RSS high-water mark into each child's ``ru_maxrss``, so 7.7 M ids held here (~2.6 GB at
    1 M persons) would become the floor of every day-2 stage's peak."""
    import duckdb

    from core.sqltext import lit

    out = city / "person_xref_before.parquet"
    with duckdb.connect(str(city / "gold" / "gold.duckdb"), read_only=True) as con:
        con.execute(f"COPY (SELECT record_id, master_id FROM person_xref) TO {lit(str(out))} (FORMAT parquet)")
    return out


def kept_ids(city: Path, before: Path) -> dict[str, int]:
    """Person records before the delta, those keeping their master id after it, and records after."""
    import duckdb

    from core.sqltext import lit

    with duckdb.connect(str(city / "gold" / "gold.duckdb"), read_only=True) as con:
        got = con.execute(
            f"SELECT (SELECT count(*) FROM read_parquet({lit(str(before))})), count(a.master_id), "
            f"(SELECT count(*) FROM person_xref) FROM read_parquet({lit(str(before))}) AS b "
            "LEFT JOIN person_xref AS a ON a.record_id = b.record_id AND a.master_id = b.master_id").fetchone()
    assert got is not None
    return {"records_before": int(got[0]), "same_master_after": int(got[1]), "records_after": int(got[2])}


def stage_done(res: dict[str, Any], name: str, out: Path) -> None:
    """Print a finished stage's figures at once and keep what is known so far in
    ``OUT/bench_masters.partial.json``: a seed-scale run takes an hour, and a failure in a late
    stage must not lose the figures of the early ones."""
    print(f"{name}: {json.dumps(res[name], default=str)[:2000]}", flush=True)
    (out / "bench_masters.partial.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--persons", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=11)
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--skip-generate", action="store_true", help="reuse the city and lake in OUT")
    ap.add_argument("--ingest-pythonpath", default=None, help="run `masterdata ingest` from this checkout")
    ap.add_argument("--keep-day1", action="store_true",
                    help="copy the day-1 gold and state files to OUT/day1/ before the delta, so "
                         "benchmarks/bench_delta.py can re-run (and profile) the delta from the same start")
    ap.add_argument("--prepare-only", action="store_true",
                    help="generate and ingest day 1, then generate day 2's sources (not ingested) and stop; a "
                         "later --skip-generate run builds day 1 and masters day 2 without waiting for generation")
    args = ap.parse_args(argv)
    city = args.out
    res: dict[str, Any] = {"persons": args.persons, "seed": args.seed, "cpus": os.cpu_count(),
                              "machine": platform.platform()}
    prepared = city / "bench_masters.prepared.json"
    if not args.skip_generate:
        shutil.rmtree(city, ignore_errors=True)
        print(f"generating {args.persons:,} persons ...", flush=True)
        res["generate_day1"] = generate(city, args.persons, args.seed, day2=False)
        res["generate_day1_s"] = res["generate_day1"]["wall"]
        stage_done(res, "generate_day1", city)
        print("ingesting day 1 ...", flush=True)
        res["ingest_day1"] = ingest(city, args.ingest_pythonpath)
        res["ingest_day1_s"] = res["ingest_day1"]["wall"]
        stage_done(res, "ingest_day1", city)
    if args.prepare_only:
        # day 2's sources can be written before day 1 is built: the build reads the lake, not the sources
        print("day 2 sources ...", flush=True)
        generate_day2(res, args.persons, args.seed, city)
        prepared.write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
        return 0
    early = json.loads(prepared.read_text(encoding="utf-8")) if args.skip_generate and prepared.exists() else {}
    res.update({k: v for k, v in early.items() if k.startswith(("generate_", "ingest_day1"))})
    shutil.rmtree(city / "gold", ignore_errors=True)
    print(f"full build of {args.persons:,} persons ...", flush=True)
    res["full"] = build(city, full=True)
    stage_done(res, "full", city)
    res["full_eval"] = evaluate(city)
    stage_done(res, "full_eval", city)
    before = save_ids(city)
    if args.keep_day1:
        keep_day1(city)
    print("day 2 ...", flush=True)
    if "generate_day2" not in early:
        generate_day2(res, args.persons, args.seed, city)
    res["ingest_day2"] = ingest(city, args.ingest_pythonpath)
    res["ingest_day2_s"] = res["ingest_day2"]["wall"]
    stage_done(res, "ingest_day2", city)
    res["delta"] = build(city, full=False)
    stage_done(res, "delta", city)
    res["delta_eval"] = evaluate(city)
    res["delta_ids"] = kept_ids(city, before)
    before.unlink()
    (city / "bench_masters.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    print(render(res))
    return 0


def keep_day1(city: Path) -> None:
    """``city/day1/DAY1.duckdb`` and ``DAY1.state.duckdb``: the files the delta starts from (it
    changes both), for ``bench_delta --day1-gold city/day1/DAY1.duckdb``."""
    from pipelines.masters.gold_file import state_path

    (city / "day1").mkdir(exist_ok=True)
    gold = city / "gold" / "gold.duckdb"
    shutil.copyfile(gold, city / "day1" / "DAY1.duckdb")
    shutil.copyfile(state_path(gold), state_path(city / "day1" / "DAY1.duckdb"))


def generate_day2(res: dict[str, Any], persons: int, seed: int, city: Path) -> None:
    """Day 2's sources over day 1's, its figures kept in ``res``."""
    res["generate_day2"] = generate(city, persons, seed, day2=True)
    res["generate_day2_s"] = res["generate_day2"]["wall"]
    stage_done(res, "generate_day2", city)


def render(res: dict[str, Any]) -> str:
    lines = [f"N = {res['persons']:,} persons (seed {res['seed']}), {res['cpus']} CPUs"]
    for stage in ("generate_day1", "ingest_day1", "generate_day2", "ingest_day2"):
        if stage in res:
            st = res[stage]
            rows = st.get("extracted", st.get("rows"))
            lines.append(f"{stage}: {st['wall']:.1f}s wall, peak {st['peak_gb']:.2f} GB, {rows:,} rows")
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
