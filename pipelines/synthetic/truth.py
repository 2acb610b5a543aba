"""Ground truth on disk, apart from the sources: ``OUT/truth/`` (pipelines never read it).

Layout::

    truth/persons.parquet, households.parquet, entities.parquet, licences.parquet   the day-1 world
    truth/records/{source}__{table}.parquet          one row per source record written on day 1:
        record_key (primary-key values joined by '|', exactly as written), true_person_id,
        true_entity_id, true_licence_id (null when not applicable), defects (list<string>), batch
    truth/records/{source}__{table}__day2.parquet    the records inserted or updated on day 2 (same
        columns plus op = insert | update); a record's final truth is its day-2 row when there is one
    truth/day2/{persons,households,entities,licences}.parquet   the world as of day 2
    truth/day2/events.parquet                        what happened on day 2 (birth, death, move, ...)
    truth/defect_rates.json                          configured vs realised rate per source table and defect

Defect names are the keys of ``profiles.yaml`` (``id_typo``, ``name_homophone`` ...) for the table's
main column of that kind, suffixed ``@column`` for a second column of the same kind (a spouse's or
guardian's id), plus ``duplicate`` for a second copy of a record under a new key.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from pipelines.synthetic.defects import DefectLog
from pipelines.synthetic.profile import SourceProfile


def write_parquet(path: Path, table: pa.Table) -> None:
    """Atomic Parquet write (temp name, then rename); zstd keeps the truth small."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp, compression="zstd")
    os.replace(tmp, path)


def write_parquet_blocks(path: Path, blocks: Iterable[pa.Table]) -> None:
    """Atomic Parquet write of a table given as blocks of rows (each block cast to the first's
    schema, so a block whose column happens to be all null keeps the column's type)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    writer: pq.ParquetWriter | None = None
    try:
        for block in blocks:
            if writer is None:
                writer = pq.ParquetWriter(tmp, block.schema, compression="zstd")
            writer.write_table(block.cast(writer.schema))
    finally:
        if writer is not None:
            writer.close()
    os.replace(tmp, path)


def write_json(path: Path, obj: object) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(obj, ensure_ascii=False, indent=1, sort_keys=False), encoding="utf-8")
    os.replace(tmp, path)


def records_path(out: Path, source: str, table: str, day2: bool = False) -> Path:
    return out / "truth" / "records" / f"{source}__{table}{'__day2' if day2 else ''}.parquet"


def rate_report(log: DefectLog, prof: SourceProfile, rows: int, originals: int) -> dict:
    """Configured vs realised rates of one table (realised over all rows; id_copied over its donor hits)."""
    counts = log.counts()
    report: dict[str, dict] = {}
    names = set(counts) | {k for k, v in prof.defects.items() if v > 0 and k in log.eligible}
    for name in sorted(names):
        base = name.split("@", 1)[0]
        count = counts.get(name, 0)
        entry: dict[str, float | int] = {"count": count}
        if base == "duplicate":
            entry.update(configured=prof.duplicate, realised=count / originals if originals else 0.0)
        elif base == "id_copied":
            elig = log.eligible.get(name, 0)
            entry.update(
                configured=sum(prof.copy_from.values()) / max(len(prof.copy_from), 1),
                realised=count / elig if elig else 0.0,
                eligible=elig,
            )
        else:
            entry.update(
                configured=prof.defects.get(base, 0.0),
                realised=count / rows if rows else 0.0,
                eligible=log.eligible.get(name, rows),
            )
        report[name] = entry
    return report
