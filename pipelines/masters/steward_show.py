"""``masterdata steward show``: a queued pair side by side, or a master with its lineage, as text.

What a steward needs to decide a pair without writing a query: every element of both records in two
columns, the differing ones marked (``≠``, red on a terminal) and the one-sided ones (``+``), the
problems standardisation found, the bits each comparison level added to the match weight against
the two thresholds, and why the pair is queued.  A master shows each golden attribute with the
record and department it survived from, then its records.  The data is
:mod:`pipelines.masters.review_view`'s, the same the console's pages show.
"""

from __future__ import annotations

from typing import Any

import duckdb
from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from pipelines.lake import Lake
from pipelines.masters.gold_file import gold_path, open_gold
from pipelines.masters.review_view import Compared, NoSuchThing, Reader, master_of, master_view, pair_view
from pipelines.masters.steward_cli import StewardCliError, check_master


def _reader(con: duckdb.DuckDBPyConnection) -> Reader:
    def read(sql: str, params: list[Any]) -> list[dict[str, Any]]:
        cur = con.execute(sql, params)
        cols = [d[0] for d in cur.description or []]
        return [dict(zip(cols, r)) for r in cur.fetchall()]

    return read


def _queued(read: Reader, a: str, b: str, master: str | None) -> tuple[str, str, str]:
    """(master, record, candidate) of the queued pair of ``a`` and ``b``, in whichever order it was queued."""
    where = " AND master = ?" if master else ""
    got = read("SELECT master, record_id, candidate_record_id FROM review_queue WHERE ((record_id = ? AND "
               f"candidate_record_id = ?) OR (record_id = ? AND candidate_record_id = ?)){where}",
               [a, b, b, a] + ([master] if master else []))
    if not got:
        raise NoSuchThing(f"{a} / {b} is not a pair in the {master + ' ' if master else ''}review queue "
                          "(see `masterdata steward queue`)")
    return got[0]["master"], got[0]["record_id"], got[0]["candidate_record_id"]


def view(a: str, b: str | None, master: str | None) -> dict[str, Any]:
    """The pair ``a`` / ``b`` of the review queue, or the master ``a`` (``kind``: pair | master)."""
    check_master(master)
    try:
        con = open_gold(gold_path())
    except FileNotFoundError as exc:
        raise StewardCliError(str(exc)) from None
    try:
        read = _reader(con)
        if b is None:
            if master_of(a) is None:
                raise StewardCliError(f"{a!r} is not a master id (P, E or L followed by 10 digits); "
                                      "a pair is shown with two record ids")
            return {"kind": "master", **master_view(read, a)}
        m, left, right = _queued(read, a, b, master)
        return {"kind": "pair", **pair_view(read, Lake(), m, left, right)}
    finally:
        con.close()


def _value(v: Any, label: str | None) -> str:
    return "" if v is None else f"{v} ({label})" if label else str(v)


def _side_by_side(v: dict[str, Any]) -> Table:
    left, right = v["left"], v["right"]
    t = Table(title="两条记录 the two records", title_justify="left", show_lines=False)
    t.add_column("", width=1)
    t.add_column("element")
    t.add_column(f"{left['record_id']}\n{left['department_name']}", overflow="fold")
    t.add_column(f"{right['record_id']}\n{right['department_name']}", overflow="fold")
    rows: list[Compared] = v["rows"]
    for c in rows:
        mark, style = ("≠", "bold red") if c.differs else ("+", "yellow") if c.one_sided else ("", "")
        t.add_row(mark, f"{c.label} {c.name}", _value(c.left, c.left_label), _value(c.right, c.right_label),
                  style=style)
    for side, found in zip(("left", "right"), v["issues"]):
        if found:
            t.add_row("!", "problems", *(("; ".join(found), "") if side == "left" else ("", "; ".join(found))),
                      style="magenta")
    return t


def _weights(v: dict[str, Any]) -> Table:
    item, w = v["item"], v["threshold_weights"]
    t = Table(title="匹配权重 match weight per comparison level (bits)", title_justify="left")
    t.add_column("comparison")
    t.add_column("level")
    t.add_column("bits", justify="right")
    for r in v["levels"]:
        bits = float(r["bits"])
        t.add_row(r["comparison"], str(r["label"]), f"{bits:+.2f}",
                  style="green" if bits > 0 else "red" if bits < 0 else "dim")
    t.add_row("total", f"p = {float(item['match_probability']):.3f}", f"{float(item['match_weight'] or 0):+.2f}",
              style="bold")
    t.caption = f"thresholds: review ≥ {w['review']:+.2f}, match ≥ {w['match']:+.2f} bits"
    return t


def _pair(v: dict[str, Any]) -> RenderableType:
    item = v["item"]
    head = Text.assemble((f"{v['master']} pair ", "bold"), f"{item['record_id']} [{item['master_id']}]  <->  "
                         f"{item['candidate_record_id']} [{item['candidate_master_id']}]\n",
                         ("queued: ", "bold"), f"{item['reason']} - {v['reason_text']}")
    if v["rules"]:
        head.append(f"\nrules that hold it for review: {', '.join(v['rules'])}")
    parts: list[RenderableType] = [head, _side_by_side(v)]
    parts.append(_weights(v) if v["levels"] else Text("(no per-level weights stored for this pair: rebuild to "
                                                      "record them)", style="dim"))
    parts.append(Text(f"decide: masterdata steward match|no-match {item['record_id']} {item['candidate_record_id']}"))
    return Group(*parts)


def _master(v: dict[str, Any]) -> RenderableType:
    g = Table(title=f"{v['master']} master {v['master_id']} {v.get('name') or ''}", title_justify="left")
    for col in ("attribute", "value", "from record", "department"):
        g.add_column(col, overflow="fold")
    for a in v["golden"]:
        g.add_row(f"{a['label']} {a['name']}", _value(a["value"], a["display"]), a["record_id"] or "",
                  a["department"] or "")
    x = Table(title=f"{len(v['xref'])} record(s)", title_justify="left")
    for col in ("record", "department", "rule", "p"):
        x.add_column(col, overflow="fold")
    for r in v["xref"]:
        p = r["match_probability"]
        x.add_row(r["record_id"], r["department_name"], str(r["rule"] or ""), "" if p is None else f"{p:.3f}")
    return Group(g, x)


def render(v: dict[str, Any]) -> RenderableType:
    """A pair or a master as rich tables (plain text, marks kept, when not on a terminal)."""
    return _pair(v) if v["kind"] == "pair" else _master(v)
