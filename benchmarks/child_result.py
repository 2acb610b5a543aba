"""Run one side of a side-by-side benchmark in its own process and read what it reports.

Each tool (ours, Splink) runs in a child process so its peak memory is its own; the child prints one
line ``RESULT{json}``. Shared by bench_splink, bench_link_persons and bench_febrl, as are the way
ours is run (the ``masterdata link`` command line, start-up included) and the results table.
"""

from __future__ import annotations

import json
import resource
import subprocess
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def report(figures: dict[str, Any]) -> None:
    """The child's side: print its figures as the one line :func:`run_child` reads."""
    print("RESULT" + json.dumps(figures))


def run_child(module: str, *args: str, error_tail: int = 3000) -> dict[str, Any]:
    """``python -m module args...`` from the project root: its RESULT figures, or ``{"error": tail}``
    when it failed or reported nothing (a failed tool is a row of the table, not a crash)."""
    res = subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True, text=True)
    line = next((ln for ln in res.stdout.splitlines() if ln.startswith("RESULT")), None)
    if res.returncode != 0 or not line:
        return {"error": (res.stderr or res.stdout)[-error_tail:]}
    return dict(json.loads(line[len("RESULT"):]))


def run_link(config: Path, inputs: Sequence[Path], out: Path) -> tuple[dict[str, Any], float, float]:
    """``masterdata link --config CONFIG INPUTS --out OUT --json`` as a new user runs it: its JSON
    summary, its wall seconds and the peak RSS (GB) of the children this process has waited for."""
    t = time.perf_counter()
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "link", "--config", str(config),
                          *map(str, inputs), "--out", str(out), "--json"], cwd=ROOT, capture_output=True, text=True)
    wall = time.perf_counter() - t
    if res.returncode != 0:
        raise RuntimeError(f"masterdata link failed: {res.stderr.strip().splitlines()[-1:]}")
    return dict(json.loads(res.stdout)), wall, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024 / 1024


#: the columns every side-by-side table has, after its leading ones
RESULT_COLUMNS = "records | wall s | peak GB | precision | recall | F1"


def result_row(lead: Sequence[str], r: dict[str, Any], extra: Sequence[str] = ()) -> str:
    """One markdown row: the ``lead`` cells, then the tool's figures (and the ``extra`` keys of ``r``),
    or the tail of its error when the child failed."""
    if "error" in r:
        return f"| {' | '.join(lead)} | failed: {r['error'][-300:]!r} |"
    cells = [*lead, f"{r['records']:,}", f"{r['wall_s']:.1f}", f"{r['peak_gb']:.2f}", f"{r['precision']:.5f}",
             f"{r['recall']:.5f}", f"{r['f1']:.5f}", *(str(r[k]) for k in extra)]
    return f"| {' | '.join(cells)} |"


def side_by_side(results: dict[str, dict[str, Any]], json_path: Path) -> None:
    """Write each tool's figures to ``json_path`` and print them as one markdown table, a row a tool."""
    json_path.write_text(json.dumps(results, indent=1), encoding="utf-8")
    print(f"| tool | {RESULT_COLUMNS} |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for tool, r in results.items():
        print(result_row([tool], r))
