"""The licence model: the day-2 delta issues and ends papers by the same rules that made day 1's
library (one declaration per licence type), and the generator's modules share no private names."""

from __future__ import annotations

import ast
import re
from collections import defaultdict
from datetime import date
from pathlib import Path

import pyarrow.parquet as pq

from pipelines.synthetic.licences import ENTITY, PERSON, TYPES, licence_types
from pipelines.synthetic.population import years
from pipelines.synthetic.profile import load_profile

SYNTHETIC = Path(__file__).resolve().parents[2] / "pipelines" / "synthetic"
KIND = {"person": PERSON, "entity": ENTITY}


def _shape(number: str) -> str:
    """A paper number's format: digits as 9, capitals as A (J341602-2015-001234 -> A999999-9999-999999)."""
    return re.sub(r"[A-Z]", "A", re.sub(r"\d", "9", number))


def _holder(r: dict) -> tuple[int, int]:
    kind = KIND[r["holder_kind"]]
    return kind, r["holder_person_id"] if kind == PERSON else r["holder_entity_id"]


def test_day2_papers_follow_the_day1_rules(city: Path) -> None:
    l1 = pq.read_table(city / "truth" / "licences.parquet")
    l2 = pq.read_table(city / "truth" / "day2" / "licences.parquet")
    assert l2.slice(0, l1.num_rows).drop_columns(["status"]).equals(l1.drop_columns(["status"]))
    new = l2.slice(l1.num_rows).to_pylist()
    day2 = load_profile().day2
    types = licence_types()
    on_day = {t.code for t in TYPES if t.on_day}
    shapes: dict[str, set[str]] = defaultdict(set)
    for r in l1.to_pylist():
        shapes[r["type_code"]].add(_shape(r["number"]))
    p2 = pq.read_table(city / "truth" / "day2" / "persons.parquet")
    dead = {i for i, d in enumerate(p2.column("death_date").to_pylist()) if d is not None}
    spouse = p2.column("spouse_id").to_pylist()
    birth = p2.column("birth_date").to_pylist()
    uscc = pq.read_table(city / "truth" / "day2" / "entities.parquet").column("uscc").to_pylist()
    issued = {r["type_code"] for r in new}
    assert {"004", "006", "009", "020", "047", "049"} <= issued and issued & {"028", "029", "030"}
    for r in new:
        code, t = r["type_code"], types[r["type_code"]]
        kind, holder = _holder(r)
        assert code in on_day, code
        assert r["department"] == t["department"], code
        assert r["issue_date"] == r["valid_from"] == day2.item(), code
        assert r["status"] == "1", code
        if code == "001":  # an identity card runs by the holder's age at issue (GB 11643 practice)
            age = (day2.item() - birth[holder]).days / 365.25
            term_years = 5 if age < 16 else 10 if age < 26 else 20 if age < 46 else None
            end = None if term_years is None else (day2 + years(term_years)).item()
            assert r["valid_to"] == end, (code, age, r["valid_to"])
        elif t["validity_years"]:
            term = {int(t["validity_years"])} | ({5} if code == "006" else set())  # a child's passport
            assert any(r["valid_to"] == (day2 + years(y)).item() for y in term), (code, r["valid_to"])
        else:
            assert r["valid_to"] is None, code
        if code in ("028", "029", "030"):
            assert r["number"] == uscc[holder]  # a business licence is numbered by the USCC
        else:
            assert _shape(r["number"]) in shapes[code], (code, r["number"])
        if kind == PERSON:
            assert holder not in dead
    # a marriage certificate is one paper (number and paper group) held by both spouses
    couples: dict[int, list[dict]] = defaultdict(list)
    for r in new:
        if r["type_code"] == "009":
            couples[r["paper_group"]].append(r)
    assert couples
    for rows in couples.values():
        a, b = (x["holder_person_id"] for x in rows)
        assert len(rows) == 2 and rows[0]["number"] == rows[1]["number"] and spouse[a] == b


def test_papers_fall_with_their_holder_by_one_rule_on_both_days(city: Path) -> None:
    ends = {(t.code, t.holder_kind) for t in TYPES if t.ends_with_holder}
    l1 = pq.read_table(city / "truth" / "licences.parquet").to_pylist()
    l2_status = pq.read_table(city / "truth" / "day2" / "licences.parquet").column("status").to_pylist()
    deaths = pq.read_table(city / "truth" / "persons.parquet").column("death_date").to_pylist()
    dead1 = {i for i, d in enumerate(deaths) if d is not None}
    status = pq.read_table(city / "truth" / "entities.parquet").column("status").to_pylist()
    gone1 = {i for i, s in enumerate(status) if s != "1"}  # 吊销 or 注销
    events = pq.read_table(city / "truth" / "day2" / "events.parquet").to_pylist()
    died = {e["person_id"] for e in events if e["event"] == "death"}
    deregistered = {e["entity_id"] for e in events if e["event"] == "entity_deregistered"}
    expected = set()
    for i, r in enumerate(l1):
        kind, holder = _holder(r)
        ends_here = (r["type_code"], kind) in ends
        # day 1: a paper of such a type is never valid once its holder is gone
        if ends_here and holder in (dead1 if kind == PERSON else gone1):
            assert r["status"] != "1", (r["type_code"], r["number"])
        # day 2: exactly the valid ones whose holder died or was deregistered that day fall
        if ends_here and r["status"] == "1" and holder in (died if kind == PERSON else deregistered):
            expected.add(i)
    changed = {i for i, r in enumerate(l1) if r["status"] != l2_status[i]}
    assert expected and changed == expected
    assert all(l2_status[i] == "2" for i in changed)
    assert {e["licence_id"] for e in events if e["event"] == "licence_status_changed"} == changed


