"""The quality store: one folder of Parquet files per run, so trends are a glob away.

Layout under ``$MASTERDATA_HOME/warehouse/quality``::

    runs/run_id=<YYYYMMDDTHHMMSSffffff>/run.json          what was scored, when, how long, suite fingerprints
    runs/run_id=<...>/scores.parquet                       one scorecard per feed / table / source / master / gold
    runs/run_id=<...>/checks.parquet                       every check: scope, failures, defect kinds, samples
    runs/run_id=<...>/quarantine.parquet                   rejected rows per table, element and reason
    runs/run_id=<...>/gold.parquet                         per master: golden records, match rate, queue, conflicts

A run is written into a hidden temporary folder and renamed into place, so a reader never sees
half a run and a killed run leaves nothing behind. Parquet rather than a DuckDB file because runs
are append-only, Airflow tasks may score while an analyst renders a report (no lock to contend
for), and any tool reads the history with ``read_parquet('runs/*/scores.parquet', hive_partitioning=true)``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import InputError
from quality.paths import quality_store_dir

TABLES = ("scores", "checks", "quarantine", "gold")


class QualityStoreError(InputError):
    """A one-line problem with the quality store (e.g. no run recorded yet)."""


class QualityStore:
    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else quality_store_dir()

    @property
    def runs_dir(self) -> Path:
        return self.root / "runs"

    def run_dir(self, run_id: str) -> Path:
        return self.runs_dir / f"run_id={run_id}"

    def write(self, run_id: str, meta: dict[str, Any], tables: dict[str, list[dict[str, Any]]]) -> Path:
        """Write one run atomically (temporary sibling folder, then rename)."""
        self.runs_dir.mkdir(parents=True, exist_ok=True)
        final = self.run_dir(run_id)
        tmp = Path(tempfile.mkdtemp(prefix=f".run_id={run_id}.", dir=self.runs_dir))
        try:
            (tmp / "run.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1, default=str), encoding="utf-8")
            for name in TABLES:
                rows = tables.get(name, [])
                tbl = pa.Table.from_pylist(rows) if rows else pa.table({"run_id": pa.array([], pa.string())})
                pq.write_table(tbl, tmp / f"{name}.parquet", compression="zstd")
            if final.exists():
                shutil.rmtree(final)
            os.replace(tmp, final)
        finally:
            if tmp.exists():
                shutil.rmtree(tmp, ignore_errors=True)
        return final

    def run_ids(self) -> list[str]:
        """Recorded runs, oldest first (ids sort by time)."""
        if not self.runs_dir.exists():
            return []
        return sorted(p.name.split("=", 1)[1] for p in self.runs_dir.glob("run_id=*")
                      if p.is_dir() and (p / "run.json").exists())

    def latest(self) -> str:
        ids = self.run_ids()
        if not ids:
            raise QualityStoreError(f"no quality run recorded in {self.root}; run `masterdata quality run` first")
        return ids[-1]

    def meta(self, run_id: str) -> dict[str, Any]:
        p = self.run_dir(run_id) / "run.json"
        if not p.exists():
            raise QualityStoreError(f"no quality run {run_id!r} in {self.root}")
        return json.loads(p.read_text(encoding="utf-8"))

    def read(self, name: str, run_id: str | None = None) -> list[dict[str, Any]]:
        """Rows of one table, of one run (default: the latest) or of all runs (``run_id='*'``)."""
        if name not in TABLES:
            raise QualityStoreError(f"unknown quality table {name!r}; known: {', '.join(TABLES)}")
        ids = self.run_ids() if run_id == "*" else [run_id or self.latest()]
        out: list[dict[str, Any]] = []
        for rid in ids:
            p = self.run_dir(rid) / f"{name}.parquet"
            if p.exists():
                out.extend(pq.read_table(p).to_pylist())
        return out

    def trend(self, level: str, limit: int = 30) -> list[dict[str, Any]]:
        """Scorecards of one level across the last ``limit`` runs, oldest first."""
        ids = self.run_ids()[-limit:]
        rows: list[dict[str, Any]] = []
        for rid in ids:
            p = self.run_dir(rid) / "scores.parquet"
            if p.exists():
                rows.extend(r for r in pq.read_table(p).to_pylist() if r.get("level") == level)
        return rows
