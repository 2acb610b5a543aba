"""The resolve engine on hand-made cases, one pitfall of real departmental data each.

Deterministic pass: repaired and upgraded IDs (15 digits, lowercase x, full-width) key one person.
Probabilistic pass (fixed, plausible parameters): homophone and traditional-character names, an
adjacent transposition in the ID, a missing ID.  Constraints: twins with the same name, birth date
and address stay apart (a record without ID between them goes to review, not to either); an infant
filed under the mother's ID never merges with her; placeholders link nothing; two 张伟 born the
same day with different IDs stay two people.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from core.db import connect
from pipelines.resolve.engine import Constraints, Resolution, resolve
from pipelines.resolve.sql import Sql
from tests.masters.helpers import handmade_params, load_people, person_config, rid

ZW = rid("34160219800101001")  # 张伟, male, 1980-01-01
WF = rid("34160219820203002")  # 王芳, female (the mother)
BABY = rid("34160220200304003")  # 王小明, her son
TWIN_A = rid("34162220100505011")
TWIN_B = rid("34162220100505013")
OLD15 = "341602750607021"  # 15-digit ID of a man born 1975-06-07
ADDR = "安徽省亳州市谯城区花戏楼街道光明社区8号"


@pytest.fixture()
def sql() -> Iterator[Sql]:
    con = connect()
    yield Sql(con)
    con.close()


def clusters(sql: Sql, rows: list[dict], constraints: Constraints | None = None) -> tuple[dict[str, int], Resolution]:
    cfg = person_config()
    load_people(sql, rows)
    res = resolve(sql, cfg, "people", params=handmade_params(cfg), constraints=constraints)
    got = dict(sql.rows(f"SELECT f.record_id, c.cluster FROM {res.clusters} AS c JOIN {res.rec} AS f ON f.rid = c.rid"))
    return got, res


def together(got: dict[str, int], *ids: str) -> bool:
    return len({got[i] for i in ids}) == 1


def test_deterministic_repaired_ids(sql: Sql) -> None:
    x = ZW[:-1] + ZW[-1].lower() if ZW.endswith("X") else ZW
    fullwidth = "".join(chr(ord(c) + 0xFEE0) for c in ZW)
    upgraded = OLD15[:6] + "19" + OLD15[6:]
    got, _ = clusters(sql, [
        {"record_id": "a:1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01"},
        {"record_id": "b:1", "id_number_raw": x, "name": "张伟"},
        {"record_id": "c:1", "id_number_raw": fullwidth, "name": "张伟"},
        {"record_id": "d:1", "id_number_raw": f" {ZW[:6]} {ZW[6:14]} {ZW[14:]}", "name": "张伟"},
        {"record_id": "e:1", "id_number_raw": OLD15, "name": "李强", "birth_date": "1975-06-07"},
        {"record_id": "f:1", "id_number_raw": rid(upgraded[:17]), "name": "李强"},
    ])
    assert together(got, "a:1", "b:1", "c:1", "d:1")
    assert together(got, "e:1", "f:1")  # the 15-digit legacy ID is the upgraded 18-digit one
    assert not together(got, "a:1", "e:1")


def test_homophone_traditional_and_transposed_id(sql: Sql) -> None:
    swapped = ZW[:8] + ZW[9] + ZW[8] + ZW[10:]
    assert swapped != ZW
    got, res = clusters(sql, [
        {"record_id": "ps:1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01", "sex": "1",
         "phone": "13912345678", "household_address": ADDR},
        {"record_id": "gs:1", "id_number_raw": swapped, "name": "章伟", "sex": "1", "phone": "13912345678"},
        {"record_id": "gs:2", "name": "張偉", "birth_date": "1980-01-01", "sex": "1", "residential_address": ADDR},
        {"record_id": "fin:1", "name": "Zhang Wei", "birth_date": "1980-01-01", "phone": "13912345678"},
    ])
    assert together(got, "ps:1", "gs:1", "gs:2", "fin:1"), got
    rules: dict[str, str] = dict(sql.rows(f"SELECT f.record_id, c.rule FROM {res.clusters} AS c JOIN {res.rec} AS f ON f.rid = c.rid"))
    assert rules["ps:1"] == "key" and rules["gs:1"] == "probabilistic"


def test_twins_stay_apart_and_an_id_less_record_goes_to_review(sql: Sql) -> None:
    twin = {"name": "王子涵", "birth_date": "2010-05-05", "sex": "1", "household_address": ADDR}
    got, res = clusters(sql, [
        {"record_id": "ps:a", "id_number_raw": TWIN_A, **twin},
        {"record_id": "ps:b", "id_number_raw": TWIN_B, **twin},
        {"record_id": "edu:a", "id_number_raw": TWIN_A, **twin, "phone": "13800001111"},
        {"record_id": "gs:x", **twin},  # which twin? nobody can tell
    ])
    assert not together(got, "ps:a", "ps:b")
    assert together(got, "ps:a", "edu:a")
    assert got["gs:x"] not in (got["ps:a"], got["ps:b"])
    reasons = {r[0] for r in sql.rows(f"SELECT reason FROM {res.review}")}
    assert "ambiguous" in reasons


def test_infant_under_mothers_id_does_not_merge_with_her(sql: Sql) -> None:
    got, _ = clusters(sql, [
        {"record_id": "ps:mum", "id_number_raw": WF, "name": "王芳", "birth_date": "1982-02-03", "sex": "2",
         "household_address": ADDR},
        {"record_id": "ms:mum", "id_number_raw": WF, "name": "王芳", "birth_date": "1982-02-03", "sex": "2"},
        # medical insurance filed the baby under the mother's ID
        {"record_id": "ms:baby", "id_number_raw": WF, "name": "王小明", "birth_date": "2020-03-04", "sex": "1",
         "household_address": ADDR},
        {"record_id": "ps:baby", "id_number_raw": BABY, "name": "王小明", "birth_date": "2020-03-04", "sex": "1",
         "household_address": ADDR},
    ])
    assert together(got, "ps:mum", "ms:mum")
    assert got["ms:baby"] != got["ps:mum"]
    assert together(got, "ms:baby", "ps:baby")


def test_placeholders_and_common_names_link_nothing(sql: Sql) -> None:
    other = rid("34160219800101003")
    got, _ = clusters(sql, [
        {"record_id": "gs:1", "id_number_raw": "000000000000000000", "name": "李娜", "phone": "13800000000"},
        {"record_id": "gs:2", "id_number_raw": "000000000000000000", "name": "赵敏", "phone": "13800000000"},
        {"record_id": "gs:3", "id_number_raw": "111111111111111111", "name": "不详"},
        {"record_id": "gs:4", "id_number_raw": "111111111111111111", "name": "无"},
        {"record_id": "ps:1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01"},
        {"record_id": "ps:2", "id_number_raw": other, "name": "张伟", "birth_date": "1980-01-01"},
    ])
    assert len({got["gs:1"], got["gs:2"], got["gs:3"], got["gs:4"]}) == 4
    assert not together(got, "ps:1", "ps:2")


def test_steward_decisions_override(sql: Sql) -> None:
    rows = [
        {"record_id": "ps:1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01", "phone": "13912345678"},
        {"record_id": "gs:1", "name": "张伟", "birth_date": "1980-01-01", "phone": "13912345678"},
        {"record_id": "ps:2", "id_number_raw": rid("34160219800101005"), "name": "张伟", "birth_date": "1980-01-01"},
    ]
    got, _ = clusters(sql, rows)
    assert together(got, "ps:1", "gs:1") and not together(got, "ps:1", "ps:2")
    # a steward says gs:1 is not ps:1, and that ps:2 (a re-issued ID) is ps:1
    got, _ = clusters(sql, rows, Constraints(must=[("ps:1", "ps:2")], cannot=[("gs:1", "ps:1")]))
    assert not together(got, "ps:1", "gs:1")
    assert together(got, "ps:1", "ps:2")
    # a split keeps the split-off record apart although it shares the ID
    got, _ = clusters(sql, rows[:1] + [{"record_id": "ms:1", "id_number_raw": ZW, "name": "张伟"}],
                      Constraints(splits=[("ms:1", "split:x")], cannot=[("ms:1", "ps:1")]))
    assert not together(got, "ps:1", "ms:1")