def test_one_paper_of_an_applied_for_type_per_holder(city: Path) -> None:
    lib = pq.read_table(city / "truth" / "day2" / "licences.parquet").to_pylist()
    for t in TYPES:
        if t.on_day != "application":
            continue
        holders = [_holder(r) for r in lib if r["type_code"] == t.code]
        assert holders and len(holders) == len(set(holders)), t.code


def test_generator_modules_share_no_private_names() -> None:
    """Each module uses another's public names only (no ``from x import _y``, no ``x._y``)."""
    offences = []
    for path in sorted(SYNTHETIC.rglob("*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        modules = {a.asname or a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom):
                modules |= {a.asname or a.name for a in node.names}
                offences += [f"{path.name}: {a.name}" for a in node.names if a.name.startswith("_")]
            if (
                isinstance(node, ast.Attribute)
                and isinstance(node.value, ast.Name)
                and node.value.id in modules
                and node.attr.startswith("_")
                and not node.attr.startswith("__")
            ):
                offences.append(f"{path.name}: {node.value.id}.{node.attr}")
    assert not offences, offences


def test_every_standard_licence_type_is_issued_and_reaches_its_department(city: Path, manifest: dict) -> None:
    """All 78 types of licence_types.csv are in the library, and each one's papers reach a table of
    the source of its issuing department (the licence master is fed from the departments)."""
    types = licence_types()
    lib = pq.read_table(city / "truth" / "licences.parquet")
    codes = lib.column("type_code").to_pylist()
    assert set(codes) == set(types)
    assert {t.code for t in TYPES} == set(types)
    reached: dict[str, set[str]] = defaultdict(set)
    for entry in manifest["tables"]:
        truth = pq.read_table(city / "truth" / "records" / f"{entry['source']}__{entry['table']}.parquet")
        for lid in truth.column("true_licence_id").drop_null().to_pylist():
            reached[codes[lid]].add(entry["source"])
    for code, t in types.items():
        assert t["department"] in reached[code], (code, t["name"], reached[code])


def test_identity_cards_follow_the_population_register(city: Path) -> None:
    """居民身份证: everyone alive from 16 holds one valid-or-expired card numbered by the resident id,
    valid 5/10/20 years or long-term by age at issue; 居民户口簿: one per household, numbered by the
    household number, held by the head or (after the head's death) a member."""
    persons = pq.read_table(city / "truth" / "persons.parquet").to_pylist()
    households = pq.read_table(city / "truth" / "households.parquet").to_pylist()
    lib = pq.read_table(city / "truth" / "licences.parquet").to_pylist()
    day1 = load_profile().day1.item()
    cards = defaultdict(list)
    for r in lib:
        if r["type_code"] == "001":
            cards[r["holder_person_id"]].append(r)
    adults = [i for i, p in enumerate(persons) if p["death_date"] is None and (day1 - p["birth_date"]).days >= 16 * 366]
    assert sum(i in cards for i in adults) >= 0.98 * len(adults)
    for pid, held in cards.items():
        assert len(held) == 1
        card, p = held[0], persons[pid]
        assert card["number"] == p["id_number"]
        age = (card["issue_date"] - p["birth_date"]).days / 365.25
        term = 5 if age < 16 else 10 if age < 26 else 20 if age < 46 else None
        if term is None:
            assert card["valid_to"] is None
        else:
            assert abs((card["valid_to"] - card["issue_date"]).days - term * 365.25) <= 1, (age, card)
        assert card["issue_date"] >= date(2004, 3, 29) and card["issue_date"] <= day1
        assert card["status"] == ("2" if p["death_date"] else "4" if card["valid_to"] and card["valid_to"] < day1 else "1")
    booklets = [r for r in lib if r["type_code"] == "002"]
    by_number = defaultdict(list)
    for r in booklets:
        by_number[r["number"]].append(r)
    assert len(by_number) == len(households)
    for h in households:
        held = by_number[h["household_no"]]
        head = held[0]["holder_person_id"]
        assert head == h["head_person_id"]
        for r in held[1:]:  # reissued to a living member after the head died
            assert persons[head]["death_date"] is not None and r["issue_date"] > persons[head]["death_date"]
            assert persons[r["holder_person_id"]]["household_id"] == h["household_id"]
