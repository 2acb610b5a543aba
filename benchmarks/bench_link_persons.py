"""``masterdata link`` with the comparison library's Chinese person comparisons vs Splink 5, on a city.

    uv run --frozen --group bench python -m benchmarks.bench_link_persons --city var/city200k

Input: a generated city with its lake ingested (``masterdata generate`` + ``benchmarks.bench_ingest``).
Its person silver (every department's person records) is written once, untimed, as the table a
department would hand over: ``record_id, id_number`` (the ID *as keyed*, not the repaired one),
``name, birth_date, sex, phone, address`` (residential, else household).  Then, each in its own
child process (peak RSS is that process's high-water mark):

* ours - the real command line, ``masterdata link --config schemas/examples/dedupe_persons.yaml``
  (the README's 15-line person config: resident ID, Chinese name, date, mobile, address from the
  library), under the default memory setting, threshold 0.99 fixed in the config;
* Splink - :func:`benchmarks.bench_splink.run_splink` (its person model on the same silver, with the
  standardised columns handed to it ready-made), clustered at 0.99.

Both are scored with the pairwise precision / recall / F1 of ``masterdata evaluate`` against the
city's truth.  Prints a markdown table; writes ``CITY/bench_link_persons.json``.  ``--work DIR``
writes the exported silver, the link output and the JSON there instead (a city someone else owns,
read-only to this run).
"""

from __future__ import annotations

import argparse
import resource
import sys
from pathlib import Path
from typing import Any

from benchmarks.child_result import report, run_child, run_link, side_by_side

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "schemas" / "examples" / "dedupe_persons.yaml"
EXPORT = """
SELECT record_id, id_number_raw AS id_number, name, birth_date, sex, phone,
       coalesce(residential_address, household_address) AS address
FROM person_src
"""


def export(city: Path, work: Path) -> Path:
    """The person records as one Parquet table (once per city, in ``work``)."""
    from benchmarks.bench_splink import load

    work.mkdir(parents=True, exist_ok=True)
    out = work / "persons_link.parquet"
    if not out.exists():
        con, _sql, _n = load(city)
        con.execute(f"COPY ({EXPORT}) TO '{out}' (FORMAT parquet)")
        con.close()
    return out


def run_ours(city: Path, work: Path) -> dict[str, Any]:
    import duckdb

    from benchmarks.bench_splink import score

    inp = export(city, work)
    out = work / "persons_link_out.parquet"
    summary, wall, peak = run_link(CONFIG, [inp], out)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE out AS SELECT record_id, cluster_id AS cluster FROM read_parquet('{out}')")
    return {"records": summary["records"], "wall_s": wall, "link_peak_gb": peak, "steps": summary["steps"],
            **score(con, city, "out")}


def child(tool: str, city: Path, work: Path) -> dict[str, Any]:
    return run_child("benchmarks.bench_link_persons", "--city", str(city), "--work", str(work), "--tool", tool)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--city", type=Path, required=True, help="a generated city with its lake ingested")
    ap.add_argument("--work", type=Path, help="where the files this run writes go (default: the city)")
    ap.add_argument("--tool", choices=("ours", "splink", "both"), default="both")
    args = ap.parse_args(argv)
    work = args.work or args.city
    if args.tool != "both":
        from benchmarks.bench_splink import run_splink

        out = run_ours(args.city, work) if args.tool == "ours" else run_splink(args.city)
        self_gb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        out["peak_gb"] = max(self_gb, out.pop("link_peak_gb", 0.0))
        # CPU seconds of this child and the processes it waited for: on a shared machine the wall
        # time follows the load, the CPU time much less
        used = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
        out["cpu_s"] = round(sum(u.ru_utime + u.ru_stime for u in used), 1)
        report(out)
        return 0
    export(args.city, work)
    results = {tool: child(tool, args.city, work) for tool in ("ours", "splink")}
    side_by_side(results, work / "bench_link_persons.json")
    if "steps" in results.get("ours", {}):
        print("ours, seconds per step: " + ", ".join(f"{k} {v:.1f}" for k, v in results["ours"]["steps"].items()))
    print("CPU seconds: " + ", ".join(f"{tool} {r.get('cpu_s', '?')}" for tool, r in results.items()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
