"""``build`` end to end on a tiny hand-made lake: masters, ids, deltas, stewards, lineage, licences.

The lake holds three departments' person records (with a homophone, a traditional-character name,
a transposed ID, a 15-digit ID, an infant under the mother's ID, identical twins), two entity
sources (a lower-case USCC, a legacy organisation code) and licences (a driving licence on a
person row, a birth certificate whose holder id is the mother's, a real-estate title with a
mistyped holder ID).  Matching parameters are fixed (``tiny_lake.fixed_configs``).
"""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.lake import Lake
from pipelines.masters.build import build
from pipelines.resolve.steward import Decision, StewardError, StewardLog
from standards.identifiers import licence_check_char, org_code_check_char, uscc_check_char
from tests.masters.helpers import rid
from tests.masters.tiny_lake import add_batch, fixed_configs

ZW = rid("34160219800101001")
WF = rid("34160219820203002")
BABY = rid("34160220200304003")
TWIN_A, TWIN_B = rid("34162220100505011"), rid("34162220100505013")
OLD15 = "341602750607021"
ADDR = "安徽省亳州市谯城区花戏楼街道光明社区8号"


def uscc(org8: str) -> str:
    body = "91341602" + org8 + org_code_check_char(org8)
    return body + uscc_check_char(body)


U1 = uscc("MA2N0001")
U2 = uscc("MA2N0002")
AS_OF = date(2026, 11, 25)


