"""Units of the serving layer without a server: identifier fast paths, catalogue, grants, licence state."""

from __future__ import annotations

import random
import shutil
from datetime import date, timedelta
from pathlib import Path

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
from warehouse.api.catalogue import POWER_CLASSES, CatalogueError, catalogue
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


def test_resident_id_fast_path_agrees_with_the_validator() -> None:
    values = _rids(400)
    rows = validate_resident_ids(values).to_pylist()
    fast_hits = 0
    for v, row in zip(values, rows, strict=True):
        if ids.fast_resident_id(v):
            fast_hits += 1
            assert row["value"] == v and row["reason"] is None, (v, row)
    assert fast_hits > 100


def test_uscc_fast_path_agrees_with_the_validator() -> None:
    rng = random.Random(5)
    alphabet = "0123456789ABCDEFGHJKLMNPQRTUWXY"
    values = []
    for _ in range(600):
        org8 = "".join(rng.choice("0123456789ABCDEFGHJKLMNPQRTUWXY") for _ in range(8))
        body = rng.choice(["91", "92", "93", "11", "52", "Y1", "99", "A1"]) + "341602" + org8 + org_code_check_char(org8)
        good = body + uscc_check_char(body)
        values += [good, body + rng.choice(alphabet), good.lower()]
    rows = validate_usccs(values).to_pylist()
    hits = 0
    for v, row in zip(values, rows, strict=True):
        if ids.fast_uscc(v):
            hits += 1
            assert row["value"] == v and row["reason"] is None, (v, row)
    assert hits > 100


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
    assert len(items) >= 100
    assert {i.power_class for i in items} == set(POWER_CLASSES)
    assert {i.target for i in items} == {"person", "entity"}
    assert len({i.department for i in items}) == 32
    assert all(i.materials and i.fields for i in items)
    backed = [m for i in items for m in i.materials if m.licence_backed]
    assert backed and any(not m.licence_backed for i in items for m in i.materials)
    assert {t for m in backed for t in m.licence_types} <= set(cat.licence_types)
    for i in items:
        masters = {f.split(".")[0] for f in i.fields}
        assert masters <= ({"person", "entity"} if i.target == "entity" else {"person"})


def test_catalogue_errors_name_file_and_line(tmp_path: Path) -> None:
    codes = tmp_path / "codes"
    shutil.copytree(CODES_DIR, codes)
    mats = codes / "service_item_materials.csv"
    lines = mats.read_text(encoding="utf-8").splitlines()
    lines[3] = lines[3].rsplit(",", 2)[0] + ",999,applicant"
    mats.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(CatalogueError, match=r"service_item_materials\.csv:4: licence type '999'"):
        catalogue(codes)
    catalogue.cache_clear()


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
