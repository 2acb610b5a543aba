"""What the steward pages show: the review queue, one pair side by side, a master with its lineage,
history, cross-references, licences and relations, and the decision log.

Reads the gold store (:class:`~console.goldread.GoldReader`) and, for a record's full silver row
(raw identifiers, the problems standardisation found), the lake; a pair and a master are put
together by :mod:`pipelines.masters.review_view`, as ``masterdata steward show`` shows them.  Decisions are recorded by the same
functions as ``masterdata steward`` (:mod:`pipelines.masters.steward_cli`) into the same append-only
log, so the next build honours a decision however it was made.
"""

from __future__ import annotations

import json
from typing import Any

from console.goldread import GoldReader
from console.waterfall import Step, waterfall
from pipelines.lake import Lake
from pipelines.masters.config import MASTERS, master_config
from pipelines.masters.explain import explain_gold
from pipelines.masters.review_view import LABEL, REASONS, master_of, master_view, pair_view
from pipelines.resolve.comparisons import weight_of
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.explain import PRIOR
from pipelines.resolve.steward import Decision, StewardLog, constraints_of

PAGE = 50


def decided_pairs(log: StewardLog) -> dict[tuple[str, str], str]:
    """Record pairs the log decides now (undone decisions left out): (a, b) sorted -> match | no_match."""
    out: dict[tuple[str, str], str] = {}
    for m in MASTERS:
        c = constraints_of([d for d in log.load() if d.master == m])
        out.update({tuple(sorted(p)): "match" for p in c.must})  # type: ignore[misc]
        out.update({tuple(sorted(p)): "no_match" for p in c.cannot})  # type: ignore[misc]
    return out


def _names(gold: GoldReader, ids: set[tuple[str, str]]) -> dict[str, Any]:
    """Master id -> the attribute naming it, one query per master for a page's ids (not one per row:
    a lookup in a million-row master is a scan)."""
    out: dict[str, Any] = {}
    for m, col in LABEL.items():
        wanted = sorted(i for k, i in ids if k == m)
        if wanted:
            out.update({r["master_id"]: r["name"] for r in gold.rows(
                f"SELECT master_id, {col} AS name FROM {m}_master WHERE master_id IN (SELECT unnest(?))", [wanted])})
    return out


