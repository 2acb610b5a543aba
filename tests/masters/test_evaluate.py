"""``evaluate`` on hand-made truth and gold, with precision and recall worked out by hand.

Why: the accuracy gates of the suite rest on these figures. A record that never reached gold
(quarantined or lost) must count as a miss; if it silently left the denominator, losing records
would raise recall.
"""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipelines.masters.evaluate import EvaluateError, evaluate

FEEDS = {"person": frozenset({"ps:czrk", "civil:hy"}), "entity": frozenset(), "licence": frozenset()}


Rows = list[tuple[str, str, list[str]]]


def _truth(root: Path, tables: dict[str, Rows]) -> Path:
    """``truth/records/<source>__<table>.parquet`` of (record_key, true_person_id, defects)."""
    rec = root / "truth" / "records"
    rec.mkdir(parents=True)
    con = duckdb.connect()
    for name, rows in tables.items():
        con.execute("CREATE OR REPLACE TABLE t (record_key VARCHAR, true_person_id VARCHAR, true_entity_id VARCHAR, "
                    "true_licence_id VARCHAR, defects VARCHAR[])")
        con.executemany("INSERT INTO t VALUES (?, ?, NULL, NULL, ?)", rows)
        con.execute(f"COPY t TO '{rec / (name + '.parquet')}' (FORMAT parquet)")
    con.close()
    return root / "truth"


def _gold(root: Path, xref: list[tuple[str, str]]) -> Path:
    """A gold store holding only ``person_xref`` (record_id, master_id, source, table_name)."""
    gold = root / "gold.duckdb"
    con = duckdb.connect(str(gold))
    con.execute("CREATE TABLE person_xref (record_id VARCHAR, master_id VARCHAR, source VARCHAR, table_name VARCHAR)")
    if xref:
        con.executemany("INSERT INTO person_xref VALUES (?, ?, split_part(?, ':', 1), split_part(?, ':', 2))",
                        [(r, m, r, r) for r, m in xref])
    con.close()
    return gold


# six records of three true persons: A (1, 2, 3), B (4, 5), C (6); true pairs 3 + 1 + 0 = 4
TRUTH: dict[str, Rows] = {"ps__czrk": [("1", "A", []), ("2", "A", []), ("3", "A", ["typo"]), ("4", "B", []), ("5", "B", ["typo"]),
                      ("6", "C", [])]}


def test_perfect_gold_scores_one(tmp_path: Path) -> None:
    truth = _truth(tmp_path, TRUTH)
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:3", "M1"), ("ps:czrk:4", "M2"),
                            ("ps:czrk:5", "M2"), ("ps:czrk:6", "M3")])
    s = evaluate(gold, truth, ("person",), FEEDS).masters["person"]
    assert (s.precision, s.recall, s.f1, s.records, s.true_pairs, s.predicted_pairs, s.tp_pairs) == (1, 1, 1, 6, 4, 4, 4)


def test_records_missing_from_gold_are_misses(tmp_path: Path) -> None:
    # 3 (of A) and 6 (C) never reached gold: of A's 3 true pairs only (1, 2) is found; B's pair found
    truth = _truth(tmp_path, TRUTH)
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:4", "M2"), ("ps:czrk:5", "M2")])
    ev = evaluate(gold, truth, ("person",), FEEDS)
    s = ev.masters["person"]
    assert (s.true_pairs, s.predicted_pairs, s.tp_pairs, s.records) == (4, 2, 2, 6)
    assert s.precision == 1.0 and s.recall == pytest.approx(0.5) and s.f1 == pytest.approx(2 / 3)
    assert ev.unmatched["person"] == 2
    # the defect view: 3 (missing) found none of its 2 partners, 5 found its 1 -> 1 of 3
    assert ev.defects["person"]["typo"] == {"records": 2, "recall": pytest.approx(1 / 3), "precision": 1.0}


def test_a_whole_table_missing_from_gold_counts(tmp_path: Path) -> None:
    # civil:hy feeds person but none of its records reached gold: its true pair with ps:czrk:6 is a miss
    truth = _truth(tmp_path, {**TRUTH, "civil__hy": [("h1", "C", []), ("h2", "D", [])]})
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:3", "M1"), ("ps:czrk:4", "M2"),
                            ("ps:czrk:5", "M2"), ("ps:czrk:6", "M3")])
    ev = evaluate(gold, truth, ("person",), FEEDS)
    s = ev.masters["person"]
    assert (s.true_pairs, s.tp_pairs, s.records) == (5, 4, 8) and s.recall == pytest.approx(0.8)
    assert ev.unmatched["person"] == 2


def test_tables_not_feeding_the_master_are_left_out(tmp_path: Path) -> None:
    # a licence register names its holder's true person, but does not feed the person master
    truth = _truth(tmp_path, {**TRUTH, "ms__zz": [("z1", "A", []), ("z2", "B", [])]})
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:3", "M1"), ("ps:czrk:4", "M2"),
                            ("ps:czrk:5", "M2"), ("ps:czrk:6", "M3")])
    ev = evaluate(gold, truth, ("person",), FEEDS)
    assert ev.masters["person"].recall == 1.0 and ev.masters["person"].records == 6 and ev.unmatched["person"] == 0


def test_wrong_merges_lower_precision(tmp_path: Path) -> None:
    # A split as (1, 2) + (3); B and C merged as (4, 5, 6): predicted 1 + 3 = 4, correct 1 + 1 = 2
    truth = _truth(tmp_path, TRUTH)
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:3", "M9"), ("ps:czrk:4", "M2"),
                            ("ps:czrk:5", "M2"), ("ps:czrk:6", "M2")])
    s = evaluate(gold, truth, ("person",), FEEDS).masters["person"]
    assert (s.predicted_pairs, s.tp_pairs, s.true_pairs) == (4, 2, 4)
    assert s.precision == pytest.approx(0.5) and s.recall == pytest.approx(0.5) and s.f1 == pytest.approx(0.5)


def test_day2_row_supersedes_day1(tmp_path: Path) -> None:
    # record 6 was C on day 1; the day-2 truth says it is B: now B has 3 true pairs and gold misses two
    truth = _truth(tmp_path, {**TRUTH, "ps__czrk__day2": [("6", "B", [])]})
    gold = _gold(tmp_path, [("ps:czrk:1", "M1"), ("ps:czrk:2", "M1"), ("ps:czrk:3", "M1"), ("ps:czrk:4", "M2"),
                            ("ps:czrk:5", "M2"), ("ps:czrk:6", "M3")])
    s = evaluate(gold, truth, ("person",), FEEDS).masters["person"]
    assert (s.true_pairs, s.tp_pairs, s.records) == (6, 4, 6) and s.recall == pytest.approx(4 / 6)


def test_missing_inputs_are_one_line_errors(tmp_path: Path) -> None:
    with pytest.raises(EvaluateError, match="no gold store"):
        evaluate(tmp_path / "nope.duckdb", tmp_path, ("person",), FEEDS)
    gold = _gold(tmp_path, [])
    with pytest.raises(EvaluateError, match="not a truth folder"):
        evaluate(gold, tmp_path, ("person",), FEEDS)
