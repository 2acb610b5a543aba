"""Scorecards reflect exactly the defects injected into a hand-made source table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from pipelines.lake import Lake
from quality.run import QualityError, RunResult, run_quality
from quality.scorecard import CheckResult, Score
from quality.store import QualityStore
from tests.quality.lakes import (
    add_batch,
    bad_check,
    defective_person_rows,
    person_rows,
    write_public_security,
)

AS_OF = dt.datetime(2026, 11, 20, 8, 0, 0)


def _run(lake: Lake, tmp: Path) -> RunResult:
    return run_quality(lake, QualityStore(tmp / "store"), gold_path=tmp / "no-gold.duckdb", as_of=AS_OF)


@pytest.fixture(scope="module")
def result(tmp_path_factory: pytest.TempPathFactory) -> RunResult:
    tmp = tmp_path_factory.mktemp("scores")
    return _run(write_public_security(tmp / "lake"), tmp)


def _feed(res: RunResult) -> Score:
    (s,) = [s for s in res.scores_at("feed") if s.source == "public_security"]
    return s


def test_dimensions_are_exactly_the_injected_defects(result: RunResult) -> None:
    s = _feed(result)
    assert s.rows == 100
    assert s.incomplete == 3 and s.completeness == pytest.approx(0.97)      # 3 missing names
    assert s.invalid == 7 and s.validity == pytest.approx(0.93)             # 7 ids with a wrong check char
    assert s.inconsistent == 7 and s.consistency == pytest.approx(0.93)     # 5 sex + 2 birth-date contradictions
    assert s.nonconforming == 15 and s.conformity == pytest.approx(0.85)    # + 1 lowercase-x repair
    assert (s.keyed, s.duplicates, s.dup_rows) == (93, 1, 2)                # one id sent twice
    assert s.duplicate_rate == pytest.approx(1 / 93)
    assert (s.extracted, s.quarantined) == (103, 3) and s.quarantine_rate == pytest.approx(3 / 103)
    assert s.newest_update == dt.datetime(2026, 11, 19, 8, 0) and s.age_hours == pytest.approx(24.0)
    assert s.conflict_rate is None  # no gold store


def test_checks_count_each_defect_once(result: RunResult) -> None:
    by_id = {c.check_id: c for c in result.checks if c.source == "public_security"}
    assert (by_id["person.id_number:validity"].failed, by_id["person.id_number:validity"].scope) == (7, 100)
    assert by_id["person.id_number:validity"].reasons == {"BAD_CHECK": 7}
    assert by_id["person.name:completeness"].failed == 3
    assert by_id["person.name:completeness"].reasons == {"MISSING": 3}
    assert by_id["person.id_number:completeness"].failed == 0
    assert by_id["person.id_number:uniqueness"].failed == 2
    assert by_id["person.sex:consistency:resident_id_embeds_gb2261_sex"].failed == 5
    assert by_id["person.birth_date:consistency:resident_id_embeds_birth_date"].failed == 2
    assert by_id["person.ethnicity:membership"].failed == 0
    assert sum(c.failed for c in by_id.values()) == 7 + 3 + 2 + 5 + 2


def test_failures_name_source_element_and_sample_rows(result: RunResult) -> None:
    rows = defective_person_rows()
    bad = {r["_record_key"]: r["id_number_raw"] for r in rows[:7]}
    (c,) = [c for c in result.failures() if c.check_id == "person.id_number:validity"]
    assert (c.source, c.table, c.element) == ("public_security", "hjxx_czrk", "person.id_number")
    assert c.samples and all(s["record_key"] in bad and s["value"] == bad[s["record_key"]] for s in c.samples)
    line = c.line()
    assert line.startswith("public_security.hjxx_czrk person.id_number validity")
    assert c.samples[0]["record_key"] in line and "7 of 100" in line


@pytest.mark.parametrize(("element", "rule", "value"), [
    # a holder ID failing the holder-type consistency check: the rule is not a personal one, the
    # element is, and the garbled birth year (1590) keeps the text-level safety net from seeing an ID
    ("licence.holder_id", "valid_for_holder_id_type", "111:110101159001010011"),
    ("person.id_number", "resident_id", "110101159001010011"),
])
def test_a_failure_line_masks_a_personal_element_whatever_the_rule(element: str, rule: str, value: str) -> None:
    c = CheckResult(suite="s", kind="feed", source="hrss", table="sbk", master=element.split(".")[0],
                    check_id=f"{element}:consistency", dimension="consistency", element=element, rule=rule,
                    description="", rows=10, scope=10, failed=1, reasons={"BAD_CHECK": 1},
                    samples=[{"record_key": "K1", "value": value}])
    line = c.line()
    assert "K1=" in line and value not in line and "159001010011" not in line


def test_a_failure_line_shows_a_non_personal_value() -> None:
    c = CheckResult(suite="s", kind="feed", source="market", table="qydj", master="entity",
                    check_id="entity.uscc:validity", dimension="validity", element="entity.uscc", rule="uscc",
                    description="", rows=10, scope=10, failed=1, reasons={"BAD_CHECK": 1},
                    samples=[{"record_key": "K1", "value": "91340100MA2N0X1234"}])
    assert "'91340100MA2N0X1234'" in c.line()


def test_rollups_add_counts(tmp_path: Path) -> None:
    lake = write_public_security(tmp_path / "lake")
    add_batch(lake, "hrss", "si_cbry", "b0002", {"person": person_rows(50, "H")})
    res = _run(lake, tmp_path)
    (m,) = res.scores_at("master")
    assert m.master == "person" and m.rows == 150
    assert m.validity == pytest.approx(1 - 7 / 150) and m.completeness == pytest.approx(1 - 3 / 150)
    assert m.quarantine_rate == pytest.approx(3 / 153)
    sources = {s.source: s for s in res.scores_at("source")}
    assert sources["hrss"].validity == 1.0 and sources["public_security"].validity == pytest.approx(0.93)


def test_snapshot_takes_the_newest_version_of_each_record(tmp_path: Path) -> None:
    lake = write_public_security(tmp_path / "lake")
    rows = defective_person_rows()
    fixed = [dict(rows[i], _issues=[]) for i in range(2)]  # corrected ids, day 2
    for i, r in enumerate(fixed):
        r["id_number"] = r["id_number_raw"] = person_rows(100)[i]["id_number"]
    gone = dict(rows[7], _deleted=True)  # one record without a name is deleted upstream
    add_batch(lake, "public_security", "hjxx_czrk", "b0009", {"person": fixed + [gone]},
              extracted_at="2026-11-20 03:00:00")
    s = _feed(_run(lake, tmp_path))
    assert s.rows == 99
    assert s.invalid == 5 and s.incomplete == 2


def test_a_placeholder_is_missing_not_invalid(tmp_path: Path) -> None:
    rows = person_rows(10)
    rows[0].update(id_number=None, id_number_raw="111111111111111111",
                   _issues=[{"element": "person.id_number", "reason": "PLACEHOLDER", "value": "111111111111111111"}])
    rows[1].update(id_number=None, id_number_raw=bad_check(rows[1]["id_number"]))
    lake = Lake(tmp_path / "lake")
    add_batch(lake, "hrss", "si_cbry", "b1", {"person": rows})
    s = _run(lake, tmp_path).scores_at("feed")[0]
    assert (s.incomplete, s.invalid) == (1, 1)


def test_empty_lake_is_a_one_line_error(tmp_path: Path) -> None:
    with pytest.raises(QualityError, match="no committed batches"):
        _run(Lake(tmp_path / "empty"), tmp_path)


def test_run_is_recorded(result: RunResult) -> None:
    assert result.stored_at is not None and (result.stored_at / "scores.parquet").exists()
    store = QualityStore(result.stored_at.parent.parent)
    assert store.latest() == result.run_id
    rows = store.read("scores")
    feed = next(r for r in rows if r["level"] == "feed")
    assert feed["validity"] == pytest.approx(0.93) and feed["rows"] == 100
    checks = store.read("checks")
    assert any(c["check_id"] == "person.id_number:validity" and c["failed"] == 7 for c in checks)
    assert {q["reason"] for q in store.read("quarantine")} == {"BAD_DATE", "UNMAPPED_CODE"}


def test_snapshot_keeps_what_the_newest_batch_rank_keeps(tmp_path: Path) -> None:
    """The snapshot's semi-join keeps exactly the rows ``rank() OVER (PARTITION BY _record_key ORDER
    BY batch DESC) = 1`` keeps: all rows of a key's newest batch (a key sent twice in it stays
    twice), NULL keys as one key, then deletions dropped."""
    import duckdb
    import pyarrow as pa
    import pyarrow.parquet as pq

    from quality.frame import parquet_source, snapshot_sql

    batches: dict[str, list[tuple[str | None, str, bool]]] = {"b1": [("k1", "old", False), ("k2", "old", False), ("k3", "old", False), (None, "n-old", False)],
               "b2": [("k1", "new", False), ("k1", "new-twice", False), ("k3", "gone", True), (None, "n-new", False)],
               "b3": [("k4", "only", False), ("k2", "mid", False)]}
    files = []
    for b, rows in batches.items():
        p = tmp_path / f"{b}.parquet"
        pq.write_table(pa.table({"_record_key": [r[0] for r in rows], "v": [r[1] for r in rows],
                                 "_deleted": [r[2] for r in rows], "_batch_id": [b] * len(rows)}), p)
        files.append(p)
    order = ["b1", "b2", "b3"]
    con = duckdb.connect()
    got = sorted(con.execute(f"SELECT _record_key, v FROM ({snapshot_sql(files, order)})").fetchall(), key=str)
    window = (f"SELECT _record_key, v FROM (SELECT * FROM {parquet_source(files)} QUALIFY rank() OVER (PARTITION BY "
              f"_record_key ORDER BY list_position({order}, _batch_id) DESC) = 1) WHERE NOT coalesce(_deleted, FALSE)")
    assert got == sorted(con.execute(window).fetchall(), key=str)
    assert got == sorted([("k1", "new"), ("k1", "new-twice"), ("k2", "mid"), ("k4", "only"), (None, "n-new")], key=str)