def day1(lake: Lake) -> None:
    twin = {"name": "王子涵", "birth_date": "2010-05-05", "sex": "1", "household_address": ADDR}
    add_batch(lake, "public_security", "hjxx_czrk", "b1", [
        {"key": "1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01", "sex": "1",
         "household_address": ADDR, "ethnicity": "01"},
        {"key": "2", "id_number_raw": WF, "name": "王芳", "birth_date": "1982-02-03", "sex": "2", "household_address": ADDR},
        {"key": "3", "id_number_raw": BABY, "name": "王小明", "birth_date": "2020-03-04", "sex": "1",
         "household_address": ADDR},
        {"key": "4", "id_number_raw": TWIN_A, **twin},
        {"key": "5", "id_number_raw": TWIN_B, **twin},
        {"key": "6", "id_number_raw": OLD15[:6] + "19" + OLD15[6:] + "X", "name": "李强"},  # bad check: fuzzy
        {"key": "7", "id_number_raw": rid((OLD15[:6] + "19" + OLD15[6:])[:17]), "name": "李强",
         "birth_date": "1975-06-07", "sex": "1"},
    ])
    swapped = ZW[:8] + ZW[9] + ZW[8] + ZW[10:]
    add_batch(lake, "grassroots_service", "fwjl", "g1", [
        {"key": "FW1", "id_number_raw": swapped, "name": "章伟", "sex": "1", "phone": "13912345678"},
        {"key": "FW2", "name": "張偉", "birth_date": "1980-01-01", "sex": "1", "residential_address": ADDR,
         "phone": "13912345678"},
        {"key": "FW3", "name": "王子涵", "birth_date": "2010-05-05", "sex": "1", "residential_address": ADDR},
        {"key": "FW4", "id_number_raw": "000000000000000000", "name": "李娜", "phone": "13800000000"},
    ])
    add_batch(lake, "medical_security", "yb_cbdj", "m1", [
        {"key": "M1", "id_number_raw": WF, "name": "王小明", "birth_date": "2020-03-04", "sex": "1"},  # mother's ID
        {"key": "M2", "id_number_raw": OLD15, "name": "李强", "phone": "13700001111"},
    ])
    add_batch(lake, "traffic_police", "drv_license", "t1", [
        {"key": "D1", "id_number_raw": ZW, "name": "张伟", "phone": "13912345678", "type_code": "004",
         "number": "341600001", "holder_id_raw": ZW, "holder_id_type": "111", "holder_name": "张伟",
         "valid_from": "2010-01-01", "valid_to": "2016-01-01", "status": "1"},
    ], feeds=("person", "licence"))
    add_batch(lake, "health", "csyxzm", "h1", [
        {"key": "BC1", "name": "王小明", "birth_date": "2020-03-04", "sex": "1", "guardian_id_number_raw": WF,
         "type_code": "020", "number": "N0001", "holder_id_raw": WF, "holder_id_type": "111", "holder_name": "王小明",
         "valid_from": "2020-03-10"},
    ], feeds=("person", "licence"))
    typo_wf = WF[:5] + ("1" if WF[5] != "1" else "2") + WF[6:]
    add_batch(lake, "natural_resources", "bdc_qlr", "n1", [
        {"key": "R1|x", "type_code": "035", "number": "皖(2020)亳州市不动产权第0000001号", "holder_id_raw": typo_wf,
         "holder_id_type": "111", "holder_name": "王芳", "valid_from": "2020-01-01", "status": "3"},
    ], feeds=("licence",))
    add_batch(lake, "market_regulation", "scztdj", "e1", [
        {"key": "P1", "uscc_raw": U1, "name": "亳州市谯城区便民超市有限公司", "legal_rep_name": "张伟",
         "legal_rep_id_number_raw": ZW, "registered_address": ADDR, "type_code": "028", "number": U1,
         "holder_id_raw": U1, "holder_id_type": "001", "holder_name": "亳州市谯城区便民超市有限公司",
         "valid_from": "2015-01-01"},
        {"key": "P2", "uscc_raw": U2, "name": "亳州市蒙城县农机合作社", "legal_rep_name": "王芳",
         "type_code": "030", "number": U2, "holder_id_raw": U2, "holder_id_type": "001",
         "holder_name": "亳州市蒙城县农机合作社", "valid_from": "2018-01-01"},
    ], feeds=("entity", "licence"))
    add_batch(lake, "tax", "dj_nsrxx", "x1", [
        {"key": "T1", "uscc_raw": U1.lower(), "name": "谯城区便民超市有限责任公司"},
        {"key": "T2", "uscc_raw": U2[8:16] + "-" + U2[16], "name": "蒙城县农机合作社"},  # legacy org code
    ], feeds=("entity",))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny")
    lake = Lake(root / "lake")
    day1(lake)
    fixed_configs(root / "configs")
    build(lake=lake, gold=root / "gold" / "gold.duckdb", config_dir=root / "configs", as_of=AS_OF)
    return root


def run(root: Path, **kw: object) -> object:
    return build(lake=Lake(root / "lake"), gold=root / "gold" / "gold.duckdb", config_dir=root / "configs",
                 as_of=AS_OF, **kw)  # type: ignore[arg-type]


def masters(root: Path, master: str = "person") -> dict[str, str]:
    with duckdb.connect(str(root / "gold" / "gold.duckdb"), read_only=True) as con:
        return dict(con.execute(f"SELECT record_id, master_id FROM {master}_xref").fetchall())


