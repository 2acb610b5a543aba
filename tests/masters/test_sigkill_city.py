"""Twenty real SIGKILLs of ``masterdata ingest`` and ``masterdata build`` on a generated city, at
seeded random moments, then each run to the end: the lake holds every row exactly once and the
masters are identical - same master ids, same golden values and the records each is credited to
(lineage), same cross-references - to an uninterrupted run's; only the build timestamps
(``first_seen``, ``last_seen``: when records were extracted) differ; nothing a killed run wrote
(``.tmp``, working folders, ``.building``) is left.

Why: the platform's promise is that a crash is never a data event. The ingest kills land between
random pairs of commits (the moment is a seeded number of committed batches plus a seeded delay),
so they fall mid-table, mid-write and between a batch's files and its marker; the build kills land
at seeded fractions of an uninterrupted build's time, before and after a first gold file exists.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from functools import partial
from pathlib import Path
from typing import Any

import duckdb
import pytest

from pipelines.lake import Lake
from pipelines.synthetic.city import generate_city
from tests.ingest.helpers import ROOT, current_records, kill_when, leftovers, loaded_twice

PERSONS, SEED = 200, 14
#: four departments, 16 tables: persons, entities and licences, at an eighth of the whole city's run time
SOURCES = ("public_security", "civil_affairs", "market_regulation", "traffic_police")
INGEST_KILLS, BUILD_KILLS = 12, 8
AS_OF = "2026-12-01"
MASTERS = ("person", "entity", "licence")


def _env(root: Path, city: Path) -> dict[str, str]:
    tmp = root / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    return {**os.environ, "MASTERDATA_HOME": str(root), "MASTERDATA_SOURCES": str(city / "sources"),
            "MASTERDATA_LAKE": str(root / "lake"), "MASTERDATA_GOLD": str(root / "warehouse" / "gold.duckdb"),
            "MASTERDATA_DB_MODE": "embedded", "MASTERDATA_TMP": str(tmp), "TMPDIR": str(tmp)}


INGEST = [sys.executable, "-m", "pipelines.cli", "ingest", *(a for s in SOURCES for a in ("-s", s))]
BUILD = [sys.executable, "-m", "pipelines.cli", "build", "--as-of", AS_OF]
#: a killed build is retried as a full one, so that every attempt has the whole build to do
FULL_BUILD = [*BUILD, "--full"]
#: build timestamps (when the records were extracted, which a re-run changes); every other column -
#: the golden values and their lineage, the record each is credited to - must be equal
VOLATILE = "EXCLUDE (first_seen, last_seen)"


def _run(cmd: list[str], env: dict[str, str]) -> float:
    """Run to the end; its wall time."""
    t = time.monotonic()
    res = subprocess.run(cmd, env=env, cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert res.returncode == 0, res.stdout[-2000:] + res.stderr[-2000:]
    return time.monotonic() - t


def _markers(lake: Path) -> int:
    return sum(1 for _ in (lake / "_state" / "batches").glob("*/*/*.json"))


def _reached(lake: Path, batches: int) -> bool:
    return _markers(lake) >= batches


def masters_of(gold: Path) -> dict[str, Any]:
    """Every master's golden records (all columns) and cross-references, in a stable order."""
    con = duckdb.connect(str(gold), read_only=True)
    out: dict[str, Any] = {}
    for m in MASTERS:
        out[f"{m}_master"] = con.execute(f"SELECT * {VOLATILE} FROM {m}_master ORDER BY master_id").fetchall()
        out[f"{m}_xref"] = con.execute(f"SELECT record_id, master_id FROM {m}_xref ORDER BY ALL").fetchall()
    con.close()
    return out


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("city")
    generate_city(PERSONS, SEED, out, day2=False, sources=list(SOURCES))
    return out


def _kill_ingest(env: dict[str, str], lake: Path, batches: int, rng: random.Random) -> int:
    """INGEST_KILLS kills, each once a seeded number of batches (rising) is committed, plus a seeded
    delay: kills spread over the whole run, each one into work not done yet."""
    kills = 0
    targets = sorted(rng.sample(range(batches - 2), INGEST_KILLS))
    for target in targets:
        kills += kill_when(INGEST, env, partial(_reached, lake, target), rng.uniform(0.0, 0.8))
    return kills


def _building(gold: Path) -> bool:
    return bool(list(gold.parent.glob(".*.building")))


def _kill_build(env: dict[str, str], gold: Path, seconds: float, rng: random.Random) -> tuple[int, int]:
    """BUILD_KILLS kills: half at seeded fractions of an uninterrupted build's time, half as soon as
    the build's temporary gold file exists (plus a seeded few milliseconds) - the time fractions
    alone miss that window on a fast machine, where writing gold is a small part of the build. An
    attempt that ends first is retried: it does not count. Also how many kills left a half-built
    ``.building`` file."""
    kills = half_built = 0
    for _ in range(3 * BUILD_KILLS):
        if kills == BUILD_KILLS:
            break
        if kills % 2 == 0:
            killed = kill_when(FULL_BUILD, env, lambda: True, rng.uniform(0.1, 0.9) * seconds)
        else:
            killed = kill_when(FULL_BUILD, env, partial(_building, gold), rng.uniform(0.0, 0.05))
        if killed:
            kills += 1
            half_built += _building(gold)
    return kills, half_built


@pytest.mark.slow
@pytest.mark.timeout(2400)  # 24 runs of the command line: ~2 min of CPU; the bound is for a machine shared by several runs
def test_twenty_sigkills_lose_nothing_and_change_no_master(city: Path, tmp_path: Path) -> None:
    clean_env = _env(tmp_path / "clean", city)
    ingest_s = _run(INGEST, clean_env)
    build_s = _run(BUILD, clean_env)
    clean_lake = Lake(tmp_path / "clean" / "lake")
    batches = _markers(clean_lake.root)
    assert batches > INGEST_KILLS + 2

    env = _env(tmp_path / "killed", city)
    lake = Lake(tmp_path / "killed" / "lake")
    gold = tmp_path / "killed" / "warehouse" / "gold.duckdb"
    rng = random.Random(SEED)
    ingest_kills = _kill_ingest(env, lake.root, batches, rng)
    _run(INGEST, env)
    build_kills, half_built = _kill_build(env, gold, build_s, rng)
    assert half_built, "no kill caught a build writing its temporary file (the case the next build cleans)"
    _run(BUILD, env)
    print(f"\nkills: ingest {ingest_kills}, build {build_kills} ({half_built} mid-write); uninterrupted ingest {ingest_s:.1f}s, "
          f"build {build_s:.1f}s, {batches} batches")
    assert (ingest_kills, build_kills) == (INGEST_KILLS, BUILD_KILLS)

    assert current_records(lake) == current_records(clean_lake)  # 0 rows lost
    assert loaded_twice(lake) == []  # 0 rows duplicated
    assert leftovers(lake) == [] and not list((tmp_path / "killed" / "tmp").glob("ingest-*"))
    assert not [p.name for p in gold.parent.iterdir() if ".building" in p.name], "dead builds' files removed"
    expected = masters_of(tmp_path / "clean" / "warehouse" / "gold.duckdb")
    got = masters_of(gold)
    for table in expected:
        assert got[table] == expected[table], table
    assert all(expected[f"{m}_master"] for m in MASTERS)
