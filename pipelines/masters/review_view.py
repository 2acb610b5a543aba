"""A queued pair or a master as a steward reads it: both records side by side, the weight each
comparison level added, the golden attributes with the record and department each survived from.

Shared by ``masterdata steward show`` (:mod:`pipelines.masters.steward_show`) and the console's
steward pages (:mod:`console.review`), so both show a pair the same way.  Queries go through a
``Reader`` (SQL and parameters in, rows as dicts out) over the gold store: the command line's plain
read-only connection, the console's reader that follows new builds.  A record's full silver row
(raw identifiers, the problems standardisation found) is read from its batch file in the lake.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import duckdb

from core.db import connect
from core.errors import NotFoundError
from core.sqltext import lit
from pipelines.lake import Lake
from pipelines.masters.config import MASTERS, master_config
from pipelines.resolve.comparisons import weight_of
from standards.codetables import code_names, department_name
from standards.dictionary import dictionary

#: runs a query on the gold store: rows as dicts
Reader = Callable[[str, list[Any]], list[dict[str, Any]]]
#: the golden attribute naming a master
LABEL = {"person": "name", "entity": "name", "licence": "holder_name"}
#: why a pair is in the review queue, in a steward's words
REASONS: dict[str, str] = {
    "uncertain": "不确定：匹配权重在复核阈值与自动匹配阈值之间 (between the review and match thresholds)",
    "ambiguous": "有歧义：该记录与两个以上主数据得分相近，不自动归并 (two candidates score within the "
                 "ambiguity margin)",
    "distinct_key": "证件冲突：合并会使一个主数据含两个不同的有效证件号 (merging would put two valid IDs "
                    "in one master)",
    "foreign_id": "他人证件：一方记录的证件号属于另一人，如婴儿登记在母亲身份证号下 (a record's ID belongs "
                  "to someone else)",
    "cannot_link": "曾判定非同一：管理员的“非同一”决定阻止了此次合并 (a steward's no-match blocks it)",
    "conflicting_keys": "证件号不同但其余信息一致：可能为换发新证号，规则不会自动合并 (different IDs, "
                        "everything else agrees: e.g. a re-issued ID)",
}


class NoSuchThing(NotFoundError):
    """A pair, record or master the gold store does not hold (one line; exit code 2, HTTP 404)."""


def master_of(ident: str) -> str | None:
    """person / entity / licence for a master id (P…, E…, L… + 10 digits), else None."""
    for m in MASTERS:
        if ident.startswith(master_config(m).id_prefix) and ident[1:].isdigit() and len(ident) == 11:
            return m
    return None


def element_label(master: str, name: str) -> str:
    """The standard's label of an element (姓名 for person.name), the name itself when unknown."""
    d, q = dictionary(), f"{master}.{name}"
    return d.element(q).label if d.has(q) else name


def code_label(master: str, name: str, value: Any) -> str | None:
    """The code table's name for a coded element's value (女 for sex 2), else None."""
    d, q = dictionary(), f"{master}.{name}"
    if value is None or not d.has(q) or not d.element(q).code_table:
        return None
    return code_names(str(d.element(q).code_table)).get(str(value))


@dataclass
class Compared:
    """One element of a pair's two records."""

    name: str
    label: str
    left: Any
    right: Any
    left_label: str | None = None
    right_label: str | None = None
    #: both records hold a value and the values differ
    differs: bool = False
    #: only one record holds a value
    one_sided: bool = False
    raw: list[Any] = field(default_factory=list)


def compare(master: str, left: dict[str, Any], right: dict[str, Any]) -> list[Compared]:
    """The master's elements either record holds, in the dictionary's order, differences marked."""
    out = []
    for name in dictionary().masters[master].elements:
        a, b = left.get(name), right.get(name)
        ra, rb = left.get(name + "_raw"), right.get(name + "_raw")
        if a is None and b is None and ra is None and rb is None:
            continue
        out.append(Compared(name, element_label(master, name), a, b, code_label(master, name, a),
                            code_label(master, name, b), differs=(a is not None and b is not None and a != b),
                            one_sided=(a is None) != (b is None), raw=[ra, rb]))
    return out


def silver_row(lake: Lake, master: str, xref: dict[str, Any]) -> dict[str, Any]:
    """The record's current silver row (raw identifiers and ``_issues`` included), from its batch file."""
    path = lake.silver_path(master, xref["source"], xref["table_name"], xref["batch_id"])
    if not path.exists():
        return {}
    con = connect(standard=False)
    try:
        got = con.execute(f"SELECT * EXCLUDE (_row_hash) FROM read_parquet({lit(str(path))}) WHERE _record_key = ?",
                          [xref["record_key"]]).fetchall()
        cols = [d[0] for d in con.description or []]
    except duckdb.Error:
        return {}
    finally:
        con.close()
    return dict(zip(cols, got[0])) if got else {}


def issues(row: dict[str, Any]) -> list[str]:
    """What standardisation found wrong in a silver row (element: reason)."""
    return [f"{i.get('element')}: {i.get('reason')}" for i in (row.get("_issues") or []) if isinstance(i, dict)]


