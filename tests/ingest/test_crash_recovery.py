"""Exactly-once by construction: a run that dies at any commit point - injected before and after
every durable write of a real ingest, and real SIGKILLs of ``masterdata ingest`` - leaves a lake that
the next run completes with 0 rows lost or duplicated, even when the source moved on in between:
the result equals an uninterrupted run's, and nothing of the dead run is left behind."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb
import pytest

from core.db import confine, connect
from pipelines import lake as lake_module
from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, registry
from tests.ingest.helpers import (
    SqliteSource,
    current_records,
    kill_when,
    land,
    leftovers,
    loaded_twice,
    person_row,
    quarantined,
)

ROOT = Path(__file__).resolve().parents[2]
DAY1 = datetime(2026, 11, 25, 22, 0, tzinfo=UTC)
DAY2 = datetime(2026, 11, 26, 22, 0, tzinfo=UTC)


class Killed(BaseException):
    """The process dies here (a BaseException: no handler of the platform may swallow it)."""


@dataclass
class World:
    """A source and its two days: ``day(n)`` changes the source, then ``run(now)`` ingests it."""

    env: SourceEnvironment
    spec: SourceSpec
    days: list[Callable[[], None]]


def db_world(root: Path) -> World:
    """public_security on SQLite, deletes found by snapshot; day 2 updates, inserts and deletes."""
    env = SourceEnvironment(sources_dir=root / "sources")
    base = registry()["public_security"]
    spec = base.model_copy(update={"tables": [base.tables[0].model_copy(update={"deletes": "snapshot"})]})
    src = SqliteSource(env, spec)
    day1 = [person_row(i, f"2026-11-2{i % 5} 10:00:00") for i in range(1, 31)]
    day1[3]["csrq"] = "1980-02-30"  # quarantined

    def day2() -> None:
        src.upsert([person_row(2, "2026-11-26 09:00:00", xm="张伟伟"), person_row(5, "2026-11-26 09:10:00", hjdz="亳州市利辛县"),
                    *(person_row(i, "2026-11-26 09:30:00") for i in range(31, 36))])
        src.delete(["R000007", "R000011"])

    return World(env, spec, [lambda: src.create(day1), day2])


def file_world(root: Path) -> World:
    """disabled_federation CSV deliveries: a good file, a refused one, then a re-sent and a new file."""
    env = SourceEnvironment(sources_dir=root / "sources")
    spec = registry()["disabled_federation"]
    header = "残疾人证号,姓名,性别,身份证号,残疾类别,发证日期,有效期至,联系电话,住址"

    def rows(*ns: int, name: str = "王芳") -> str:
        return "".join(f"C{n},{name}{n},女,34160219800101019X,肢体,{'2019年13月06日' if n == 3 else '2019年05月06日'},"
                       f"2029年05月06日,13912345678,亳州市\n" for n in ns)

    def day1() -> None:
        land(env, "disabled_federation/cjrz_20261125.csv", (header + "\n" + rows(1, 2, 3, 4)).encode("gbk"))
        land(env, "disabled_federation/cjrz_20261125b.csv", (header + ",姓名\n" + rows(9)).encode("gbk"))

    def day2() -> None:
        land(env, "disabled_federation/cjrz_20261126.csv", (header + "\n" + rows(2, 5, 6, name="王芳芳")).encode("gbk"))
        land(env, "disabled_federation/cjrz_20261125_resent.csv", (header + "\n" + rows(1, 2, 3, 4)).encode("gbk"))

    return World(env, spec, [day1, day2])


WORLDS = {"database": db_world, "files": file_world}


def outcome(lake: Lake) -> dict[str, Any]:
    """What a run sequence left: current records, quarantined rows, files set aside."""
    return {"records": current_records(lake), "quarantine": sorted(set(quarantined(lake))),
            "set_aside": sorted((r["file"], r["reason"]) for r in lake.set_aside_records())}


@pytest.fixture
def con(tmp_path: Path) -> Iterator[duckdb.DuckDBPyConnection]:
    """One DuckDB for all the lakes of a test (opening one takes a second), confined to their folder."""
    c = connect()
    confine(c, tmp_path)
    yield c
    c.close()


def _run_days(world: World, lake: Lake, con: duckdb.DuckDBPyConnection) -> None:
    for day, now in zip(world.days, (DAY1, DAY2)):
        day()
        ingest_table(world.spec, world.spec.tables[0], world.env, lake, now, con=con)


def _count_commit_points(world: World, lake: Lake, con: duckdb.DuckDBPyConnection,
                         monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Durable writes (atomic renames) per day of an uninterrupted run."""
    calls = [0]
    real = os.replace

    def counting(a: Any, b: Any) -> None:
        calls[0] += 1
        real(a, b)

    monkeypatch.setattr(lake_module.os, "replace", counting)
    per_day = []
    for day, now in zip(world.days, (DAY1, DAY2)):
        day()
        before = calls[0]
        ingest_table(world.spec, world.spec.tables[0], world.env, lake, now, con=con)
        per_day.append(calls[0] - before)
    monkeypatch.setattr(lake_module.os, "replace", real)
    return per_day


