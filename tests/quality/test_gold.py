"""With a gold store: match rate, review queue, conflicts against the golden record, golden-record
checks; without one (or an unreadable one), the scorecards go on and say why."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from quality.run import RunResult, run_quality
from quality.store import QualityStore
from tests.quality.lakes import add_batch, defective_person_rows, person_rows, write_public_security

AS_OF = dt.datetime(2026, 11, 20, 8, 0, 0)


def _gold(path: Path, ps: list[dict[str, Any]], hrss: list[dict[str, Any]]) -> dict[str, Any]:
    """person_master / person_xref / review_queue as the master build lays them out, plus the
    expected figures computed here in plain Python."""
    masters: dict[str, dict[str, Any]] = {}
    xref = []
    for r in ps:
        key = r["id_number"] or f"none-{r['_record_key']}"
        mid = masters.setdefault(key, {"master_id": f"P{len(masters):06d}", "id_number": r["id_number"],
                                        "name": r["name"], "sex": r["sex"], "birth_date": r["birth_date"]})["master_id"]
        xref.append({"record_id": f"public_security:hjxx_czrk:{r['_record_key']}", "master_id": mid,
                     "source": "public_security", "table_name": "hjxx_czrk", "record_key": r["_record_key"]})
    # the golden record keeps the ID's own sex and birth date, and a corrected name for 20-24
    for i, r in enumerate(ps):
        if r["id_number"] and 12 <= i <= 18:
            g = masters[r["id_number"]]
            g["sex"] = "1" if int(r["id_number"][16]) % 2 else "2"
            g["birth_date"] = dt.datetime.strptime(r["id_number"][6:14], "%Y%m%d").date()
        if 20 <= i <= 24:
            masters[r["id_number"]]["name"] = "李" + r["name"][1:]
    for r in hrss:
        xref.append({"record_id": f"hrss:si_cbry:{r['_record_key']}", "master_id": masters[r["id_number"]]["master_id"],
                     "source": "hrss", "table_name": "si_cbry", "record_key": r["_record_key"]})
    con = duckdb.connect(str(path))
    for name, rows in (("person_master", list(masters.values())), ("person_xref", xref)):
        con.register("t", pa.Table.from_pylist(rows))
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM t")
        con.unregister("t")
    con.execute("CREATE TABLE review_queue (master VARCHAR, record_id VARCHAR, candidate_record_id VARCHAR, "
                "match_weight DOUBLE)")
    con.execute("INSERT INTO review_queue VALUES ('person', 'a', 'b', 3.0), ('person', 'c', 'd', 2.0), "
                "('person', 'e', 'f', 1.0), ('entity', 'g', 'h', 1.5)")
    con.close()
    # expected, the long way round
    by_master: dict[str, set[str]] = {}
    for x in xref:
        by_master.setdefault(x["master_id"], set()).add(x["source"])
    matched = sum(1 for x in xref if len(by_master[x["master_id"]]) > 1)
    golden = {g["master_id"]: g for g in masters.values()}
    compared = conflicts = 0
    rows_by_key = {("public_security", r["_record_key"]): r for r in ps} | {("hrss", r["_record_key"]): r for r in hrss}
    for x in xref:
        r, g = rows_by_key[(x["source"], x["record_key"])], golden[x["master_id"]]
        for col in ("id_number", "name", "sex", "birth_date"):
            if r.get(col) is not None and g[col] is not None:
                compared += 1
                conflicts += r[col] != g[col]
    return {"xref": len(xref), "matched": matched, "masters": len(masters), "compared": compared,
            "conflicts": conflicts}


@pytest.fixture(scope="module")
def gold_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[RunResult, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("gold")
    lake = write_public_security(tmp / "lake")
    ps = defective_person_rows()
    hrss = [dict(r, _record_key=f"H{i}") for i, r in enumerate(person_rows(100)[30:40])]
    add_batch(lake, "hrss", "si_cbry", "h1", {"person": hrss})
    expected = _gold(tmp / "gold.duckdb", ps, hrss)
    res = run_quality(lake, QualityStore(tmp / "store"), gold_path=tmp / "gold.duckdb", as_of=AS_OF)
    return res, expected


def test_match_rate_and_review_queue(gold_run: tuple[RunResult, dict[str, Any]]) -> None:
    res, exp = gold_run
    g = next(g for g in res.gold if g.master == "person")
    assert g.available and g.golden_records == exp["masters"]
    assert (g.xref_records, g.matched_records) == (exp["xref"], exp["matched"]) == (110, 20)
    assert g.match_rate == pytest.approx(20 / 110)
    assert g.review_queue == 3  # the entity item is not counted for person
    other = {x.master: x for x in res.gold}
    assert not other["entity"].available and "entity_master" in other["entity"].note


def test_conflicts_against_the_golden_record(gold_run: tuple[RunResult, dict[str, Any]]) -> None:
    res, exp = gold_run
    g = next(g for g in res.gold if g.master == "person")
    assert (g.compared, g.conflicts) == (exp["compared"], exp["conflicts"])
    # 5 sex + 2 birth dates contradicting the ID + 5 renamed golden names + 1 name under a shared ID
    assert exp["conflicts"] == 13
    assert g.conflict_by_element["sex"][1] == 5 and g.conflict_by_element["birth_date"][1] == 2
    feed = next(s for s in res.scores_at("feed") if s.source == "public_security")
    assert feed.conflicts == 13 and feed.conflict_rate == pytest.approx(13 / feed.compared)
    hrss = next(s for s in res.scores_at("feed") if s.source == "hrss")
    assert hrss.conflicts == 0 and hrss.compared > 0


def test_golden_records_are_checked_too(gold_run: tuple[RunResult, dict[str, Any]]) -> None:
    res, _ = gold_run
    (gs,) = res.scores_at("gold")
    assert gs.master == "person" and gs.rows == 99  # 92 ids + 7 records whose id never validated
    gchecks = {c.check_id: c for c in res.checks if c.kind == "master"}
    assert gchecks["person.id_number:uniqueness"].failed == 0
    assert gchecks["person.id_number:completeness"].failed == 7
    assert gchecks["person.sex:consistency:resident_id_embeds_gb2261_sex"].failed == 0
    line = gchecks["person.id_number:completeness"].line()
    assert line.startswith("gold person_master person.id_number completeness") and "P0000" in line


def test_busy_or_broken_gold_does_not_stop_the_scorecards(tmp_path: Path) -> None:
    lake = write_public_security(tmp_path / "lake")
    bad = tmp_path / "gold.duckdb"
    bad.write_bytes(b"this is not a duckdb file")
    res = run_quality(lake, QualityStore(tmp_path / "store"), gold_path=bad, as_of=AS_OF)
    assert all(not g.available and "not readable" in g.note for g in res.gold)
    assert res.scores_at("feed")[0].validity == pytest.approx(0.93)
