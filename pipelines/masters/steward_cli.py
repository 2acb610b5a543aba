"""What the ``masterdata steward`` commands do: read the review queue, record decisions.

Stewards may name records (``source:table:record_key``) or masters (``P0000000123``); a master is
recorded as its current records, which stay valid however ids move later.  Decisions go to the
append-only log beside the gold file and take effect on the next ``masterdata build``.
"""

from __future__ import annotations

from dataclasses import asdict

import duckdb

from core.errors import InputError
from pipelines.masters.config import MASTERS
from pipelines.masters.gold_file import gold_path, open_gold, steward_path
from pipelines.masters.review_view import LABEL, master_of
from pipelines.resolve.steward import Decision, StewardError, StewardLog


class StewardCliError(InputError):
    """One line for the command line."""


def _gold() -> duckdb.DuckDBPyConnection:
    try:
        return open_gold(gold_path())
    except FileNotFoundError as exc:
        raise StewardCliError(str(exc)) from None


def _records_of(con: duckdb.DuckDBPyConnection, master: str, ident: str) -> tuple[list[str], str | None]:
    """(record ids, master id) named by ``ident``: a record id, or a master id (all its records)."""
    if ":" in ident:
        row = con.execute(f"SELECT master_id FROM {master}_xref WHERE record_id = ?", [ident]).fetchall()
        if not row:
            raise StewardCliError(f"no {master} record {ident!r} in the gold store")
        return [ident], str(row[0][0])
    rows = con.execute(f"SELECT record_id FROM {master}_xref WHERE master_id = ? ORDER BY record_id", [ident]).fetchall()
    if not rows:
        retired = con.execute("SELECT successor_id FROM id_registry WHERE master_id = ? AND status = 'retired'",
                              [ident]).fetchall()
        hint = f" (retired; now {retired[0][0]})" if retired and retired[0][0] else ""
        raise StewardCliError(f"no current {master} master {ident!r}{hint}")
    return [str(r[0]) for r in rows], ident


def _which_master(con: duckdb.DuckDBPyConnection, idents: list[str], master: str | None) -> str:
    if master:
        if master not in MASTERS:
            raise StewardCliError(f"unknown master {master!r}; known: {', '.join(MASTERS)}")
        return master
    for ident in idents:
        if ":" not in ident:
            m = master_of(ident)
            if m:
                return m
    for m in MASTERS:
        if con.execute(f"SELECT count(*) FROM {m}_xref WHERE record_id = ?", [idents[0]]).fetchone()[0]:  # type: ignore[index]
            return m
    raise StewardCliError(f"cannot tell which master {idents[0]!r} belongs to; pass --master")


def record_pair_decision(kind: str, a: str, b: str, master: str | None, note: str, by: str = "") -> str:
    con = _gold()
    try:
        m = _which_master(con, [a, b], master)
        ra, ma = _records_of(con, m, a)
        rb, mb = _records_of(con, m, b)
    finally:
        con.close()
    if kind == "match" and ma == mb:
        return f"{a} and {b} are already one {m} master ({ma}): nothing recorded"
    # one record per side is enough: each anchors its whole cluster
    try:
        d = StewardLog(steward_path()).append(Decision(master=m, kind=kind, records=[ra[0], rb[0]],
                                                       masters=[x for x in (ma, mb) if x], note=note, by=by))
    except StewardError as exc:
        raise StewardCliError(str(exc)) from None
    return f"recorded {d.decision_id}: {kind} {m} {a} / {b} (takes effect on the next `masterdata build`)"


def record_split(master_id: str, records: list[str], note: str, by: str = "") -> str:
    m = master_of(master_id)
    if not m:
        raise StewardCliError(f"{master_id!r} is not a master id (P…, E…, L… followed by digits)")
    con = _gold()
    try:
        all_records, _ = _records_of(con, m, master_id)
    finally:
        con.close()
    missing = [r for r in records if r not in all_records]
    if missing:
        raise StewardCliError(f"{missing[0]!r} is not a record of {master_id}")
    others = [r for r in all_records if r not in records]
    if not others:
        raise StewardCliError(f"splitting off every record of {master_id} leaves nothing to split from")
    try:
        d = StewardLog(steward_path()).append(Decision(master=m, kind="split", records=sorted(records), others=others,
                                                       masters=[master_id], note=note, by=by))
    except StewardError as exc:
        raise StewardCliError(str(exc)) from None
    return f"recorded {d.decision_id}: split {len(records)} record(s) off {master_id} (next build)"


