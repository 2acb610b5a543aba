"""The source registry: the 32 real specs load, and every kind of defect is a one-line error
naming the file and the field (never a traceback)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlglot
import yaml

from pipelines.registry import SOURCES_DIR, RegistryError, load_registry, load_spec
from standards.dictionary import DictionaryError, dictionary, load_dictionary


def test_the_32_sources_load_and_cover_every_connector_kind() -> None:
    specs = load_registry()
    assert len(specs) == 32
    kinds = Counter(s.connection.kind for s in specs.values())
    assert kinds["postgres"] >= 8 and kinds["mariadb"] >= 6
    assert {"sqlite", "csv", "excel", "jsonl"} <= set(kinds)
    encodings = {s.connection.encoding for s in specs.values() if s.connection.kind == "csv"}
    assert {"gbk", "utf-8"} <= encodings
    assert {"person", "entity", "licence"} <= {m for s in specs.values() for m in s.masters}
    assert len({s.department for s in specs.values()}) == 32


def test_every_expression_parses_in_its_dialect_and_transpiles_to_duckdb() -> None:
    for spec in load_registry().values():
        for t in spec.tables:
            exprs = [f.expr for f in t.fields if f.expr] + [d.expr for d in t.derived]
            for e in exprs:
                out = sqlglot.transpile(e, read=spec.dialect, write="duckdb")
                assert out and out[0]


def _write(tmp: Path, name: str, mutate: Callable[[dict[str, Any]], object]) -> Path:
    raw = yaml.safe_load((SOURCES_DIR / "traffic_police.yaml").read_text(encoding="utf-8"))
    mutate(raw)
    p = tmp / f"{name}.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


def _fields(raw: dict) -> list[dict]:
    return raw["tables"][0]["fields"]


CASES = [
    ("unknown element", lambda r: _fields(r)[1].update(element="person.nmae"),
     "tables[0].fields[1].element: unknown element 'person.nmae'"),
    ("element of a master not fed", lambda r: _fields(r)[1].update(element="entity.name"),
     "tables[0].fields[1].element: 'entity.name' belongs to 'entity'"),
    ("bad code value", lambda r: _fields(r)[3]["codes"].update({"男": "7"}),
     "tables[0].fields[3].codes: '7' is not a code of gb2261_sex"),
    ("bad sql", lambda r: r["tables"][0]["derived"][1].update(expr="sfzmhm +"),
     "tables[0].derived[1].expr: not valid mysql SQL"),
    ("sql naming an unknown column", lambda r: r["tables"][0]["derived"][1].update(expr="UPPER(sfzh)"),
     "tables[0].derived[1].expr: refers to 'sfzh'"),
    ("missing key", lambda r: r.pop("connection"), ": connection: Field required"),
    ("bad kind", lambda r: r["connection"].update(kind="oracle"), ": connection.kind: Input should be"),
    ("extra field", lambda r: r.update(colour="red"), ": colour: Extra inputs are not permitted"),
    ("bad encoding", lambda r: r["connection"].update(kind="csv", encoding="gbk2"), "unknown encoding 'gbk2'"),
    ("incremental column missing", lambda r: r["tables"][0]["incremental"].update(column="nope"),
     "tables[0].incremental.column: 'nope' is not a column"),
    ("primary key missing", lambda r: r["tables"][0].update(primary_key=["nope"]),
     "tables[0].primary_key: 'nope' is not a column"),
    ("wrong dialect", lambda r: r.update(dialect="postgres"), "dialect: 'postgres': a mariadb source is written in 'mysql'"),
    ("lowering a sharing grade", lambda r: _fields(r)[2].update(sharing="unconditional"),
     "tables[0].fields[2].sharing: 'unconditional' would lower person.id_number's grade 'conditional'"),
    ("licence feed without holder", lambda r: r["tables"][0].update(derived=[]),
     "tables[0].feeds: a table feeding licence must map licence.type_code"),
    ("unknown department", lambda r: r.update(department="ministry_of_magic"), "department: unknown department"),
]


@pytest.mark.parametrize("label,mutate,expected", CASES, ids=[c[0] for c in CASES])
def test_a_bad_spec_is_one_line_naming_file_and_field(tmp_path: Path, label: str,
                                                      mutate: Callable[[dict[str, Any]], object], expected: str) -> None:
    p = _write(tmp_path, "traffic_police", mutate)
    with pytest.raises(RegistryError) as info:
        load_spec(p)
    msg = str(info.value)
    assert "\n" not in msg
    assert msg.startswith(str(p)), msg
    assert expected in msg, msg


def test_file_name_must_match_source(tmp_path: Path) -> None:
    p = _write(tmp_path, "other_name", lambda r: None)
    with pytest.raises(RegistryError, match="must equal the file name 'other_name'"):
        load_spec(p)


def test_unreadable_files_are_named(tmp_path: Path) -> None:
    bad_yaml = tmp_path / "broken.yaml"
    bad_yaml.write_text("source: x\n  tables: [\n", encoding="utf-8")
    with pytest.raises(RegistryError, match=r"broken.yaml: line \d+"):
        load_spec(bad_yaml)
    gbk = tmp_path / "gbk.yaml"
    gbk.write_bytes("source: 户籍\n".encode("gbk"))
    with pytest.raises(RegistryError, match="gbk.yaml: not UTF-8"):
        load_spec(gbk)
    with pytest.raises(RegistryError, match="no source specs"):
        load_registry(tmp_path / "empty")


def test_dictionary_grades_and_errors(tmp_path: Path) -> None:
    d = dictionary()
    assert d.element("person.id_number").sharing == "conditional"
    assert d.element("person.disability_category").sharing == "not_shared"
    assert d.element("entity.uscc").rule == "uscc"
    for m in d.masters.values():
        assert m.key in m.elements
    bad = tmp_path / "elements.yaml"
    raw = yaml.safe_load(Path("standards/elements.yaml").read_text(encoding="utf-8"))
    raw["masters"]["person"]["elements"]["sex"]["rule"] = "colour"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DictionaryError, match=r"masters.person.elements.sex.rule: .*unknown rule 'colour'"):
        load_dictionary(bad)


@pytest.mark.parametrize(("edit", "message"), [
    (lambda m: m["licence"]["feed"].update(requires=["number", "serial"]),
     r"masters.licence.feed.requires\[1\]: 'serial' is not an element of licence"),
    (lambda m: m["person"]["feed"].update(identity=[["id_number", "nmae"]]),
     r"masters.person.feed.identity\[0\]\[1\]: 'nmae' is not an element of person"),
    (lambda m: m["licence"]["elements"]["holder_id"]["typed_by"].update(by="holder_kind"),
     r"masters.licence.elements.holder_id.typed_by.by: 'holder_kind' is not an element of licence"),
    (lambda m: m["licence"]["elements"]["holder_id"]["typed_by"]["rules"].update({"003": "reg_no"}),
     r"masters.licence.elements.holder_id.typed_by.rules: .*003: 'reg_no' is not an identifier rule"),
    (lambda m: m["person"]["elements"]["death_date"].update(not_before="born"),
     r"masters.person.elements.death_date.not_before: 'born' is not an element of person"),
    (lambda m: m["person"]["elements"]["name"].update(open_end=True),
     r"masters.person.elements.name.open_end: only a date can be open-ended, not a varchar"),
])
def test_dictionary_declarations_name_real_elements(tmp_path: Path, edit: Callable[[dict[str, Any]], object],
                                                    message: str) -> None:
    raw = yaml.safe_load(Path("standards/elements.yaml").read_text(encoding="utf-8"))
    edit(raw["masters"])
    bad = tmp_path / "elements.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(DictionaryError, match=message) as err:
        load_dictionary(bad)
    assert "\n" not in str(err.value) and str(bad) in str(err.value)


def test_a_feed_must_map_what_the_dictionary_requires(tmp_path: Path) -> None:
    raw = yaml.safe_load((SOURCES_DIR / "traffic_police.yaml").read_text(encoding="utf-8"))
    table = next(t for t in raw["tables"] if "licence" in t["feeds"])
    table["derived"] = [d for d in table["derived"] if d["element"] != "licence.holder_id_type"]
    bad = tmp_path / "traffic_police.yaml"
    bad.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    with pytest.raises(RegistryError, match=r"feeds: a table feeding licence must map licence.holder_id_type"):
        load_spec(bad)
