"""The 32 sources of a generated city, ingested end to end, then its day-2 delta: every batch
reconciles, every silver record is traceable in the ground truth, and day 2 picks up exactly the
rows that changed."""

from __future__ import annotations

import duckdb
import pytest

from pipelines.connections import SourceEnvironment
from pipelines.lake import Lake
from pipelines.registry import registry
from pipelines.synthetic.city import generate_city
from tests.ingest.helpers import ingest_all

PERSONS, SEED = 3000, 5


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict:
    out = tmp_path_factory.mktemp("city")
    generate_city(PERSONS, SEED, out, day2=False)
    env = SourceEnvironment(sources_dir=out / "sources", db_mode="embedded")
    lake = Lake(out / "lake")
    day1 = ingest_all(env, lake)
    generate_city(PERSONS, SEED, out, day2=True)  # the day-2 delta lands in the same sources
    day2 = ingest_all(env, lake)
    return {"out": out, "lake": lake, "day1": day1, "day2": day2}


def test_every_source_lands_and_reconciles(city: dict) -> None:
    lake: Lake = city["lake"]
    batches = lake.committed_batches()
    assert {b.source for b in batches} == set(registry())
    assert all(b.reconciles for b in batches)
    extracted = sum(b.extracted for b in batches)
    quarantined = sum(b.quarantined for b in batches)
    assert quarantined / extracted < 0.01, "the generator's non-defective rows must standardise"


def test_every_silver_record_is_in_the_truth(city: dict) -> None:
    lake: Lake = city["lake"]
    truth = str(city["out"] / "truth" / "records" / "*.parquet")
    for master in ("person", "entity", "licence"):
        files = [str(p) for p in lake.silver_files(master)]
        missing = duckdb.execute(
            f"SELECT s._source, s._table, s._record_key FROM read_parquet({files!r}, union_by_name=true) s "
            f"ANTI JOIN (SELECT DISTINCT regexp_extract(filename, '([a-z_]+)__([a-z_]+?)(__day2)?\\.parquet$', 1) AS src, "
            f"regexp_extract(filename, '([a-z_]+)__([a-z_]+?)(__day2)?\\.parquet$', 2) AS tbl, record_key "
            f"FROM read_parquet('{truth}', filename=true, union_by_name=true)) t "
            f"ON s._source = t.src AND s._table = t.tbl AND s._record_key = t.record_key LIMIT 5"
        ).fetchall()
        assert missing == [], master


def test_day2_picks_up_exactly_the_changed_rows(city: dict) -> None:
    truth = city["out"] / "truth" / "records"
    expected = {p.name.removesuffix("__day2.parquet"): duckdb.execute(f"SELECT count(*) FROM '{p}'").fetchall()[0][0]
                for p in truth.glob("*__day2.parquet")}
    got = {k: v for k, v in city["day2"].items() if v}
    assert got == {k: v for k, v in expected.items() if v}
    assert sum(got.values()) > 0


def test_rerunning_everything_changes_nothing(city: dict) -> None:
    env = SourceEnvironment(sources_dir=city["out"] / "sources", db_mode="embedded")
    before = len(city["lake"].committed_batches())
    assert sum(ingest_all(env, city["lake"]).values()) == 0
    assert len(city["lake"].committed_batches()) == before


def test_every_true_record_is_in_silver_or_quarantine(city: dict) -> None:
    """Nothing lost, measured against the generator's truth rather than the batches' own counters:
    the record keys of every source table (day 1 and day 2) are exactly those in silver or quarantine."""
    lake: Lake = city["lake"]
    truth = str(city["out"] / "truth" / "records" / "*.parquet")
    landed = [str(p) for m in ("person", "entity", "licence") for p in lake.silver_files(m)]
    con = duckdb.connect()
    con.execute(
        f"CREATE TABLE truth AS SELECT DISTINCT regexp_extract(filename, '([a-z_]+)__([a-z_]+?)(__day2)?\\.parquet$', 1) "
        f"AS src, regexp_extract(filename, '([a-z_]+)__([a-z_]+?)(__day2)?\\.parquet$', 2) AS tbl, record_key AS k "
        f"FROM read_parquet('{truth}', filename = true, union_by_name = true)")
    con.execute(f"CREATE TABLE landed AS SELECT DISTINCT _source AS src, _table AS tbl, _record_key AS k "
                f"FROM read_parquet({landed!r}, union_by_name = true) UNION "
                f"SELECT _source, _table, _record_key FROM read_parquet({[str(p) for p in lake.quarantine_files()]!r})")
    n_truth = con.execute("SELECT count(*) FROM truth").fetchall()[0][0]
    lost = con.execute("SELECT * FROM truth EXCEPT SELECT * FROM landed ORDER BY ALL LIMIT 5").fetchall()
    extra = con.execute("SELECT * FROM landed EXCEPT SELECT * FROM truth ORDER BY ALL LIMIT 5").fetchall()
    tables = con.execute("SELECT count(DISTINCT (src, tbl)) FROM truth").fetchall()[0][0]
    con.close()
    assert n_truth > PERSONS and tables == sum(len(s.tables) for s in registry().values())
    assert lost == [], f"true records in neither silver nor quarantine: {lost}"
    assert extra == [], f"landed records the generator never made: {extra}"