def undo_decision(decision_id: str, note: str = "", by: str = "") -> str:
    """Take back a recorded decision; the next build honours the log without it."""
    try:
        d = StewardLog(steward_path()).undo(decision_id, by=by, note=note)
    except StewardError as exc:
        raise StewardCliError(str(exc)) from None
    return f"recorded {d.decision_id}: undo {decision_id} (takes effect on the next `masterdata build`)"


def check_master(master: str | None) -> None:
    """A wrong master name is refused in one line naming the valid ones (never an empty answer)."""
    if master and master not in MASTERS:
        raise StewardCliError(f"unknown master {master!r}; known: {', '.join(MASTERS)}")


def log_data(master: str | None, limit: int) -> dict[str, object]:
    """The latest decisions, newest first, each with the decision that undid it (if any)."""
    check_master(master)
    decisions = [d for d in StewardLog(steward_path()).load() if not master or d.master == master]
    undone = {d.undoes: d.decision_id for d in decisions if d.kind == "undo"}
    rows = [{**asdict(d), "undone_by": undone.get(d.decision_id)} for d in reversed(decisions[-limit:])]
    return {"total": len(decisions), "decisions": rows}


def show_log(master: str | None, limit: int) -> str:
    """The latest decisions, newest first, with what undid them."""
    data = log_data(master, limit)
    if not data["total"]:
        return "no steward decisions recorded"
    lines = [f"{data['total']:,} decision(s); newest first"]
    for d in data["decisions"]:  # type: ignore[attr-defined]
        what = f"undoes {d['undoes']}" if d["kind"] == "undo" else " / ".join(d["masters"] or d["records"])
        gone = f"  [undone by {d['undone_by']}]" if d["undone_by"] else ""
        lines.append(f"  {d['at'][:19]} {d['by']:10} {d['decision_id']:30} {d['master']:7} {what}{gone}"
                     + (f"  ({d['note']})" if d["note"] else ""))
    return "\n".join(lines)


def label_sql(side: str) -> str:
    """SQL naming the master ``side`` (a master id column of a ``q`` row with a ``master`` column)."""
    whens = " ".join(f"WHEN '{m}' THEN (SELECT {c} FROM {m}_master WHERE master_id = {side})" for m, c in LABEL.items())
    return f"CASE q.master {whens} END"


def queue_data(master: str | None, limit: int) -> dict[str, object]:
    """Up to ``limit`` queued pairs, strongest first, each with both masters' names."""
    check_master(master)
    con = _gold()
    try:
        where = "WHERE q.master = ?" if master else ""
        params = [master] if master else []
        cur = con.execute(
            f"SELECT q.master, q.record_id, q.candidate_record_id, q.master_id, q.candidate_master_id, "
            f"q.match_probability, q.match_weight, q.reason, {label_sql('q.master_id')} AS name, "
            f"{label_sql('q.candidate_master_id')} AS candidate_name FROM review_queue AS q {where} "
            f"ORDER BY q.match_probability DESC, q.record_id LIMIT {int(limit)}", params)
        cols = [d[0] for d in cur.description or []]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        total = con.execute(f"SELECT count(*) FROM review_queue AS q {where}", params).fetchone()[0]  # type: ignore[index]
    finally:
        con.close()
    return {"total": int(total), "pairs": rows}


def show_queue(master: str | None, limit: int) -> str:
    data = queue_data(master, limit)
    pairs: list[dict[str, object]] = data["pairs"]  # type: ignore[assignment]
    if not pairs:
        return f"the {master} review queue is empty" if master else "review queue is empty"
    lines = [f"{data['total']:,} pair(s) in the review queue; strongest first"]
    for r in pairs:
        w = r["match_weight"]
        weight = f"{w:+6.1f} bits" if isinstance(w, float | int) else "   – bits"
        lines.append(f"  {r['master']:7} p={r['match_probability']:.3f} {weight} {r['reason']:16} {r['record_id']} "
                     f"[{r['master_id']} {r['name'] or ''}]  <->  {r['candidate_record_id']} "
                     f"[{r['candidate_master_id']} {r['candidate_name'] or ''}]")
    lines.append("see one with: masterdata steward show <record> <record>; decide with: masterdata steward "
                 "match|no-match <record or master> <record or master>")
    return "\n".join(lines)
