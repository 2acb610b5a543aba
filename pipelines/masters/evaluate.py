"""Score the gold masters against the synthetic city's ground truth: ``masterdata evaluate``.

Truth is read only here (``OUT/truth/records/{source}__{table}[__day2].parquet``: record_key,
true_person_id / true_entity_id / true_licence_id, defects; a record's day-2 row supersedes its
day-1 row).  Measures, over every true record of the tables feeding a master (those missing from gold -
quarantined or lost - are misses, and also counted apart as "not in gold"):

* pairwise precision / recall / F1 per master: a pair of records is predicted when both carry the
  same master id and true when both carry the same true id.  Exact counts come from group sizes,
  ``sum C(n, 2)`` over (master), (truth) and (master, truth) groups - no pair is materialised;
* per defect type, record-centred: for the records carrying the defect, the share of their true
  partners that share their master (recall) and the share of their master-mates that are true
  partners (precision);
* licence-to-holder linkage: a licence is linked correctly when its holder master is the master
  most of the true holder's records went to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from core.errors import InputError
from core.sqltext import lit

TRUE_ID = {"person": "true_person_id", "entity": "true_entity_id", "licence": "true_licence_id"}


class EvaluateError(InputError):
    """Missing truth or gold (one line for the command line)."""


@dataclass
class Scores:
    precision: float
    recall: float
    f1: float
    records: int
    predicted_pairs: int
    true_pairs: int
    tp_pairs: int

    @classmethod
    def of(cls, tp: int, pred: int, true: int, records: int) -> Scores:
        p = tp / pred if pred else 1.0
        r = tp / true if true else 1.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return cls(p, r, f, records, pred, true, tp)


@dataclass
class Evaluation:
    masters: dict[str, Scores] = field(default_factory=dict)
    defects: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)
    licence_holder: dict[str, float] = field(default_factory=dict)
    unmatched: dict[str, int] = field(default_factory=dict)

    def render(self) -> str:
        lines = ["master     precision    recall        F1     records   true pairs  predicted"]
        for m, s in self.masters.items():
            lines.append(f"{m:8} {s.precision:11.5f} {s.recall:9.5f} {s.f1:9.5f} {s.records:11,} {s.true_pairs:12,} "
                         f"{s.predicted_pairs:10,}  (not in gold: {self.unmatched.get(m, 0):,})")
        if self.licence_holder:
            h = self.licence_holder
            lines.append(f"licence-to-holder linkage: {h['accuracy']:.5f} ({int(h['correct']):,} / {int(h['total']):,}; "
                         f"unlinked {int(h['unlinked']):,})")
        for m, per in self.defects.items():
            if not per:
                continue
            lines.append(f"{m} per defect (records, recall, precision):")
            for d, v in sorted(per.items(), key=lambda kv: kv[1]["recall"]):
                lines.append(f"  {d:28} {int(v['records']):>9,} {v['recall']:9.5f} {v['precision']:9.5f}")
        return "\n".join(lines)

    def as_dict(self) -> dict[str, object]:
        return {"masters": {m: s.__dict__ for m, s in self.masters.items()}, "defects": self.defects,
                "licence_holder": self.licence_holder, "not_in_gold": self.unmatched}


def _truth_view(con: duckdb.DuckDBPyConnection, truth: Path) -> None:
    day1 = sorted(p for p in (truth / "records").glob("*.parquet") if not p.stem.endswith("__day2"))
    day2 = sorted((truth / "records").glob("*__day2.parquet"))
    if not day1:
        raise EvaluateError(f"{truth}: no truth/records/*.parquet (is this a generated city's truth folder?)")

    def part(files: list[Path], rank: int) -> str:
        sel = []
        for f in files:
            stem = f.stem.removesuffix("__day2")
            source, table = stem.split("__", 1)
            sel.append(f"SELECT {lit(source)} || ':' || {lit(table)} || ':' || record_key AS record_id, "
                       f"true_person_id, true_entity_id, true_licence_id, defects, {rank} AS rank "
                       f"FROM read_parquet({lit(str(f))})")
        return " UNION ALL BY NAME ".join(sel)

    body = part(day1, 1) + (" UNION ALL BY NAME " + part(day2, 2) if day2 else "")
    con.execute(f"CREATE OR REPLACE TEMP TABLE truth AS SELECT * EXCLUDE (rank) FROM ({body}) "
                f"QUALIFY row_number() OVER (PARTITION BY record_id ORDER BY rank DESC) = 1")


def _pairwise(con: duckdb.DuckDBPyConnection, master: str, feeds: frozenset[str]) -> tuple[Scores, int]:
    """Pairwise scores over every true record of the tables feeding ``master``.

    A record missing from gold (quarantined, or lost) keeps its true pairs and predicts none: each of
    them is a miss, so losing records lowers recall instead of vanishing from the denominator."""
    tid = TRUE_ID[master]
    tables = ", ".join(lit(t) for t in sorted(feeds)) or "NULL"
    con.execute(f"CREATE OR REPLACE TEMP TABLE ev AS SELECT t.record_id, x.master_id, t.{tid} AS true_id, t.defects "
                f"FROM truth AS t LEFT JOIN gold.{master}_xref AS x ON x.record_id = t.record_id "
                f"WHERE t.{tid} IS NOT NULL AND (split_part(t.record_id, ':', 1) || ':' || "
                f"split_part(t.record_id, ':', 2) IN ({tables}) OR x.master_id IS NOT NULL)")
    missing = int(con.execute("SELECT count(*) FROM ev WHERE master_id IS NULL").fetchone()[0])  # type: ignore[index]

    def pairs(group: str, where: str = "TRUE") -> int:
        return int(con.execute(f"SELECT coalesce(sum(n * (n - 1) / 2), 0) FROM (SELECT count(*) AS n FROM ev "
                               f"WHERE {where} GROUP BY {group})").fetchone()[0])  # type: ignore[index]

    n = int(con.execute("SELECT count(*) FROM ev").fetchone()[0])  # type: ignore[index]
    placed = "master_id IS NOT NULL"
    return Scores.of(pairs("master_id, true_id", placed), pairs("master_id", placed), pairs("true_id"), n), missing


def _per_defect(con: duckdb.DuckDBPyConnection) -> dict[str, dict[str, float]]:
    # a record missing from gold shares its master with nobody: c = m = 1
    rows = con.execute(
        "WITH sizes AS (SELECT record_id, defects, "
        "CASE WHEN master_id IS NULL THEN 1 ELSE count(*) OVER (PARTITION BY master_id) END AS m, "
        "count(*) OVER (PARTITION BY true_id) AS t, "
        "CASE WHEN master_id IS NULL THEN 1 ELSE count(*) OVER (PARTITION BY master_id, true_id) END AS c FROM ev) "
        "SELECT d, count(*), sum(c - 1), sum(t - 1), sum(m - 1) FROM (SELECT unnest(defects) AS d, c, t, m FROM sizes) "
        "GROUP BY d ORDER BY d"
    ).fetchall()
    out = {}
    for d, n, tp, true, pred in rows:
        out[str(d)] = {"records": int(n), "recall": float(tp / true) if true else 1.0,
                       "precision": float(tp / pred) if pred else 1.0}
    return out


def feeding_tables() -> dict[str, frozenset[str]]:
    """``source:table`` of every registered table, per master it feeds (what gold should hold)."""
    from pipelines.registry import registry

    out: dict[str, set[str]] = {m: set() for m in TRUE_ID}
    for spec in registry().values():
        for t in spec.tables:
            for m in t.feeds:
                out[m].add(f"{spec.source}:{t.name}")
    return {m: frozenset(v) for m, v in out.items()}


def _licence_holders(con: duckdb.DuckDBPyConnection, truth: Path) -> dict[str, float]:
    lic = truth / "licences.parquet"
    day2 = truth / "day2" / "licences.parquet"
    files = [lic] + ([day2] if day2.exists() else [])
    con.execute(
        f"CREATE OR REPLACE TEMP TABLE tl AS SELECT licence_id, holder_person_id, holder_entity_id FROM "
        f"read_parquet([{', '.join(lit(str(f)) for f in files)}], union_by_name = true) "
        f"QUALIFY row_number() OVER (PARTITION BY licence_id ORDER BY holder_person_id NULLS LAST) = 1"
    )
    # which master each true person / entity ended up in (the majority of its records)
    for m, tid in (("person", "true_person_id"), ("entity", "true_entity_id")):
        con.execute(
            f"CREATE OR REPLACE TEMP TABLE home_{m} AS SELECT true_id, master_id FROM (SELECT t.{tid} AS true_id, "
            f"x.master_id, count(*) AS n FROM gold.{m}_xref AS x JOIN truth AS t ON t.record_id = x.record_id "
            f"WHERE t.{tid} IS NOT NULL GROUP BY ALL) QUALIFY row_number() OVER (PARTITION BY true_id "
            f"ORDER BY n DESC, master_id) = 1"
        )
    row = con.execute(
        "WITH l AS (SELECT lx.record_id, lm.holder_master_id, tl.holder_person_id, tl.holder_entity_id "
        "FROM gold.licence_xref AS lx JOIN gold.licence_master AS lm ON lm.master_id = lx.master_id "
        "JOIN truth AS t ON t.record_id = lx.record_id JOIN tl ON tl.licence_id = t.true_licence_id) "
        "SELECT count(*), count(*) FILTER (WHERE l.holder_master_id = coalesce(hp.master_id, he.master_id)), "
        "count(*) FILTER (WHERE l.holder_master_id IS NULL) FROM l "
        "LEFT JOIN home_person AS hp ON hp.true_id = l.holder_person_id "
        "LEFT JOIN home_entity AS he ON he.true_id = l.holder_entity_id"
    ).fetchone()
    total, correct, unlinked = (int(x) for x in row)  # type: ignore[union-attr]
    return {"accuracy": correct / total if total else 1.0, "correct": correct, "total": total, "unlinked": unlinked}


def evaluate(gold: Path, truth: Path, masters: tuple[str, ...] = ("person", "entity", "licence"),
             feeds: dict[str, frozenset[str]] | None = None) -> Evaluation:
    """Score ``gold`` against ``truth`` (a generated city's ``truth`` folder).

    ``feeds`` names, per master, the ``source:table`` whose true records gold should hold (default:
    the registry's ``feeds``); a true record of those tables absent from gold is a miss."""
    feeds = feeding_tables() if feeds is None else feeds
    if not gold.exists():
        raise EvaluateError(f"no gold store at {gold}: run `masterdata build` first")
    if not (truth / "records").is_dir():
        raise EvaluateError(f"{truth}: not a truth folder (no records/ inside)")
    con = duckdb.connect()
    con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
    _truth_view(con, truth)
    ev = Evaluation()
    for m in masters:
        has = con.execute("SELECT count(*) FROM duckdb_tables() WHERE database_name = 'gold' AND table_name = ?",
                          [f"{m}_xref"]).fetchone()[0]  # type: ignore[index]
        if not has:
            continue
        ev.masters[m], ev.unmatched[m] = _pairwise(con, m, feeds.get(m, frozenset()))
        ev.defects[m] = _per_defect(con)
    if "licence" in ev.masters and "person" in ev.masters and "entity" in ev.masters:
        ev.licence_holder = _licence_holders(con, truth)
    con.close()
    return ev
