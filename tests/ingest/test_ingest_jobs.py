"""``masterdata ingest --jobs N``: tables ingested in worker processes, largest first, give the same
lake as one after another; a table that fails is named and the others load; the table lock still
refuses a second run of a table; a killed command's workers die with it; bad ``--jobs`` values
and a memory share too small are one line."""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from pipelines.connections import SourceEnvironment
from pipelines.ingest_jobs import Unit, default_jobs, machine_cores, plan, worker_memory, worker_threads
from pipelines.lake import Lake
from pipelines.synthetic.city import generate_city
from tests.ingest.helpers import ROOT, current_records, lake_differences, leftovers, loaded_twice, quarantined

pytestmark = pytest.mark.slow  # a 2,000-person city ingested five times (~100 s): a parallel run starts it first
PERSONS, SEED = 2000, 11
#: a source's line: name, batches, extracted, silver, quarantine
SOURCE_LINE = re.compile(r"^  (\w+)\s+(\d+ batch\(es\)|nothing new)\s+extracted\s+([\d,]+) = silver\s+([\d,]+) "
                         r"\+ quarantine\s+([\d,]+)$", re.M)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("jobs")
    generate_city(PERSONS, SEED, out / "city", day2=False)
    return out


@pytest.fixture(scope="module")
def one_job(city: Path) -> subprocess.CompletedProcess[str]:
    """The city ingested with ``--jobs 1`` into ``lake1``: the reference the other runs must equal."""
    res = ingest(city / "city" / "sources", city / "lake1", "--jobs", "1")
    assert res.returncode == 0, res.stderr
    return res


def ingest(sources: Path, lake: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    tmp = lake.parent / "tmp"
    tmp.mkdir(exist_ok=True)
    run_env = {**os.environ, "MASTERDATA_SOURCES": str(sources), "MASTERDATA_LAKE": str(lake),
               "MASTERDATA_DB_MODE": "embedded", "MASTERDATA_TMP": str(tmp), "TMPDIR": str(tmp), **env}
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "ingest", *args], env=run_env, cwd=ROOT,
                          capture_output=True, text=True, timeout=600)


def test_two_jobs_give_the_same_lake_and_lines_as_one(city: Path, one_job: subprocess.CompletedProcess[str]) -> None:
    sources = city / "city" / "sources"
    one = one_job
    two = ingest(sources, city / "lake2", "--jobs", "2")
    assert two.returncode == 0, two.stderr
    assert "tables at a time" not in one.stderr and "2 tables at a time" in two.stderr
    lines = [SOURCE_LINE.findall(r.stderr) for r in (one, two)]
    assert len(lines[0]) == 32 and sorted(lines[0]) == sorted(lines[1])
    assert [ln[0] for ln in lines[0]] == sorted(ln[0] for ln in lines[0])  # one job: the registry's order
    totals = [re.search(r"total extracted .*", r.stderr).group() for r in (one, two)]  # type: ignore[union-attr]
    assert totals[0] == totals[1], totals
    a, b = Lake(city / "lake1"), Lake(city / "lake2")
    assert lake_differences(a, b) == []
    assert len(a.committed_batches()) >= 70
    assert current_records(a) == current_records(b) and quarantined(a) == quarantined(b)
    assert not list((city / "tmp").glob("ingest-*")) and not list((city / "lake2" / "_tmp").iterdir())
    again = ingest(sources, city / "lake2", "--jobs", "2")  # a re-run: nothing new, everywhere
    assert again.returncode == 0, again.stderr
    assert [ln[1] for ln in SOURCE_LINE.findall(again.stderr)] == ["nothing new"] * 32


