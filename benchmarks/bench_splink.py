"""Our resolve engine vs Splink 5 (DuckDB backend) on the same person records: time, memory, F1.

    uv run --frozen --group bench python -m benchmarks.bench_splink --city var/bench/masters-1m

Input: the city's person silver (current versions, as ``masterdata build`` reads it) from
``CITY/lake``; truth from ``CITY/truth``.  Each tool runs in its own child process (peak RSS is that
process's high-water mark) from the same loaded records to ``(record_id, cluster)``:

* ours - :func:`pipelines.resolve.engine.resolve` with ``schemas/masters/person.yaml``
  (deterministic pass on validated IDs, blocking, EM training, scoring, constrained clustering);
* Splink - a sensible person model on the same standardised columns: blocking on ID, pinyin of the
  name + birth date / phone / address; comparisons ID (exact / Levenshtein 1-2 on the repaired or
  raw ID), name (exact with term frequencies / same pinyin / Jaro-Winkler 0.9 / 0.8), birth date,
  sex, phone, address; prior from exact ID matches, u by random sampling (2 million pairs), m by
  EM on two blocking rules; clusters at match probability 0.99 (our auto-match threshold).

Both are scored with the same pairwise precision / recall / F1 as ``masterdata evaluate``.
Results go to ``CITY/bench_splink.json`` and print as a markdown table.
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from benchmarks.child_result import report, run_child, side_by_side

if TYPE_CHECKING:
    import duckdb

    from pipelines.resolve.sql import Sql

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
THRESHOLD = 0.99

#: standardised columns both tools start from (Splink gets them ready-made; ours computes its own
#: features from silver inside the timed run)
SPLINK_INPUT = """
SELECT record_id AS unique_id,
       id_number AS id,
       coalesce(id_number, CASE WHEN NOT id__placeholder(id_clean(id_number_raw)) THEN id_clean(id_number_raw) END) AS id_any,
       name, pinyin_key(name) AS name_py, strftime(birth_date, '%Y%m%d') AS birth, sex, phone,
       nullif(regexp_replace(coalesce(residential_address, household_address), '^(安徽省)?(亳州市)?', ''), '') AS addr
FROM person_src
"""


def load(city: Path) -> tuple[duckdb.DuckDBPyConnection, Sql, int]:
    from core.db import connect
    from pipelines.lake import Lake
    from pipelines.masters.records import committed_files, load_records
    from pipelines.resolve.macros import install_resolve_macros
    from pipelines.resolve.sql import Sql

    con = connect()
    con.execute("SET preserve_insertion_order = false")
    sql = Sql(con)
    install_resolve_macros(sql)
    files, _ = committed_files(Lake(city / "lake"), "person")
    n = load_records(sql, "person", files, "person_src")
    return con, sql, n


def run_ours(city: Path) -> dict[str, Any]:
    from pipelines.masters.config import master_config
    from pipelines.resolve.engine import resolve

    t = time.perf_counter()
    con, sql, n = load(city)
    t_load = time.perf_counter() - t
    res = resolve(sql, master_config("person"), "person_src")
    con.execute(f"CREATE TABLE out AS SELECT f.record_id, c.cluster FROM {res.clusters} AS c JOIN {res.rec} AS f "
                f"ON f.rid = c.rid").fetchall()
    wall = time.perf_counter() - t
    return {"records": n, "load_s": t_load, "wall_s": wall, "pairs": sum(res.pairs_per_rule.values()),
            **score(con, city, "out")}


def run_splink(city: Path) -> dict[str, Any]:
    import splink.comparison_level_library as cll
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    t = time.perf_counter()
    con, sql, n = load(city)
    con.execute(f"CREATE TABLE persons AS {SPLINK_INPUT}").fetchall()
    t_load = time.perf_counter() - t
    db = DuckDBAPI(connection=con)
    name = cl.CustomComparison(
        output_column_name="name",
        comparison_levels=[
            cll.NullLevel("name"),
            cll.ExactMatchLevel("name", term_frequency_adjustments=True),
            cll.ExactMatchLevel("name_py"),
            cll.JaroWinklerLevel("name", 0.9),
            cll.JaroWinklerLevel("name", 0.8),
            cll.ElseLevel(),
        ],
    )
    settings = SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.LevenshteinAtThresholds("id_any", [1, 2]),
            name,
            cl.LevenshteinAtThresholds("birth", [1, 2]),
            cl.ExactMatch("sex"),
            cl.ExactMatch("phone"),
            cl.JaroWinklerAtThresholds("addr", [0.9]),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("id"),
            block_on("id_any"),
            block_on("name_py", "birth"),
            block_on("name_py", "phone"),
            block_on("name_py", "addr"),
        ],
        retain_matching_columns=False,
    )
    linker = Linker(db.register("persons"), settings)
    linker.training.estimate_probability_two_random_records_match([block_on("id")], recall=0.95)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("name_py", "birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("id"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=THRESHOLD)
    con.execute(f"CREATE TABLE out AS SELECT unique_id AS record_id, cluster_id AS cluster FROM "
                f"{clusters.physical_name}").fetchall()
    wall = time.perf_counter() - t
    return {"records": n, "load_s": t_load, "wall_s": wall, **score(con, city, "out")}


def score(con: duckdb.DuckDBPyConnection, city: Path, out: str) -> dict[str, Any]:
    """Pairwise precision / recall / F1 of (record_id, cluster) against the city's truth."""
    from pipelines.masters.evaluate import Scores, _truth_view

    _truth_view(con, city / "truth")
    con.execute(f"CREATE OR REPLACE TEMP TABLE ev AS SELECT o.record_id, CAST(o.cluster AS VARCHAR) AS c, "
                f"t.true_person_id AS tid FROM {out} AS o JOIN truth AS t ON t.record_id = o.record_id "
                f"WHERE t.true_person_id IS NOT NULL").fetchall()

    def pairs(g: str) -> int:
        return int(con.execute(f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM ev "
                               f"GROUP BY {g})").fetchall()[0][0])

    n = int(con.execute("SELECT count(*) FROM ev").fetchall()[0][0])
    s = Scores.of(pairs("c, tid"), pairs("c"), pairs("tid"), n)
    return {"precision": s.precision, "recall": s.recall, "f1": s.f1, "scored_records": n}


def child(tool: str, city: Path) -> dict[str, Any]:
    return run_child("benchmarks.bench_splink", "--city", str(city), "--tool", tool)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--city", type=Path, required=True, help="a generated city with its lake ingested")
    ap.add_argument("--tool", choices=("ours", "splink", "both"), default="both")
    args = ap.parse_args(argv)
    if args.tool != "both":
        out = run_ours(args.city) if args.tool == "ours" else run_splink(args.city)
        out["peak_gb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024
        report(out)
        return 0
    results = {tool: child(tool, args.city) for tool in ("ours", "splink")}
    side_by_side(results, args.city / "bench_splink.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
