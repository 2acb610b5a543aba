"""Real sources for the fault tests: a SQLite departmental database (embedded mode) built from a
spec's columns, landed files, and what a lake holds - its current records and its leftovers."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import time
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa

from core.db import connect
from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, Table, registry
from pipelines.synthetic.writers import upsert_sqlite, write_sqlite
from tests.masters.helpers import rid

ROOT = Path(__file__).resolve().parents[2]


def person_id(n: int) -> str:
    """A valid, distinct resident ID for person ``n`` (born on one of 50,000 days, 999 a day)."""
    born = date(1950, 1, 1) + timedelta(days=n // 999)
    return rid(f"341602{born:%Y%m%d}{n % 999 + 1:03d}")


def person_row(n: int, gxsj: str, **kw: Any) -> dict[str, str | None]:
    """A row of public_security.hjxx_czrk (the household register)."""
    born = date(1950, 1, 1) + timedelta(days=n // 999)
    row: dict[str, str | None] = {
        "rkbh": f"R{n:06d}", "gmsfhm": person_id(n), "xm": f"张{'伟芳娜强'[n % 4]}{n}",
        "cym": None, "xb": "1", "mz": "01", "csrq": f"{born:%Y-%m-%d}", "hjqh": "341602", "hjdz": "安徽省亳州市谯城区",
        "hh": f"H{n}", "yhzgx": "户主", "hyzk": "20", "swrq": None, "gxsj": gxsj}
    row.update(kw)
    return row


def _arrow(table: Table, rows: list[dict[str, str | None]]) -> pa.Table:
    return pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in table.columns})


class SqliteSource:
    """A database-backed spec's database as the embedded SQLite file ingest reads."""

    def __init__(self, env: SourceEnvironment, spec: SourceSpec) -> None:
        self.spec = spec
        self.table = spec.tables[0]
        self.path = env.sqlite_file(spec.connection.database or "")

    def create(self, rows: list[dict[str, str | None]]) -> None:
        """The first table holds ``rows``; the spec's other tables exist, empty (a source's run reads them all)."""
        rest = [(t, _arrow(t, [])) for t in self.spec.tables[1:]]
        write_sqlite(self.path, [(self.table, _arrow(self.table, rows)), *rest])

    def upsert(self, rows: list[dict[str, str | None]]) -> None:
        upsert_sqlite(self.path, self.table, _arrow(self.table, rows))

    def delete(self, keys: list[str]) -> None:
        pk = self.table.primary_key[0]
        with sqlite3.connect(self.path) as con:
            con.executemany(f'DELETE FROM "{self.table.name}" WHERE "{pk}" = ?', [(k,) for k in keys])


def land(env: SourceEnvironment, rel: str, data: bytes, age_s: float = 60) -> Path:
    """Deliver a file, last modified ``age_s`` ago (older than any settle time: complete)."""
    p = env.files_dir / rel
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_bytes(data)
    then = time.time() - age_s
    os.utime(p, (then, then))
    return p


def current_records(lake: Lake) -> dict[str, list[tuple[Any, ...]]]:
    """Per master, the lake's current records: each record's latest committed version (deleted
    ones removed), as (source, table, record key, row hash) - what the master build reads."""
    out: dict[str, list[tuple[Any, ...]]] = {}
    for master in ("person", "entity", "licence"):
        files = [str(p) for p in lake.silver_files(master)]
        if not files:
            continue
        out[master] = duckdb.execute(
            f"SELECT _source, _table, _record_key, _row_hash FROM (SELECT * FROM read_parquet({files!r}, "
            f"union_by_name = true) QUALIFY row_number() OVER (PARTITION BY _source, _table, _record_key "
            f"ORDER BY _extracted_at DESC, _batch_id DESC) = 1) WHERE NOT coalesce(_deleted, FALSE) ORDER BY ALL"
        ).fetchall()
    return out


def loaded_twice(lake: Lake) -> list[tuple[Any, ...]]:
    """Row versions (record key, row hash) committed in more than one batch: a duplicated load."""
    files = [str(p) for m in ("person", "entity", "licence") for p in lake.silver_files(m)]
    if not files:
        return []
    return duckdb.execute(
        f"SELECT regexp_extract(filename, 'silver/([a-z]+)/', 1) AS m, _record_key, _row_hash, count(*) "
        f"FROM read_parquet({files!r}, union_by_name = true, filename = true) WHERE NOT coalesce(_deleted, FALSE) "
        f"GROUP BY ALL HAVING count(*) > 1"
    ).fetchall()


