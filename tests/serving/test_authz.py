"""The authorisation matrix: every department x purpose x master x element, over HTTP.

What a department may receive is recomputed here from the two data files alone - the element
dictionary (sharing and data grade of each element) and the grants file - independently of the
server's code, and compared field by field with what the server returns: by master id, by
identifier, in licence lists and in search results.  Withheld values must not appear anywhere in a
response body, and a search may not filter on a withheld element (a match would disclose it).
"""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.serving.conftest import REPO, Server
from tests.serving.subjects import rich_entity, rich_person

ELEMENTS = yaml.safe_load((REPO / "standards" / "elements.yaml").read_text(encoding="utf-8"))["masters"]
GRADE = {"general": 0, "important": 1, "core": 2}
DEPARTMENTS = [line.split(",")[1] for line in
               (REPO / "standards" / "codes" / "departments.csv").read_text(encoding="utf-8").splitlines()[1:]]
TODAY = date.today()
OTHER_PURPOSE = "general_inquiry"


def grants_doc(server: Server) -> dict[str, Any]:
    return yaml.safe_load(Path(server.env["MASTERDATA_GRANTS"]).read_text(encoding="utf-8"))


def _day(v: Any) -> date | None:
    return None if v is None else (v if isinstance(v, date) else date.fromisoformat(str(v)))


HOLDER_KEYS = {str(code): f"{h['master']}.{h['key']}" for code, h in yaml.safe_load(
    (REPO / "schemas" / "masters" / "licence.yaml").read_text(encoding="utf-8"))["holders"].items()}
IMPLIES = {line.split(",")[0]: line.split(",")[-1].split() for line in
           (REPO / "standards" / "codes" / "licence_types.csv").read_text(encoding="utf-8").splitlines()[1:]}


def expected(doc: dict[str, Any], dep: str, purpose: str, master: str) -> dict[str, str | None]:
    """element name -> None if the department receives it, else the reason it is withheld (an element
    whose values are those of a withheld one - ``discloses`` in the dictionary - is withheld too)."""
    every = {m: _expected(doc, dep, purpose, m) for m in ELEMENTS}
    out = every[master]
    for name, e in ELEMENTS[master]["elements"].items():
        target = e.get("discloses")
        if target and out[name] is None:
            m, n = target.split(".")
            if every[m][n] is not None:
                out[name] = "discloses"
    return out


def withheld_types(doc: dict[str, Any], dep: str, purpose: str) -> set[str]:
    """Licence types the department may not see listed: each implies an attribute it may not receive."""
    every = {m: expected(doc, dep, purpose, m) for m in ELEMENTS}
    return {code for code, names in IMPLIES.items()
            if any(every[n.split(".")[0]][n.split(".")[1]] is not None for n in names)}


def row_allowed(exp_licence: dict[str, str | None], doc: dict[str, Any], dep: str, purpose: str,
                lic: dict[str, Any]) -> set[str]:
    """The licence fields a department receives of one licence: its holder id only where the key
    element of the holder's type may be received."""
    allowed = {n for n, why in exp_licence.items() if why is None}
    key = HOLDER_KEYS.get(str(lic.get("holder_id_type")))
    if key is not None and expected(doc, dep, purpose, key.split(".")[0])[key.split(".")[1]] is not None:
        allowed.discard("holder_id")
    return allowed


def _expected(doc: dict[str, Any], dep: str, purpose: str, master: str) -> dict[str, str | None]:
    clearance = GRADE[(doc.get("clearance") or {}).get(dep, doc.get("default_clearance", "important"))]
    granted: set[str] = set()
    for g in doc.get("grants") or []:
        approved, expires = _day(g.get("approved_at")), _day(g.get("expires"))
        if (g["department"] == dep and g["purpose"] == purpose and g["status"] == "approved" and approved
                and approved <= TODAY and (expires is None or TODAY <= expires)):
            granted.update(g["elements"])
    out: dict[str, str | None] = {}
    for name, e in ELEMENTS[master]["elements"].items():
        if e["sharing"] == "not_shared":
            out[name] = "not_shared"
        elif e["sharing"] == "conditional" and f"{master}.{name}" not in granted:
            out[name] = "no_grant"
        elif GRADE[e["grade"]] > clearance:
            out[name] = "above_clearance"
        else:
            out[name] = None
    return out


def purposes_of(doc: dict[str, Any], dep: str) -> list[str]:
    return sorted({g["purpose"] for g in doc.get("grants") or [] if g["department"] == dep}) + [OTHER_PURPOSE]


