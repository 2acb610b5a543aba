"""What the gold store says about each master: size, match rate, review queue, conflicts.

The gold store (``warehouse/gold.duckdb``) belongs to the master build; quality only ATTACHes it
READ_ONLY and never writes to it. Its layout is discovered, not assumed: the master table is
``<master>_master``, the cross-reference ``<master>_xref``, the steward queue ``review_queue`` (or
``<master>_review_queue``), and the id / lineage columns are recognised by their usual names. When
the store is absent, busy (a build holds its write lock) or laid out differently, the scorecards
go on without gold and the report says why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from core.sqltext import lit, q

ALIAS = "quality_gold"
SOURCE_COLS = ("_source", "source", "source_name")
TABLE_COLS = ("_table", "source_table", "table_name", "table")
KEY_COLS = ("_record_key", "record_key", "source_key", "source_record_key")
OPEN_STATUSES = ("open", "pending", "new", "queued", "review", "to_review", "undecided")


@dataclass
class GoldStat:
    """One master's figures from the gold store (``available`` False: ``note`` says why not)."""

    master: str
    available: bool
    note: str = ""
    golden_records: int | None = None
    xref_records: int | None = None
    linked_masters: int | None = None
    multi_source_masters: int | None = None
    matched_records: int | None = None
    review_queue: int | None = None
    compared: int = 0
    conflicts: int = 0
    conflict_by_element: dict[str, list[int]] = field(default_factory=dict)

    @property
    def match_rate(self) -> float | None:
        """Share of linked source records whose golden record is also fed by another source."""
        if not self.xref_records or self.matched_records is None:
            return None
        return self.matched_records / self.xref_records

    @property
    def conflict_rate(self) -> float | None:
        return self.conflicts / self.compared if self.compared else None

    def record(self) -> dict[str, Any]:
        from dataclasses import asdict

        out = asdict(self)
        out["match_rate"] = self.match_rate
        out["conflict_rate"] = self.conflict_rate
        return out


@dataclass
class GoldLayout:
    """Where one master lives in the attached gold store."""

    master: str
    table: str
    columns: list[str]
    id_col: str | None
    xref: str | None
    xref_cols: dict[str, str]  # role (id, source, table, key) -> column
    queue: str | None
    queue_filter: str

    @property
    def relation(self) -> str:
        return f"{ALIAS}.{q(self.table)}"

    @property
    def linkable(self) -> bool:
        return self.xref is not None and {"id", "source", "table", "key"} <= set(self.xref_cols)


def attach(con: duckdb.DuckDBPyConnection, path: Path) -> str | None:
    """ATTACH the gold store read-only; returns None, or a one-line reason it is not usable."""
    if not path.exists():
        return f"no gold store at {path} (masters not built yet)"
    try:
        con.execute(f"ATTACH {lit(str(path))} AS {ALIAS} (READ_ONLY)")
    except duckdb.Error as exc:
        return f"gold store {path} not readable now: {str(exc).splitlines()[0]}"
    return None


def detach(con: duckdb.DuckDBPyConnection) -> None:
    try:
        con.execute(f"DETACH {ALIAS}")
    except duckdb.Error:
        pass


