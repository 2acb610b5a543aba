"""Writing the master libraries into the gold file: table layouts and the shared bookkeeping.

Everything here runs on a work connection with the gold build file attached as ``gold`` (see
:class:`pipelines.masters.gold_file.GoldBuild`).  Per master: ``{m}_master`` (golden records), ``{m}_xref``
(every current source record -> master id, with the rule and weight that linked it).  Shared:
``master_events`` (created / merged / split / retired / attribute_changed, with batch and time),
``attribute_lineage`` (a view over the masters' ``lineage`` columns), ``id_registry`` (every id ever minted, never reused), ``review_queue``,
``match_params``, ``steward_decisions``, ``builds`` (and the tables a master's hooks keep beside
it, e.g. ``entity_legal_rep``).  The state file, attached as ``state`` (its tables are
``state.main.*``; :func:`pipelines.masters.gold_file.state_path`), keeps what the next incremental run needs: the
resolved records with their features, the source records, the consumed batches and the
configuration fingerprints.
"""

from __future__ import annotations

from dataclasses import asdict

import pyarrow as pa

from core.sqltext import lit, q
from pipelines.resolve.sql import Sql
from pipelines.resolve.steward import Decision

SHARED_DDL = {
    "master_events": "event_id BIGINT, master VARCHAR, master_id VARCHAR, event VARCHAR, related_id VARCHAR, "
                     "attribute VARCHAR, old_value VARCHAR, new_value VARCHAR, batch_id VARCHAR, build_id VARCHAR, "
                     "event_at TIMESTAMP",
    "id_registry": "master VARCHAR, master_id VARCHAR, seq BIGINT, status VARCHAR, minted_build VARCHAR, "
                   "minted_at TIMESTAMP, retired_build VARCHAR, successor_id VARCHAR",
    "review_queue": "master VARCHAR, record_id VARCHAR, candidate_record_id VARCHAR, master_id VARCHAR, "
                    "candidate_master_id VARCHAR, match_weight DOUBLE, match_probability DOUBLE, reason VARCHAR, "
                    "build_id VARCHAR",
    "match_params": "master VARCHAR, comparison VARCHAR, level INTEGER, label VARCHAR, m DOUBLE, u DOUBLE, "
                    "weight DOUBLE, trained BOOLEAN, prior DOUBLE",
    "builds": "build_id VARCHAR, master VARCHAR, mode VARCHAR, started_at TIMESTAMP, seconds DOUBLE, "
              "records BIGINT, masters BIGINT, minted BIGINT, merged BIGINT, split BIGINT, retired BIGINT, "
              "review BIGINT, batches BIGINT",
    "steward_decisions": "decision_id VARCHAR, master VARCHAR, kind VARCHAR, records VARCHAR[], others VARCHAR[], "
                         "masters VARCHAR[], note VARCHAR, decided_by VARCHAR, decided_at VARCHAR",
}
#: ART indexes of the shared tables: a master's history is looked up by its id either way (its own
#: events, and merges or splits naming it), one value at a time, in millions of events
SHARED_INDEXES = {"master_events_master_id": "master_events (master_id)",
                  "master_events_related_id": "master_events (related_id)"}
#: Per master: the gold file's latest build and the build the state names (NULL while a build is
#: changing it).  The state is trusted only when they are equal (``build.plan``; ``doctor`` warns).
STATE_BUILDS_SQL = ("SELECT b.master, b.build_id AS gold_build, m.build_id AS state_build FROM (SELECT master, "
                    "max(build_id) AS build_id FROM gold.builds GROUP BY master) AS b "
                    "LEFT JOIN state.main.meta AS m ON m.master = b.master")
STATE_DDL = {
    "meta": "master VARCHAR, fingerprint VARCHAR, steward VARCHAR, build_id VARCHAR, records BIGINT",
    "batches": "master VARCHAR, batch VARCHAR",
}


def ensure_schema(sql: Sql, side_tables: dict[str, str] | None = None) -> None:
    """Create the shared tables, the tables hooks keep beside their masters (``side_tables``:
    name -> columns) and the state's bookkeeping if the files are new.  A gold file written before
    the state had its own file still holds it in schema ``state``: dropped (never read; with no
    state file every master is built in full)."""
    for name, cols in {**SHARED_DDL, **(side_tables or {})}.items():
        sql.run(f"CREATE TABLE IF NOT EXISTS gold.{name} ({cols})")
    for name, on in SHARED_INDEXES.items():
        sql.run(f"CREATE INDEX IF NOT EXISTS {name} ON gold.{on}")
    sql.run("DROP SCHEMA IF EXISTS gold.state CASCADE")
    for name, cols in STATE_DDL.items():
        sql.run(f"CREATE TABLE IF NOT EXISTS state.main.{name} ({cols})")


def exists(sql: Sql, name: str, schema: str = "main", database: str = "gold") -> bool:
    """Whether ``database.schema.name`` is a table (``database="state"``: the state file's)."""
    return bool(sql.one("SELECT count(*) FROM duckdb_tables() WHERE database_name = ? AND schema_name = ? "
                        "AND table_name = ?", [database, schema, name]))


