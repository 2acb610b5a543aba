"""Evidence from facts over a real server: sealed only after the applicant's consent, delivered only
to the approving department, only about the applicant or a relation the masters record, verifiable
(and a tampered document fails), and the authenticated applicant's ID card never to upload."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.serving.conftest import REPO, Server, open_session
from tests.serving.subjects import (
    TODAY,
    licences_of_type,
    parent_of_newborn,
    person_holding,
    unrelated_person,
)
from tests.serving.test_autofill import autofill, is_problem

BIRTH_REGISTRATION = "S0016"  # 新生儿出生登记（入户）: the parent's ID card and household book, 结婚证, the child's 出生医学证明
APPROVER = "public_security"
PURPOSE = {"purpose": "household_registration"}


def consented(server: Server, model) -> tuple[str, dict[str, Any], Any, Any]:  # type: ignore[no-untyped-def]
    """A birth registration by a parent of a newborn, previewed and consented."""
    parent, child = parent_of_newborn(model)
    token = open_session(server, parent.data["id_number"], parent.data["name"])
    body = autofill(server, token, {"service_item": BIRTH_REGISTRATION}).json()
    with server.client("hall", **{"X-Applicant-Token": token}) as hall:
        r = hall.post(f"/v1/hall/applications/{body['application_id']}/consent", json={"agree": True})
        assert r.status_code == 200, r.text
        assert r.json()["evidence_documents"] == body["summary"]["held"] + body["summary"]["evidence"] >= 2
    return body["application_id"], body, parent, child


def test_evidence_is_sealed_only_after_consent_and_only_for_the_approver(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    parent, child = parent_of_newborn(model)
    token = open_session(server, parent.data["id_number"], parent.data["name"])
    body = autofill(server, token, {"service_item": BIRTH_REGISTRATION}).json()
    app_id = body["application_id"]
    served = [m for m in body["materials"] if m["status"] in ("held", "evidence")]
    about_child = next(m for m in body["materials"] if m["about"] == "child")
    assert about_child["status"] in ("held", "evidence") and about_child["subject"]["master_id"] == child.master_id
    with server.client(APPROVER) as dep:  # before consent: nothing sealed, nothing delivered
        is_problem(dep.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE), 409)
    with server.client("hall", **{"X-Applicant-Token": token}) as hall:
        assert hall.post(f"/v1/hall/applications/{app_id}/consent", json={"agree": True}).json()[
            "evidence_documents"] == len(served)
    with server.client(APPROVER) as dep:
        r = dep.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE)
        assert r.status_code == 200, r.text
        docs = r.json()["documents"]
        assert len(docs) == len(served) and {d["material"]["code"] for d in docs} == {m["code"] for m in served}
        for d in docs:
            assert d["issued_to"]["department"] == APPROVER and d["application_id"] == app_id
            assert d["seal"]["alg"] == "Ed25519" and d["statement"]["as_of"] == TODAY
            one = dep.get(f"/v1/evidence/{d['document_id']}", params=PURPOSE)
            assert one.status_code == 200 and one.json() == d
            assert dep.post("/v1/evidence/verify", json=d).json()["valid"] is True
        # what the applicant previewed is exactly what is sealed
        previewed = {m["code"]: m["evidence"] for m in served if m["status"] == "evidence"}
        for d in docs:
            if d["material"]["code"] in previewed:
                assert d["statement"] == previewed[d["material"]["code"]]
    for other in ("civil_affairs", "health", "tax"):  # any other department: the documents do not exist for it
        with server.client(other) as dep:
            is_problem(dep.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE), 404)
            body404 = is_problem(dep.get(f"/v1/evidence/{docs[0]['document_id']}", params=PURPOSE), 404)
            assert child.data["name"] not in str(body404)
    for kind in ("hall", "identity"):  # the hall and the identity platform never receive them
        with server.client(kind) as c:
            is_problem(c.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE), 403)
    from warehouse.api.store import Store

    entries = Store(server.store, server.home / "warehouse" / "serving.audit-key").audit_entries(80)
    mine = [e for e in entries if app_id in e["detail"]]
    consent = next(e for e in mine if e["action"] == "consent" and e["status"] == 200)
    assert sorted(json.loads(consent["detail"])["evidence"]) == sorted(d["document_id"] for d in docs)
    fetched = [e for e in mine if e["action"] == "documents" and e["status"] == 200]
    assert fetched and set(json.loads(fetched[-1]["fields"])) == {f"evidence:{d['document_id']}" for d in docs}
    assert any(e["action"] == "documents" and e["status"] == 409 for e in mine)  # refused before consent


def test_nothing_is_sealed_for_a_withdrawn_application(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    parent, _child = parent_of_newborn(model)
    token = open_session(server, parent.data["id_number"], parent.data["name"])
    app_id = autofill(server, token, {"service_item": BIRTH_REGISTRATION}).json()["application_id"]
    with server.client("hall", **{"X-Applicant-Token": token}) as hall:
        r = hall.post(f"/v1/hall/applications/{app_id}/consent", json={"agree": False})
        assert r.json()["status"] == "withdrawn" and r.json()["evidence_documents"] == 0
    with server.client(APPROVER) as dep:
        is_problem(dep.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE), 409)
    from warehouse.api.store import Store

    assert Store(server.store, server.home / "warehouse" / "serving.audit-key").evidence(application_id=app_id) == []


def test_evidence_only_about_the_applicant_or_a_recorded_relation(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    parent, child = parent_of_newborn(model)
    stranger = unrelated_person(model, parent)
    token = open_session(server, parent.data["id_number"], parent.data["name"])
    # naming his own child: the child's certificate is served, about that child
    body = autofill(server, token, {"service_item": BIRTH_REGISTRATION, "concerning": child.data["id_number"]}
                    if child.data.get("id_number") else {"service_item": BIRTH_REGISTRATION}).json()
    m = next(m for m in body["materials"] if m["about"] == "child")
    assert m["status"] in ("held", "evidence") and m["subject"]["master_id"] == child.master_id
    # naming somebody the masters record no relation to: nothing about him, to upload with the reason
    r = autofill(server, token, {"service_item": BIRTH_REGISTRATION, "concerning": stranger.data["id_number"]})
    assert r.status_code == 200, r.text
    m = next(m for m in r.json()["materials"] if m["about"] == "child")
    assert m["status"] == "to_upload" and m["reason"] == "no_relation_recorded" and m["subject"] is None
    assert stranger.data["id_number"] not in r.text and stranger.master_id not in r.text
    if stranger.data.get("name") and len(stranger.data["name"]) > 1:
        assert stranger.data["name"] not in r.text
    # the applicant's own materials are his, whoever he names
    own = [m for m in r.json()["materials"] if m["about"] == "applicant" and m["subject"]]
    assert own and all(m["subject"]["master_id"] == parent.master_id for m in own)


def _verify_cli(server: Server, path: Path, *extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", "evidence", "verify", str(path), *extra], cwd=REPO,
                          env=server.env, capture_output=True, text=True, timeout=120)


def test_tampered_evidence_fails_verification(server: Server, model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app_id, _body, _parent, _child = consented(server, model)
    with server.client(APPROVER) as dep:
        docs = dep.get(f"/v1/applications/{app_id}/evidence", params=PURPOSE).json()["documents"]
        pem = dep.get("/v1/evidence/public-key").json()
    assert pem["key_id"] == docs[0]["seal"]["key_id"] and "BEGIN PUBLIC KEY" in pem["public_key"]
    key = tmp_path / "platform.pem"
    key.write_text(pem["public_key"])
    good = tmp_path / "good.json"
    good.write_text(json.dumps(docs, ensure_ascii=False))
    out = _verify_cli(server, good, "--public-key", str(key))
    assert out.returncode == 0, out.stderr
    assert out.stdout.count("valid (sealed by key") == len(docs)
    ev = next(d for d in docs if d["statement"]["kind"] != "licence")
    tampered = [
        ("a value", lambda d: d["statement"]["attested"].update(name="李四")),
        ("the addressee", lambda d: d["issued_to"].update(department="tax")),
        ("a source record", lambda d: d["statement"]["records"].append({"source": "x", "table": "y"})),
        ("the date", lambda d: d.update(issued_at="2020-01-01T00:00:00.000000Z")),
    ]
    with server.client(APPROVER) as dep:
        for what, change in tampered:
            bad = json.loads(json.dumps(ev))
            change(bad)
            v = dep.post("/v1/evidence/verify", json=bad).json()
            assert v["valid"] is False and v["reason"] == "altered", what
            path = tmp_path / "bad.json"
            path.write_text(json.dumps(bad, ensure_ascii=False))
            out = _verify_cli(server, path, "--public-key", str(key))
            assert out.returncode == 1 and "NOT VALID" in out.stderr and "altered" in out.stderr, what
        unsealed = {k: v for k, v in ev.items() if k != "seal"}
        assert dep.post("/v1/evidence/verify", json=unsealed).json()["reason"] == "no_seal"
        forged = json.loads(json.dumps(ev))
        forged["seal"]["key_id"] = "0" * 16
        assert dep.post("/v1/evidence/verify", json=forged).json()["reason"] == "other_key"
    # the signing key is kept beside the store, readable by its owner only
    assert (server.home / "warehouse" / "serving.evidence-key").stat().st_mode & 0o777 == 0o600


def test_an_expired_licence_is_to_upload_with_reason_expired(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    try:
        person, lic = person_holding(model, ("004",), "expired", exclude_valid=True)
    except LookupError:
        pytest.skip("the generated city has no expired driving licence without a valid one")
    token = open_session(server, person.data["id_number"], person.data["name"])
    body = autofill(server, token, {"service_item": "S0005"}).json()
    m = next(m for m in body["materials"] if [t["code"] for t in m["licence_types"]] == ["004"])
    assert m["status"] == "to_upload" and m["reason"] == "expired" and m["licence"] is None
    assert lic["identifier"] in m["note"] and "expired" in m["note"]


def test_the_authenticated_applicants_id_card_is_never_to_upload(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    from warehouse.api.catalogue import catalogue

    items = [i for i in catalogue().items.values() if i.target == "person"
             and any("001" in m.licence_types and m.about == "applicant" for m in i.materials)]
    assert len(items) > 50
    ids = [r[0] for r in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL AND "
                                    "json_extract(data, '$.name') IS NOT NULL AND "
                                    "json_extract(data, '$.death_date') IS NULL ORDER BY master_id")]
    # every 60th person, and anyone public security holds no household-register record of
    no_record = [mid for mid in ids if not any(r[0] == "public_security" for r in model.records("person", mid))]
    sample = ids[::60] + no_record[:5]
    for n, mid in enumerate(sample):
        person = model.person(master_id=mid)
        token = open_session(server, person.data["id_number"], person.data["name"])
        item = items[n % len(items)]
        body = autofill(server, token, {"service_item": item.code}).json()
        for m in body["materials"]:
            if "001" in [t["code"] for t in m["licence_types"]] and m["about"] == "applicant":
                assert m["status"] in ("held", "evidence"), (item.code, m)
                if mid in no_record:
                    assert m["evidence"]["basis"] == "applicant_session"


def test_public_key_and_verify_for_any_caller(server: Server) -> None:
    keys = set()
    for caller in ("hall", "identity", "tax"):
        with server.client(caller) as c:
            r = c.get("/v1/evidence/public-key")
            assert r.status_code == 200
            keys.add(r.json()["key_id"])
            assert c.post("/v1/evidence/verify", json={"document_id": "EV0"}).json() == {
                "valid": False, "reason": "no_seal", "key_id": None, "document_id": "EV0"}
    assert len(keys) == 1
    assert httpx.get(server.url + "/v1/evidence/public-key").status_code == 401


def test_the_certificate_photo_is_public_securitys_where_the_rules_allow(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    """S0005 机动车驾驶证换证 accepts public security's ID card photo: served as evidence from the card
    record of an applicant who has one, to upload for one who has none; a plain photo stays his."""
    ids = [r[0] for r in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL AND "
                                    "json_extract(data, '$.name') IS NOT NULL AND "
                                    "json_extract(data, '$.death_date') IS NULL ORDER BY master_id")]

    def card(mid: str) -> bool:
        return any(r[:2] == ("public_security", "jmsfz") for r in model.records("person", mid))

    def photo(mid: str, item: str) -> dict[str, Any]:
        person = model.person(master_id=mid)
        token = open_session(server, person.data["id_number"], person.data["name"])
        body = autofill(server, token, {"service_item": item}).json()
        return next(m for m in body["materials"] if "照片" in m["material"])

    with_card = next(mid for mid in ids if card(mid))
    m = photo(with_card, "S0005")
    assert m["channel"] == "政府部门核发" and m["status"] == "evidence", m
    ev = m["evidence"]
    assert ev["kind"] == "certificate_photo" and ev["department"] == "public_security" and ev["basis"] == "department_records"
    assert ev["about"]["master_id"] == with_card and any(r["table"] == "jmsfz" for r in ev["records"])
    without = next(mid for mid in ids if not card(mid))
    m = photo(without, "S0005")
    assert m["status"] == "to_upload" and m["reason"] == "not_held_for_applicant", m
    m = photo(with_card, "S0014")  # 居民身份证换领: the new card needs a new photo
    assert m["channel"] == "申请人自备" and m["status"] == "to_upload" and m["reason"] == "applicant_prepared", m


def test_the_person_named_is_the_one_the_event_concerns(model) -> None:  # type: ignore[no-untyped-def]
    """A birth registration names the newborn: his materials are about him, and the other parent's are
    about the applicant's recorded spouse (not filtered by the newborn, which would find nobody)."""
    from datetime import date

    from warehouse.api.autofill import material_status
    from warehouse.api.catalogue import catalogue
    from warehouse.api.relations import related

    cat = catalogue()
    item = next(i for i in cat.items.values() if i.event == "birth" and i.concerns == "child"
                and any(m.about == "spouse" for m in i.materials))
    parent, child = parent_of_newborn(model)
    mats = material_status(model, cat, item, parent, None, date.fromisoformat(TODAY), child.master_id)
    kid = next(m for m in mats if m["about"] == "child")
    assert kid["subject"] is not None and kid["subject"]["master_id"] == child.master_id
    spouses = related(model, "spouse", parent, None)
    for m in (m for m in mats if m["about"] == "spouse" and m["status"] != "not_required"):
        if spouses:
            assert m["subject"] is not None and m["subject"]["master_id"] == spouses[0].master_id, m
        else:
            assert m["reason"] == "no_relation_recorded" and "person named" not in m["note"], m


