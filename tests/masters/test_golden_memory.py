"""Golden records of many multi-record masters are built within a small DuckDB memory limit.

At seed scale the person library has ~6.6 M multi-record clusters and ~15 attributes; the build
gives DuckDB a fixed budget.  Each attribute's surviving value is put beside its master by a chain
of one join per attribute, whose hash tables DuckDB builds all at once and cannot spill: in one
pass it ran out of memory ("failed to pin block") on 200 k persons at 512 MiB.  The chain now runs
over slices of the clusters sized to the memory limit (``assembly_passes``).  The same shape,
scaled down: 300 k clusters of two records, 16 attributes, at the least memory the build ever
gives DuckDB (``DUCKDB_MINIMUM``, 512 MiB), where the one-pass chain still fails.
"""

from __future__ import annotations

from pathlib import Path

import duckdb

from pipelines.masters.build import DUCKDB_MINIMUM
from pipelines.masters.config import master_config
from pipelines.masters.survivorship import assembly_passes, build_golden
from pipelines.resolve.config import Attribute
from pipelines.resolve.sql import Sql

CLUSTERS = 300_000
ATTRIBUTES = 16


def test_golden_records_spill_instead_of_failing(tmp_path: Path) -> None:
    cfg = master_config("entity").model_copy(update={"attributes": {
        f"a{i}": Attribute(value=f"v{i}", rules=["most_frequent", "most_recent"]) for i in range(ATTRIBUTES)}})
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")
    con.execute(f"SET temp_directory = '{tmp_path / 'spill'}'")
    values = ", ".join(f"'value-{i}-' || (rid // 2) || CASE WHEN rid % 2 = 1 THEN '-minority' ELSE '' END AS v{i}"
                       for i in range(ATTRIBUTES))
    # two records per cluster: record 2c says 'value-i-c', record 2c+1 'value-i-c-minority', updated later
    con.execute(f"CREATE TABLE recs AS SELECT rid // 2 AS cluster, 'M' || (rid // 2) AS master_id, rid, "
                f"'tax' AS _source, 'b' AS _batch_id, TIMESTAMP '2026-12-01' AS _extracted_at, "
                f"TIMESTAMP '2026-11-01' + INTERVAL (rid % 2) DAY AS _updated_at, {values} "
                f"FROM range({2 * CLUSTERS}) AS t(rid)")
    con.execute(f"SET memory_limit = '{DUCKDB_MINIMUM // 2**20}MiB'")
    build_golden(Sql(con), cfg, "recs", "golden")
    n, wrong, credited = con.execute(
        "SELECT count(*), count(*) FILTER (WHERE a0 <> 'value-0-' || substr(master_id, 2) || '-minority' "
        f"OR a{ATTRIBUTES - 1} <> a0.replace('value-0-', 'value-{ATTRIBUTES - 1}-')), "
        "count(*) FILTER (WHERE lineage.a0 % 2 = 1 AND lineage.a3 = lineage.a0) FROM golden").fetchone() or (0, 0, 0)
    # a tie on frequency goes to the most recent record: the odd one of each pair
    assert (n, wrong, credited) == (CLUSTERS, 0, CLUSTERS)


def test_passes_grow_with_the_masters_and_shrink_with_memory() -> None:
    con = duckdb.connect()
    con.execute("SET memory_limit = '1GiB'")
    sql = Sql(con)
    assert assembly_passes(sql, 0, 15) == 1
    assert assembly_passes(sql, 100_000, 15) == 1
    many = assembly_passes(sql, 6_600_000, 15)
    assert many > 1
    con.execute("SET memory_limit = '4GiB'")
    assert assembly_passes(sql, 6_600_000, 15) < many
