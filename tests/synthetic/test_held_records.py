"""Records a department holds in place of a paper the applicant would otherwise bring: the health
system's death certificates, civil affairs' cremation records and the drivers' medical examinations
the designated medical institutions upload to traffic police.  Each row must agree with the world it was drawn from (the deceased, the
driver whose licence is due), or the once-only figures built on them would be fiction."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.synthetic.extracts.person_licences import (
    CONTRACT_KINDS,
    EXAM_VALID_DAYS,
    EXISTING_HOME_LAG,
    NEW_HOME_LAG,
    RENEWAL_OPENS_DAYS,
)
from pipelines.synthetic.profile import load_profile


def _rows(city: Path, source: str, table: str) -> list[dict]:
    """The native rows of a database table, each with its truth (true person / licence)."""
    entry = next(t for t in json.loads((city / "manifest.json").read_text(encoding="utf-8"))["tables"]
                 if (t["source"], t["table"]) == (source, table))
    path, name = entry["location"].split("#")
    con = sqlite3.connect(path)
    con.row_factory = sqlite3.Row
    try:
        native = [dict(r) for r in con.execute(f'SELECT * FROM "{name}"')]
    finally:
        con.close()
    truth = {r["record_key"]: r for r in pq.read_table(city / "truth" / "records" / f"{source}__{table}.parquet")
             .to_pylist() if r["batch"] == "day1"}
    return [{**r, "_truth": truth[r[next(iter(r))]]} for r in native if r[next(iter(r))] in truth]


def test_death_certificates_are_of_the_dead_since_the_national_form(city: Path) -> None:
    """Every 死亡医学证明 is about a person who died (on the certified day) since 2014, issued within
    days of the death; nearly every such death is certified, nobody alive has one."""
    persons = pq.read_table(city / "truth" / "persons.parquet").to_pylist()
    rows = _rows(city, "health", "swyxzm")
    assert rows
    certified = set()
    for r in rows:
        p = persons[r["_truth"]["true_person_id"]]
        assert p["death_date"] is not None and p["death_date"] >= date(2014, 1, 1), r
        issued = date.fromisoformat(str(r["qfrq"])[:10])
        assert p["death_date"] <= issued <= p["death_date"] + timedelta(days=3), r
        assert r["swdd"] in ("医疗卫生机构", "家中", "其他场所") and r["qfjg"].endswith(("人民医院", "卫生院", "服务中心"))
        certified.add(r["_truth"]["true_person_id"])
    dead = [i for i, p in enumerate(persons) if p["death_date"] is not None and p["death_date"] >= date(2014, 1, 1)]
    assert len(certified) >= 0.9 * len(dead)


def test_cremation_records_are_of_the_dead_cremated_days_after_the_death(city: Path) -> None:
    """Every 火化 record is about a person who died since 2014, cremated one to five days after the
    recorded death at his county's funeral home; most such deaths have one."""
    persons = pq.read_table(city / "truth" / "persons.parquet").to_pylist()
    rows = _rows(city, "civil_affairs", "hhjl")
    assert rows
    cremated = set()
    for r in rows:
        p = persons[r["_truth"]["true_person_id"]]
        assert p["death_date"] is not None and p["death_date"] >= date(2014, 1, 1), r
        assert p["death_date"] <= date.fromisoformat(str(r["hhrq"])[:10]) <= p["death_date"] + timedelta(days=5), r
        assert r["byg"].endswith("殡仪馆")
        cremated.add(r["_truth"]["true_person_id"])
    dead = [i for i, p in enumerate(persons) if p["death_date"] is not None and p["death_date"] >= date(2014, 1, 1)]
    assert 0.8 * len(dead) <= len(cremated) < len(dead)


def test_drivers_medical_examinations_are_of_drivers_due_and_still_valid(city: Path) -> None:
    """A 身体条件证明 is held for a living driver whose licence is due (expires within the renewal
    window or expired less than six months ago), examined on or after the window opened and within
    six months of the day; it names his licence.  Every such driver has one."""
    persons = pq.read_table(city / "truth" / "persons.parquet").to_pylist()
    licences = pq.read_table(city / "truth" / "licences.parquet").to_pylist()
    day1 = date.fromisoformat(str(load_profile().day1)[:10])
    rows = _rows(city, "traffic_police", "jsr_tjxx")
    assert rows
    examined = set()
    for r in rows:
        lic = licences[r["_truth"]["true_licence_id"]]
        assert lic["type_code"] == "004" and lic["holder_person_id"] == r["_truth"]["true_person_id"], r
        assert persons[lic["holder_person_id"]]["death_date"] is None and r["dabh"] == lic["number"]
        exam = date.fromisoformat(r["tjrq"])
        assert day1 - timedelta(days=EXAM_VALID_DAYS) < exam <= day1, r
        assert exam >= lic["valid_to"] - timedelta(days=RENEWAL_OPENS_DAYS), r
        assert date.fromisoformat(r["yxqz"]) == exam + timedelta(days=EXAM_VALID_DAYS) and r["tjjl"] == "合格"
        examined.add(lic["licence_id"])
    due = {lic["licence_id"] for lic in licences if lic["type_code"] == "004" and lic["valid_to"] is not None
           and day1 - timedelta(days=EXAM_VALID_DAYS) < lic["valid_to"] <= day1 + timedelta(days=RENEWAL_OPENS_DAYS)
           and lic["status"] in ("1", "4") and persons[lic["holder_person_id"]]["death_date"] is None}
    assert due and examined == due


def _urban_titles(city: Path) -> dict[int, dict]:
    """Person-held titles (不动产权证书) of urban households, by licence id."""
    truth = {t: pq.read_table(city / "truth" / f"{t}.parquet").to_pylist() for t in ("persons", "households", "licences")}
    urban = {h["household_id"] for h in truth["households"] if h["urban"]}
    return {lic["licence_id"]: lic for lic in truth["licences"] if lic["type_code"] == "035"
            and lic["holder_person_id"] is not None
            and truth["persons"][lic["holder_person_id"]]["household_id"] in urban}


def test_home_sale_contracts_are_the_buyers_of_urban_titles_signed_before_them(city: Path) -> None:
    """A 网签备案 contract names the holder of a person-held title (不动产权证书) of an urban household
    and the title's address, signed before the title was issued - a presold new home six months to two
    years before, an existing home weeks before - and filed within two days; most urban titles
    have one, no village homestead has."""
    titles = _urban_titles(city)
    contracts = _rows(city, "housing_construction", "wqba_mm")
    for c in contracts:
        title = titles[c["_truth"]["true_licence_id"]]  # KeyError: not an urban household's title
        assert title["holder_person_id"] == c["_truth"]["true_person_id"] and c["fwzl"] == title["detail"], c
        signed, filed = date.fromisoformat(str(c["qyrq"])[:10]), date.fromisoformat(str(c["barq"])[:10])
        low, high = NEW_HOME_LAG if c["htlx"] == CONTRACT_KINDS[0] else EXISTING_HOME_LAG
        assert c["htlx"] in CONTRACT_KINDS and low <= (title["issue_date"] - signed).days <= high, c
        assert signed <= filed <= signed + timedelta(days=2), c
    bought = {c["_truth"]["true_licence_id"] for c in contracts}  # a contract keyed in twice counts once
    assert 0.6 * len(titles) <= len(bought) <= len(titles)
