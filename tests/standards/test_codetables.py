"""Code tables: every file loads, carries the facts the platform depends on, and fails loudly."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from stdnum.cn import uscc

from standards import codetables as ct
from standards.codetables import CodeTableError

DEPARTMENT_KEYS = [
    "public_security", "traffic_police", "exit_entry", "civil_affairs", "hrss", "medical_security",
    "health", "education", "market_regulation", "tax", "natural_resources", "housing_construction",
    "provident_fund", "agriculture", "veterans", "disabled_federation", "justice",
    "ecology_environment", "emergency_management", "culture_tourism", "commerce", "development_reform",
    "finance", "statistics", "urban_management", "water_resources", "forestry", "staffing_office",
    "tobacco", "archives", "trade_unions", "grassroots_service",
]


@pytest.mark.parametrize("name", ct.TABLES)
def test_every_table_loads_as_strings(name: str) -> None:
    tbl = ct.load_code_table(name)
    assert tbl.num_rows > 0
    assert all(str(f.type) == "string" for f in tbl.schema)


def test_validate_all_tables() -> None:
    counts = ct.validate_all_tables()
    assert set(ct.TABLES) == set(counts)
    assert counts["departments"] == 32
    assert counts["licence_types"] >= 45
    assert counts["gb3304_ethnicity"] == 58


def test_gb2260_bozhou_current_and_historical_codes() -> None:
    gb = ct.load_code_table("gb2260").to_pandas().set_index("code")
    for code, name in [("341600", "亳州市"), ("341601", "市辖区"), ("341602", "谯城区"),
                       ("341621", "涡阳县"), ("341622", "蒙城县"), ("341623", "利辛县")]:
        assert gb.loc[code, "name"] == name
        assert gb.loc[code, "valid_to"] is None  # current
    assert gb.loc["341600", "level"] == "prefecture" and gb.loc["341600", "parent_code"] == "340000"
    assert gb.loc["341602", "parent_code"] == "341600"
    assert gb.loc["340000", "level"] == "province"
    # Pre-2000 Fuyang-area codes still printed in identity numbers.
    for code, name in [("342124", "涡阳县"), ("342125", "蒙城县"), ("342126", "亳县"), ("342130", "利辛县")]:
        assert gb.loc[code, "name"] == name
        assert gb.loc[code, "valid_to"] is not None
        assert gb.loc[code, "parent_code"] == "342100"
    # A reused code keeps its latest name and the widest span (340102: 东市区 1983-2001, 瑶海区 2002-).
    assert gb.loc["340102", "name"] == "瑶海区"
    assert gb.loc["340102", "valid_from"] == "1983" and gb.loc["340102", "valid_to"] is None
    assert not gb["name"].str.contains(r"[\[\]]").any()
    assert gb.index.str.fullmatch(r"\d{6}").all()
    assert len({c[:2] for c in gb.index}) == 34  # every province, HK/Macau/Taiwan included


def test_departments_keys_order_and_valid_uscc() -> None:
    deps = ct.load_code_table("departments").to_pylist()
    assert [d["key"] for d in deps] == DEPARTMENT_KEYS
    assert [d["code"] for d in deps] == [f"D{i:02d}" for i in range(1, 33)]
    for d in deps:
        assert d["uscc"].startswith("11341600")
        assert uscc.is_valid(d["uscc"]), d
        assert "亳州" in d["name"]
    assert len({d["uscc"] for d in deps}) == 32


def test_department_uscc_org_code_part_is_valid() -> None:
    weights = [3, 7, 9, 10, 5, 8, 4, 2]
    for d in ct.load_code_table("departments").to_pylist():
        org = d["uscc"][8:17]
        c = 11 - sum(int(ch, 36) * w for ch, w in zip(org[:8], weights)) % 11
        assert org[8] == {10: "X", 11: "0"}.get(c, str(c))


def test_every_licence_department_is_a_department_key() -> None:
    lic = ct.load_code_table("licence_types").to_pylist()
    assert len(lic) >= 45
    assert {r["department"] for r in lic} <= set(DEPARTMENT_KEYS)
    assert {r["holder_kind"] for r in lic} == {"person", "entity"}
    assert all(len(r["code"]) == 3 and r["code"].isdigit() for r in lic)
    names = {r["name"] for r in lic}
    for required in ["居民身份证", "机动车驾驶证", "普通护照", "结婚证", "营业执照", "不动产权证书", "残疾人证",
                     "烟草专卖零售许可证", "事业单位法人证书", "社会保障卡"]:
        assert required in names
    permanent = {r["name"]: r["validity_years"] for r in lic}
    assert permanent["结婚证"] is None and permanent["普通护照"] == "10"


def test_service_items_and_entity_types_reference_real_codes() -> None:
    items = ct.load_code_table("service_items").to_pylist()
    assert {i["department"] for i in items} <= set(DEPARTMENT_KEYS)
    cats = {r["authority"] + r["code"] for r in ct.load_code_table("uscc_category").to_pylist()}
    assert {"11", "12", "13", "19", "51", "52", "53", "59", "91", "92", "93", "Y1"} <= cats
    ents = ct.load_code_table("entity_types").to_pylist()
    assert {e["uscc_authority"] + e["uscc_category"] for e in ents} <= cats
    assert {"enterprise", "individual_business", "farmer_cooperative", "social_organisation",
            "private_non_enterprise", "foundation", "public_institution", "government_organ"} <= {
        e["code"] for e in ents
    }


def test_aliases_map_to_standard_codes() -> None:
    eth = ct.code_map("gb3304_ethnicity")
    assert eth["崩龙族"] == "46" and eth["崩龙"] == "46"
    assert eth["毛难族"] == "36"
    assert eth["汉"] == eth["汉族"] == eth["1"] == eth["01"] == "01"
    assert eth["外国血统中国籍人士"] == "98" and eth["其他"] == "97"
    assert len(set(eth.values())) == 58
    sex = ct.code_map("gb2261_sex")
    assert sex["男"] == sex["M"] == sex["m"] == sex["male"] == sex["男性"] == sex["1"] == "1"
    assert sex["女"] == sex["F"] == "2"
    assert sex["0"] == "0"  # 0 stays "unknown"; a source writing 0 for female needs its own map
    marital = ct.code_map("gb2261_2_marital")
    assert marital["离异"] == "40" and marital["初婚"] == "21" and marital["未说明的婚姻状况"] == "90"
    assert ct.code_map("departments")["tax"] == "D10"
    assert ct.code_map("uscc_category")["93"] == "93"


def test_code_map_returns_a_copy() -> None:
    m = ct.code_map("gb2261_sex")
    m["X"] = "9"
    assert "X" not in ct.code_map("gb2261_sex")


def test_register_code_tables_in_duckdb() -> None:
    con = duckdb.connect()
    created = ct.register_code_tables(con)
    assert "code_gb2260" in created and "code_gb3304_ethnicity_alias" in created
    assert "code_departments" in created
    rows = con.execute(
        "SELECT v, a.code FROM (VALUES ('崩龙族'), ('男'), ('M')) t(v) "
        "LEFT JOIN code_gb3304_ethnicity_alias a ON a.alias = t.v ORDER BY v"
    ).fetchall()
    assert ("崩龙族", "46") in rows
    assert con.execute("SELECT code FROM code_gb2261_sex_alias WHERE alias = '男'").fetchall() == [("1",)]
    assert con.execute("SELECT count(*) FROM code_gb2260 WHERE code LIKE '3416%'").fetchall()[0][0] == 6
    if "code_licence_types_alias" in created:  # lookup tables for code/name-only tables too
        assert con.execute(
            "SELECT code FROM code_licence_types_alias WHERE alias = '机动车驾驶证'"
        ).fetchall() == [("004",)]


# --- one-line errors naming file and line ---------------------------------------------------------


def _copy(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / f"{name}.csv"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def _error(path: Path, name: str | None = None) -> str:
    with pytest.raises(CodeTableError) as exc:
        ct.read_code_csv(path, name)
    msg = str(exc.value)
    assert "\n" not in msg
    assert str(path) in msg
    return msg


def test_a_bad_table_renders_as_problem_json_too(tmp_path: Path) -> None:
    """A code table error is a MasterdataError like any other: the API can render it."""
    path = _copy(tmp_path, "gb2261_sex", "code,name,aliases\n1,男,M\n1,女,F\n")
    with pytest.raises(CodeTableError) as exc:
        ct.read_code_csv(path)
    body = exc.value.problem()
    assert body["status"] == 400 and body["detail"] == str(exc.value) and f"{path}:3:" in body["detail"]
    assert exc.value.line == 3 and "duplicate code '1'" in exc.value.what


def test_duplicate_code_error_names_file_and_line(tmp_path: Path) -> None:
    path = _copy(tmp_path, "gb2261_sex", "code,name,aliases\n1,男,M\n2,女,F\n1,男性,\n")
    msg = _error(path)
    assert f"{path}:4:" in msg and "duplicate code '1'" in msg and "line 2" in msg


def test_unknown_and_missing_column_errors(tmp_path: Path) -> None:
    path = _copy(tmp_path, "gb3304_ethnicity", "code,name,aliases,colour\n01,汉族,汉,red\n")
    msg = _error(path)
    assert f"{path}:1:" in msg and "unknown column" in msg and "colour" in msg
    path = _copy(tmp_path, "departments", "code,key,name\nD01,x,y\n")
    msg = _error(path)
    assert f"{path}:1:" in msg and "missing required column" in msg and "uscc" in msg


def test_alias_conflict_empty_code_and_bad_utf8(tmp_path: Path) -> None:
    path = _copy(tmp_path, "gb3304_ethnicity", "code,name,aliases\n01,汉族,汉|1\n02,蒙古族,蒙古|1\n")
    msg = _error(path)
    assert f"{path}:3:" in msg and "alias '1'" in msg
    path = _copy(tmp_path, "gb2261_sex", "code,name,aliases\n1,男,\n,女,\n")
    assert f"{path}:3: empty code" in _error(path)
    path = _copy(tmp_path, "gb2261_sex", "code,name,aliases\n1,男,\n2,".encode() + "男性".encode("gbk") + b",\n")
    msg = _error(path)
    assert f"{path}:3:" in msg and "UTF-8" in msg
    path = _copy(tmp_path, "gb2261_sex", "code,name,aliases\n1,男\n")
    assert f"{path}:2:" in _error(path)


def test_real_file_copy_validates_and_corruption_is_caught(tmp_path: Path) -> None:
    src = ct.CODES_DIR / "licence_types.csv"
    dst = tmp_path / "licence_types.csv"
    shutil.copy(src, dst)
    assert ct.read_code_csv(dst).num_rows == ct.load_code_table("licence_types").num_rows
    lines = dst.read_text(encoding="utf-8").splitlines()
    lines.append(lines[5])  # duplicate of an existing row, now the last line
    dst.write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert f"{dst}:{len(lines)}: duplicate code" in _error(dst)
