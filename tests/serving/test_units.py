"""Units of the serving layer without a server: identifier fast paths, catalogue, grants, licence state."""

from __future__ import annotations

import random
import shutil
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from standards.codetables import CODES_DIR
from standards.identifiers import (
    area_codes,
    org_code_check_char,
    resident_id_check_char,
    uscc_check_char,
    validate_resident_ids,
    validate_usccs,
)
from warehouse.api import ids
from warehouse.api.autofill import licence_state
from warehouse.api.catalogue import CHANNELS, POWER_CLASSES, CatalogueError, catalogue
from warehouse.api.grants import GrantsError, load_policy
from warehouse.api.settings import GRANTS_FILE


def _rids(n: int, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    areas = sorted(area_codes())
    out = []
    for _ in range(n):
        born = date(1880, 1, 1) + timedelta(days=rng.randrange(0, 365 * 150))
        body = rng.choice(areas + ["999999", "000000"]) + born.strftime("%Y%m%d") + f"{rng.randrange(1000):03d}"
        good = body + resident_id_check_char(body)
        out += [good, body + rng.choice("0123456789X"), good.lower(), good[:17], " " + good, good[:6] + good[8:17]]
    return out + ["111111111111111111", "123456789012345678", "", "NULL"]


def _fast_path_agrees(values: list[str], fast: Callable[[str], bool], rows: list[dict[str, Any]]) -> None:
    """Every value the fast path accepts is one the full validator keeps unchanged, with no reason;
    and the fast path is taken often enough (over 100 values) for that to say something."""
    hits = [(v, row) for v, row in zip(values, rows, strict=True) if fast(v)]
    assert [(v, row) for v, row in hits if row["value"] != v or row["reason"] is not None] == []
    assert len(hits) > 100


def test_resident_id_fast_path_agrees_with_the_validator() -> None:
    values = _rids(400)
    _fast_path_agrees(values, ids.fast_resident_id, validate_resident_ids(values).to_pylist())


def test_uscc_fast_path_agrees_with_the_validator() -> None:
    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    values = []
    for _ in range(600):
        org8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        body = rng.choice(["91", "92", "93", "11", "52", "Y1", "99", "A1"]) + "341602" + org8 + org_code_check_char(org8)
        good = body + uscc_check_char(body)
        values += [good, body + rng.choice(alphabet), good.lower()]
    _fast_path_agrees(values, ids.fast_uscc, validate_usccs(values).to_pylist())


def test_rejections_carry_the_validator_reason() -> None:
    with pytest.raises(ids.IdentifierRejected) as exc:
        ids.resident_id("34160219900120292")
    assert exc.value.reason == "BAD_LENGTH" and exc.value.reason_text
    good = "341602199001202921"
    good = good[:17] + resident_id_check_char(good[:17])
    assert ids.resident_id(good.lower() if good.endswith("X") else " " + good) == good  # a repair is accepted


def test_catalogue_is_complete() -> None:
    cat = catalogue()
    items = list(cat.items.values())
    # the seed city's published catalogue: 3,307 items, 2,994 of the five power types and 313 public services
    assert len(items) == 3307 and sum(i.power_class == "公共服务" for i in items) == 313
    assert {i.power_class for i in items} == set(POWER_CLASSES)
    assert {i.target for i in items} == {"person", "entity"}
    assert len({i.department for i in items}) == 32
    assert {i.hall for i in items} == {"city", "qiaocheng", "guoyang", "mengcheng", "lixin", "devzone"}
    assert all(i.materials and i.fields for i in items)
    mats = [m for i in items for m in i.materials]
    assert {m.channel for m in mats} == set(CHANNELS)
    for m in mats:
        if m.channel != "政府部门核发":  # only a government-issued material is served from the masters
            assert not m.licence_types and m.evidence in ((), ("online_form",))
        else:
            assert m.department in cat.departments
    backed = [m for m in mats if m.licence_backed]
    assert {t for m in backed for t in m.licence_types} <= set(cat.licence_types)
    for i in items:
        masters = {f.split(".")[0] for f in i.fields}
        assert masters <= ({"person", "entity"} if i.target == "entity" else {"person"})
    # the curated core keeps its codes
    assert cat.items["S0005"].name == "机动车驾驶证换证" and cat.items["S0005"].hall == "city"


def test_catalogue_generator_is_deterministic(tmp_path: Path) -> None:
    """The committed CSVs are what the generator writes from the committed templates."""
    import runpy

    counts = runpy.run_path(str(CODES_DIR / "build_service_items.py"))["build"](tmp_path)
    assert counts["items"] == 3307
    for name in ("service_items.csv", "service_item_materials.csv", "service_item_forms.csv"):
        assert (tmp_path / name).read_bytes() == (CODES_DIR / name).read_bytes(), name


BAD_MATERIALS = [
    # (column -> value, the problem named)
    ({"licence_types": "999"}, "licence type '999' is not in licence_types.csv"),
    ({"evidence": "horoscope"}, "evidence kind 'horoscope' is not in evidence_kinds.csv"),
    ({"condition": "left_handed"}, "condition 'left_handed' is not in material_conditions.csv"),
    ({"about": "neighbour"}, "about 'neighbour' is not a relation of material_relations.csv"),
    ({"channel": "邮寄"}, "channel '邮寄' is not one of"),
    ({"channel": "申请人自备", "licence_types": "001", "evidence": ""}, "a 申请人自备 material names no licence type"),
    ({"channel": "政府部门核发", "department": ""}, "names the department that issues it"),
    ({"department": "ministry_of_magic"}, "department 'ministry_of_magic' is not a department key"),
    ({"about": "legal_rep"}, "about legal_rep only applies to entity items"),
    ({"licence_types": "028", "evidence": ""}, "licence type(s) 028 are held by a entity"),
    ({"condition": "enterprise"}, "condition 'enterprise' tests the entity"),
]


@pytest.mark.parametrize("change,problem", BAD_MATERIALS)
def test_catalogue_errors_name_file_and_line(tmp_path: Path, change: dict[str, str], problem: str) -> None:
    import csv

    codes = tmp_path / "codes"
    shutil.copytree(CODES_DIR, codes)
    mats = codes / "service_item_materials.csv"
    with mats.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    # S0005-M01: the applicant's 居民身份证 on a person item (government-issued, licence 001, identity)
    n = next(i for i, r in enumerate(rows) if r["code"] == "S0005-M01")
    rows[n].update(change)
    with mats.open("w", encoding="utf-8", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(rows)
    with pytest.raises(CatalogueError) as exc:
        catalogue(codes)
    catalogue.cache_clear()
    message = str(exc.value)
    assert "\n" not in message and f"service_item_materials.csv:{n + 2}:" in message, message
    assert problem in message, message


BAD_VOCABULARY = [
    ("evidence_kinds.csv", "public_security.hjxx_czrk,id_number", "public_security.no_such_table,id_number",
     "source 'public_security.no_such_table' is not a source table"),
    ("evidence_kinds.csv", "name|sex|birth_date|guardian_id_number,birth_date",
     "name|sex|birth_date|disability_category,birth_date", "not shared"),
    ("material_conditions.csv", "married,已婚,person,marital_status,in", "married,已婚,person,shoe_size,in",
     "person.shoe_size is not a person or entity data element"),
    ("material_conditions.csv", "adult,年满18周岁,person,birth_date,age_ge,18", "adult,年满18周岁,person,birth_date,age_ge,x",
     "takes one age in years"),
    ("halls.csv", "county,market_regulation,", "county,ministry_of_magic,",
     "entities_of 'ministry_of_magic' is not a department key"),
]


@pytest.mark.parametrize("name,old,new,problem", BAD_VOCABULARY)
def test_vocabulary_errors_name_file_and_line(tmp_path: Path, name: str, old: str, new: str, problem: str) -> None:
    codes = tmp_path / "codes"
    shutil.copytree(CODES_DIR, codes)
    path = codes / name
    original = path.read_text(encoding="utf-8")
    assert old in original, old
    path.write_text(original.replace(old, new, 1), encoding="utf-8")
    with pytest.raises(CatalogueError) as exc:
        catalogue(codes)
    catalogue.cache_clear()
    assert str(exc.value).startswith(f"{path}:") and "\n" not in str(exc.value) and problem in str(exc.value)


def test_grants_file_is_validated(tmp_path: Path) -> None:
    policy = load_policy(GRANTS_FILE)
    assert policy.grants_of("market_regulation")
    doc = yaml.safe_load(GRANTS_FILE.read_text(encoding="utf-8"))
    for bad, message in [
        ({"elements": ["person.disability_category"]}, "not_shared"),
        ({"elements": ["person.name"]}, "unconditional"),
        ({"elements": ["person.shoe_size"]}, "not a data element"),
        ({"department": "ministry_of_magic"}, "not a department"),
        ({"purpose": "Bad Purpose"}, "purpose"),
        ({"status": "approved", "approved_at": None}, "approved_at"),
    ]:
        d = yaml.safe_load(yaml.safe_dump(doc))
        d["grants"][0].update(bad)
        p = tmp_path / "grants.yaml"
        p.write_text(yaml.safe_dump(d, allow_unicode=True), encoding="utf-8")
        with pytest.raises(GrantsError, match=message) as exc:
            load_policy(p)
        assert str(p) in str(exc.value)


@pytest.mark.parametrize("lic,state", [
    ({"status": "1", "valid_from": "2020-01-01", "valid_to": "2030-01-01"}, "valid"),
    ({"status": None, "valid_from": "2020-01-01", "valid_to": None}, "valid"),
    ({"status": "1", "valid_from": "2020-01-01", "valid_to": "2026-01-01"}, "expired"),
    ({"status": "4", "valid_from": "2020-01-01", "valid_to": None}, "expired"),
    ({"status": "3", "valid_to": "2030-01-01"}, "revoked"),
    ({"status": "2"}, "cancelled"),
    ({"status": "1", "valid_from": "2027-01-01"}, "not_yet_valid"),
])
def test_licence_state(lic: dict[str, str | None], state: str) -> None:
    assert licence_state(lic, "2026-06-01") == state
