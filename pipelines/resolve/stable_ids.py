"""Stable master ids: minted once, never reused, kept by whatever cluster still denotes the entity.

Clusters are recomputed on every run, but ids must not churn.  Each new cluster inherits the
previous id of the records it holds: overlaps (cluster, previous id, shared records) are matched
greedily, largest overlap first, each previous id to at most one cluster and each cluster to at
most one previous id.  Then:

* a cluster left without an id gets a new one (the next sequence number ever issued - retired
  numbers are never handed out again): ``created`` if none of its records had a master before,
  ``split`` (from the id most of them had) otherwise;
* a previous id left without a cluster is ``merged`` into the id of the cluster holding most of
  its records, or ``retired`` if none of its records remain.

New ids are minted in order of each cluster's smallest ``record_id``, so a run from scratch on the
same input mints the same ids, and a re-run with its own previous output changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

from core.sqltext import lit
from pipelines.resolve.sql import Sql

SEQ_DIGITS = 10


def format_id(prefix: str, seq: int) -> str:
    return f"{prefix}{seq:0{SEQ_DIGITS}d}"


@dataclass
class IdStats:
    kept: int = 0
    minted: int = 0
    created: int = 0
    split: int = 0
    merged: int = 0
    retired: int = 0


def assign_ids(sql: Sql, prefix: str, members: str, prev: str | None, next_seq: int, out: str,
               events: str) -> IdStats:
    """Give every cluster of ``members`` (record_id, cluster) a master id.

    ``prev`` (record_id, master_id) is the previous assignment of the records (None on a first
    run); ``next_seq`` the first unused sequence number.  Creates ``out`` (cluster, master_id,
    minted) and ``events`` (master_id, event, related_id): ``created``, ``split`` (related: the id
    it split from), ``merged`` (master_id: the absorbed id, related: the survivor), ``retired``.
    """
    stats = IdStats()
    sql.run("CREATE OR REPLACE TEMP TABLE __kept (cluster BIGINT, master_id VARCHAR)")
    if prev:
        sql.run(f"CREATE OR REPLACE TEMP TABLE __ov AS SELECT m.cluster, p.master_id, count(*) AS n FROM {members} AS m "
                f"JOIN {prev} AS p ON p.record_id = m.record_id GROUP BY m.cluster, p.master_id")
        # fast path, in the database (it is nearly every cluster of a city): a cluster and a
        # previous id that only overlap each other
        sql.run("INSERT INTO __kept SELECT cluster, master_id FROM __ov WHERE cluster IN (SELECT cluster FROM __ov "
                "GROUP BY cluster HAVING count(*) = 1) AND master_id IN (SELECT master_id FROM __ov GROUP BY master_id "
                "HAVING count(*) = 1)")
        # the rest, greedily by overlap; none of these rows shares a cluster or an id with the fast path
        rows = sql.rows("SELECT cluster, master_id, n FROM __ov WHERE cluster NOT IN (SELECT cluster FROM __ov "
                        "GROUP BY cluster HAVING count(*) = 1) OR master_id NOT IN (SELECT master_id FROM __ov "
                        "GROUP BY master_id HAVING count(*) = 1) ORDER BY n DESC, master_id, cluster")
        mapping: dict[int, str] = {}
        taken_ids: set[str] = set()
        for cluster, master_id, _n in rows:
            if cluster in mapping or master_id in taken_ids:
                continue
            mapping[int(cluster)] = str(master_id)
            taken_ids.add(master_id)
        del rows
        if mapping:
            sql.register("__kept_greedy", pa.table({"cluster": pa.array(list(mapping), pa.int64()),
                                                    "master_id": pa.array(list(mapping.values()), pa.string())}))
            sql.run("INSERT INTO __kept SELECT cluster, master_id FROM __kept_greedy")
            sql.unregister("__kept_greedy")
        stats.kept = int(sql.one("SELECT count(*) FROM __kept") or 0)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS WITH c AS (SELECT cluster, min(record_id) AS first FROM {members} "
        f"GROUP BY cluster), k AS (SELECT * FROM __kept) "
        f"SELECT c.cluster, coalesce(k.master_id, {lit(prefix)} || lpad(CAST({int(next_seq)} - 1 + "
        f"row_number() OVER (PARTITION BY k.master_id IS NULL ORDER BY c.first) AS VARCHAR), {SEQ_DIGITS}, '0')) "
        f"AS master_id, k.master_id IS NULL AS minted FROM c LEFT JOIN k ON k.cluster = c.cluster"
    )
    sql.run("DROP TABLE __kept")
    stats.minted = int(sql.one(f"SELECT count(*) FROM {out} WHERE minted") or 0)
    if prev:
        sql.run(
            f"CREATE OR REPLACE TEMP TABLE {events} AS "
            # new ids: created, or split off the previous id most of their records had
            f"SELECT o.master_id, CASE WHEN s.master_id IS NULL THEN 'created' ELSE 'split' END AS event, "
            f"s.master_id AS related_id FROM {out} AS o LEFT JOIN (SELECT cluster, master_id FROM __ov "
            f"QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY n DESC, master_id) = 1) AS s "
            f"ON s.cluster = o.cluster WHERE o.minted "
            # previous ids without a cluster: merged into the cluster holding most of their records
            f"UNION ALL SELECT v.master_id, 'merged', o.master_id FROM (SELECT master_id, cluster FROM __ov "
            f"QUALIFY row_number() OVER (PARTITION BY master_id ORDER BY n DESC, cluster) = 1) AS v "
            f"JOIN {out} AS o ON o.cluster = v.cluster WHERE v.master_id NOT IN (SELECT master_id FROM {out}) "
            # previous ids none of whose records remain
            f"UNION ALL SELECT DISTINCT p.master_id, 'retired', CAST(NULL AS VARCHAR) FROM {prev} AS p "
            f"WHERE p.master_id NOT IN (SELECT master_id FROM __ov)"
        )
        sql.run("DROP TABLE __ov")
    else:
        sql.run(f"CREATE OR REPLACE TEMP TABLE {events} AS SELECT master_id, 'created' AS event, "
                f"CAST(NULL AS VARCHAR) AS related_id FROM {out}")
    for event, n in sql.rows(f"SELECT event, count(*) FROM {events} GROUP BY event"):
        setattr(stats, event, int(n))
    return stats
