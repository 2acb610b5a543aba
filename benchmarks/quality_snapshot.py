"""Dump one quality run's results as canonical JSON, or compare two dumps (before / after a change).

    uv run --frozen python -m benchmarks.quality_snapshot run --lake L --gold G --out after.json
    uv run --frozen python -m benchmarks.quality_snapshot compare before.json after.json

A change that is meant to make the scorecards faster must leave every figure equal: each check's
rows, scope, failures, defect histogram and samples, every score's counts, and the gold figures.
``run`` also prints the run's wall and process CPU seconds per stage (CPU is what to compare on a
busy shared machine: the wall time there mostly measures the other processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

#: One fixed moment, so ages and date windows are equal between the two runs.
AS_OF = dt.datetime(2026, 12, 7, 12, 0, 0)


def snapshot(lake: Path, gold: Path | None) -> tuple[dict[str, Any], dict[str, float]]:
    """The run's figures (timing-free) and its timings, CPU seconds of the process included."""
    from pipelines.lake import Lake
    from quality.run import run_quality

    cpu, wall = time.process_time(), time.perf_counter()
    res = run_quality(Lake(lake), gold_path=gold, as_of=AS_OF, record=False)
    timings = {**res.timings, "cpu_s": round(time.process_time() - cpu, 2),
               "wall_s": round(time.perf_counter() - wall, 2)}
    tables = res.tables()
    drop = {"run_id", "run_at"}
    out = {name: sorted(json.dumps({k: v for k, v in row.items() if k not in drop}, sort_keys=True, default=str)
                         for row in rows) for name, rows in tables.items()}
    return out, timings


def compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """One line per table whose rows differ (the first differing row shown), empty when equal."""
    problems = []
    for name in sorted(set(before) | set(after)):
        a, b = before.get(name, []), after.get(name, [])
        if a != b:
            only_a = [r for r in a if r not in set(b)]
            only_b = [r for r in b if r not in set(a)]
            problems.append(f"{name}: {len(a)} rows before, {len(b)} after; {len(only_a)} only before, "
                            f"{len(only_b)} only after; e.g. before {only_a[:1]} after {only_b[:1]}")
    return problems


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--lake", type=Path, required=True)
    r.add_argument("--gold", type=Path, default=None)
    r.add_argument("--out", type=Path, required=True)
    c = sub.add_parser("compare")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    args = ap.parse_args(argv)
    if args.cmd == "run":
        figures, timings = snapshot(args.lake, args.gold)
        args.out.write_text(json.dumps({"figures": figures, "timings": timings}, ensure_ascii=False))
        print(json.dumps(timings))
        return 0
    before, after = (json.loads(p.read_text())["figures"] for p in (args.before, args.after))
    problems = compare(before, after)
    for line in problems:
        print(line)
    print("identical" if not problems else f"{len(problems)} table(s) differ")
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
