"""The day-2 delta alone, from a copy of a day-1 gold file: the figures of ``bench_masters``' step 4.

    uv run --frozen python -m benchmarks.bench_delta --city /work/var/bench1m --day1-gold DAY1.duckdb \
        --out var/bench/delta-1m

``bench_masters`` runs the delta once, after day 2 is generated and ingested; to measure a change to
the delta (main's code against a branch, back to back) it has to run again on the same input.  A city
keeps no day-1 gold of its own (the delta replaces it), so copy ``CITY/gold/gold.duckdb`` and its state
file ``gold.state.duckdb`` (which a delta changes in place) once between its full build and its delta,
as ``DAY1.duckdb`` and ``DAY1.state.duckdb``.  The city is only read: ``OUT`` gets links to its lake and truth and a
copy of the day-1 gold, and the delta, ``evaluate`` and the ids kept are ``bench_masters``' own
(:func:`~benchmarks.bench_masters.build` in a child process, so the peak is the delta's alone).
``bench_masters --keep-day1`` leaves such copies in ``CITY/day1/``; ``--statements N`` times every
statement of the delta instead and prints the N slowest.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the project importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.bench_masters import build, evaluate, kept_ids, save_ids
from pipelines.masters.gold_file import state_path


def prepare(city: Path, day1_gold: Path, out: Path) -> None:
    """``out``: links to the city's lake and truth, and fresh copies of the day-1 gold and state files."""
    shutil.rmtree(out, ignore_errors=True)
    (out / "gold").mkdir(parents=True)
    for part in ("lake", "truth"):
        (out / part).symlink_to((city / part).resolve(), target_is_directory=True)
    gold = out / "gold" / "gold.duckdb"
    shutil.copyfile(day1_gold, gold)
    if state_path(day1_gold).exists():  # without it (a gold file of older code) the delta is a full build
        shutil.copyfile(state_path(day1_gold), state_path(gold))


def profile(out: Path, top: int) -> int:
    """The delta with ``build(verbose=True)``: every statement and its seconds in
    ``OUT/statements.log``, the ``top`` slowest printed (where a delta's time goes, statement by
    statement)."""
    import contextlib
    import io
    import re
    import time

    from pipelines.lake import Lake
    from pipelines.masters.build import build as run_build

    buf = io.StringIO()
    t = time.perf_counter()
    with contextlib.redirect_stdout(buf):
        rep = run_build(lake=Lake(out / "lake"), gold=out / "gold" / "gold.duckdb", full=False, verbose=True)
    wall = time.perf_counter() - t
    (out / "statements.log").write_text(buf.getvalue(), encoding="utf-8")
    timed = [(float(m.group(1)), m.group(2)) for line in buf.getvalue().splitlines()
             if (m := re.match(r"\s*\[\s*([\d.]+)s\] (.*)", line))]
    print(f"delta: {wall:.1f}s wall, {len(timed)} statements {sum(s for s, _ in timed):.1f}s - "
          + ", ".join(f"{m.master} {m.seconds:.1f}s" for m in rep.masters))
    for seconds, statement in sorted(timed, reverse=True)[:top]:
        print(f"{seconds:7.2f}  {statement[:150]}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True, help="a bench_masters city after its day 2 (read only)")
    ap.add_argument("--day1-gold", type=Path, required=True, help="a copy of its gold file before the delta")
    ap.add_argument("--out", type=Path, required=True)
    ap.add_argument("--no-evaluate", action="store_true", help="skip evaluate (timing runs)")
    ap.add_argument("--statements", type=int, default=0, metavar="N",
                    help="run the delta in this process with every statement timed (OUT/statements.log) and "
                         "print the N slowest; no peak or CPU figures then")
    args = ap.parse_args(argv)
    prepare(args.city, args.day1_gold, args.out)
    if args.statements:
        return profile(args.out, args.statements)
    before = save_ids(args.out)
    res: dict[str, Any] = {"delta": build(args.out, full=False)}
    if not args.no_evaluate:
        res["delta_eval"] = evaluate(args.out)
    res["delta_ids"] = kept_ids(args.out, before)
    before.unlink()
    (args.out / "bench_delta.json").write_text(json.dumps(res, indent=1, default=str), encoding="utf-8")
    d = res["delta"]
    print(f"delta: {d['wall']:.1f}s wall, build {d['seconds']:.1f}s, peak {d['peak_gb']:.2f} GB - "
          + ", ".join(f"{m['master']} {m['seconds']:.1f}s ({m['records']:,} records)" for m in d["masters"]))
    ids = res["delta_ids"]
    print(f"person records keeping their master id: {ids['same_master_after']:,} / {ids['records_before']:,}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
