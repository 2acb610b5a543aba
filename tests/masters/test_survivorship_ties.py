"""Which record a golden value is credited to does not depend on when a run read the tables.

Under Airflow every source table is its own task: retries, parallel workers and a re-run after a
crash read the same deliveries in another order and at other moments.  The same records, with the
same values and source update times, are built twice - the second time extracted in the reverse
order, hours later - and the golden records and their lineage must be the same: a value most
records agree on is credited by validation, source priority and the source's own update time, then
by the stable record number, never by extraction time (``pipelines/masters/survivorship.py``).
"""

from __future__ import annotations

import duckdb

from pipelines.masters.config import master_config
from pipelines.masters.survivorship import build_golden
from pipelines.resolve.config import Attribute
from pipelines.resolve.sql import Sql

#: (rid, source, value, source update time) - one entity of five records:
#: ``uscc`` X held by 10 and 20 (no update time), Y by 30; ``org`` Z held by 40 (updated later) and 50
RECORDS = [(10, "tax", "X", "Z", None), (20, "market_regulation", "X", "Z", None),
           (30, "civil_affairs", "Y", None, None), (40, "statistics", None, "Z", "2026-11-20 08:00:00"),
           (50, "staffing_office", None, "Z", "2026-11-01 08:00:00")]


def _golden(extracted: list[str]) -> list[tuple[object, ...]]:
    cfg = master_config("entity").model_copy(update={"attributes": {
        "uscc": Attribute(value="uscc_key", rules=["most_frequent", "most_recent"]),
        "org_code": Attribute(value="org_key", rules=["most_frequent", "most_recent"])}})
    con = duckdb.connect()
    con.execute("CREATE TABLE recs (cluster BIGINT, master_id VARCHAR, rid BIGINT, _source VARCHAR, "
                "_batch_id VARCHAR, _extracted_at TIMESTAMP, _updated_at TIMESTAMP, uscc_key VARCHAR, "
                "org_key VARCHAR)")
    con.executemany("INSERT INTO recs VALUES (1, 'E1', ?, ?, 'b', ?, ?, ?, ?)",
                    [(rid, src, at, upd, u, o) for (rid, src, u, o, upd), at in zip(RECORDS, extracted)])
    build_golden(Sql(con), cfg, "recs", "golden")
    rows = con.execute("SELECT master_id, uscc, org_code, record_count, lineage FROM golden").fetchall()
    con.close()
    return rows


def test_lineage_is_the_same_whatever_order_and_time_the_tables_were_read() -> None:
    first = _golden([f"2026-12-01 08:00:0{i}" for i in range(5)])
    again = _golden([f"2026-12-01 11:00:0{4 - i}" for i in range(5)])  # reverse order, hours later
    assert first == again
    [(master_id, uscc, org, count, lineage)] = first
    assert (master_id, uscc, org, count) == ("E1", "X", "Z", 5)
    # X: two records without an update time -> the smaller record number; Z: the later source update
    assert lineage == {"uscc": 10, "org_code": 40}
