"""Console benchmark: how long each console page takes to load in a real browser, on a big city.

    uv run --frozen python benchmarks/bench_console.py --home /path/to/home [--repeat 5] [--json out.json]

``--home`` is a built city (``masterdata generate`` -> ``ingest`` -> ``build`` -> ``quality run``
with ``MASTERDATA_HOME`` pointing there).  The benchmark

1. makes a throw-away serving store in a temporary folder (an identity key, one console user per
   role; the read model of the home's gold store is reused from ``--index`` if given, else built);
2. starts the real server (``masterdata serve``, one worker) on a free loopback port;
3. drives Debian's Chromium (Playwright, ``/usr/bin/chromium``) through every console page - the
   steward's queue, the strongest queued pair, a master, a search, the decision log, ingestion
   status, the quality dashboard, a department lookup, the applicant's service items and form - and
   reads each page's Navigation Timing: time to the first byte (the server's work) and to the
   ``load`` event (HTML, CSS, JS, inline SVG charts, layout);
4. prints the first (cold) load and the median of ``--repeat`` warm loads per page, and writes them
   as JSON.

It is a measurement, not a test: nothing asserts a figure.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

PASSWORD = "bench-password-1"
TIMING_JS = ("() => { const n = performance.getEntriesByType('navigation')[0]; "
             "return {ttfb: n.responseStart - n.requestStart, load: n.loadEventEnd - n.startTime}; }")


def _prepare(home: Path, tmp: Path, index: Path | None) -> tuple[dict[str, str], str]:
    """(the server's environment, the identity key) over a throw-away serving store."""
    from console.accounts import Accounts
    from warehouse.api.store import Store

    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERDATA_")}
    env.update({"MASTERDATA_HOME": str(home), "MASTERDATA_SERVING": str(tmp / "serving.sqlite")})
    if index:
        env["MASTERDATA_SERVING_INDEX"] = str(index)
    store = Store(tmp / "serving.sqlite", tmp / "serving.audit-key")
    key = store.create_key("uum", "identity")[1]
    store.close()
    acc = Accounts(tmp / "serving.sqlite")
    for name, role, dep in (("steward", "steward", None), ("analyst", "analyst", None),
                            ("dept", "department", "civil_affairs")):
        acc.create_user(name, role, PASSWORD, dep)
    acc.close()
    return env, key


def _subjects(home: Path) -> dict[str, str]:
    """A queued pair, a master with several records, a name and an applicant to open."""
    import duckdb

    con = duckdb.connect(str(home / "warehouse" / "gold.duckdb"), read_only=True)
    try:
        pair = con.execute("SELECT master, record_id, candidate_record_id FROM review_queue "
                           "ORDER BY match_probability DESC LIMIT 1").fetchall()
        master = con.execute("SELECT master_id FROM person_xref GROUP BY master_id ORDER BY count(*) DESC "
                             "LIMIT 1").fetchall()[0][0]
        person = con.execute("SELECT master_id, name, id_number FROM person_master WHERE id_number IS NOT NULL "
                             "AND name IS NOT NULL ORDER BY master_id LIMIT 1").fetchall()[0]
    finally:
        con.close()
    from urllib.parse import quote

    out = {"master": master, "name": person[1][:1], "person": person[0], "applicant_id": person[2],
           "applicant_name": person[1]}
    if pair:
        out["pair"] = f"/console/steward/pair?master={pair[0][0]}&a={quote(pair[0][1])}&b={quote(pair[0][2])}"
    return out


def _pages(s: dict[str, str]) -> dict[str, list[str]]:
    steward = ["/console/steward/queue", *([s["pair"]] if "pair" in s else []), f"/console/steward/masters/{s['master']}",
               f"/console/steward/search?q={s['name']}", "/console/steward/decisions", "/console/ingestion"]
    return {"steward": steward, "analyst": ["/console/quality"],
            "dept": [f"/console/department/lookup?kind=person&ident={s['person']}&purpose=marriage_registration"]}


def _measure(page: Any, url: str, repeat: int) -> dict[str, float]:
    got = []
    for _ in range(repeat + 1):
        page.goto(url, wait_until="load")
        got.append(page.evaluate(TIMING_JS))
    warm = got[1:] or got
    return {"cold_ttfb_ms": got[0]["ttfb"], "cold_load_ms": got[0]["load"],
            "warm_ttfb_ms": statistics.median(g["ttfb"] for g in warm),
            "warm_load_ms": statistics.median(g["load"] for g in warm)}


def run(home: Path, repeat: int, index: Path | None) -> dict[str, dict[str, float]]:
    import httpx
    from playwright.sync_api import sync_playwright

    from tests.serving.server import launch, stop

    tmp = Path(tempfile.mkdtemp(prefix="bench-console-"))
    proc = None
    try:
        env, key = _prepare(home, tmp, index)
        proc, url = launch(env, tmp / "server.log", timeout=900)
        s = _subjects(home)
        results: dict[str, dict[str, float]] = {}
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
            for who, paths in _pages(s).items():
                page = browser.new_context().new_page()
                results[f"{who} /console/login"] = _measure(page, url + "/console/login", repeat)
                page.fill("#name", who)
                page.fill("#password", PASSWORD)
                page.click("button[type=submit]")
                for path in paths:
                    results[f"{who} {path.split('?')[0]}"] = _measure(page, url + path, repeat)
            r = httpx.post(url + "/v1/identity/sessions", headers={"Authorization": f"Bearer {key}"},
                           json={"id_number": s["applicant_id"], "name": s["applicant_name"]})
            page = browser.new_context().new_page()
            page.goto(f"{url}/console/hall/enter?token={r.json()['token']}")
            results["applicant /console/hall"] = _measure(page, url + "/console/hall", repeat)
            browser.close()
        return results
    finally:
        stop(proc, grace=30)
        shutil.rmtree(tmp, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--home", type=Path, required=True, help="a built city (MASTERDATA_HOME)")
    ap.add_argument("--index", type=Path, help="reuse this read-model folder (serving_index) instead of building")
    ap.add_argument("--repeat", type=int, default=5, help="warm loads per page")
    ap.add_argument("--json", type=Path, help="write the figures here")
    a = ap.parse_args()
    t0 = time.perf_counter()
    results = run(a.home, a.repeat, a.index)
    print(f"{'page':62} {'cold ttfb':>10} {'cold load':>10} {'warm ttfb':>10} {'warm load':>10}  (ms)")
    for name, r in results.items():
        print(f"{name:62} {r['cold_ttfb_ms']:>10.0f} {r['cold_load_ms']:>10.0f} {r['warm_ttfb_ms']:>10.0f} "
              f"{r['warm_load_ms']:>10.0f}")
    print(f"({time.perf_counter() - t0:.0f} s in all)")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
