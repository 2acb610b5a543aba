"""Benchmark of the standard's text functions in SQL (``name_norm``, ``pinyin_key`` ...) on many names.

    uv run --frozen python benchmarks/bench_text.py --names 1000000 --link 1000000
    PYTHONPATH=<an export of an older commit> uv run --frozen python benchmarks/bench_text.py --names 1000000

Names come from :func:`pipelines.synthetic.linkpeople.link_people` (the synthetic city's name
tables: many 张伟; a tenth in traditional characters, homophone typos, stray spaces); ``--link``
also runs the README's link example on such a people table. Each case runs in a fresh subprocess on ``core.db.connect()``
(the default memory limit), so its peak RSS (``ru_maxrss``) is its own; CPU is user + system time
of the process (DuckDB's threads included), which is steadier than wall time on a shared machine.
The project imported is whatever ``PYTHONPATH`` puts first, so the same script measures an older
commit for a before/after comparison. Prints a Markdown table.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path

if __package__ in (None, "") and not os.environ.get("PYTHONPATH"):  # run as a script: import this checkout
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

CASES = {
    "name_norm + pinyin_key (each on the raw name)": "name_norm(name) AS a, pinyin_key(name) AS b",
    "name_norm + pinyin_key(name_norm) (README example)": "name_norm(name) AS a, pinyin_key(name_norm(name)) AS b",
    "t2s + pinyin_key_plain": "t2s(name) AS a, pinyin_key_plain(name) AS b",
}


def names(n: int) -> object:
    """``n`` names of the link example's people table (traditional spellings, typos, spaces)."""
    from pipelines.synthetic.linkpeople import link_people

    return link_people(n // 2 + 1)["name"].slice(0, n).combine_chunks()


def run_link(n: int) -> dict[str, object]:
    """The README's link example on a people table of about ``n`` records, in this process."""
    import tempfile
    from pathlib import Path

    import pyarrow.parquet as pq

    from pipelines.masters.link import link
    from pipelines.synthetic.linkpeople import link_people

    with tempfile.TemporaryDirectory() as tmp:
        records = link_people(int(n / 2.2))
        pq.write_table(records.drop(["person"]), Path(tmp) / "people.parquet")
        r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
        error = None
        try:
            report = link(Path(__file__).resolve().parent.parent / "schemas" / "examples" / "link_people.yaml",
                          [Path(tmp) / "people.parquet"], Path(tmp) / "out.parquet")
            steps = ", ".join(f"{k} {v:.1f}" for k, v in report.steps.items())
        except Exception as exc:  # the figure to report is the failure itself
            error, steps = str(exc).splitlines()[0][:160], ""
        r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"records": records.num_rows, "wall_s": round(time.perf_counter() - t0, 1),
            "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 1),
            "peak_rss_mb": round(r1.ru_maxrss / 1024), "error": error, "steps": steps}


def run_case(n: int, select: str) -> dict[str, object]:
    """One case in this process: the figures as a dict (``error`` when DuckDB failed)."""
    import pyarrow as pa

    from core.db import connect

    con = connect()
    con.register("src", pa.table({"name": names(n)}))
    con.execute("SELECT name_norm('張'), pinyin_key('張'), t2s('張'), pinyin_key_plain('張')").fetchall()  # warm-up
    r0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    error = None
    try:
        con.execute(f"CREATE TABLE out AS SELECT {select} FROM src").fetchall()
    except Exception as exc:  # the figure to report is the failure itself
        error = str(exc).splitlines()[0]
    r1 = resource.getrusage(resource.RUSAGE_SELF)
    return {"wall_s": round(time.perf_counter() - t0, 2),
            "cpu_s": round(r1.ru_utime + r1.ru_stime - r0.ru_utime - r0.ru_stime, 2),
            "peak_rss_mb": round(r1.ru_maxrss / 1024), "error": error}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--names", type=int, default=1_000_000)
    ap.add_argument("--link", type=int, default=0, help="also run the README link example on this many records")
    ap.add_argument("--case", help=argparse.SUPPRESS)  # run one case in this process (internal)
    args = ap.parse_args(argv)
    if args.case:
        print(json.dumps(run_link(args.link) if args.case == "link" else run_case(args.names, CASES[args.case])))
        return 0
    print(f"| case ({args.names:,} names) | wall | CPU | peak RSS | result |\n|---|--:|--:|--:|---|")
    for label in CASES:
        res = subprocess.run([sys.executable, __file__, "--names", str(args.names), "--case", label],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| {label} | {r['wall_s']} s | {r['cpu_s']} s | {r['peak_rss_mb']:,} MB | "
              f"{r['error'] or 'ok'} |", flush=True)
    if args.link:
        res = subprocess.run([sys.executable, __file__, "--link", str(args.link), "--case", "link"],
                             capture_output=True, text=True, check=True)
        r = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"| `masterdata link` README example, {r['records']:,} records | {r['wall_s']} s | {r['cpu_s']} s | "
              f"{r['peak_rss_mb']:,} MB | {r['error'] or 'ok: ' + str(r['steps'])} |", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