def assert_no_leak(text: str, data: dict[str, Any], allowed: set[str], returned: dict[str, Any]) -> None:
    shown = [str(v) for v in returned.values() if v is not None]
    for name, v in data.items():
        if name in allowed or v is None or name not in ELEMENTS_ALL or len(str(v)) < 4:
            continue
        s = str(v)
        if any(s in x or x in s for x in shown):
            continue  # the same text is also the value of a field the caller may see
        assert s not in text, f"withheld {name}={s!r} leaked"


ELEMENTS_ALL = {n for m in ELEMENTS.values() for n in m["elements"]}


def check_record(body: dict[str, Any], exp: dict[str, str | None], data: dict[str, Any], text: str,
                 master: str, allowed: set[str] | None = None) -> None:
    allowed = {n for n, why in exp.items() if why is None} if allowed is None else allowed
    assert set(body["fields"]) == allowed, (master, sorted(set(body["fields"]) ^ allowed))
    for n in allowed:
        assert body["fields"][n] == data.get(n), n
    # (licence.holder_id's per-holder-type entries aside: row_allowed checks them)
    assert {w["element"]: w["reason"] for w in body["withheld"]
            if not (w["element"] == "licence.holder_id" and exp.get("holder_id") is None)} == {
        f"{master}.{n}": why for n, why in exp.items() if why is not None}
    assert_no_leak(text, data, allowed, body["fields"])
    assert "sources" not in text and "lineage" not in text  # which departments hold him is itself data


@pytest.fixture(scope="module")
def subjects(model):  # type: ignore[no-untyped-def]
    person = rich_person(model)
    entity = rich_entity(model)
    lic = [x for x in model.licences_of(person.master_id) or model.licences_of(entity.master_id)
           if not IMPLIES.get(str(x.get("type_code")))]
    assert lic, "the rich person or entity holds no licence (of a type implying nothing)"
    return person, entity, lic[0]


@pytest.mark.parametrize("dep", DEPARTMENTS)
def test_department_matrix(server: Server, model, subjects, dep: str) -> None:  # type: ignore[no-untyped-def]
    person, entity, lic = subjects
    doc = grants_doc(server)
    pid, eid, lid = (server.public_id(dep, x) for x in (person.master_id, entity.master_id, lic["master_id"]))
    with server.client(dep) as c:
        for purpose in purposes_of(doc, dep):
            q = {"purpose": purpose}
            exp = {m: expected(doc, dep, purpose, m) for m in ("person", "entity", "licence")}
            lic_allowed = row_allowed(exp["licence"], doc, dep, purpose, lic)
            # by (public) master id
            for master, path, data in (("person", f"/v1/persons/{pid}", person.data),
                                       ("entity", f"/v1/entities/{eid}", entity.data),
                                       ("licence", f"/v1/licences/{lid}", lic)):
                r = c.get(path, params=q)
                assert r.status_code == 200, (dep, purpose, path, r.text)
                check_record(r.json(), exp[master], data, r.text, master,
                             lic_allowed if master == "licence" else None)
            # by identifier: looking a person up by ID number needs the ID number
            r = c.get(f"/v1/persons/{person.data['id_number']}", params=q)
            if exp["person"]["id_number"] is None:
                assert r.status_code == 200 and r.json()["master_id"] == pid
                check_record(r.json(), exp["person"], person.data, r.text, "person")
            else:
                assert r.status_code == 403 and r.json()["element"] == "person.id_number", r.text
                assert person.data["name"] not in r.text
            r = c.get(f"/v1/entities/{entity.data['uscc']}", params=q)
            assert r.status_code == 200 and r.json()["master_id"] == eid
            if lic.get("identifier"):
                r = c.get(f"/v1/licences/{lic['identifier']}", params=q)
                assert r.status_code == 200, r.text
                check_record(r.json(), exp["licence"], lic, r.text, "licence", lic_allowed)
            # licence lists: no type implying a withheld attribute; holder ids per the holder's key
            hidden = withheld_types(doc, dep, purpose)
            for holder, path in ((person, f"/v1/persons/{pid}/licences"), (entity, f"/v1/entities/{eid}/licences")):
                r = c.get(path, params=q)
                assert r.status_code == 200, r.text
                held = [x for x in model.licences_of(holder.master_id) if str(x.get("type_code")) not in hidden]
                assert sorted(row["master_id"] for row in r.json()["licences"]) == sorted(
                    server.public_id(dep, x["master_id"]) for x in held)
                assert {t["type_code"] for t in r.json()["withheld_licence_types"]} == hidden
                by_id = {server.public_id(dep, x["master_id"]): x for x in held}
                for row in r.json()["licences"]:
                    assert set(row["fields"]) == row_allowed(exp["licence"], doc, dep, purpose, by_id[row["master_id"]])
            # search: persons by name + birth date only when both may be seen
            r = c.post("/v1/persons/search", params=q,
                       json={"name": person.data["name"], "birth_date": person.data["birth_date"]})
            if exp["person"]["birth_date"] is None:
                assert r.status_code == 200, r.text
                hits = r.json()["results"]
                assert pid in [h["master_id"] for h in hits]
                allowed = {n for n, why in exp["person"].items() if why is None}
                for h in hits:
                    assert set(h["fields"]) == allowed
                assert_no_leak(r.text, person.data, allowed, hits[0]["fields"])
            else:
                assert r.status_code == 403 and r.json()["element"] == "person.birth_date", r.text
                assert pid not in r.text and person.data["name"] not in r.text
            r = c.post("/v1/entities/search", params=q, json={"name": entity.data["name"]})
            assert r.status_code == 200, r.text
            hits = r.json()["results"]
            mine = [h for h in hits if h["master_id"] == eid]
            assert mine and mine[0]["score"] == 1.0 and mine[0]["match"] == "exact"
            allowed = {n for n, why in exp["entity"].items() if why is None}
            for h in hits:
                assert set(h["fields"]) == allowed
            assert_no_leak(r.text, entity.data, allowed, mine[0]["fields"])