@pytest.mark.parametrize("kind", sorted(WORLDS))
def test_a_crash_at_every_commit_point_loses_and_duplicates_nothing(kind: str, tmp_path: Path,
                                                                    con: duckdb.DuckDBPyConnection,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    clean = Lake(tmp_path / "clean" / "lake")
    points = _count_commit_points(WORLDS[kind](tmp_path / "clean"), clean, con, monkeypatch)
    expected = outcome(clean)
    assert expected["records"] and expected["quarantine"] and loaded_twice(clean) == []
    assert points[0] >= 4 and points[1] >= 3, points
    real = os.replace
    cases = [(day, k, when) for day, n in enumerate(points) for k in range(1, n + 1) for when in ("before", "after")]
    for day, k, when in cases:
        case = tmp_path / f"d{day}-{k}-{when}"
        world = WORLDS[kind](case)
        lake = Lake(case / "lake")
        calls = [0]

        def dying(a: Any, b: Any, k: int = k, when: str = when, calls: list[int] = calls) -> None:
            calls[0] += 1
            if calls[0] == k and when == "before":
                raise Killed(f"killed before durable write {k}")
            real(a, b)
            if calls[0] == k:
                raise Killed(f"killed after durable write {k}")

        for d, (change, now) in enumerate(zip(world.days, (DAY1, DAY2))):
            change()
            if d == day:
                monkeypatch.setattr(lake_module.os, "replace", dying)
                with pytest.raises(Killed):
                    ingest_table(world.spec, world.spec.tables[0], world.env, lake, now, con=con)
                monkeypatch.setattr(lake_module.os, "replace", real)
                if d == 0:
                    continue  # the source moves on before anyone re-runs day 1
            ingest_table(world.spec, world.spec.tables[0], world.env, lake, now, con=con)
        label = f"{kind}: killed on day {day + 1} {when} durable write {k}"
        assert outcome(lake) == expected, label
        assert loaded_twice(lake) == [], label
        assert leftovers(lake) == [], label
        again = ingest_table(world.spec, world.spec.tables[0], world.env, lake, DAY2, con=con)
        assert all(o.skipped for o in again), label  # nothing left to do (refused files are only reported)


def test_sigkill_of_masterdata_ingest_mid_write(tmp_path: Path) -> None:
    """Real kills of the real command while it writes a 60,000-row table - with raw rows in its
    working folder, in the middle of a durable write, between the batch's files and its marker,
    and at random moments - then one run to the end: the same records as an uninterrupted run."""
    env = SourceEnvironment(sources_dir=tmp_path / "sources")
    src = SqliteSource(env, registry()["public_security"])
    src.create([person_row(i, f"2026-11-{20 + i % 5} 10:00:00") for i in range(1, 60_001)])
    tmp = tmp_path / "tmp"
    tmp.mkdir()

    def command(lake: Path) -> tuple[list[str], dict[str, str]]:
        return ([sys.executable, "-m", "pipelines.cli", "ingest", "-s", "public_security"],
                {**os.environ, "MASTERDATA_SOURCES": str(env.sources_dir), "MASTERDATA_LAKE": str(lake),
                 "MASTERDATA_DB_MODE": "embedded", "MASTERDATA_TMP": str(tmp), "TMPDIR": str(tmp)})

    lake = Lake(tmp_path / "killed")
    cmd, run_env = command(lake.root)
    table = lake.root / "bronze" / "public_security"
    moments: list[tuple[str, Callable[[], bool]]] = [
        ("raw rows staged in the working folder", lambda: any(lake.tmp_dir.glob("ingest-*/*.parquet"))),
        ("a durable file half written", lambda: any(p.name.endswith(".tmp") for p in lake.root.rglob("*"))),
        ("bronze written, no marker yet", lambda: any(table.rglob("*.parquet")) and not lake.committed_batches()),
    ]
    rng = random.Random(14)
    left_behind = 0
    kills = 0
    for label, ready in [*moments, ("at random", lambda: True), ("at random", lambda: True)]:
        delay = rng.uniform(0.5, 4.0) if label == "at random" else 0.0
        if kill_when(cmd, run_env, ready, delay):
            kills += 1
            left_behind += bool(leftovers(lake))
            assert lake.committed_batches() == [] or all(b.reconciles for b in lake.committed_batches()), label
    assert kills >= 4 and left_behind >= 2, (kills, left_behind)
    src.upsert([person_row(60_001, "2026-11-26 08:00:00"), person_row(5, "2026-11-26 08:00:00", xm="张五")])  # moved on
    res = subprocess.run(cmd, env=run_env, cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stdout + res.stderr

    clean = Lake(tmp_path / "clean")  # the same source, ingested once, uninterrupted
    subprocess.run(command(clean.root)[0], env=command(clean.root)[1], cwd=ROOT, check=True, capture_output=True,
                   timeout=600)
    expected = current_records(clean)
    assert len(expected["person"]) == 60_001
    assert current_records(lake) == expected
    assert loaded_twice(lake) == []
    assert leftovers(lake) == []
    assert not list(tmp.glob("ingest-*")), "no raw rows left in the system temp folder"