def _tables(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    rows = con.execute(
        "SELECT table_name, column_name FROM duckdb_columns() WHERE database_name = ? ORDER BY table_name, "
        "column_index", [ALIAS]).fetchall()
    out: dict[str, list[str]] = {}
    for t, c in rows:
        out.setdefault(t, []).append(c)
    return out


def _pick(cols: list[str], candidates: tuple[str, ...]) -> str | None:
    lower = {c.lower(): c for c in cols}
    return next((lower[c] for c in candidates if c in lower), None)


def layout(con: duckdb.DuckDBPyConnection, master: str) -> GoldLayout | str:
    """Find a master's tables and columns; a string says what is missing."""
    tables = _tables(con)
    table = next((t for t in (f"{master}_master", f"{master}_golden", f"golden_{master}", master) if t in tables), None)
    if table is None:
        return f"gold store has no {master}_master table"
    cols = tables[table]
    id_col = _pick(cols, (f"{master}_id", "master_id", "golden_id", "id"))
    xref = f"{master}_xref" if f"{master}_xref" in tables else None
    xcols: dict[str, str] = {}
    if xref:
        xc = tables[xref]
        for role, cands in (("id", (id_col or "", f"{master}_id", "master_id", "golden_id")), ("source", SOURCE_COLS),
                            ("table", TABLE_COLS), ("key", KEY_COLS)):
            got = _pick(xc, tuple(c for c in cands if c))
            if got:
                xcols[role] = got
    queue = next((t for t in (f"{master}_review_queue", "review_queue") if t in tables), None)
    qfilter = "TRUE"
    if queue:
        qc = tables[queue]
        mcol = _pick(qc, ("master", "master_name", "library"))
        if queue == "review_queue" and mcol:
            qfilter = f"{q(mcol)} = {lit(master)}"
        done = _pick(qc, ("decided_at", "resolved_at", "decision_at"))
        status = _pick(qc, ("status", "state"))
        if done:
            qfilter += f" AND {q(done)} IS NULL"
        elif status:
            qfilter += f" AND lower(CAST({q(status)} AS VARCHAR)) IN ({', '.join(lit(s) for s in OPEN_STATUSES)})"
        elif _pick(qc, ("decision",)):
            qfilter += f" AND {q(_pick(qc, ('decision',)) or 'decision')} IS NULL"
    return GoldLayout(master, table, cols, id_col, xref, xcols, queue, qfilter)


def master_figures(con: duckdb.DuckDBPyConnection, lay: GoldLayout) -> GoldStat:
    """Golden records, links, match rate and open review items of one master."""
    st = GoldStat(lay.master, True)
    st.golden_records = con.execute(f"SELECT count(*) FROM {lay.relation}").fetchall()[0][0]
    notes = []
    if lay.linkable:
        x = lay.xref_cols
        row = con.execute(
            f"SELECT sum(n), count(*), count_if(ns >= 2), coalesce(sum(n) FILTER (WHERE ns >= 2), 0) FROM ("
            f"SELECT {q(x['id'])}, count(*) AS n, count(DISTINCT {q(x['source'])}) AS ns "
            f"FROM {ALIAS}.{q(lay.xref or '')} GROUP BY 1)").fetchall()[0]
        st.xref_records, st.linked_masters, st.multi_source_masters, st.matched_records = (
            int(v or 0) for v in row)
    else:
        notes.append(f"no usable {lay.master}_xref (need master id, source, table and record key columns)")
    if lay.queue:
        st.review_queue = con.execute(
            f"SELECT count(*) FROM {ALIAS}.{q(lay.queue)} WHERE {lay.queue_filter}").fetchall()[0][0]
    else:
        notes.append("no review_queue table")
    st.note = "; ".join(notes)
    return st


#: Feed rows per conflict query (quality.run): each query scans the whole master table once, so
#: feeds are counted together - but in bounded groups, because one join of every feed of a master
#: stacked against the cross-reference ran out of the quality connection's memory at 1 M persons
#: (7.8 M person records over 40 feeds).
CONFLICT_ROWS = 1_000_000


@dataclass
class FeedShare:
    """What one feed of a master offers for comparison: its snapshot SQL, the columns it shares
    with the master table (name -> dictionary type) and its source table."""

    rel: str
    shared: dict[str, str]
    source: str
    table: str


def conflict_sql(lay: GoldLayout, feeds: list[FeedShare]) -> tuple[str, list[str]] | None:
    """One query comparing some feeds of a master with the golden records their rows are linked to.

    Dates are compared as dates, everything else as text. The feeds are stacked (UNION ALL BY
    NAME: an element a feed does not map is NULL there, so never compared) and the
    cross-reference is confined to their links. Returns the SQL and the element columns, whose
    ``c_<col>`` / ``d_<col>`` counts (compared, different) it yields per ``_source``, ``_table``.
    """
    feeds = [f for f in feeds if f.shared]
    if not lay.linkable or not lay.id_col or not feeds:
        return None
    x = lay.xref_cols
    cols = sorted({c for f in feeds for c in f.shared})
    kinds = {c: "DATE" if t in ("date", "timestamp") else "VARCHAR" for f in feeds for c, t in f.shared.items()}
    parts = []
    for f in feeds:
        sel = ", ".join(f"TRY_CAST({q(c)} AS {kinds[c]}) AS {q(c)}" for c in sorted(f.shared))
        parts.append(f"(SELECT _source, _table, _record_key, {sel} FROM ({f.rel}))")
    links = " OR ".join(f"({q(x['source'])} = {lit(f.source)} AND {q(x['table'])} = {lit(f.table)})" for f in feeds)
    aggs = []
    for c in cols:
        sv, gv = f"s.{q(c)}", f"TRY_CAST(g.{q(c)} AS {kinds[c]})"
        aggs += [f"count_if({sv} IS NOT NULL AND {gv} IS NOT NULL) AS {q('c_' + c)}",
                 f"count_if({sv} IS NOT NULL AND {gv} IS NOT NULL AND {sv} <> {gv}) AS {q('d_' + c)}"]
    sql = (f"SELECT s._source, s._table, {', '.join(aggs)} "
           f"FROM ({' UNION ALL BY NAME '.join(parts)}) AS s "
           f"JOIN (SELECT {q(x['id'])} AS __mid, {q(x['source'])} AS __s, {q(x['table'])} AS __t, "
           f"CAST({q(x['key'])} AS VARCHAR) AS __k FROM {ALIAS}.{q(lay.xref or '')} WHERE {links}) AS x "
           f"ON x.__s = s._source AND x.__t = s._table AND x.__k = s._record_key "
           f"JOIN {lay.relation} AS g ON g.{q(lay.id_col)} = x.__mid GROUP BY ALL")
    return sql, cols


def master_relation(lay: GoldLayout) -> str:
    """The master table with a ``_record_key`` (its id) so failure samples name golden records."""
    if "_record_key" in lay.columns or not lay.id_col:
        return f"SELECT * FROM {lay.relation}"
    return f"SELECT *, CAST({q(lay.id_col)} AS VARCHAR) AS _record_key FROM {lay.relation}"


def relation_columns(lay: GoldLayout) -> list[str]:
    """The columns :func:`master_relation` yields."""
    return lay.columns if "_record_key" in lay.columns or not lay.id_col else [*lay.columns, "_record_key"]