def test_grade_clearance_applies_even_under_a_grant(server: Server, subjects) -> None:  # type: ignore[no-untyped-def]
    person, _e, _l = subjects
    with server.client("grassroots_service") as c:  # clearance general; its grant lists important elements
        body = c.get(f"/v1/persons/{server.public_id('grassroots_service', person.master_id)}", params={"purpose": "certificate_issuing"}).json()
    reasons = {w["element"]: w["reason"] for w in body["withheld"]}
    assert reasons["person.id_number"] == "above_clearance" and reasons["person.birth_date"] == "above_clearance"
    assert "relation_to_head" in body["fields"] and "household_area" in body["fields"]
    assert reasons["person.disability_category"] == "not_shared"


@pytest.mark.parametrize("dep,purpose", [("public_security", "criminal_investigation"),  # pending
                                         ("culture_tourism", "tour_guide_licensing"),  # rejected
                                         ("commerce", "foreign_trade_filing"),  # revoked
                                         ("tax", "individual_income_tax")])  # expired
def test_grants_not_in_force_give_nothing(server: Server, subjects, dep: str, purpose: str) -> None:  # type: ignore[no-untyped-def]
    person, entity, _l = subjects
    with server.client(dep) as c:
        p = c.get(f"/v1/persons/{server.public_id(dep, person.master_id)}", params={"purpose": purpose}).json()
        e = c.get(f"/v1/entities/{server.public_id(dep, entity.master_id)}", params={"purpose": purpose}).json()
    assert set(p["fields"]) == {"name", "sex"} and p["grants"] == []
    assert "phone" not in e["fields"] and "legal_rep_id_number" not in e["fields"]


