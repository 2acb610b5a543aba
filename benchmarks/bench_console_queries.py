"""The steward pages' server-side work, query by query, on a gold store (no browser, no server).

    uv run --frozen python benchmarks/bench_console_queries.py --gold /path/to/gold.duckdb [--repeat 3]

Why: a console page at a million persons is as fast as its slowest gold query, and the browser
benchmark (``bench_console.py``) only shows the page's total.  This calls the pages' own functions
(:mod:`console.review`) on a :class:`~console.goldread.GoldReader` whose every query is timed, for the
steward's queue, the strongest queued pair, the person master with the most source records and a
search by a surname's first character: once cold (a fresh reader), then ``--repeat`` times warm.
Prints each page's total and its queries (milliseconds: cold, and the slowest warm run), and writes them as
JSON (``--json``).  A measurement, not a test.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _timed_reader(gold: Path, log: list[tuple[str, float]]) -> Any:
    """A GoldReader that appends (query, ms) to ``log`` for every query it runs."""
    from console.goldread import GoldReader

    class Timed(GoldReader):
        def rows(self, sql: str, params: list[Any] | None = None) -> list[dict[str, Any]]:
            t = time.perf_counter()
            try:
                return super().rows(sql, params)
            finally:
                log.append((" ".join(sql.split())[:110], (time.perf_counter() - t) * 1000))

    return Timed(gold)


def _subjects(gold: Any) -> dict[str, Any]:
    """What the pages are opened on: the person master with the most records, the strongest queued
    pair, a surname's first character."""
    top = gold.one("SELECT master_id FROM person_xref GROUP BY master_id ORDER BY count(*) DESC, master_id LIMIT 1")
    first = gold.one("SELECT master, record_id, candidate_record_id FROM review_queue "
                     "ORDER BY match_probability DESC, record_id, candidate_record_id LIMIT 1")
    surname = gold.value("SELECT left(name, 1) FROM person_master WHERE name IS NOT NULL LIMIT 1")
    return {"master": top["master_id"], "pair": first, "surname": surname}


def _pages(gold: Any, subj: dict[str, Any]) -> dict[str, Callable[[], Any]]:
    """The pages to time, each a call of :mod:`console.review` on ``gold``."""
    from console import review
    from pipelines.lake import Lake
    from pipelines.resolve.steward import StewardLog

    log = StewardLog(gold.path.with_name("steward-bench-none.jsonl"))
    lake = Lake(gold.path.parent / "no-lake")  # a record's silver row is read from its file: not timed here
    pages: dict[str, Callable[[], Any]] = {
        "queue": lambda: review.queue(gold, log, None),
        "master": lambda: review.master_page(gold, subj["master"]),
        "search": lambda: review.search(gold, subj["surname"]),
    }
    p = subj["pair"]
    if p:
        pages["pair"] = lambda: review.pair(gold, lake, log, p["master"], p["record_id"], p["candidate_record_id"])
    return pages


def run(gold_path: Path, repeat: int) -> dict[str, Any]:
    """Each page once cold (its own fresh reader), then ``repeat`` times warm (that same reader)."""
    subj = _subjects(_timed_reader(gold_path, []))
    out: dict[str, Any] = {}
    for name in _pages(_timed_reader(gold_path, []), subj):
        log: list[tuple[str, float]] = []
        call = _pages(_timed_reader(gold_path, log), subj)[name]
        runs: list[tuple[float, list[tuple[str, float]]]] = []
        for _ in range(repeat + 1):
            log.clear()
            t = time.perf_counter()
            call()
            runs.append(((time.perf_counter() - t) * 1000, list(log)))
        warm = max(runs[1:]) if repeat else runs[0]
        out[name] = {"cold_ms": round(runs[0][0], 1), "warm_ms": [round(ms, 1) for ms, _q in runs[1:]],
                     "queries_cold": [(q, round(ms, 1)) for q, ms in runs[0][1]],
                     "queries_slowest_warm": [(q, round(ms, 1)) for q, ms in warm[1]]}
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", type=Path, required=True, help="the gold store (opened read-only)")
    ap.add_argument("--repeat", type=int, default=3, help="warm runs after the cold one")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    if not a.gold.exists():
        raise SystemExit(f"no gold store at {a.gold}")
    res = run(a.gold, max(0, a.repeat))
    for name, r in res.items():
        print(f"{name}: cold {r['cold_ms']:.0f} ms, warm {', '.join(f'{w:.0f}' for w in r['warm_ms'])} ms")
        for (q, ms), (_q, cold) in zip(r["queries_slowest_warm"], r["queries_cold"]):
            print(f"  {cold:8.1f} / {ms:8.1f} ms (cold / warm)  {q}")
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))


if __name__ == "__main__":
    main()