def q(root: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(root / "gold" / "gold.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


@pytest.fixture()
def copy(built: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.delenv("MASTERDATA_STEWARD", raising=False)
    shutil.copytree(built, tmp_path / "c")
    return tmp_path / "c"


def test_persons_resolved(built: Path) -> None:
    x = masters(built)
    zw = x["public_security:hjxx_czrk:1"]
    assert {x["grassroots_service:fwjl:FW1"], x["grassroots_service:fwjl:FW2"], x["traffic_police:drv_license:D1"]} == {zw}
    assert x["medical_security:yb_cbdj:M1"] == x["public_security:hjxx_czrk:3"] == x["health:csyxzm:BC1"]
    assert x["medical_security:yb_cbdj:M1"] != x["public_security:hjxx_czrk:2"]  # not the mother
    assert x["public_security:hjxx_czrk:4"] != x["public_security:hjxx_czrk:5"]  # twins
    assert x["grassroots_service:fwjl:FW3"] not in (x["public_security:hjxx_czrk:4"], x["public_security:hjxx_czrk:5"])
    assert x["medical_security:yb_cbdj:M2"] == x["public_security:hjxx_czrk:7"]  # 15-digit ID
    assert len(set(x.values())) == len(set(x.values()))
    assert q(built, "SELECT count(*) FROM review_queue WHERE reason = 'ambiguous'")[0][0] >= 1


def test_entities_and_legal_reps(built: Path) -> None:
    e = masters(built, "entity")
    assert e["market_regulation:scztdj:P1"] == e["tax:dj_nsrxx:T1"]
    assert e["market_regulation:scztdj:P2"] == e["tax:dj_nsrxx:T2"]  # via the organisation code
    assert e["market_regulation:scztdj:P1"] != e["market_regulation:scztdj:P2"]
    p = masters(built)
    rep = q(built, f"SELECT legal_rep_master_id, uscc FROM entity_master WHERE master_id = '{e['market_regulation:scztdj:P1']}'")
    assert rep == [(p["public_security:hjxx_czrk:1"], U1)]


def test_licences_holders_identifiers_status(built: Path) -> None:
    p = masters(built)
    lic = {r[0]: r[1:] for r in q(built, "SELECT x.record_id, m.holder_master_id, m.holder_link, m.identifier, "
                                          "m.status_as_of FROM licence_xref x JOIN licence_master m USING (master_id)")}
    assert lic["traffic_police:drv_license:D1"][:2] == (p["public_security:hjxx_czrk:1"], "same_record")
    assert lic["traffic_police:drv_license:D1"][3] == "expired"
    assert lic["health:csyxzm:BC1"][0] == p["public_security:hjxx_czrk:3"]  # the infant, not the mother
    assert lic["natural_resources:bdc_qlr:R1|x"][:2] == (p["public_security:hjxx_czrk:2"], "id_one_keystroke")
    assert lic["natural_resources:bdc_qlr:R1|x"][3] == "revoked"
    for _holder, _link, ident, _status in lic.values():
        body = ident[len("1.2.156.3005.2."):-2]
        assert ident[-1] == licence_check_char(body)


def test_gold_is_laid_out_as_each_master_declares(built: Path) -> None:
    """The ``layout:`` of each master's YAML: its indexed columns carry ART indexes, and the
    licence table is written in holder order (what the console's point lookups rely on)."""
    from pipelines.masters.config import MASTERS, master_config

    have = {(r[0], r[1]) for r in q(built, "SELECT table_name, index_name FROM duckdb_indexes()")}
    for m in MASTERS:
        declared = master_config(m).layout.indexed
        assert declared, m
        assert {(f"{m}_master", f"{m}_master_{c}") for c in declared} <= have
        # indexed columns are stored uncompressed: a delta's DELETE fetches them row by row
        stored = q(built, f"SELECT DISTINCT column_name, compression FROM pragma_storage_info('{m}_master') "
                          f"WHERE segment_type <> 'VALIDITY' AND column_name IN ({', '.join(repr(c) for c in declared)})")
        assert sorted(stored) == sorted((c, "Uncompressed") for c in declared), m
    holders = [r[0] for r in q(built, "SELECT holder_master_id FROM licence_master")]
    assert holders == sorted(holders, key=lambda h: (h is None, h))


def test_an_undeclared_layout_column_is_named(built: Path, tmp_path: Path) -> None:
    """A layout naming a column the golden records lack fails with the master and the column."""
    import yaml

    from core.errors import ConfigurationError

    shutil.copytree(built, tmp_path / "c")
    path = tmp_path / "c" / "configs" / "entity.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    raw["layout"] = {"indexed": ["master_id", "no_such_column"]}
    path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    with pytest.raises(ConfigurationError, match="entity: layout.indexed .*no_such_column"):
        run(tmp_path / "c", full=True)


def test_lineage_points_at_records_holding_the_value(built: Path) -> None:
    rows = q(built, "SELECT l.attribute, l.value, l.record_id FROM attribute_lineage AS l WHERE l.master = 'person'")
    assert rows
    with duckdb.connect(str(built / "gold" / "gold.state.duckdb"), read_only=True) as con:
        src = {r[0]: r[1:] for r in con.execute("SELECT record_id, name, sex FROM person_src").fetchall()}
    for attribute, value, record_id in rows:
        if attribute == "name":
            assert src[record_id][0] == value
        if attribute == "sex":
            assert src[record_id][1] == value
    names = dict(q(built, "SELECT master_id, name FROM person_master"))
    p = masters(built)
    assert names[p["public_security:hjxx_czrk:1"]] == "张伟"  # public security's spelling survives


def test_rerun_is_identical(copy: Path) -> None:
    before = q(copy, "SELECT * EXCLUDE (lineage) FROM person_master ORDER BY master_id")
    xref = masters(copy)
    report = run(copy)
    assert [m.mode for m in report.masters] == ["unchanged"] * 3 and not report.written  # type: ignore[attr-defined]
    run(copy, full=True)
    assert q(copy, "SELECT * EXCLUDE (lineage) FROM person_master ORDER BY master_id") == before
    assert masters(copy) == xref
    assert q(copy, "SELECT count(*) FROM master_events WHERE event <> 'created'") == [(0,)]


def test_delta_links_new_records_and_keeps_ids(copy: Path) -> None:
    before = masters(copy)
    add_batch(Lake(copy / "lake"), "grassroots_service", "fwjl", "g2", [
        {"key": "FW9", "id_number_raw": ZW, "name": "张伟", "phone": "13912345678"},
        {"key": "FW10", "id_number_raw": rid("34160219900909009"), "name": "陈晨", "sex": "2"},
        {"key": "FW1", "id_number_raw": ZW, "name": "张伟", "sex": "1", "phone": "13912345678"},  # corrected
    ], extracted_at="2026-11-26 08:00:00")
    report = run(copy)
    assert report.masters[0].mode == "delta"  # type: ignore[attr-defined]
    after = masters(copy)
    assert {k: v for k, v in after.items() if k in before} == before
    assert after["grassroots_service:fwjl:FW9"] == before["public_security:hjxx_czrk:1"]
    assert after["grassroots_service:fwjl:FW10"] not in before.values()
    events = q(copy, "SELECT event, count(*) FROM master_events WHERE build_id = (SELECT max(build_id) FROM builds) "
                     "AND master = 'person' GROUP BY event")
    assert ("created", 1) in events
    # after a delta each declared index is there, once
    from pipelines.masters.config import MASTERS, master_config

    indexes = q(copy, "SELECT table_name, index_name FROM duckdb_indexes() WHERE table_name LIKE '%_master'")
    assert sorted(indexes) == sorted((f"{m}_master", f"{m}_master_{c}") for m in MASTERS
                                     for c in master_config(m).layout.indexed)
    assert run(copy).written is False  # type: ignore[attr-defined]


def test_a_delta_links_holders_and_legal_reps_as_a_full_build_does(copy: Path) -> None:
    """A delta looks up only the keys its own records name (``hooks.key_map(..., wanted)``), not
    every key of the city: its new licences still find their holders by resident ID, by one
    keystroke from one, by USCC, and its new entity its legal representative - as a full rebuild
    of the same lake decides."""
    typo_zw = ZW[:6] + ("1" if ZW[6] != "1" else "2") + ZW[7:]
    u3 = uscc("MA2N0003")
    lake = Lake(copy / "lake")
    add_batch(lake, "natural_resources", "bdc_qlr", "n2", [
        {"key": "R2|x", "type_code": "035", "number": "皖(2021)亳州市不动产权第0000002号", "holder_id_raw": ZW,
         "holder_id_type": "111", "holder_name": "张伟", "valid_from": "2021-01-01", "status": "1"},
        {"key": "R3|x", "type_code": "035", "number": "皖(2021)亳州市不动产权第0000003号", "holder_id_raw": typo_zw,
         "holder_id_type": "111", "holder_name": "张伟", "valid_from": "2021-01-01", "status": "1"},
        {"key": "R4|x", "type_code": "035", "number": "皖(2021)亳州市不动产权第0000004号", "holder_id_raw": U2,
         "holder_id_type": "001", "holder_name": "亳州市蒙城县农机合作社", "valid_from": "2021-01-01", "status": "1"},
    ], feeds=("licence",), extracted_at="2026-11-26 08:00:00")
    add_batch(lake, "market_regulation", "scztdj", "e2", [
        {"key": "P3", "uscc_raw": u3, "name": "亳州市谯城区王芳副食店", "legal_rep_name": "王芳",
         "legal_rep_id_number_raw": WF, "registered_address": ADDR, "type_code": "028", "number": u3,
         "holder_id_raw": u3, "holder_id_type": "001", "holder_name": "亳州市谯城区王芳副食店",
         "valid_from": "2021-06-01"},
    ], feeds=("entity", "licence"), extracted_at="2026-11-26 08:00:00")
    report = run(copy)
    assert {m.master: m.mode for m in report.masters} == {  # type: ignore[attr-defined]
        "person": "unchanged", "entity": "delta", "licence": "delta"}
    p, e = masters(copy), masters(copy, "entity")
    links_sql = ("SELECT x.record_id, m.holder_master_id, m.holder_link FROM licence_xref AS x "
                 "JOIN licence_master AS m USING (master_id) ORDER BY 1")
    reps_sql = "SELECT uscc, legal_rep_master_id FROM entity_master ORDER BY 1"
    links = {r[0]: r[1:] for r in q(copy, links_sql)}
    assert links["natural_resources:bdc_qlr:R2|x"] == (p["public_security:hjxx_czrk:1"], "id")
    assert links["natural_resources:bdc_qlr:R3|x"] == (p["public_security:hjxx_czrk:1"], "id_one_keystroke")
    assert links["natural_resources:bdc_qlr:R4|x"] == (e["market_regulation:scztdj:P2"], "id")
    assert links["market_regulation:scztdj:P3"] == (e["market_regulation:scztdj:P3"], "same_record")
    assert dict(q(copy, reps_sql))[u3] == p["public_security:hjxx_czrk:2"]
    delta = (q(copy, links_sql), q(copy, reps_sql))
    run(copy, full=True)
    assert (q(copy, links_sql), q(copy, reps_sql)) == delta


def test_a_build_whose_copy_of_the_gold_file_fails_changes_nothing(copy: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    """The gold file is copied in the background while the build sets up its connection: a copy
    that fails (here: the disk fills half way) fails the build with the OS error naming the file,
    leaves no partial copy behind and the gold file as it was; the next build works."""
    import errno

    before = masters(copy)
    gold_dir = copy / "gold"

    def full_disk(src: Path, dst: Path) -> None:
        Path(dst).write_bytes(Path(src).read_bytes()[:4096])
        raise OSError(errno.ENOSPC, "No space left on device", str(dst))

    with monkeypatch.context() as mp:
        mp.setattr(shutil, "copyfile", full_disk)
        with pytest.raises(OSError, match="No space left on device"):
            run(copy, full=True)
    assert not [p.name for p in gold_dir.iterdir() if ".building" in p.name]
    assert masters(copy) == before
    assert run(copy, full=True).written  # type: ignore[attr-defined]
    assert masters(copy) == before


def test_steward_decisions_are_honoured_by_every_run(copy: Path) -> None:
    x = masters(copy)
    log = StewardLog(copy / "gold" / "steward_decisions.jsonl")
    log.append(Decision(master="person", kind="no_match", records=["grassroots_service:fwjl:FW2",
                                                                   "public_security:hjxx_czrk:1"]))
    log.append(Decision(master="person", kind="match", records=["grassroots_service:fwjl:FW3",
                                                                "public_security:hjxx_czrk:4"]))
    zw_records = sorted(r for r, m in x.items() if m == x["public_security:hjxx_czrk:1"])
    log.append(Decision(master="person", kind="split", records=["traffic_police:drv_license:D1"],
                        others=[r for r in zw_records if r != "traffic_police:drv_license:D1"]))
    for full in (False, True):
        run(copy, full=full)
        y = masters(copy)
        assert y["grassroots_service:fwjl:FW2"] != y["public_security:hjxx_czrk:1"]
        assert y["grassroots_service:fwjl:FW3"] == y["public_security:hjxx_czrk:4"]
        assert y["traffic_police:drv_license:D1"] != y["public_security:hjxx_czrk:1"]
        assert y["public_security:hjxx_czrk:1"] == x["public_security:hjxx_czrk:1"]  # the id stays
    assert q(copy, "SELECT count(*) FROM steward_decisions") == [(3,)]
    # undoing the split and the match: the next build honours the log as if they had never been made
    made = log.load()
    log.undo(made[2].decision_id, by="tester")
    log.undo(made[1].decision_id, by="tester")
    with pytest.raises(StewardError, match="already been undone"):
        log.undo(made[2].decision_id)
    run(copy)
    z = masters(copy)
    assert z["traffic_police:drv_license:D1"] == z["public_security:hjxx_czrk:1"]
    assert (z["grassroots_service:fwjl:FW3"] == z["public_security:hjxx_czrk:4"]) == (
        x["grassroots_service:fwjl:FW3"] == x["public_security:hjxx_czrk:4"])
    assert z["grassroots_service:fwjl:FW2"] != z["public_security:hjxx_czrk:1"]  # the no-match stands


def test_readers_never_see_half_a_build(copy: Path) -> None:
    gold = copy / "gold" / "gold.duckdb"
    # what a SIGKILLed build leaves (tests/masters/test_sigkill_city.py kills real ones): its copy and WAL
    dead = gold.with_name(f".{gold.name}.k1ll3d.building")
    shutil.copyfile(gold, dead)
    dead.with_name(dead.name + ".wal").write_bytes(b"\0" * 64)
    unrelated = gold.with_name("notes.building")  # not a build's file: stays
    unrelated.write_text("x")
    reader = duckdb.connect(str(gold), read_only=True)
    n = reader.execute("SELECT count(*) FROM person_master").fetchone()
    run(copy, full=True)
    assert reader.execute("SELECT count(*) FROM person_master").fetchone() == n  # still the old file
    reader.close()
    assert sorted(p.name for p in gold.parent.glob("*.building*")) == ["notes.building"]


def _g2(root: Path) -> None:
    add_batch(Lake(root / "lake"), "grassroots_service", "fwjl", "g2", [
        {"key": "FW9", "id_number_raw": ZW, "name": "张伟", "phone": "13912345678"},
        {"key": "FW1", "id_number_raw": ZW, "name": "张伟", "sex": "1", "phone": "13912345678"},  # corrected
    ], extracted_at="2026-11-26 08:00:00")


def _state_meta(root: Path) -> dict[str, str]:
    with duckdb.connect(str(root / "gold" / "gold.state.duckdb"), read_only=True) as con:
        return dict(con.execute("SELECT master, build_id FROM meta").fetchall())


GOLDEN = "SELECT * EXCLUDE (first_seen, last_seen) FROM person_master ORDER BY master_id"


def test_a_state_whose_gold_file_was_not_published_is_rebuilt(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The state file changes in place: a build that finished the state but died before renaming
    its gold file (here: the rename fails) leaves a state ahead of the gold file; the next build
    must notice and build that master in full, to the masters a clean full build gives."""
    from pipelines.masters.gold_file import GoldBuild

    before, meta = masters(copy), _state_meta(copy)
    _g2(copy)

    def refuse(self: GoldBuild) -> None:
        raise OSError("disk full (test)")

    with monkeypatch.context() as mp:
        mp.setattr(GoldBuild, "commit", refuse)
        with pytest.raises(OSError, match="disk full"):
            run(copy)
    assert masters(copy) == before  # readers still see the last published build
    assert _state_meta(copy)["person"] != meta["person"]  # the state moved on without it
    from warehouse.ops.doctor import check_state

    monkeypatch.setenv("MASTERDATA_GOLD", str(copy / "gold" / "gold.duckdb"))
    (found,) = check_state()
    assert found.status == "warn" and "the next build is full for person" in found.message, found
    report = run(copy)
    assert [(r.master, r.mode) for r in report.masters][0] == ("person", "full")  # type: ignore[attr-defined]
    recovered = q(copy, GOLDEN)
    run(copy, full=True)
    assert q(copy, GOLDEN) == recovered
    assert run(copy).written is False  # type: ignore[attr-defined]  # and trusted again
    assert [c.status for c in check_state()] == ["ok"]
    (copy / "gold" / "gold.state.duckdb").unlink()
    assert "resolves every master in full" in check_state()[0].message


def test_a_build_that_dies_while_changing_the_state_is_rebuilt(copy: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A delta that fails after it changed the person state (records detached, new ones added)
    leaves no ``meta`` row for it: the next build resolves persons in full."""
    import pipelines.masters.gold_writer as gw

    _g2(copy)

    def die(*a: object, **k: object) -> None:
        raise RuntimeError("killed (test)")

    with monkeypatch.context() as mp:
        mp.setattr(gw, "build_golden", die)  # after the state was changed, before it is marked whole
        with pytest.raises(RuntimeError, match="killed"):
            run(copy)
    assert "person" not in _state_meta(copy)
    report = run(copy)
    assert report.masters[0].mode == "full"  # type: ignore[attr-defined]
    recovered, xref = q(copy, GOLDEN), masters(copy)
    run(copy, full=True)
    assert (q(copy, GOLDEN), masters(copy)) == (recovered, xref)
    assert xref["grassroots_service:fwjl:FW9"] == xref["public_security:hjxx_czrk:1"]


def test_explanations_wait_for_a_build_holding_the_state(copy: Path) -> None:
    """While another process holds the state file for writing (a build does, start to end), an
    explanation fails as unavailable, naming why; once it lets go, the same request is answered.
    A build, for its part, waits for a reader to let go of the file."""
    import subprocess
    import sys
    import time

    from pipelines.masters.build import attach_state
    from pipelines.masters.explain import StateBusy, explain_gold, gold_sql

    gold = copy / "gold" / "gold.duckdb"
    state = gold.with_name("gold.state.duckdb")
    holder = subprocess.Popen([sys.executable, "-c", "import duckdb, sys, time\n"
                               f"c = duckdb.connect({str(state)!r}); print('held', flush=True); time.sleep(1.5)"],
                              stdout=subprocess.PIPE, text=True)
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    pair = ("public_security:hjxx_czrk:1", "grassroots_service:fwjl:FW2")
    with pytest.raises(StateBusy, match="a build is updating .*gold.state.duckdb"):
        explain_gold(*pair, path=gold)
    started = time.monotonic()
    con = duckdb.connect()
    attach_state(con, state, wait=30)  # waits for the holder to exit, then attaches
    assert time.monotonic() - started > 0.2
    con.close()
    holder.wait(timeout=30)
    with gold_sql(gold) as sql:  # what an explanation reads, readable again
        assert sql.one("SELECT count(*) FROM state.main.person_rec WHERE record_id = ?", [pair[0]]) == 1