def test_a_failing_table_is_named_and_the_others_load(city: Path, tmp_path: Path) -> None:
    """public_security.jzz changed its columns, statistics' database is gone, and tax.swdjz is
    being ingested by another run (its lock held here): each is named, everything else loads."""
    sources = tmp_path / "sources"
    shutil.copytree(city / "city" / "sources", sources)
    with sqlite3.connect(sources / "db" / "dept_public_security.sqlite") as con:
        column = con.execute("SELECT name FROM pragma_table_info('jzz') ORDER BY cid DESC LIMIT 1").fetchone()[0]
        con.execute(f'ALTER TABLE jzz RENAME COLUMN "{column}" TO renamed_col')
    (sources / "db" / "statistics.sqlite").unlink()
    lake = Lake(tmp_path / "lake")
    lock = lake.root / "_state" / "locks" / "tax" / "swdjz.lock"
    lock.parent.mkdir(parents=True)
    with open(lock, "a+") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        res = ingest(sources, lake.root, "-s", "public_security", "-s", "statistics", "-s", "tax", "-s",
                     "justice", "--jobs", "2")
    out = " ".join((res.stdout + res.stderr).split())
    assert res.returncode == 1, out
    assert "Traceback" not in out
    assert re.search(r"FAILED source public_security table jzz \(sqlite .*\) changed its columns: "
                     r"missing column\(s\) \S+; new column\(s\) renamed_col", out), out
    assert "FAILED source statistics is unreachable" in out
    assert "FAILED source tax table swdjz is being ingested by another run" in out
    assert "3 source(s) failed: public_security, statistics, tax (everything else was loaded)" in out
    loaded = {(b.source, b.table) for b in lake.committed_batches()}
    assert {("public_security", t) for t in ("hjxx_czrk", "jmsfz", "hkb")} <= loaded
    assert ("tax", "dj_nsrxx") in loaded and {("justice", "zyry"), ("justice", "lssws")} <= loaded
    assert not {s for s, t in loaded if s == "statistics"} and ("public_security", "jzz") not in loaded
    assert ("tax", "swdjz") not in loaded
    assert re.search(r"public_security\s+3 batch\(es\)", out) and re.search(r"justice\s+2 batch\(es\)", out)
    # the lock released, the column back: the next run loads what failed, and only that
    with sqlite3.connect(sources / "db" / "dept_public_security.sqlite") as con:
        con.execute(f'ALTER TABLE jzz RENAME COLUMN renamed_col TO "{column}"')
    res = ingest(sources, lake.root, "-s", "public_security", "-s", "tax", "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert re.search(r"public_security\s+1 batch\(es\)", res.stderr) and re.search(r"tax\s+1 batch\(es\)", res.stderr)


def test_a_killed_command_takes_its_workers_with_it(city: Path, one_job: subprocess.CompletedProcess[str],
                                                    tmp_path: Path) -> None:
    """SIGKILL of ``masterdata ingest --jobs 2`` while its workers write: they die with it (none
    writes on or holds a table's lock), and the next run ends with the lake an unbroken run makes."""
    import psutil

    lake = Lake(tmp_path / "lake")
    (tmp_path / "tmp").mkdir()
    run_env = {**os.environ, "MASTERDATA_SOURCES": str(city / "city" / "sources"), "MASTERDATA_LAKE": str(lake.root),
               "MASTERDATA_DB_MODE": "embedded", "MASTERDATA_TMP": str(tmp_path / "tmp"), "TMPDIR": str(tmp_path / "tmp")}
    p = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "ingest", "--jobs", "2"], env=run_env, cwd=ROOT,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        command, deadline = psutil.Process(p.pid), time.monotonic() + 300
        while p.poll() is None and not lake.committed_batches() and time.monotonic() < deadline:
            time.sleep(0.05)
        children = command.children(recursive=True)
        os.kill(p.pid, signal.SIGKILL)
        assert p.wait() == -signal.SIGKILL, "the run ended before it could be killed"
    finally:
        if p.poll() is None:
            p.kill()
    assert len(children) >= 2
    _, alive = psutil.wait_procs(children, timeout=20)
    assert not alive, f"workers outlived the command: {alive}"
    res = ingest(city / "city" / "sources", lake.root, "--jobs", "2")
    assert res.returncode == 0, res.stderr
    assert lake_differences(Lake(city / "lake1"), lake) == []
    assert leftovers(lake) == [] and loaded_twice(lake) == []


@pytest.mark.parametrize("value", ["0", "-2"])
def test_jobs_below_one_is_refused(tmp_path: Path, value: str) -> None:
    res = ingest(tmp_path / "sources", tmp_path / "lake", "--jobs", value)
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert f"--jobs must be 1 or more (tables ingested at once), not {value}" in " ".join(res.stderr.split())
    assert not (tmp_path / "lake").exists()


def test_a_memory_share_too_small_is_refused_before_anything_runs(tmp_path: Path) -> None:
    res = ingest(tmp_path / "sources", tmp_path / "lake", "--jobs", "4", MASTERDATA_DUCKDB_MEMORY="600MB")
    err = " ".join(res.stderr.split())
    assert res.returncode == 2 and "Traceback" not in err
    assert ("--jobs 4 would leave each worker 143 MiB of MASTERDATA_DUCKDB_MEMORY=600MB (at least 256 MiB each "
            "is needed): use fewer jobs or a larger setting") in err
    assert not (tmp_path / "lake" / "bronze").exists()


def test_units_are_estimated_without_reading_data_and_shares_split(city: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Estimates: an embedded table's rowid, a file source's bytes; the memory and cores split."""
    import json

    env = SourceEnvironment(sources_dir=city / "city" / "sources")
    units = plan(["public_security", "finance", "development_reform"], env, Lake(city / "none"))
    manifest = {(t["source"], t["table"]): t["rows"]
                for t in json.loads((city / "city" / "manifest.json").read_text(encoding="utf-8"))["tables"]}
    by_name = {(u.source, u.table): u.estimate or 0 for u in units}
    assert by_name[("public_security", "hjxx_czrk")] == manifest[("public_security", "hjxx_czrk")] == PERSONS
    assert 0.5 < by_name[("finance", "btff")] / manifest[("finance", "btff")] < 2
    assert by_name[("development_reform", "xmba")] > 10 * manifest[("development_reform", "xmba")]  # a workbook row costs more
    assert plan(["tax"], env, Lake(city / "none"), estimated=False) == [Unit("tax", "dj_nsrxx"), Unit("tax", "swdjz")]
    servers = SourceEnvironment(sources_dir=env.sources_dir, db_mode="servers")
    assert [u.estimate for u in plan(["tax"], servers, Lake(city / "none"))] == [None, None]  # never loaded: unknown
    monkeypatch.setenv("MASTERDATA_DUCKDB_MEMORY", "4GB")
    assert worker_memory(2) == "1907MiB" and worker_threads(1) >= worker_threads(2) >= 1
    assert default_jobs([Unit("a", "b", 10)]) == 1  # a small run stays in one process
    assert default_jobs([Unit("a", "b", 10), Unit("a", "c")]) == min(machine_cores(), 3)  # a size unknown: not small
    monkeypatch.setenv("MASTERDATA_DUCKDB_MEMORY", "1GB")
    assert default_jobs([Unit("a", "b", 10**7)]) == 1  # no worker below 1 GiB by default
