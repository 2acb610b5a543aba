"""Every statement the engine generates transpiles to Spark SQL with sqlglot (DuckDB is the dialect
of record; a deployment that outgrows one machine runs the same SQL on Spark).

The statements are recorded while a full build, an incremental build and a link job run on the
tiny lake, so the test covers what the engine actually executes, not a hand-picked sample.
"""

from __future__ import annotations

from pathlib import Path

import sqlglot
from sqlglot.errors import ErrorLevel

from pipelines.lake import Lake
from pipelines.masters.build import build
from pipelines.masters.link import link
from pipelines.resolve.sql import recording
from tests.masters.helpers import rid
from tests.masters.test_build_tiny import AS_OF, day1
from tests.masters.tiny_lake import add_batch, fixed_configs


def test_every_statement_transpiles_to_spark(tmp_path: Path) -> None:
    lake = Lake(tmp_path / "lake")
    day1(lake)
    cfg = fixed_configs(tmp_path / "cfg")
    gold = tmp_path / "gold" / "gold.duckdb"
    with recording() as log:
        build(lake=lake, gold=gold, config_dir=cfg, as_of=AS_OF)
        add_batch(lake, "grassroots_service", "fwjl", "g2",
                  [{"key": "N1", "id_number_raw": rid("34160219900909009"), "name": "陈晨"}],
                  extracted_at="2026-11-26 08:00:00")
        build(lake=lake, gold=gold, config_dir=cfg, as_of=AS_OF)
        inp = tmp_path / "people.parquet"
        import duckdb

        duckdb.sql(f"COPY (SELECT _source || ':' || _record_key AS record_id, name, phone FROM "
                   f"read_parquet('{lake.root}/silver/person/*/*.parquet')) "
                   f"TO '{inp}' (FORMAT parquet)")
        link(Path(__file__).resolve().parents[2] / "schemas" / "examples" / "link_people.yaml", [inp],
             tmp_path / "out.parquet")
    assert len(log) > 150
    kinds = {s.split()[0].upper() for s in log}
    assert {"CREATE", "INSERT", "SELECT", "UPDATE", "DELETE"} <= kinds
    failures = []
    for statement in log:
        try:
            out = sqlglot.transpile(statement, read="duckdb", write="spark", unsupported_level=ErrorLevel.RAISE)
            assert out and out[0]
        except Exception as exc:
            failures.append(f"{type(exc).__name__}: {str(exc)[:200]} <- {statement[:300]}")
    assert not failures, f"{len(failures)} of {len(log)} statements fail:\n" + "\n".join(failures[:10])
