"""Standardisation per distinct raw text (``pipelines.standardise.answers_sql``) gives every row of a
generated city the same value, problem and hard flag as computing each element row by row, and the
ingested silver and quarantine hold what the row-by-row answers make of the bronze rows."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import connect
from core.sqltext import lit, q
from pipelines.connections import SourceEnvironment
from pipelines.ingest import _ref
from pipelines.lake import Lake
from pipelines.registry import registry
from pipelines.standardise import answers_sql, table_elements
from pipelines.synthetic.city import generate_city
from tests.ingest.helpers import ingest_all

PERSONS, SEED = 800, 7


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> Lake:
    out = tmp_path_factory.mktemp("city")
    generate_city(PERSONS, SEED, out, day2=False)
    env = SourceEnvironment(sources_dir=out / "sources", db_mode="embedded")
    lk = Lake(out / "lake")
    ingest_all(env, lk)
    return lk


def _differences(con: object, a: str, b: str, cols: str) -> int:
    row = con.execute(f"SELECT count(*) FROM (SELECT {cols} FROM {a} EXCEPT ALL SELECT {cols} FROM {b})").fetchone()  # type: ignore[attr-defined]
    return int(row[0])


def test_per_value_answers_equal_per_row_on_every_table(lake: Lake) -> None:
    con = connect()
    tables = 0
    for b in lake.committed_batches():
        if not b.files.get("bronze"):
            continue
        spec = registry()[b.source]
        table = next(t for t in spec.tables if t.name == b.table)
        elems = table_elements(spec, table, ref=_ref)
        raws = ", ".join(f"{e.raw} AS {_ref(n)}" for n, e in elems.items())
        bronze = str(Path(lake.root) / b.files["bronze"])
        con.execute(f"CREATE OR REPLACE TEMP TABLE s0 AS SELECT *, {raws} "
                    f"FROM read_parquet({lit(bronze)}, hive_partitioning = false)")
        cols = ", ".join(q(p + n) for n in elems for p in ("r:", "v:", "p:", "h:")) + ", _line"
        con.execute(f"CREATE OR REPLACE TEMP TABLE fast AS SELECT {cols} FROM {answers_sql(elems, 's0', _ref)}")
        con.execute(f"CREATE OR REPLACE TEMP TABLE slow AS SELECT {cols} FROM "
                    f"{answers_sql(elems, 's0', _ref, per_value=False)}")
        assert _differences(con, "fast", "slow", cols) == 0, f"{b.source}.{b.table}"
        assert _differences(con, "slow", "fast", cols) == 0, f"{b.source}.{b.table}"
        tables += 1
    assert tables >= 70  # every table of the city that delivered rows


def test_per_value_path_is_the_one_ingest_takes(lake: Lake) -> None:
    """The fast form really joins per-value answers (else the comparison above compares a thing with itself)."""
    spec = registry()["public_security"]
    table = spec.tables[0]
    elems = table_elements(spec, table, ref=_ref)
    fast, slow = answers_sql(elems, "s0", _ref), answers_sql(elems, "s0", _ref, per_value=False)
    assert "SELECT DISTINCT" in fast and "SELECT DISTINCT" not in slow
