"""The data lake on local disk (or any mounted filesystem): bronze, silver, quarantine and state.

Layout under the lake root::

    bronze/{source}/{table}/load_date=YYYY-MM-DD/{batch_id}.parquet   raw rows as received (text)
    silver/{master}/{source}__{table}/{batch_id}.parquet             rows in the unified standard
    quarantine/{source}/{table}/{batch_id}.parquet                   rejected rows, reason + original
    _state/batches/{source}/{table}/{batch_id}.json                  commit marker + reconciliation
    _state/set_aside/{source}/{table}/{key}.json                     a delivered file refused, and why
    _state/locks/{source}/{table}.lock                               held while the table is ingested
    _tmp/                                                            ingest's working folders

A batch becomes visible only when its commit marker is written (atomically, last), so readers that
list batches through :meth:`Lake.committed_batches` never see half a batch.  The marker is also the
*only* commit: it records the watermark the batch reached (and, for a file, the file's content
hash in its batch id), and the next run derives where to continue from the committed markers.
There is no second state file to update after the marker, so no crash can leave data committed
with an old watermark (which duplicated rows once the source moved on).

Whatever a killed run leaves behind - ``.tmp`` files, files of a batch that never got its marker,
working folders with raw rows - is removed by the next run of the same table, which holds the
table's lock while it does so (:meth:`Lake.table_session`).
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from core.errors import ConflictError
from core.settings import settings

DEFAULT_LAKE = Path("var/lake")
TMP_SUFFIX = ".tmp"


def lake_root() -> Path:
    """The lake root: ``$MASTERDATA_LAKE``, else ``$MASTERDATA_HOME/lake``, else ``var/lake``."""
    return settings().lake


@contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temporary sibling path; rename it onto ``final`` only if the block succeeds."""
    final.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{final.name}.", suffix=TMP_SUFFIX, dir=final.parent)
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
    #: source records found deleted (a tombstone batch; 0 for a batch of extracted rows)
    deleted: int = 0

    @property
    def reconciles(self) -> bool:
        return self.extracted == self.standardised + self.quarantined


def _watermark_order(value: str) -> tuple[int, Decimal, str]:
    """Numbers (an id watermark) compare as numbers, anything else (a timestamp) as text."""
    try:
        return (0, Decimal(value), "")
    except InvalidOperation:
        return (1, Decimal(0), value)


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

    def _set_aside(self, source: str, table: str, key: str) -> Path:
        return self.root / "_state" / "set_aside" / source / table / f"{key}.json"

    @property
    def tmp_dir(self) -> Path:
        """The lake's own working area (beside the data it becomes, never the system /tmp)."""
        return self.root / "_tmp"

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

    # --- where to continue -------------------------------------------------------------------
    def watermark(self, source: str, table: str) -> str | None:
        """The highest watermark any committed batch of the table reached (None: nothing loaded).

        Derived from the commit markers, so it moves in the same atomic step as the data.
        """
        values = [b.watermark_to for b in self.committed_batches(source, table) if b.watermark_to is not None]
        return max(values, key=_watermark_order) if values else None

    # --- files set aside ---------------------------------------------------------------------
    def set_aside(self, source: str, table: str, key: str, record: dict[str, Any]) -> None:
        """Remember that a delivered file was refused and why (the file itself is left where it is)."""
        write_json_atomic(self._set_aside(source, table, key), record)

    def set_aside_record(self, source: str, table: str, key: str) -> dict[str, Any] | None:
        p = self._set_aside(source, table, key)
        return json.loads(p.read_text(encoding="utf-8")) if p.exists() else None

    def set_aside_records(self, source: str | None = None, table: str | None = None) -> list[dict[str, Any]]:
        base = self.root / "_state" / "set_aside"
        return [json.loads(p.read_text(encoding="utf-8"))
                for p in sorted(base.glob(f"{source or '*'}/{table or '*'}/*.json"))]

    # --- one run of one table ----------------------------------------------------------------
    @contextmanager
    def table_session(self, source: str, table: str) -> Iterator[Path]:
        """Hold the table's lock, clear what killed runs left, and yield a fresh working folder.

        The lock makes a second concurrent run of the same table fail at once (it would read the
        same watermark and load the same rows twice); holding it also makes the clean-up safe,
        since nobody else can be half-way through writing this table's files.
        """
        lock_path = self.root / "_state" / "locks" / source / f"{table}.lock"
        lock_path.parent.mkdir(parents=True, exist_ok=True)
        with open(lock_path, "a+") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise ConflictError(f"source {source} table {table} is being ingested by another run "
                                    f"(lock {lock_path}); try again when it has finished") from None
            try:
                self.sweep(source, table)
                self.tmp_dir.mkdir(parents=True, exist_ok=True)
                work = Path(tempfile.mkdtemp(prefix=f"ingest-{source}-{table}-", dir=self.tmp_dir))
                try:
                    yield work
                finally:
                    shutil.rmtree(work, ignore_errors=True)
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    def sweep(self, source: str, table: str) -> list[Path]:
        """Remove a table's leftovers of killed runs; call only while holding the table's lock.

        Leftovers are temporary files, files of batches without a commit marker, and working
        folders (which hold raw rows).  Returns what was removed.
        """
        removed: list[Path] = []
        dirs = [self.root / "bronze" / source / table, self.root / "quarantine" / source / table,
                self.root / "_state" / "batches" / source / table,
                self.root / "_state" / "set_aside" / source / table,
                *(m / f"{source}__{table}" for m in (self.root / "silver").glob("*"))]
        for d in dirs:
            for p in d.rglob("*") if d.is_dir() else ():
                orphan = p.suffix == ".parquet" and not self.is_committed(source, table, p.stem)
                if p.is_file() and (p.name.endswith(TMP_SUFFIX) or orphan):
                    p.unlink(missing_ok=True)
                    removed.append(p)
        for w in self.tmp_dir.glob(f"ingest-{source}-{table}-*") if self.tmp_dir.is_dir() else ():
            shutil.rmtree(w, ignore_errors=True)
            removed.append(w)
        return removed