def _holds_record(model, master_id: str, source: str, table: str) -> bool:  # type: ignore[no-untyped-def]
    return any(r[:2] == (source, table) for r in model.records("person", master_id))


def _material(server: Server, applicant, body: dict[str, Any], name: str) -> tuple[str, dict[str, Any]]:  # type: ignore[no-untyped-def]
    """(application id, the material called ``name``) of ``applicant``'s auto-filled application."""
    token = open_session(server, applicant.data["id_number"], applicant.data["name"])
    r = autofill(server, token, body)
    assert r.status_code == 200, r.text
    return r.json()["application_id"], next(m for m in r.json()["materials"] if m["material"] == name)


def test_a_drivers_medical_examination_is_the_record_traffic_police_holds(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    """S0005 机动车驾驶证换证: the examination the designated medical institution uploaded (电子体检) is
    served as traffic police's evidence about the driver himself; a driver with no examination
    uploaded has it to upload (nothing is assumed)."""
    drivers = []
    for lic in licences_of_type(model, ("004",)):
        row = model.person(master_id=lic.get("holder_master_id") or "")
        if row is not None and row.data.get("id_number") and row.data.get("name") and not row.data.get("death_date"):
            drivers.append(row)
    examined = next(d for d in drivers if _holds_record(model, d.master_id, "traffic_police", "jsr_tjxx"))
    _app, m = _material(server, examined, {"service_item": "S0005"}, "机动车驾驶人身体条件证明")
    assert m["channel"] == "政府部门核发" and m["status"] == "evidence", m
    ev = m["evidence"]
    assert ev["kind"] == "driver_medical" and ev["department"] == "traffic_police" and ev["basis"] == "department_records"
    assert ev["about"]["master_id"] == examined.master_id and [r["table"] for r in ev["records"]] == ["jsr_tjxx"]
    not_examined = next(d for d in drivers if not _holds_record(model, d.master_id, "traffic_police", "jsr_tjxx"))
    _app, m = _material(server, not_examined, {"service_item": "S0005"}, "机动车驾驶人身体条件证明")
    assert m["status"] == "to_upload" and m["reason"] == "not_held_for_applicant", m


def test_a_death_certificate_is_the_health_systems_record_of_the_deceased(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    """S0017 死亡人员户口注销 by a relative: the 死亡医学证明 is the health system's record of the deceased
    (about him, through the relation the masters record), sealed only once the relative consents;
    a death the health system holds no certificate of is to upload; the 火化证明 of 殡葬补助给付 likewise is
    civil affairs' cremation record."""
    from warehouse.api.catalogue import catalogue
    from warehouse.api.relations import related

    def applicant_for(dead: Any) -> Any:
        for (mid,) in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL AND "
                                 "json_extract(data, '$.death_date') IS NULL AND json_extract(data, '$.name') IS NOT NULL "
                                 "AND (json_extract(data, '$.spouse_id_number') = ? OR json_extract(data, '$.household_no') = ?) "
                                 "ORDER BY master_id", (dead.data["id_number"], dead.data.get("household_no") or "")):
            row = model.person(master_id=mid)
            if row is not None and related(model, "deceased", row, None, dead.master_id):
                return row
        return None

    pairs: dict[bool, tuple[Any, Any] | None] = {True: None, False: None}
    for (mid,) in model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL AND "
                             "json_extract(data, '$.death_date') IS NOT NULL ORDER BY master_id"):
        dead = model.person(master_id=mid)
        certified = _holds_record(model, mid, "health", "swyxzm")
        if dead is None or pairs[certified] is not None:
            continue
        relative = applicant_for(dead)
        if relative is not None:
            pairs[certified] = (relative, dead)
        if all(pairs.values()):
            break
    with_cert, without_cert = pairs[True], pairs[False]
    assert with_cert is not None and without_cert is not None, "a certified and an uncertified death with a relative"
    relative, dead = with_cert
    app, m = _material(server, relative, {"service_item": "S0017", "concerning": dead.data["id_number"]},
                       "死亡医学证明（推断）书")
    assert m["status"] == "evidence" and m["subject"]["master_id"] == dead.master_id, m
    ev = m["evidence"]
    assert ev["kind"] == "death_certificate" and ev["department"] == "health" and ev["about"]["relation"] == "deceased"
    assert ev["attested"]["death_date"] == dead.data["death_date"] and [r["table"] for r in ev["records"]] == ["swyxzm"]
    with server.client(APPROVER) as dep:  # nothing reaches public security before the relative consents
        is_problem(dep.get(f"/v1/applications/{app}/evidence", params=PURPOSE), 409)
    # 殡葬补助给付: the 火化证明 is civil affairs' cremation record of the same deceased, where it holds one
    benefit = next(i.code for i in catalogue().items.values() if i.name == "殡葬补助给付（惠民殡葬）" and i.hall == "city")
    _app, m = _material(server, relative, {"service_item": benefit, "concerning": dead.data["id_number"]}, "火化证明")
    if _holds_record(model, dead.master_id, "civil_affairs", "hhjl"):
        assert m["status"] == "evidence" and m["evidence"]["kind"] == "cremation", m
        assert m["evidence"]["department"] == "civil_affairs" and m["subject"]["master_id"] == dead.master_id
    else:
        assert m["status"] == "to_upload" and m["reason"] == "not_held_for_applicant", m
    relative, dead = without_cert
    _app, m = _material(server, relative, {"service_item": "S0017", "concerning": dead.data["id_number"]},
                        "死亡医学证明（推断）书")
    assert m["status"] == "to_upload" and m["reason"] == "not_held_for_applicant", m