def test_grants_are_data(server: Server, subjects) -> None:  # type: ignore[no-untyped-def]
    """A grant added to the file takes effect on the next request; removing it withdraws it."""
    import time

    person, _e, _l = subjects
    path = Path(server.env["MASTERDATA_GRANTS"])
    original = path.read_text(encoding="utf-8")
    doc = yaml.safe_load(original)
    doc["grants"].append({"id": "G-TEST-1", "department": "water_resources", "purpose": "flood_relief",
                          "purpose_text": "防汛救灾联系受灾群众", "owner": "public_security",
                          "elements": ["person.phone", "person.residential_address"], "status": "approved",
                          "requested_at": "2026-01-01", "approved_at": "2026-01-02"})
    q = {"purpose": "flood_relief"}
    pid = server.public_id("water_resources", person.master_id)
    try:
        with server.client("water_resources") as c:
            before = c.get(f"/v1/persons/{pid}", params=q)  # no grant names the purpose yet
            assert before.status_code == 422 and "flood_relief" not in before.json()["valid"]
            time.sleep(0.01)
            path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
            after = c.get(f"/v1/persons/{pid}", params=q).json()
            assert {"phone", "residential_address"} <= set(after["fields"]) and after["grants"] == ["G-TEST-1"]
            # a grants file edited into an invalid state: the last valid grants stay in force
            time.sleep(0.01)
            path.write_text("grants: [not, a, grant]\n", encoding="utf-8")
            kept = c.get(f"/v1/persons/{pid}", params=q)
            assert kept.status_code == 200 and "phone" in kept.json()["fields"]
            health = c.get("/health").json()  # a caller with a key reads why
            assert health["status"] == "degraded" and "grants" in health["error"] and str(path) in health["error"]
            import httpx

            anon = httpx.get(server.url + "/health").json()  # anyone else: which part, no path, no error text
            assert anon["status"] == "degraded" and "grants" in anon["error"]
            assert str(path.parent) not in anon["error"] and "/" not in anon["error"]
    finally:
        path.write_text(original, encoding="utf-8")
    with server.client("water_resources") as c:
        assert c.get(f"/v1/persons/{pid}", params=q).status_code == 422  # withdrawn with its grant
        assert c.get("/health").json()["status"] == "ok"


def test_every_access_is_audited_with_fields(server: Server, subjects) -> None:  # type: ignore[no-untyped-def]
    from warehouse.api.store import Store

    person, _e, _l = subjects
    store = Store(server.store, server.home / "warehouse" / "serving.audit-key")
    with server.client("civil_affairs") as c:
        r = c.get(f"/v1/persons/{server.public_id('civil_affairs', person.master_id)}",
                  params={"purpose": "marriage_registration"})
        r403 = c.post("/v1/persons/search", params={"purpose": OTHER_PURPOSE},
                      json={"name": person.data["name"], "birth_date": person.data["birth_date"]})
    assert r.status_code == 200 and r403.status_code == 403
    last = [e for e in store.audit_entries(20) if e["action"] != "refused"][-2:]  # counted refusals flush any time
    ok, refused = last
    assert ok["caller"].endswith("civil_affairs-system") and ok["department"] == "civil_affairs"
    assert ok["purpose"] == "marriage_registration" and ok["action"] == "person" and ok["status"] == 200
    assert json.loads(ok["subject"]) == [person.master_id]
    returned = {f"person.{k}" for k, v in r.json()["fields"].items() if v is not None}
    assert set(json.loads(ok["fields"])) == returned
    assert refused["status"] == 403 and refused["purpose"] == OTHER_PURPOSE and json.loads(refused["fields"]) == []


@pytest.fixture(scope="module")
def sealed(server: Server, model):  # type: ignore[no-untyped-def]
    """A consented birth registration with its sealed evidence (addressed to public security)."""
    from tests.serving.test_evidence import consented

    app_id, _body, _parent, _child = consented(server, model)
    with server.client("public_security") as c:
        docs = c.get(f"/v1/applications/{app_id}/evidence", params={"purpose": "household_registration"}).json()
    return app_id, docs["documents"]


@pytest.mark.parametrize("caller", [*DEPARTMENTS, "hall", "identity"])
def test_evidence_matrix(server: Server, sealed, caller: str) -> None:  # type: ignore[no-untyped-def]
    """Evidence documents reach the department the application is addressed to and nobody else; the
    public key and verification serve every caller and disclose nothing."""
    app_id, docs = sealed
    assert docs
    q = {"purpose": "household_registration"}
    with server.client(caller) as c:
        r = c.get(f"/v1/applications/{app_id}/evidence", params=q)
        one = c.get(f"/v1/evidence/{docs[0]['document_id']}", params=q)
        if caller == "public_security":
            assert r.status_code == 200 and r.json()["documents"] == docs
            assert one.status_code == 200 and one.json() == docs[0]
        else:
            assert r.status_code == (403 if caller in ("hall", "identity") else 404), (caller, r.text)
            assert one.status_code == r.status_code, (caller, one.text)
            for d in docs:  # nothing of the documents leaks into a refusal
                for v in d["statement"]["attested"].values():
                    if v is not None and len(str(v)) >= 4:
                        assert str(v) not in r.text + one.text, caller
        assert c.get("/v1/evidence/public-key").status_code == 200
        v = c.post("/v1/evidence/verify", json=docs[0])
        assert v.status_code == 200 and v.json()["valid"] is True and set(v.json()) == {
            "valid", "reason", "key_id", "document_id"}