def state_exists(sql: Sql, name: str) -> bool:
    """Whether the state file holds table ``name``."""
    return exists(sql, name, database="state")


def replace_table(sql: Sql, target: str, select: str) -> None:
    sql.run(f"CREATE OR REPLACE TABLE {target} AS {select}")


def next_seq(sql: Sql, master: str) -> int:
    return int(sql.one("SELECT coalesce(max(seq), 0) + 1 FROM gold.id_registry WHERE master = ?", [master]) or 1)


def update_registry(sql: Sql, master: str, ids: str, events: str, build_id: str, now: str) -> None:
    """Register minted ids; retire merged (with successor) and vanished ids."""
    sql.run(
        f"INSERT INTO gold.id_registry SELECT {lit(master)}, master_id, CAST(right(master_id, 10) AS BIGINT), "
        f"'active', {lit(build_id)}, TIMESTAMP {lit(now)}, NULL, NULL FROM {ids} WHERE minted"
    )
    sql.run(
        f"UPDATE gold.id_registry AS r SET status = 'retired', retired_build = {lit(build_id)}, "
        f"successor_id = e.related_id FROM (SELECT master_id, any_value(related_id) AS related_id FROM {events} "
        f"WHERE event IN ('merged', 'retired') GROUP BY master_id) AS e "
        f"WHERE r.master = {lit(master)} AND r.master_id = e.master_id AND r.status = 'active'"
    )


def append_events(sql: Sql, master: str, id_events: str, changes: str | None, batches: str, build_id: str,
                  now: str) -> int:
    """Append id events (created/split/merged/retired) and attribute changes to ``master_events``.

    ``batches`` (master_id, batch_id): the batch that brought each master's latest record.
    Each event is about its ``master_id``: "P1 merged into P2" is (P1, merged, P2).
    """
    parts = [
        f"SELECT e.master_id, e.event, e.related_id, CAST(NULL AS VARCHAR) AS attribute, "
        f"CAST(NULL AS VARCHAR) AS old_value, CAST(NULL AS VARCHAR) AS new_value, b.batch_id FROM {id_events} AS e "
        f"LEFT JOIN {batches} AS b ON b.master_id = CASE WHEN e.event = 'merged' THEN e.related_id ELSE e.master_id END"
    ]
    if changes:
        parts.append(f"SELECT master_id, 'attribute_changed', NULL, attribute, old_value, new_value, batch_id FROM {changes}")
    start = int(sql.one("SELECT coalesce(max(event_id), 0) FROM gold.master_events") or 0)
    sql.run(
        f"INSERT INTO gold.master_events SELECT {start} + row_number() OVER (ORDER BY event, master_id, related_id, "
        f"attribute), {lit(master)}, master_id, event, related_id, attribute, old_value, new_value, batch_id, "
        f"{lit(build_id)}, TIMESTAMP {lit(now)} FROM ({' UNION ALL '.join(parts)})"
    )
    return int(sql.one(f"SELECT count(*) FROM gold.master_events WHERE build_id = {lit(build_id)} AND master = {lit(master)}")
               or 0)


def write_steward_decisions(sql: Sql, decisions: list[Decision]) -> None:
    rows = [asdict(d) for d in decisions]
    table = pa.table({
        "decision_id": pa.array([r["decision_id"] for r in rows], pa.string()),
        "master": pa.array([r["master"] for r in rows], pa.string()),
        "kind": pa.array([r["kind"] for r in rows], pa.string()),
        "records": pa.array([r["records"] for r in rows], pa.list_(pa.string())),
        "others": pa.array([r["others"] for r in rows], pa.list_(pa.string())),
        "masters": pa.array([r["masters"] for r in rows], pa.list_(pa.string())),
        "note": pa.array([r["note"] for r in rows], pa.string()),
        "decided_by": pa.array([r["by"] for r in rows], pa.string()),
        "decided_at": pa.array([r["at"] for r in rows], pa.string()),
    })
    sql.register("__decisions", table)
    sql.run("DELETE FROM gold.steward_decisions")
    sql.run("INSERT INTO gold.steward_decisions SELECT * FROM __decisions")
    sql.unregister("__decisions")


def replace_master_rows(sql: Sql, table: str, master: str, select: str) -> None:
    """Replace the rows of one master in a shared table (rewritten, so the file does not bloat)."""
    cols = [r[0] for r in sql.rows(f"SELECT column_name FROM duckdb_columns() WHERE database_name = 'gold' "
                                   f"AND schema_name = 'main' AND table_name = {lit(table)} ORDER BY column_index")]
    collist = ", ".join(q(c) for c in cols)
    sql.run(f"CREATE OR REPLACE TEMP TABLE __keep AS SELECT {collist} FROM gold.{table} WHERE master <> {lit(master)}")
    sql.run(f"CREATE OR REPLACE TABLE gold.{table} AS SELECT * FROM __keep UNION ALL SELECT {collist} FROM ({select})")
    sql.run("DROP TABLE __keep")