def quarantined(lake: Lake) -> list[tuple[Any, ...]]:
    files = [str(p) for p in lake.quarantine_files()]
    if not files:
        return []
    return duckdb.execute(f"SELECT _source, _table, _record_key, reason, field FROM read_parquet({files!r}) "
                      f"ORDER BY ALL").fetchall()


def leftovers(lake: Lake) -> list[str]:
    """Files a killed run may leave: temporary files, working folders, files of uncommitted batches."""
    out = []
    for p in lake.root.rglob("*"):
        rel = str(p.relative_to(lake.root))
        if p.name.endswith(".tmp") or (rel.startswith("_tmp/") and p.parent == lake.tmp_dir):
            out.append(rel)
        elif p.suffix == ".parquet" and rel.split("/")[0] in ("bronze", "silver", "quarantine"):
            parts = rel.split("/")
            source, table = (parts[1], parts[2]) if parts[0] != "silver" else parts[2].split("__", 1)
            if not lake.is_committed(source, table, p.stem):
                out.append(rel)
    return sorted(out)


def kill_when(cmd: list[str], env: dict[str, str], ready: Callable[[], bool], delay_s: float = 0.0) -> bool:
    """Start the command, SIGKILL it once ``ready()`` holds (plus ``delay_s``); True if it was killed
    (False: it ended by itself first)."""
    p = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300
        while p.poll() is None and not ready() and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(delay_s)
        if p.poll() is None:
            os.kill(p.pid, signal.SIGKILL)
            return p.wait() == -signal.SIGKILL
        return False
    finally:
        if p.poll() is None:
            p.kill()
        p.wait()


def ingest_all(env: SourceEnvironment, lake: Lake) -> dict[str, int]:
    """Every table of every registered source into ``lake`` on one connection: extracted rows per
    ``<source>__<table>``."""
    con = connect()
    counts: dict[str, int] = {}
    for name, spec in registry().items():
        for t in spec.tables:
            counts[f"{name}__{t.name}"] = sum(o.extracted for o in ingest_table(spec, t, env, lake, con=con))
    con.close()
    return counts


def lake_differences(a: Lake, b: Lake) -> list[str]:
    """Where two lakes' committed content differs (empty: none): the batches and what their commit
    markers say, each batch's bronze, silver and quarantine rows (DuckDB ``EXCEPT ALL`` both
    ways), and the files set aside. The extraction time (``_extracted_at``, the markers' ``extracted_at`` and ``load_date``)
    (and a file's set-aside ``at``) is left out: a run takes it from the clock."""
    def batches(lake: Lake) -> dict[tuple[str, str, str], dict[str, Any]]:
        return {(r.source, r.table, r.batch_id): {k: v for k, v in r.__dict__.items()
                                                   if k not in ("extracted_at", "load_date")}
                for r in lake.committed_batches()}

    def files(lake: Lake, record: dict[str, Any]) -> dict[str, str]:
        found = record["files"]
        named = {"bronze": found.get("bronze"), "quarantine": found.get("quarantine"),
                 **{f"silver {m}": f for m, f in (found.get("silver") or {}).items()}}
        return {k: str(lake.root / f) for k, f in named.items() if f}

    out: list[str] = []
    left, right = batches(a), batches(b)
    out += [f"{k}: only in {a.root}" for k in sorted(left.keys() - right.keys())]
    out += [f"{k}: only in {b.root}" for k in sorted(right.keys() - left.keys())]
    con = duckdb.connect()
    for key in sorted(left.keys() & right.keys()):
        fa, fb = files(a, left[key]), files(b, right[key])
        plain = [{k: v for k, v in r.items() if k != "files"} for r in (left[key], right[key])]
        if plain[0] != plain[1] or fa.keys() != fb.keys():
            out.append(f"{key}: commit markers differ: {plain[0]} / {fa.keys()} != {plain[1]} / {fb.keys()}")
            continue
        for role in fa:
            for x, y in ((fa[role], fb[role]), (fb[role], fa[role])):
                extra = con.execute(
                    f"SELECT count(*) FROM (SELECT * EXCLUDE (_extracted_at) FROM read_parquet('{x}', hive_partitioning = false) "
                    f"EXCEPT ALL SELECT * EXCLUDE (_extracted_at) FROM read_parquet('{y}', hive_partitioning = false))"
                ).fetchone()[0]  # type: ignore[index]
                if extra:
                    out.append(f"{key} {role}: {extra} row(s) of {x} not in {y}")
    con.close()
    aside = [[{k: v for k, v in r.items() if k != "at"} for r in lake.set_aside_records()] for lake in (a, b)]
    if aside[0] != aside[1]:
        out.append(f"files set aside differ: {aside[0]} != {aside[1]}")
    return out