def record(read: Reader, lake: Lake, master: str, record_id: str, master_id: str | None = None) -> dict[str, Any]:
    """A record's cross-reference row, its department's name and its silver row.  ``master_id``: the
    master the record is believed to be in (the review queue's), looked up first - the
    cross-references are sorted by master id, so that reads one row group instead of the column."""
    got = read(f"SELECT * FROM {master}_xref WHERE master_id = ? AND record_id = ?", [master_id, record_id]) \
        if master_id else []
    got = got or read(f"SELECT * FROM {master}_xref WHERE record_id = ?", [record_id])
    if not got:
        raise NoSuchThing(f"no {master} record {record_id!r} in the gold store")
    x = got[0]
    x["department_name"] = department_name(x["source"])
    x["row"] = silver_row(lake, master, x)
    return x


def has_table(read: Reader, name: str) -> bool:
    return bool(read("SELECT 1 FROM duckdb_tables() WHERE table_name = ? AND schema_name = 'main' "
                     "AND database_name = current_database()", [name]))


def levels(read: Reader, master: str, a: str, b: str) -> list[dict[str, Any]]:
    """What each comparison level added to the pair's weight (bits), the prior first, then the
    comparisons in the master's order."""
    if not has_table(read, "review_levels"):
        return []
    rows = read("SELECT comparison, level, label, bits FROM review_levels WHERE master = ? AND record_id = ? "
                "AND candidate_record_id = ?", [master, a, b])
    order = {"prior": -1, **{c.name: i for i, c in enumerate(master_config(master).comparisons)}}
    return sorted(rows, key=lambda r: order.get(r["comparison"], 99))


def pair_view(read: Reader, lake: Lake, master: str, a: str, b: str) -> dict[str, Any]:
    """A queued pair: both records side by side, the weight per comparison level, why it is queued."""
    if master not in MASTERS:
        raise NoSuchThing(f"unknown master {master!r}; known: {', '.join(MASTERS)}")
    got = read("SELECT * FROM review_queue WHERE master = ? AND record_id = ? AND candidate_record_id = ?",
               [master, a, b])
    if not got:
        raise NoSuchThing(f"the pair {a} / {b} is not in the {master} review queue")
    item = got[0]
    left = record(read, lake, master, a, item["master_id"])
    right = record(read, lake, master, b, item["candidate_master_id"])
    cfg = master_config(master)
    rules = [r.name for r in cfg.conflict_review.rules] \
        if cfg.conflict_review and item["reason"] == "conflicting_keys" else []
    return {"master": master, "item": item, "left": left, "right": right,
            "rows": compare(master, left["row"], right["row"]), "issues": [issues(left["row"]), issues(right["row"])],
            "levels": levels(read, master, a, b), "reason_text": REASONS.get(item["reason"], item["reason"]),
            "rules": rules, "thresholds": {"review": cfg.thresholds.review, "match": cfg.thresholds.match},
            "threshold_weights": {"review": weight_of(cfg.thresholds.review), "match": weight_of(cfg.thresholds.match)}}


def golden(read: Reader, master: str, row: dict[str, Any], records: list[dict[str, Any]] | None = None
           ) -> list[dict[str, Any]]:
    """Each golden attribute with the source record and department it survived from (the master's
    ``lineage`` names each value's record number).  ``records``: the master's own cross-references
    (with ``record_no``), which hold every number its lineage names; a number they lack is looked up
    in the cross-references (a scan of the column, so only for what is missing)."""
    lineage = row.get("lineage") or {}
    numbers = sorted({n for n in lineage.values() if n is not None})
    by_no = {r["record_no"]: r for r in records or []}
    missing = [n for n in numbers if n not in by_no]
    if missing:
        by_no.update({r["record_no"]: r for r in read(
            f"SELECT record_no, record_id, source, table_name FROM {master}_xref WHERE record_no IN (SELECT unnest(?))",
            [missing])})
    out = []
    skip = {"master_id", "lineage", "sources", "first_seen", "last_seen", "record_count"}
    for name, value in row.items():
        if name in skip or value is None:
            continue
        src = by_no.get(lineage.get(name))
        out.append({"name": name, "label": element_label(master, name), "value": value,
                    "display": code_label(master, name, value), "record_id": src and src["record_id"],
                    "department": src and department_name(src["source"]), "table": src and src["table_name"]})
    return out


def master_view(read: Reader, master_id: str) -> dict[str, Any]:
    """A current master: its golden attributes with their lineage, and its records."""
    m = master_of(master_id)
    if m is None:
        raise NoSuchThing(f"{master_id!r} is not a master id (P, E or L followed by 10 digits)")
    got = read(f"SELECT * FROM {m}_master WHERE master_id = ?", [master_id])
    if not got:
        succ = read("SELECT status, successor_id FROM id_registry WHERE master_id = ?", [master_id])
        hint = f" (retired; now {succ[0]['successor_id']})" if succ and succ[0].get("successor_id") else ""
        raise NoSuchThing(f"no current {m} master {master_id}{hint}")
    row = got[0]
    # (the cross-references are sorted by master id: this reads one row group, not the column)
    xref = read(f"SELECT record_id, record_no, source, table_name, record_key, batch_id, extracted_at, rule, "
                f"match_probability FROM {m}_xref WHERE master_id = ? ORDER BY source, table_name, record_key",
                [master_id])
    for x in xref:
        x["department_name"] = department_name(x["source"])
    return {"master": m, "master_id": master_id, "row": row, "golden": golden(read, m, row, xref), "xref": xref,
            "name": row.get(LABEL[m])}
