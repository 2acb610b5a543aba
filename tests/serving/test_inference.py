"""No inference: every attribute a department may not receive stays hidden behind every other door.

For every department, every purpose it may state and every element it may not receive for it (the
not-shared ones, the ones no grant in force gives, the ones above its clearance, the identifiers
whose values are withheld ones) - recomputed from the data files alone, as in ``test_authz`` - the
real server is asked what a department could use to infer it:

* licences: the licence lists of persons holding each licence type that implies an attribute (残疾人证
  -> the disability category ...) and the licences themselves, by identifier and by id: a type
  implying a withheld attribute is never listed and never found (answered exactly as an absent
  licence), and the list's length counts only what is shown;
* holders: a licence's ``holder_id`` is a withheld ID number nowhere;
* search: persons (where name and birth date may be used) and entities; the hits an entity search
  returns are the same masters for every department, whatever it may receive;
* enumeration: a minted (sequential) master id is refused before any lookup, a made-up or another
  department's id names nothing;

and the withheld element's value of every subject in play must not appear in any of those answers.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.serving.conftest import Server
from tests.serving.subjects import rich_entity, rich_person
from tests.serving.test_authz import (
    DEPARTMENTS,
    ELEMENTS,
    IMPLIES,
    expected,
    grants_doc,
    purposes_of,
    withheld_types,
)
from warehouse.api.index import ReadModel


def _holder_of_each_implying_type(model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Type code -> (a person holding a licence of it, that licence), for every type implying something."""
    out = {}
    for code in sorted(c for c, names in IMPLIES.items() if names):
        for (data,) in model._all("SELECT data FROM licence WHERE type_code = ? ORDER BY master_id", (code,)):
            lic = json.loads(data)
            row = model.person(master_id=lic.get("holder_master_id") or "")
            if row is not None and row.data.get("name"):
                out[code] = (row, lic)
                break
    return out


@pytest.fixture(scope="module")
def cast(model) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    holders = _holder_of_each_implying_type(model)
    assert {"049", "009"} <= set(holders), f"the city holds no 残疾人证 or 结婚证 holder: {sorted(holders)}"
    return {"holders": holders, "person": rich_person(model), "entity": rich_entity(model)}


def _withheld(doc: dict[str, Any], dep: str, purpose: str) -> dict[str, str]:
    """qualified element -> reason, every element the department may not receive for the purpose."""
    return {f"{m}.{n}": why for m in ELEMENTS for n, why in expected(doc, dep, purpose, m).items() if why}


def _scannable(v: Any) -> bool:
    """A value long enough that finding its text in an answer means it was disclosed."""
    return v is not None and len(str(v)) >= 6


class Answers:
    """Every answer one department got for one purpose, with the masters each one is about."""

    def __init__(self) -> None:
        self.items: list[tuple[str, str, list[dict[str, Any]]]] = []  # (what, text, subjects' data)

    def add(self, what: str, r: httpx.Response, *subjects: dict[str, Any]) -> None:
        assert r.status_code in (200, 403, 404), (what, r.status_code, r.text)
        self.items.append((what, r.text, list(subjects)))

    def __iter__(self) -> Iterator[tuple[str, str, list[dict[str, Any]]]]:
        return iter(self.items)


def _licence_doors(c: httpx.Client, server: Server, dep: str, q: dict[str, str], hidden: set[str],
                   holders: dict[str, Any], model: ReadModel, answers: Answers) -> int:
    """Licence lists and licences of the holders of implying types; returns the leaks found."""
    leaks = 0
    absent = c.get("/v1/licences/" + server.public_id(dep, "L9999999999"), params=q)
    for code, (person, lic) in holders.items():
        r = c.get(f"/v1/persons/{server.public_id(dep, person.master_id)}/licences", params=q)
        answers.add(f"licences of a {code} holder", r, person.data, lic)
        assert r.status_code == 200, r.text
        listed = r.json()["licences"]
        shown = [x for x in model.licences_of(person.master_id) if str(x.get("type_code")) not in hidden]
        leaks += sum(1 for row in listed if row["fields"].get("type_code") in hidden)
        assert len(listed) == len(shown), (dep, q, code)  # the count counts only what is shown
        for path in ("/v1/licences/" + server.public_id(dep, lic["master_id"]),
                     *(["/v1/licences/" + lic["identifier"]] if lic.get("identifier") else [])):
            got = c.get(path, params=q)
            answers.add(f"licence {code}", got, lic, person.data)
            if code in hidden:
                leaks += got.status_code != 404
                assert (got.json()["title"], got.json()["detail"]) == (absent.json()["title"], absent.json()["detail"])
    return leaks


def _search_doors(c: httpx.Client, server: Server, dep: str, q: dict[str, str], withheld: dict[str, str],
                  cast: dict[str, Any], answers: Answers) -> None:
    person, entity = cast["person"], cast["entity"]
    searchable = "person.birth_date" not in withheld and "person.name" not in withheld
    for row in [person] + [h[0] for h in cast["holders"].values()] if searchable else []:
        if not row.data.get("birth_date"):
            continue
        r = c.post("/v1/persons/search", params=q, json={"name": row.data["name"], "birth_date": row.data["birth_date"]})
        answers.add("person search", r, row.data)
    r = c.post("/v1/entities/search", params=q, json={"name": entity.data["name"]})
    answers.add("entity search", r, entity.data)
    r = c.get(f"/v1/entities/{server.public_id(dep, entity.master_id)}", params=q)
    answers.add("entity", r, entity.data)
    r = c.get(f"/v1/persons/{server.public_id(dep, person.master_id)}", params=q)
    answers.add("person", r, person.data)
    r = c.get(f"/v1/persons/{server.public_id(dep, person.master_id)}/licences", params=q)
    answers.add("person's licences", r, person.data, *cast_licences(cast, person))
    r = c.get(f"/v1/entities/{server.public_id(dep, entity.master_id)}/licences", params=q)
    answers.add("entity's licences", r, entity.data)