def queue(gold: GoldReader, log: StewardLog, master: str | None, page: int = 0) -> dict[str, Any]:
    """One page of the queue, strongest first, each pair with both masters' names and whether a
    decision awaits the next build."""
    where, params = ("WHERE q.master = ?", [master]) if master else ("", [])
    rows = gold.rows(f"SELECT q.* FROM review_queue AS q {where} ORDER BY q.match_probability DESC, q.record_id, "
                     f"q.candidate_record_id LIMIT {PAGE} OFFSET {int(page) * PAGE}", params)
    names = _names(gold, {(r["master"], m) for r in rows for m in (r["master_id"], r["candidate_master_id"])})
    total = int(gold.value(f"SELECT count(*) FROM review_queue AS q {where}", params) or 0)
    counts = {r["master"]: r["n"] for r in gold.rows("SELECT master, count(*) AS n FROM review_queue GROUP BY 1")}
    decided = decided_pairs(log)
    for r in rows:
        r["name"], r["candidate_name"] = names.get(r["master_id"]), names.get(r["candidate_master_id"])
        r["decided"] = decided.get(tuple(sorted((r["record_id"], r["candidate_record_id"]))))
        r["reason_text"] = REASONS.get(r["reason"], r["reason"])
    return {"rows": rows, "total": total, "counts": counts, "page": page, "pages": max(1, -(-total // PAGE))}


def weight_chart(cfg: ResolveConfig, parts: list[tuple[str, str, float]], total: float, title: str = "") -> str:
    """The waterfall of a pair's (comparison, label, bits) parts, with the master's thresholds."""
    if not parts:
        return ""
    steps = [Step("先验 prior" if c == PRIOR else c, label, bits) for c, label, bits in parts]
    return waterfall(steps, total=total, title=title or "匹配权重构成 (bits)",
                     thresholds=[("复核 review", weight_of(cfg.thresholds.review)),
                                 ("匹配 match", weight_of(cfg.thresholds.match))])


def explained(gold: GoldReader, a: str, b: str | None, master: str | None, limit: int = 10) -> dict[str, Any]:
    """Any pair - or a record (or master) against its neighbours - with the waterfall of each
    pair's weight, from the model the last build stored (:mod:`pipelines.masters.explain`)."""
    got = explain_gold(a, b, master if master in MASTERS else None, limit=limit, path=gold.path)
    cfg = master_config(got.master)
    pairs = [{"e": e, "chart": weight_chart(cfg, [(p.comparison, p.label, p.bits) for p in e.parts], e.weight,
                                            title=f"{e.left} / {e.right}")} for e in got.explanations]
    return {"master": got.master, "build_id": got.build_id, "pairs": pairs, "thresholds": cfg.thresholds}


def pair(gold: GoldReader, lake: Lake, log: StewardLog, master: str, a: str, b: str) -> dict[str, Any]:
    """A queued pair: both records side by side, the waterfall of its weight, the rule that queued it."""
    view = pair_view(gold.rows, lake, master, a, b)
    w = view["threshold_weights"]
    steps = [Step("先验 prior" if r["comparison"] == "prior" else r["comparison"], r["label"], float(r["bits"]))
             for r in view["levels"]]
    view["chart"] = waterfall(steps, total=float(view["item"]["match_weight"]), title="匹配权重构成 (bits)",
                              thresholds=[("复核 review", w["review"]), ("匹配 match", w["match"])]) if steps else ""
    view["decided"] = decided_pairs(log).get(tuple(sorted((a, b))))  # type: ignore[arg-type]
    return view


def _relations(gold: GoldReader, master: str, row: dict[str, Any]) -> list[dict[str, Any]]:
    """Household members, spouse, guardian and legal representation of a person; an entity's
    legal representative."""
    out: list[dict[str, Any]] = []
    mid = row["master_id"]
    if master == "person":
        # (each lookup a lone equality on an indexed column: DuckDB answers that from the ART index,
        # any further condition or ORDER BY ... LIMIT makes it scan the column - so those are done here)
        if row.get("household_no"):
            members = gold.rows("SELECT master_id, name, relation_to_head FROM person_master WHERE household_no = ?",
                                [row["household_no"]])
            for r in sorted((r for r in members if r["master_id"] != mid), key=lambda r: r["master_id"])[:20]:
                out.append({"kind": "同户 household", "master_id": r["master_id"], "name": r["name"],
                            "note": r.get("relation_to_head")})
        for col, kind in (("spouse_id_number", "配偶 spouse"), ("guardian_id_number", "监护人 guardian")):
            if row.get(col):
                for r in gold.rows("SELECT master_id, name FROM person_master WHERE id_number = ?", [row[col]]):
                    out.append({"kind": kind, "master_id": r["master_id"], "name": r["name"], "note": None})
        if row.get("id_number"):
            for r in gold.rows("SELECT master_id, name FROM person_master WHERE spouse_id_number = ?",
                               [row["id_number"]]):
                if r["master_id"] != mid and not any(o["master_id"] == r["master_id"] for o in out):
                    out.append({"kind": "配偶 spouse", "master_id": r["master_id"], "name": r["name"], "note": None})
        for r in gold.rows("SELECT e.master_id, e.name FROM entity_legal_rep AS l JOIN entity_master AS e ON "
                           "e.master_id = l.entity_master_id WHERE l.person_master_id = ? ORDER BY 1", [mid]):
            out.append({"kind": "法定代表人 of", "master_id": r["master_id"], "name": r["name"], "note": None})
    elif master == "entity":
        for r in gold.rows("SELECT l.person_master_id AS master_id, l.legal_rep_name AS name, l.link FROM "
                           "entity_legal_rep AS l WHERE l.entity_master_id = ?", [mid]):
            out.append({"kind": "法定代表人 legal representative", "master_id": r["master_id"], "name": r["name"],
                        "note": r["link"]})
    return out


def master_page(gold: GoldReader, master_id: str) -> dict[str, Any]:
    """A master's golden attributes with their lineage, records, history, licences and relations."""
    view = master_view(gold.rows, master_id)
    m, row = view["master"], view["row"]
    # (a union of two indexed lookups, not one scan for "master_id = ? OR related_id = ?")
    cols = "event_id, event, related_id, attribute, old_value, new_value, batch_id, build_id, event_at"
    view["events"] = gold.rows(f"SELECT {cols} FROM master_events WHERE master_id = ? UNION SELECT {cols} FROM "
                               f"master_events WHERE related_id = ? ORDER BY event_at DESC, event_id DESC LIMIT 200",
                               [master_id, master_id])
    view["licences"] = gold.rows("SELECT master_id, type_code, number, status_as_of, valid_to, issuer_name FROM "
                                 "licence_master WHERE holder_master_id = ? ORDER BY type_code, master_id",
                                 [master_id]) if m != "licence" else []
    view["relations"] = _relations(gold, m, row)
    return view


def search(gold: GoldReader, text: str, limit: int = 30) -> list[dict[str, Any]]:
    """Masters whose id, identifier or name matches ``text`` (exact ids first, then names)."""
    t = text.strip()
    if not t:
        return []
    m = master_of(t)
    if m:
        return gold.rows(f"SELECT '{m}' AS master, master_id, {LABEL[m]} AS name FROM {m}_master WHERE master_id = ?",
                         [t])
    like = "%" + t.replace("%", "").replace("_", "") + "%"
    parts = [
        "SELECT 'person' AS master, master_id, name, 0 AS rank FROM person_master WHERE id_number = ?",
        "SELECT 'entity', master_id, name, 0 FROM entity_master WHERE uscc = ? OR org_code = ? OR reg_no = ?",
        "SELECT 'licence', master_id, holder_name, 0 FROM licence_master WHERE identifier = ? OR number = ?",
        "SELECT 'person', master_id, name, 1 FROM person_master WHERE name LIKE ?",
        "SELECT 'entity', master_id, name, 1 FROM entity_master WHERE name LIKE ?",
    ]
    return gold.rows(f"SELECT master, master_id, name FROM ({' UNION ALL '.join(parts)}) ORDER BY rank, master, "
                     f"master_id LIMIT {int(limit)}", [t, t, t, t, t, t, like, like])


def decisions(log: StewardLog) -> list[dict[str, Any]]:
    """The decision log, newest first, each with whether (and by what) it was undone."""
    ds = log.load()
    undone = {d.undoes: d for d in ds if d.kind == "undo"}
    out = []
    for d in reversed(ds):
        u: Decision | None = undone.get(d.decision_id)
        out.append({**d.__dict__, "undone_by": u.decision_id if u else None, "undone_at": u.at if u else None,
                    "records_json": json.dumps(d.records, ensure_ascii=False)})
    return out

