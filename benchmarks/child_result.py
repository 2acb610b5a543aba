"""Run one side of a side-by-side benchmark in its own process and read what it reports.

Each tool (ours, Splink) runs in a child process so its peak memory is its own; the child prints one
line ``RESULT{json}``. Shared by bench_splink, bench_link_persons and bench_febrl.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
