"""Give a copy of an older gold store the layout a full build now writes, timing each step.

    uv run --frozen python benchmarks/relayout_gold.py --gold /path/to/old/gold.duckdb --out /tmp/x/gold.duckdb

Why: the master tables are now written sorted by the key their point lookups use and with ART
indexes on the other keys (each master's ``layout:`` in ``schemas/masters``).  A store
built before that answers the console's lookups by scanning columns; rebuilding a million-person
city takes half an hour, re-sorting a copy of its store a few minutes - and times exactly the work
the layout adds to a build (the sorts and the index builds), so both figures come from one run.
The source store is only read; ``--out`` must not exist.  Memory: the build's DuckDB limit
(``MASTERDATA_DUCKDB_MEMORY``); the sorts spill past it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def relayout(out: Path) -> dict[str, float]:
    """Sort every master's gold tables in place (in ``out``) and build their indexes: seconds per step."""
    from core.db import connect
    from core.sqltext import lit
    from pipelines.masters.config import MASTERS, master_config
    from pipelines.masters.gold_writer import index_master, sort_keys
    from pipelines.masters.store import ensure_schema
    from pipelines.resolve.sql import Sql

    sql = Sql(connect(standard=False, preserve_order=False))
    sql.run(f"ATTACH {lit(str(out))} AS gold")
    have = {r[0] for r in sql.rows("SELECT table_name FROM duckdb_tables() WHERE database_name = 'gold' "
                                   "AND schema_name = 'main'")}
    took: dict[str, float] = {}
    for m in MASTERS:
        cfg = master_config(m)
        for table, order in sort_keys(cfg).items():
            if table not in have:
                continue
            t = time.perf_counter()
            sql.run(f"CREATE OR REPLACE TABLE gold.__sorted AS SELECT * FROM gold.{table} ORDER BY {order}")
            sql.run(f"DROP TABLE gold.{table}")
            sql.run(f"ALTER TABLE gold.__sorted RENAME TO {table}")
            took[f"sort {table}"] = round(time.perf_counter() - t, 1)
        t = time.perf_counter()
        index_master(sql, cfg)
        took[f"index {m}_master"] = round(time.perf_counter() - t, 1)
    t = time.perf_counter()
    ensure_schema(sql)  # (the shared tables' indexes: a master's events)
    took["index master_events"] = round(time.perf_counter() - t, 1)
    sql.run("CHECKPOINT gold")
    sql.run("DETACH gold")
    return took


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--gold", type=Path, required=True, help="the older gold store (read only)")
    ap.add_argument("--out", type=Path, required=True, help="where the re-laid-out copy goes (must not exist)")
    ap.add_argument("--json", type=Path, help="write the step times here")
    a = ap.parse_args()
    if not a.gold.exists():
        raise SystemExit(f"no gold store at {a.gold}")
    if a.out.exists():
        raise SystemExit(f"{a.out} exists: give a new path")
    a.out.parent.mkdir(parents=True, exist_ok=True)
    t = time.perf_counter()
    shutil.copyfile(a.gold, a.out)
    took = {"copy": round(time.perf_counter() - t, 1), **relayout(a.out)}
    for step, s in took.items():
        print(f"{s:8.1f} s  {step}")
    if a.json:
        a.json.write_text(json.dumps(took, indent=1))


if __name__ == "__main__":
    main()
