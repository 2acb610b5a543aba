"""The simulated day: applicants who would really apply, drawn from the real gold masters by seed."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse.api.autofill import licence_state
from warehouse.api.catalogue import catalogue
from warehouse.api.day import DECLINE_RATE, UNIVERSAL, Drawn, Routes, draw

TODAY = date.today()


@pytest.fixture(scope="module")
def day(city: Path) -> tuple[list[Drawn], Path]:
    gold = city / "warehouse" / "gold.duckdb"
    drawn, volumes = draw(gold, catalogue(), 600, 11, TODAY)
    assert len(drawn) == 600 and len(volumes) > 100
    return drawn, gold


def _rows(gold: Path, table: str, ids: set[str]) -> dict[str, dict[str, object]]:
    con = duckdb.connect(str(gold), read_only=True)
    try:
        cur = con.execute(f"SELECT * FROM {table} WHERE master_id IN (SELECT unnest(?))", [sorted(ids)])
        cols = [c[0] for c in cur.description]
        return {r[0]: dict(zip(cols, r)) for r in cur.fetchall()}
    finally:
        con.close()


def _licences(gold: Path, holders: set[str]) -> dict[str, list[dict[str, object]]]:
    con = duckdb.connect(str(gold), read_only=True)
    try:
        cur = con.execute("SELECT holder_master_id, type_code, status, valid_from, valid_to, issue_date FROM "
                          "licence_master WHERE holder_master_id IN (SELECT unnest(?))", [sorted(holders)])
        out: dict[str, list[dict[str, object]]] = {}
        for h, t, s, vf, vt, issued in cur.fetchall():
            out.setdefault(h, []).append({"type_code": t, "status": s, "valid_from": str(vf) if vf else None,
                                          "valid_to": str(vt) if vt else None, "issue_date": issued})
        return out
    finally:
        con.close()


def _iso(v: object) -> str:
    return str(v)[:10]


def _buyers(gold: Path) -> set[str]:
    """Persons whose home sale contract the housing department filed (网签备案)."""
    con = duckdb.connect(str(gold), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT master_id FROM person_xref WHERE source = 'housing_construction' "
                                          "AND table_name = 'wqba_mm'").fetchall()}
    finally:
        con.close()


def test_applicants_would_really_apply(day: tuple[list[Drawn], Path]) -> None:
    drawn, gold = day
    cat = catalogue()
    persons = _rows(gold, "person_master", {d.person for d in drawn} | {d.concerning for d in drawn if d.concerning})
    entities = _rows(gold, "entity_master", {d.entity for d in drawn if d.entity})
    lics = _licences(gold, {d.person for d in drawn} | {d.entity for d in drawn if d.entity}
                     | {d.concerning for d in drawn if d.concerning})
    today = TODAY.isoformat()
    seen = {"renew": 0, "holder": 0, "entity": 0, "birth": 0, "death": 0, "marriage": 0, "purchase": 0}
    buyers = _buyers(gold)
    for d in drawn:
        item = cat.items[d.item]
        p = persons[d.person]
        assert p["id_number"] and p["death_date"] is None, d  # a living applicant who can sign in
        subject = d.concerning or d.entity or d.person  # who holds the item's licence
        if item.target == "entity":
            assert d.entity and str(entities[d.entity].get("status") or "1") == "1", d
            seen["entity"] += 1
        assert cat.holds(item.applies_if, {k: (_iso(v) if k == "birth_date" and v else v) for k, v in p.items()},
                         entities.get(d.entity or ""), TODAY), (d, item.applies_if)
        lt = item.licence_type
        if lt in ("001", "002"):  # public security issues them where the household register records him
            assert p["household_no"] is not None, (d, item.name)
        own = lt and cat.licence_types[lt]["holder_kind"] == ("entity" if item.target == "entity" else "person")
        if own and lt not in UNIVERSAL and item.action in ("renew", "change", "replace", "cancel"):
            states = [licence_state(x, today) for x in lics.get(subject, []) if x["type_code"] == lt]
            if item.action == "renew":  # a holder whose licence falls due (a late one arrives expired)
                due = [x for x in lics.get(subject, []) if x["type_code"] == lt and x["valid_to"]
                       and abs((date.fromisoformat(str(x["valid_to"])) - TODAY).days) <= 90]
                assert due, (d, item.name)
                seen["renew"] += 1
            else:
                assert "valid" in states, (d, item.name, states)
                seen["holder"] += 1
        if item.event in ("birth", "school_entry") and d.concerning:
            child = persons[d.concerning]
            assert child["guardian_id_number"] == p["id_number"] or (
                child["household_no"] == p["household_no"] and p["relation_to_head"] in ("户主", "配偶")), d
            if item.event == "birth":
                assert date.fromisoformat(_iso(child["birth_date"])) > TODAY - timedelta(days=365)
                seen["birth"] += 1
        if item.event == "death":
            dead = persons[d.concerning or ""]
            assert dead["death_date"] is not None and date.fromisoformat(_iso(dead["death_date"])) > TODAY - timedelta(
                days=365), d
            seen["death"] += 1
        if item.event == "marriage":
            assert str(p["marital_status"]) in ("10", "30", "40"), d  # nobody marries twice at once
            seen["marriage"] += 1
        if item.event == "home_purchase":  # a buyer: his title issued in the past year, his contract on file
            assert d.person in buyers and any(
                x["type_code"] == "035" and x["issue_date"] is not None
                and date.fromisoformat(_iso(x["issue_date"])) > TODAY - timedelta(days=365)
                for x in lics.get(d.person, [])), d
            seen["purchase"] += 1
    assert seen["renew"] and seen["holder"] and seen["entity"] and seen["birth"], seen


def test_applicants_go_to_the_hall_of_their_county(day: tuple[list[Drawn], Path]) -> None:
    drawn, gold = day
    cat = catalogue()
    persons = _rows(gold, "person_master", {d.person for d in drawn})
    halls = {str(h["area"]): k for k, h in cat.vocabulary.halls.items() if h["level"] == "county" and k != "devzone"}
    checked = 0
    for d in drawn:
        item = cat.items[d.item]
        if d.entity or item.hall == "city":
            continue
        county = halls.get(str(persons[d.person]["household_area"]))
        if county is None:  # no household area recorded: whichever hall lists the item
            continue
        assert item.hall == county, (d, item.hall, county)
        checked += 1
    assert checked > 100


def test_the_day_is_reproducible_by_seed(day: tuple[list[Drawn], Path]) -> None:
    drawn, gold = day
    again, _ = draw(gold, catalogue(), 600, 11, TODAY)
    other, _ = draw(gold, catalogue(), 600, 12, TODAY)
    assert again == drawn and other != drawn


def test_a_stated_share_withdraws_at_consent(day: tuple[list[Drawn], Path]) -> None:
    """Withdrawals are drawn per application at the stated rate; they do not change who applies."""
    drawn, gold = day
    withdrawn = sum(not d.consents for d in drawn)
    assert 0 < withdrawn < 0.06 * len(drawn), (withdrawn, DECLINE_RATE)
    everyone, _ = draw(gold, catalogue(), 600, 11, TODAY, decline=0.0)
    nobody, _ = draw(gold, catalogue(), 600, 11, TODAY, decline=1.0)
    assert all(d.consents for d in everyone) and not any(d.consents for d in nobody)
    strip = [(d.item, d.person, d.entity, d.concerning) for d in drawn]
    assert strip == [(d.item, d.person, d.entity, d.concerning) for d in everyone]


def test_the_development_zone_hall_is_routed_by_its_declaration() -> None:
    """halls.csv: the zone's hall serves the entities the city market regulator registers in its area
    (where it lists the item); persons and other entities of that area go to the county hall."""
    cat = catalogue()
    routes = Routes.of(cat)
    regulator = cat.departments["market_regulation"]["name"]
    area = str(cat.vocabulary.halls["devzone"]["area"])
    assert routes.entities == {(area, regulator): "devzone"} and routes.county[area] == "qiaocheng"
    services: dict[str, list] = {}
    for i in cat.items.values():
        services.setdefault(i.service, []).append(i)
    both = next(v for v in services.values() if {"devzone", "qiaocheng"} <= {i.hall for i in v})
    county_only = next(v for v in services.values() if "qiaocheng" in {i.hall for i in v}
                       and "devzone" not in {i.hall for i in v} and v[0].target == "entity")
    assert routes.hall(both, area, regulator, entity=True).hall == "devzone"
    assert routes.hall(both, area, "谯城区市场监督管理局", entity=True).hall == "qiaocheng"
    assert routes.hall(both, area, regulator, entity=False).hall == "qiaocheng"
    assert routes.hall(county_only, area, regulator, entity=True).hall == "qiaocheng"
