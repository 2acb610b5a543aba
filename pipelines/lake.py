"""The data lake on local disk (or any mounted filesystem): bronze, silver, quarantine and state.

Layout under the lake root::

    bronze/{source}/{table}/load_date=YYYY-MM-DD/{batch_id}.parquet   raw rows as received (text)
    silver/{master}/{source}__{table}/{batch_id}.parquet             rows in the unified standard
    quarantine/{source}/{table}/{batch_id}.parquet                   rejected rows, reason + original
    _state/batches/{source}/{table}/{batch_id}.json                  commit marker + reconciliation
    _state/watermarks/{source}/{table}.json                          incremental state per table

A batch becomes visible only when its commit marker is written (atomically, last), so readers that
list batches through :meth:`Lake.committed_batches` never see half a batch; files of a batch that
was killed before its marker are invisible and are overwritten when the same batch is re-run.
The watermark lives here, beside the data it describes, not in Airflow, so the lake alone says what
has been loaded.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.settings import settings

DEFAULT_LAKE = Path("var/lake")


def lake_root() -> Path:
    """The lake root: ``$MASTERDATA_LAKE``, else ``$MASTERDATA_HOME/lake``, else ``var/lake``."""
    return settings().lake


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``final`` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=".tmp", dir=final.parent)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, final)
    finally:
        if tmp_path.exists():
            tmp_path.unlink()


def write_json_atomic(path: Path, payload: Any) -> None:
    with atomic_path(path) as tmp:
        tmp.write_text(json.dumps(payload, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def write_parquet_atomic(path: Path, table: pa.Table) -> None:
    with atomic_path(path) as tmp:
        pq.write_table(table, tmp, compression="zstd")


@dataclass(frozen=True)
class BatchRecord:
    """What the commit marker of one batch says."""

    source: str
    table: str
    batch_id: str
    load_date: str
    extracted_at: str
    watermark_from: str | None
    watermark_to: str | None
    extracted: int
    standardised: int
    quarantined: int
    files: dict[str, Any]

    @property
    def reconciles(self) -> bool:
        return self.extracted == self.standardised + self.quarantined


class Lake:
    """Paths and state of one lake root; every write is atomic."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else lake_root()

    # --- paths -------------------------------------------------------------------------------
    def bronze_path(self, source: str, table: str, load_date: str, batch_id: str) -> Path:
        return self.root / "bronze" / source / table / f"load_date={load_date}" / f"{batch_id}.parquet"

    def silver_path(self, master: str, source: str, table: str, batch_id: str) -> Path:
        return self.root / "silver" / master / f"{source}__{table}" / f"{batch_id}.parquet"

    def quarantine_path(self, source: str, table: str, batch_id: str) -> Path:
        return self.root / "quarantine" / source / table / f"{batch_id}.parquet"

    def _marker(self, source: str, table: str, batch_id: str) -> Path:
        return self.root / "_state" / "batches" / source / table / f"{batch_id}.json"

    def _watermark(self, source: str, table: str) -> Path:
        return self.root / "_state" / "watermarks" / source / f"{table}.json"

    # --- batches -----------------------------------------------------------------------------
    def is_committed(self, source: str, table: str, batch_id: str) -> bool:
        return self._marker(source, table, batch_id).exists()

    def commit_batch(self, record: BatchRecord) -> None:
        """Make a batch visible: written last, atomically, after all its files are in place."""
        if not record.reconciles:
            raise ValueError(
                f"{record.source}.{record.table} batch {record.batch_id}: counts do not reconcile "
                f"(extracted {record.extracted} != standardised {record.standardised} + "
                f"quarantined {record.quarantined})"
            )
        write_json_atomic(self._marker(record.source, record.table, record.batch_id), record.__dict__)

    def committed_batches(self, source: str | None = None, table: str | None = None) -> list[BatchRecord]:
        base = self.root / "_state" / "batches"
        pattern = f"{source or '*'}/{table or '*'}/*.json"
        out = [BatchRecord(**json.loads(p.read_text(encoding="utf-8"))) for p in sorted(base.glob(pattern))]
        return sorted(out, key=lambda b: (b.source, b.table, b.extracted_at, b.batch_id))

    def silver_files(self, master: str) -> list[Path]:
        """Silver files of committed batches only (uncommitted leftovers are ignored)."""
        files = []
        for b in self.committed_batches():
            p = self.silver_path(master, b.source, b.table, b.batch_id)
            if master in b.files.get("silver", {}) and p.exists():
                files.append(p)
        return files

    def quarantine_files(self) -> list[Path]:
        return [
            self.quarantine_path(b.source, b.table, b.batch_id)
            for b in self.committed_batches()
            if b.quarantined and self.quarantine_path(b.source, b.table, b.batch_id).exists()
        ]

    # --- watermarks --------------------------------------------------------------------------
    def watermark(self, source: str, table: str) -> dict[str, Any]:
        """``{"value": ..., "files": {content_hash: file_name}}`` (empty on the first run)."""
        p = self._watermark(source, table)
        if not p.exists():
            return {"value": None, "files": {}}
        return json.loads(p.read_text(encoding="utf-8"))

    def set_watermark(self, source: str, table: str, state: dict[str, Any]) -> None:
        write_json_atomic(self._watermark(source, table), state)
