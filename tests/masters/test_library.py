"""The comparison library: each named comparison, expanded from one config line, puts hand-made
pairs of Chinese civil records in the level it promises; a bad entry is one line naming the file
and the field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
import yaml

from core.db import connect
from pipelines.resolve.comparisons import gamma_sql
from pipelines.resolve.config import ConfigError, ResolveConfig, load_config, parse_config
from pipelines.resolve.deterministic import features_sql
from pipelines.resolve.library import KINDS, describe
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql
from tests.masters.helpers import rid

ROOT = Path(__file__).resolve().parents[2]
ID_A = rid("34160219900304123")
ID_B = rid("34160219851111204")

#: a person-dedupe config in column mode: every feature derived by the library from raw columns
CONFIG: dict[str, Any] = {
    "master": "people",
    "comparisons": [
        {"name": "id", "use": "resident_id", "column": "id_number", "birth": "birth_date"},
        {"name": "name", "use": "chinese_name", "column": "name"},
        {"name": "birth", "use": "date", "column": "birth_date", "embedded_in": "id"},
        {"name": "phone", "use": "mobile", "column": "phone"},
        {"name": "address", "use": "address", "column": "address"},
        {"name": "code", "use": "uscc", "column": "uscc"},
        {"name": "given", "use": "jaro_winkler", "column": "given", "swapped_with": "family"},
        {"name": "family", "use": "levenshtein", "column": "family", "thresholds": [1]},
    ],
    "blocking": [{"name": "typo", "use": "one_keystroke", "comparison": "id", "scope": "all"}],
}
COLUMNS = ("id_number", "name", "birth_date", "phone", "address", "uscc", "given", "family")


def levels_of(cfg: ResolveConfig, pairs: list[tuple[dict[str, str | None], dict[str, str | None]]]
              ) -> list[dict[str, str]]:
    """For each (left record, right record): comparison -> the label of the level the pair gets."""
    rows = [dict(r, record_id=f"{i}{side}") for i, pair in enumerate(pairs) for side, r in zip("lr", pair)]
    con = connect()
    sql = Sql(con)
    install_resolve_macros(sql)
    sql.register("raw", pa.table({c: pa.array([r.get(c) for r in rows], pa.string())
                                  for c in ("record_id", *COLUMNS)}))
    sql.run(f"CREATE TEMP TABLE feat AS {features_sql(cfg, 'raw')}")
    cols = ", ".join(f"{gamma_sql(c)} AS g_{c.name}" for c in cfg.comparisons)
    got = con.execute(f"SELECT {cols} FROM feat AS l JOIN feat AS r ON l.record_id = regexp_replace(r.record_id, "
                      f"'r$', 'l') AND r.record_id LIKE '%r' ORDER BY CAST(rtrim(l.record_id, 'l') AS INTEGER)"
                      ).fetchall()
    out = []
    for row in got:
        labels = {}
        for c, g in zip(cfg.comparisons, row):
            names = [lv.label for lv in c.levels] + [c.else_label]
            labels[c.name] = "null" if g == -1 else names[g]
        out.append(labels)
    return out


@pytest.fixture(scope="module")
def cfg() -> ResolveConfig:
    return parse_config(CONFIG, "test.yaml")


def test_resident_id_levels(cfg: ResolveConfig) -> None:
    typo = ID_A[:10] + ("5" if ID_A[10] != "5" else "6") + ID_A[11:]  # one wrong digit: check fails
    swap = ID_A[:12] + ID_A[13] + ID_A[12] + ID_A[14:]
    legacy15 = ID_A[:6] + ID_A[8:17]  # the same person's 15-digit ID (upgraded to 18 digits)
    got = levels_of(cfg, [
        ({"id_number": ID_A}, {"id_number": f" {ID_A.lower()} "}),
        ({"id_number": ID_A}, {"id_number": legacy15}),
        ({"id_number": ID_A}, {"id_number": typo}),
        ({"id_number": ID_A}, {"id_number": swap}),
        ({"id_number": typo}, {"id_number": typo}),
        ({"id_number": ID_A}, {"id_number": ID_B}),
        ({"id_number": ID_A}, {"id_number": "000000000000000000"}),
        # the mother's ID on her infant's record (born 2019): not the infant's key
        ({"id_number": ID_A}, {"id_number": ID_A, "birth_date": "2019-06-01"}),
    ])
    assert [g["id"] for g in got] == ["exact", "exact", "one_keystroke", "one_keystroke", "same_wrong_value",
                                      "different", "null", "null"]
    assert got[7]["birth"] == "different"  # the infant's own date, not the one the mother's ID embeds


def test_chinese_name_levels(cfg: ResolveConfig) -> None:
    got = levels_of(cfg, [
        ({"name": "张伟"}, {"name": "張偉"}),          # traditional characters
        ({"name": "张伟"}, {"name": "张 伟 "}),        # stray spaces
        ({"name": "张伟"}, {"name": "Zhang Wei"}),    # pinyin only
        ({"name": "欧阳娜娜"}, {"name": "OUYANG Nana"}),  # compound surname, pinyin only
        ({"name": "张伟"}, {"name": "张玮"}),          # homophone
        ({"name": "单雄信"}, {"name": "Shan Xiongxin"}),  # surname reading of 单 (shan, not dan)
        ({"name": "王小明"}, {"name": "王小敏"}),        # one character apart: Jaro-Winkler
        ({"name": "张伟"}, {"name": "李娜"}),
        ({"name": "张伟"}, {"name": "   "}),
    ])
    assert [g["name"] for g in got] == ["exact", "exact", "same_pinyin", "same_pinyin", "same_pinyin",
                                        "same_pinyin", "jaro_winkler_80", "different", "null"]


def test_date_phone_address_levels(cfg: ResolveConfig) -> None:
    got = levels_of(cfg, [
        ({"birth_date": "1990-03-04", "phone": "13812345678", "address": "安徽省亳州市谯城区古井镇幸福村3组"},
         {"birth_date": "1990-04-03", "phone": "+86 138-1234-5678", "address": "谯城区古井镇幸福村3组"}),
        ({"birth_date": "1990-03-04", "phone": "13812345678", "address": "谯城区古井镇幸福村3组"},
         {"birth_date": "1990-03-14", "phone": "13812345687", "address": "谯城区古井镇和平村8号"}),
        ({"birth_date": "1990-03-04", "phone": "13812345678", "address": "谯城区古井镇幸福村3组"},
         {"birth_date": "1975-11-20", "phone": "13900000000", "address": "涡阳县城关镇人民路1号"}),
        ({"birth_date": None, "phone": "1381234567", "address": None},  # ten digits: no mobile
         {"birth_date": "1990-03-04", "phone": "13812345678", "address": "x"}),
        # no recorded birth date: the valid ID's embedded one stands in
        ({"id_number": ID_A}, {"birth_date": "1990-03-04"}),
    ])
    assert [g["birth"] for g in got] == ["keying_error", "keying_error", "different", "null", "exact"]
    assert [g["phone"] for g in got] == ["exact", "one_keystroke", "different", "null", "null"]
    assert [g["address"] for g in got][:4] == ["exact", "same_town_or_road", "different", "null"]


def test_uscc_and_generic_levels(cfg: ResolveConfig) -> None:
    from standards.identifiers import org_code_check_char, uscc_check_char

    org = "MA2N0J1X" + org_code_check_char("MA2N0J1X")

    def uscc(head: str) -> str:
        return head + org + uscc_check_char(head + org)

    code, other = uscc("91341600"), uscc("91341602")  # the same organisation code, re-registered
    typo = code[:3] + ("7" if code[3] != "7" else "8") + code[4:]
    got = levels_of(cfg, [
        ({"uscc": code, "given": "ruby", "family": "vincent"}, {"uscc": code, "given": "ruby", "family": "vincent"}),
        ({"uscc": code, "given": "michaela", "family": "neumann"}, {"uscc": typo, "given": "michaele", "family": "neuman"}),
        ({"uscc": code, "given": "ruby", "family": "vincent"}, {"uscc": other, "given": "vincent", "family": "ruby"}),
    ])
    assert [g["code"] for g in got] == ["exact", "one_keystroke", "same_org_code"]
    assert [g["given"] for g in got] == ["exact", "jaro_winkler_90", "swapped_with_family"]
    assert [g["family"] for g in got] == ["exact", "levenshtein_1", "different"]


def test_one_keystroke_blocking_rule_and_features(cfg: ResolveConfig) -> None:
    rule = cfg.blocking[0]
    assert rule.name == "typo" and rule.scope == "all"
    assert rule.left_keys == ["id_fuzzy"]
    assert [(v.alphabet, v.length) for v in rule.variants or []] == [("0123456789X", 18), ("0123456789", 15)]
    assert rule.right_keys == ["unnest([id, id_15])"]
    # the library's features, after those declared, each computed once
    assert list(cfg.features)[:4] == ["_lib_id", "id", "id_fuzzy", "id_15"]
    assert sum("rid_normalise" in sql for sql in cfg.features.values()) == 1


def test_private_features_stay_out_of_the_record_tables_unless_named(cfg: ResolveConfig) -> None:
    assert cfg.table_features == [n for n in cfg.features if not n.startswith("_lib_")]
    body = {**CONFIG, "blocking": [*CONFIG["blocking"], {"name": "own", "keys": ["_lib_name", "birth"], "scope": "all"}]}
    named = parse_config(body, "t.yaml")
    assert [n for n in named.table_features if n.startswith("_lib_")] == ["_lib_name"]


def test_every_kind_is_documented() -> None:
    kinds = {k["use"] for k in describe()}
    assert kinds == set(KINDS)
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    missing = [k for k in kinds if f"`{k}`" not in readme]
    assert not missing, missing


def test_examples_load_and_are_short() -> None:
    for name in ("link_people", "dedupe_persons", "link_febrl"):
        load_config(ROOT / "schemas" / "examples" / f"{name}.yaml")
    lines = [ln for ln in (ROOT / "schemas/examples/dedupe_persons.yaml").read_text(encoding="utf-8").splitlines()
             if ln.strip() and not ln.lstrip().startswith("#")]
    assert len(lines) <= 16, len(lines)


BAD = [
    ({"use": "chinse_name"}, "comparisons[1].use", "unknown comparison 'chinse_name' (known: exact,"),
    ({"thresholds": [0.8, 0.9]}, "comparisons[1].thresholds", "from the closest agreement down"),
    ({"thresholds": ["high"]}, "comparisons[1].thresholds.0", "valid number"),
    ({"tf": "perhaps"}, "comparisons[1].tf", "valid boolean"),
    ({"colour": "red"}, "comparisons[1].colour", "unknown parameter of 'chinese_name'"),
    ({"py": "name_py"}, "comparisons[1].py", "'column' (features derived) or feature names, not both"),
    ({"format": "%Y"}, "comparisons[1].format", "unknown parameter"),
    ({"column": ""}, "comparisons[1].column", "SQL expression"),
    ({"column": None, "feature": "nme"}, "comparisons[1].feature", "unknown feature 'nme'"),
    ({"swapped_with": "surname"}, "comparisons[1].swapped_with", "unknown feature 'surname'"),
    ({"name": "Name!"}, "comparisons[1].name", "lower_snake_case"),
]


@pytest.mark.parametrize(("change", "where", "message"), BAD)
def test_bad_entry_is_one_line(tmp_path: Path, change: dict[str, Any], where: str, message: str) -> None:
    entry = {**CONFIG["comparisons"][1], **change}
    entry = {k: v for k, v in entry.items() if v is not None}
    doc = {**CONFIG, "comparisons": [CONFIG["comparisons"][0], entry]}
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and where in text and message in text, text


def test_bad_blocking_entry_is_one_line(tmp_path: Path) -> None:
    for rule, where, message in [
        ({"name": "b", "use": "one_keystroke", "comparison": "name"}, "blocking[0].comparison",
         "name a resident_id or uscc comparison of the library (id, code), not 'name'"),
        ({"name": "b", "use": "fuzzy_join"}, "blocking[0].use", "unknown blocking rule 'fuzzy_join'"),
    ]:
        path = tmp_path / "mine.yaml"
        path.write_text(yaml.safe_dump({**CONFIG, "blocking": [rule]}), encoding="utf-8")
        with pytest.raises(ConfigError) as err:
            load_config(path)
        text = str(err.value)
        assert "\n" not in text and str(path) in text and where in text and message in text, text


def test_raw_sql_levels_stay_available_beside_the_library() -> None:
    doc = {**CONFIG, "comparisons": [*CONFIG["comparisons"], {
        "name": "raw", "null_when": "l.name IS NULL OR r.name IS NULL",
        "levels": [{"label": "same_first_char", "when": "left(l.name, 1) = left(r.name, 1)"}]}]}
    cfg = parse_config(doc, "x.yaml")
    assert cfg.comparisons[-1].levels[0].label == "same_first_char"
    got = levels_of(cfg, [({"name": "张伟"}, {"name": "张三"})])
    assert got[0]["raw"] == "same_first_char"