def cast_licences(cast: dict[str, Any], person: Any) -> list[dict[str, Any]]:
    return [lic for p, lic in cast["holders"].values() if p.master_id == person.master_id]


def _value_leaks(answers: Answers, withheld: dict[str, str], shown_values: set[str]) -> list[str]:
    """Withheld values of the subjects found in the answers' text (other than as a shown value)."""
    found = []
    for what, text, subjects in answers:
        for data in subjects:
            for q in withheld:
                master, name = q.split(".")
                v = data.get(name)
                if _scannable(v) and str(v) not in shown_values and str(v) in text:
                    found.append(f"{q} via {what}")
    return found


def _shown(answers: Answers) -> set[str]:
    """Every value an answer shows in an allowed field (the same text may legitimately be two elements)."""
    out: set[str] = set()
    for _what, text, _s in answers:
        body = json.loads(text)
        for rec in [body, *body.get("licences", []), *body.get("results", [])] if isinstance(body, dict) else []:
            out.update(str(v) for v in (rec.get("fields") or {}).values() if v is not None)
    return out


@pytest.mark.parametrize("dep", DEPARTMENTS)
def test_no_withheld_attribute_can_be_inferred(server: Server, model, cast, dep: str) -> None:  # type: ignore[no-untyped-def]
    doc = grants_doc(server)
    checked = 0
    with server.client(dep) as c:
        for purpose in purposes_of(doc, dep):
            q = {"purpose": purpose}
            withheld = _withheld(doc, dep, purpose)
            hidden = withheld_types(doc, dep, purpose)
            # every type implying a withheld attribute is hidden, and only those
            assert hidden == {code for code, names in IMPLIES.items() if set(names) & set(withheld)}
            answers = Answers()
            leaks = _licence_doors(c, server, dep, q, hidden, cast["holders"], model, answers)
            _search_doors(c, server, dep, q, withheld, cast, answers)
            assert leaks == 0, f"{dep}/{purpose}: {leaks} licence(s) implying a withheld attribute shown"
            assert not _value_leaks(answers, withheld, _shown(answers)), (dep, purpose)
            for _what, text, _s in answers:  # no answer names a withheld element as a field
                body = json.loads(text)
                for rec in [body, *body.get("licences", []), *body.get("results", [])]:
                    master = body.get("master") or ("licence" if rec is not body else None)
                    for name in rec.get("fields") or {}:
                        assert f"{master}.{name}" not in withheld or master is None, (dep, purpose, name)
            checked += len(withheld)
    assert checked > 0


def test_entity_search_finds_the_same_masters_for_every_department(server: Server, model, cast) -> None:  # type: ignore[no-untyped-def]
    """How many and which entities a search finds does not depend on what the caller may receive."""
    from warehouse.api.publicid import PublicIds, load_secret

    ids = PublicIds(load_secret(server.home / "warehouse" / "serving.id-key"))
    name = cast["entity"].data["name"]
    found = {}
    for dep in DEPARTMENTS:
        with server.client(dep) as c:
            r = c.post("/v1/entities/search", params={"purpose": "general_inquiry"}, json={"name": name})
        assert r.status_code == 200, r.text
        found[dep] = sorted(ids.decode(f"department:{dep}", h["master_id"]) or "?" for h in r.json()["results"])
    assert len({tuple(v) for v in found.values()}) == 1 and "?" not in found[DEPARTMENTS[0]]


def test_master_ids_cannot_be_walked(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    """A minted id is refused as such (before any lookup, so present and absent ids look alike), a
    made-up public id names nothing, and one department's id is nothing to another."""
    real = model._all("SELECT master_id FROM person ORDER BY master_id LIMIT 3")
    with server.client("civil_affairs") as c:
        q = {"purpose": "marriage_registration"}
        tried = [mid for (mid,) in real] + ["P9999999999"]  # three that exist, one that does not
        bodies = [c.get(f"/v1/persons/{mid}", params=q) for mid in tried]
        assert {r.status_code for r in bodies} == {422}
        assert len({r.json()["detail"].replace(mid, "") for r, mid in zip(bodies, tried, strict=True)}) == 1
        for guess in ("P" + "a" * 26, "P" + "q3x" * 8 + "qq"):
            assert c.get(f"/v1/persons/{guess}", params=q).status_code == 404
        mine = server.public_id("civil_affairs", real[0][0])
        assert c.get(f"/v1/persons/{mine}", params=q).status_code == 200
        for path in ("/v1/entities/E0000000001", "/v1/licences/L0000000001"):
            assert c.get(path, params=q).status_code == 422
    with server.client("education") as c:
        assert c.get(f"/v1/persons/{mine}", params={"purpose": "school_enrolment"}).status_code == 404
