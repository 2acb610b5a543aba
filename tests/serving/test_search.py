"""Fuzzy, Chinese-aware search over HTTP: homophones, traditional characters, registration prefixes."""

from __future__ import annotations

import pytest

from standards.text import homophones, pinyin_key, simplified_to_traditional_table
from tests.serving.conftest import Server
from warehouse.api.index import ReadModel, Row

S2T = simplified_to_traditional_table()
PURPOSE = {"purpose": "marriage_registration"}  # civil affairs may see names and birth dates for it


def people(model: ReadModel) -> list[Row]:
    out = []
    for (mid,) in model._all("SELECT master_id FROM person WHERE birth_date IS NOT NULL ORDER BY master_id"):
        row = model.person(master_id=mid)
        if row and row.data.get("name") and 2 <= len(row.data["name"]) <= 4:
            out.append(row)
    return out


def search_person(server: Server, name: str, birth: str) -> list[dict]:
    with server.client("civil_affairs") as c:
        r = c.post("/v1/persons/search", params=PURPOSE, json={"name": name, "birth_date": birth})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def test_person_by_homophone(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    for row in people(model):
        name = row.data["name"]
        alts = [h for h in homophones(name[-1]) if h != name[-1]]
        if not alts:
            continue
        typo = name[:-1] + alts[0]
        assert pinyin_key(typo) == pinyin_key(name)
        hits = search_person(server, typo, row.data["birth_date"])
        mine = [h for h in hits if h["master_id"] == server.public_id("civil_affairs", row.master_id)]
        assert mine and mine[0]["match"] in ("homophone", "exact"), (typo, hits)
        assert mine[0]["fields"]["name"] == name
        return
    pytest.skip("no name with a homophone")


def test_person_in_traditional_characters(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    for row in people(model):
        name = row.data["name"]
        trad = "".join(S2T.get(ch, ch) for ch in name)
        if trad == name:
            continue
        hits = search_person(server, trad, row.data["birth_date"])
        mine = [h for h in hits if h["master_id"] == server.public_id("civil_affairs", row.master_id)]
        assert mine and mine[0]["match"] == "exact" and mine[0]["score"] == 1.0, (trad, hits)
        return
    pytest.skip("no name with a traditional form")


def test_person_search_needs_the_birth_date_match(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    row = people(model)[0]
    hits = search_person(server, row.data["name"], "1899-01-01")
    assert server.public_id("civil_affairs", row.master_id) not in [h["master_id"] for h in hits]


def entities(model: ReadModel) -> list[Row]:
    out = []
    for (mid,) in model._all("SELECT master_id FROM entity ORDER BY master_id"):
        row = model.entity(master_id=mid)
        if row and row.data.get("name") and len(row.data["name"]) >= 6:
            out.append(row)
    return out


def search_entity(server: Server, name: str) -> list[dict]:
    with server.client("statistics") as c:
        r = c.post("/v1/entities/search", params={"purpose": "enterprise_census"}, json={"name": name})
    assert r.status_code == 200, r.text
    return list(r.json()["results"])


def found(hits: list[dict], mid: str) -> dict | None:
    return next((h for h in hits if h["master_id"] == mid), None)  # (mid: the public id statistics sees)


def test_entity_variants(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    from warehouse.api.index import entity_name_key

    checked = {"traditional": False, "homophone": False, "prefix": False, "partial": False}
    for row in entities(model)[:60]:
        name = row.data["name"]
        key = entity_name_key(name) or ""
        trad = "".join(S2T.get(ch, ch) for ch in name)
        if trad != name and not checked["traditional"]:
            h = found(search_entity(server, trad), server.public_id("statistics", row.master_id))
            assert h and h["match"] == "exact", (trad, name)
            checked["traditional"] = True
        i = next((i for i, ch in enumerate(key) if [x for x in homophones(ch) if x != ch]), None)
        if i is not None and not checked["homophone"]:
            alt = [x for x in homophones(key[i]) if x != key[i]][0]
            typo = key[:i] + alt + key[i + 1:]
            h = found(search_entity(server, typo), server.public_id("statistics", row.master_id))
            assert h and h["match"] in ("homophone", "exact") and h["score"] >= 0.95, (typo, name)
            checked["homophone"] = True
        if key != name and not checked["prefix"]:
            h = found(search_entity(server, key), server.public_id("statistics", row.master_id))  # without 亳州市/谯城区... prefix
            assert h and h["score"] == 1.0, (key, name)
            checked["prefix"] = True
        if len(key) >= 6 and not checked["partial"]:
            part = key[: len(key) - 2]
            assert found(search_entity(server, part), server.public_id("statistics", row.master_id)), (part, name)
            checked["partial"] = True
        if all(checked.values()):
            return
    assert checked["homophone"] and checked["partial"], checked
