"""Hall auto-fill over a real server: persons, entities, licences held or not, consent, the
applicant-only rule, authentication and problem+json errors."""

from __future__ import annotations

import re

import pytest

from tests.serving.conftest import Server, open_session
from tests.serving.subjects import TODAY, other_person, person_holding, represented_entity
from warehouse.api.autofill import licence_state

ISO_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
DRIVING_RENEWAL = "S0005"  # 机动车驾驶证换证: 居民身份证 (identity), 机动车驾驶证 004, the medical examination, a photo
FOOD_LICENCE = "S0001"  # 食品经营许可 (entity): 营业执照 028|029|030, legal rep's ID card, premises, documents
DISABILITY_CARD = "S0011"  # 残疾人证办理: its form lists person.disability_category (not_shared)


def autofill(server: Server, token: str | None, body: dict[str, object], key: str = "hall"):  # type: ignore[no-untyped-def]
    headers = {"X-Applicant-Token": token} if token else {}
    with server.client(key, **headers) as c:
        return c.post("/v1/hall/autofill", json=body)


def is_problem(r, status: int) -> dict[str, object]:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    body = r.json()
    assert body["status"] == status and body["title"] and body["detail"] and body["type"].startswith("/problems/")
    return body


def test_person_autofill_fields_and_held_licence(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    person, lic = person_holding(model, ("004",))
    token = open_session(server, person.data["id_number"], person.data["name"])
    r = autofill(server, token, {"service_item": DRIVING_RENEWAL})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["status"] == "preview" and body["application_id"].startswith("A")
    assert body["applicant"] == {"kind": "person", "master_id": person.master_id, "name": person.data["name"],
                                 "acting_person_master_id": person.master_id}
    fields = {f["element"]: f for f in body["fields"]}
    assert fields["person.name"]["value"] == person.data["name"] and fields["person.name"]["prefilled"]
    assert fields["person.id_number"]["value"] == person.data["id_number"]
    for f in body["fields"]:
        if f["prefilled"]:
            assert f["value"] is not None and f["source"]["department"], f
            assert ISO_TIME.match(f["source"]["updated_at"]), f
        else:
            assert f["value"] is None and f["reason"] in ("not_held", "not_shared")
        assert f["value"] == person.data.get(f["element"].split(".")[1]) or not f["prefilled"]
    if person.data.get("sex"):
        assert fields["person.sex"]["display"] in ("男", "女", "未知的性别", "未说明的性别")
    mats = {m["licence_types"][0]["code"] if m["licence_types"] else m["material"]: m for m in body["materials"]}
    held = mats["004"]
    assert held["status"] == "held" and held["reason"] is None
    assert held["licence"]["status"] == "valid" and held["licence"]["type_code"] == "004"
    assert held["licence"]["identifier"].startswith("1.2.156.3005.2.")
    assert held["licence"]["issuer_name"] and held["licence"]["issuer_code"]
    assert held["licence"]["valid_to"] is None or held["licence"]["valid_to"] >= TODAY
    ident = mats["001"]  # the ID card: public security's attestation of his identity
    assert ident["status"] in ("held", "evidence") and ident["reason"] is None
    if ident["status"] == "evidence":
        ev = ident["evidence"]
        assert ev["kind"] == "identity" and ev["department"] == "public_security"
        assert ev["about"] == {"relation": "applicant", "master": "person", "master_id": person.master_id,
                               "name": person.data["name"]}
        assert ev["attested"]["id_number"] == person.data["id_number"] and ev["as_of"] == TODAY
        assert ev["basis"] in ("department_records", "applicant_session")
    # the medical examination is traffic police's record of it (电子体检), not a paper to bring: served as
    # that department's evidence when the driver has taken one, else to upload - nothing on record
    exam = next(m for m in body["materials"] if m["material"] == "机动车驾驶人身体条件证明")
    assert exam["channel"] == "政府部门核发", exam
    if exam["status"] == "evidence":
        assert exam["evidence"]["kind"] == "driver_medical" and exam["reason"] is None, exam
    else:
        assert exam["status"] == "to_upload" and exam["reason"] == "not_held_for_applicant", exam
    docs = [m for m in body["materials"] if m["channel"] == "申请人自备"]
    assert all(m["status"] == "to_upload" and m["reason"] == "applicant_prepared" for m in docs)
    s = body["summary"]
    assert s["fields"] == len(body["fields"]) and s["prefilled"] == sum(f["prefilled"] for f in body["fields"])
    for k in ("held", "evidence", "form", "to_upload", "not_required"):
        assert s[k] == sum(m["status"] == k for m in body["materials"]), k
    assert s["held"] >= 1 and s["not_uploaded"] == s["held"] + s["evidence"] + s["form"]
    assert s["not_uploaded"] + s["to_upload"] == s["materials"] == len(body["materials"]) - s["not_required"]


def test_only_valid_licences_count(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    for state in ("expired", "revoked", "cancelled"):
        try:
            person, lic = person_holding(model, ("004",), state, exclude_valid=True)
            break
        except LookupError:
            continue
    else:
        pytest.skip("the generated city has no invalid driving licence")
    token = open_session(server, person.data["id_number"], person.data["name"])
    body = autofill(server, token, {"service_item": DRIVING_RENEWAL}).json()
    m = next(m for m in body["materials"] if m["licence_types"] and m["licence_types"][0]["code"] == "004")
    assert m["status"] == "to_upload" and m["reason"] == state and m["licence"] is None
    assert state in m["note"]


def test_entity_autofill_through_legal_representative(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    ent, rep, lic = represented_entity(model)
    token = open_session(server, rep.data["id_number"], rep.data["name"])
    r = autofill(server, token, {"service_item": FOOD_LICENCE, "uscc": ent.data["uscc"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["applicant"]["kind"] == "entity" and body["applicant"]["master_id"] == ent.master_id
    assert body["applicant"]["acting_person_master_id"] == rep.master_id
    fields = {f["element"]: f for f in body["fields"]}
    assert fields["entity.name"]["value"] == ent.data["name"] and fields["entity.name"]["source"]["department"]
    assert fields["entity.uscc"]["value"] == ent.data["uscc"]
    assert fields["entity.legal_rep_name"]["value"] == ent.data["legal_rep_name"]
    biz = body["materials"][0]
    assert [t["code"] for t in biz["licence_types"]] == ["028", "029", "030"]
    assert biz["status"] == "held" and biz["licence"]["type_code"] in ("028", "029", "030")
    assert biz["subject"]["master_id"] == ent.master_id
    rep_id = next(m for m in body["materials"] if m["about"] == "legal_rep")
    assert rep_id["subject"]["master_id"] == rep.master_id
    # held exactly when the representative has a valid ID card in the masters; else public security attests it
    cards = {x.get("identifier") for x in model.licences_of(rep.master_id, ["001"]) if licence_state(x, TODAY) == "valid"}
    if cards:
        assert rep_id["status"] == "held" and rep_id["licence"]["identifier"] in cards, rep_id
    else:
        assert rep_id["status"] == "evidence" and rep_id["evidence"] is not None and rep_id["licence"] is None, rep_id


def test_not_shared_elements_are_never_prefilled(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    rows = model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL AND "
                      "json_extract(data, '$.disability_category') IS NOT NULL LIMIT 1")
    mid = rows[0][0] if rows else model.person_ids()[0]
    person = model.person(master_id=mid)
    token = open_session(server, person.data["id_number"], person.data["name"])
    body = autofill(server, token, {"service_item": DISABILITY_CARD}).json()
    f = next(f for f in body["fields"] if f["element"] == "person.disability_category")
    assert f["prefilled"] is False and f["value"] is None and f["reason"] == "not_shared"
    if person.data.get("disability_category"):
        assert str(person.data["disability_category"]) not in str(body)


def test_preview_consent_then_delivery(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    ent, rep, _lic = represented_entity(model)
    token = open_session(server, rep.data["id_number"], rep.data["name"])
    app_id = autofill(server, token, {"service_item": FOOD_LICENCE, "uscc": ent.data["uscc"]}).json()["application_id"]
    with server.client("market_regulation") as dep:
        is_problem(dep.get(f"/v1/applications/{app_id}", params={"purpose": "food_licence_review"}), 409)
    with server.client("tax") as other:  # not the approving department: the application does not exist for it
        is_problem(other.get(f"/v1/applications/{app_id}", params={"purpose": "food_licence_review"}), 404)
    with server.client("hall", **{"X-Applicant-Token": token}) as hall:
        r = hall.get(f"/v1/hall/applications/{app_id}")
        assert r.status_code == 200 and r.json()["status"] == "preview"
        r = hall.post(f"/v1/hall/applications/{app_id}/consent", json={"agree": True})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "consented" and r.json()["department"] == "market_regulation"
        is_problem(hall.post(f"/v1/hall/applications/{app_id}/consent", json={"agree": False}), 409)
    with server.client("market_regulation") as dep:
        r = dep.get(f"/v1/applications/{app_id}", params={"purpose": "food_licence_review"})
        assert r.status_code == 200, r.text
        got = r.json()
        assert got["status"] == "consented" and got["consent_at"]
        assert got["application"]["applicant"]["master_id"] == ent.master_id
    from warehouse.api.store import Store

    entries = Store(server.store, server.home / "warehouse" / "serving.audit-key").audit_entries(50)
    mine = [e for e in entries if app_id in e["detail"]]
    assert [e["action"] for e in mine if e["status"] == 200][:1] == ["autofill"]
    assert {"autofill", "preview", "consent", "delivered"} <= {e["action"] for e in mine}
    assert any(e["action"] == "delivered" and e["status"] == 409 for e in mine)  # refused before consent


def test_applicant_only_rule(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    person, _lic = person_holding(model, ("004",))
    someone = other_person(model, person.data["id_number"])
    token = open_session(server, person.data["id_number"], person.data["name"])
    # his own ID number: fine; somebody else's: refused
    assert autofill(server, token, {"service_item": DRIVING_RENEWAL, "id_number": person.data["id_number"]}
                    ).status_code == 200
    body = is_problem(autofill(server, token, {"service_item": DRIVING_RENEWAL,
                                               "id_number": someone.data["id_number"]}), 403)
    assert "own data" in str(body["detail"])
    assert someone.data["name"] not in str(body)
    # an entity he does not represent
    ent, rep, _ = represented_entity(model)
    if rep.master_id != person.master_id:
        body = is_problem(autofill(server, token, {"service_item": FOOD_LICENCE, "uscc": ent.data["uscc"]}), 403)
        assert "legal" in str(body["detail"]) and ent.data["name"] not in str(body)
    # another applicant's application is not found for him
    other_token = open_session(server, someone.data["id_number"], someone.data["name"])
    app_id = autofill(server, other_token, {"service_item": DRIVING_RENEWAL}).json()["application_id"]
    with server.client("hall", **{"X-Applicant-Token": token}) as hall:
        is_problem(hall.get(f"/v1/hall/applications/{app_id}"), 404)
        is_problem(hall.post(f"/v1/hall/applications/{app_id}/consent", json={"agree": True}), 404)
    # no session, or a forged one
    is_problem(autofill(server, None, {"service_item": DRIVING_RENEWAL}), 401)
    is_problem(autofill(server, "mds_forged", {"service_item": DRIVING_RENEWAL}), 401)


def test_identity_session_checks(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    person, _ = person_holding(model, ("004",))
    rid = person.data["id_number"]
    with server.client("identity") as c:
        bad = rid[:17] + ("0" if rid[17] != "0" else "1")
        body = is_problem(c.post("/v1/identity/sessions", json={"id_number": bad, "name": person.data["name"]}), 422)
        assert body["reason"] == "BAD_CHECK" and body["element"] == "person.id_number" and body["reason_text"]
        body = is_problem(c.post("/v1/identity/sessions", json={"id_number": rid[:16], "name": "x"}), 422)
        assert body["reason"] == "BAD_LENGTH"
        is_problem(c.post("/v1/identity/sessions", json={"id_number": rid, "name": person.data["name"] + "某"}), 403)
        r = c.post("/v1/identity/sessions", json={"id_number": f" {rid.lower()} ", "name": person.data["name"]})
        assert r.status_code == 201, r.text  # repaired by the validator (spaces, case): the same person
        assert r.json()["person_master_id"] == person.master_id


def test_authentication_and_kinds(server: Server) -> None:
    import httpx

    r = httpx.get(server.url + "/v1/service-items")
    assert is_problem(r, 401)["title"] == "Authentication required"
    with server.client("mdk_00000000_nonsense") as c:
        is_problem(c.get("/v1/service-items"), 401)
    with server.client("revoked") as c:
        is_problem(c.get("/v1/service-items"), 401)
    with server.client("market_regulation") as c:  # a department is no hall
        body = is_problem(c.post("/v1/hall/autofill", json={"service_item": "S0001"}), 403)
        assert "hall" in str(body["detail"])
        assert c.get("/v1/service-items").json()["count"] >= 100
    with server.client("hall") as c:  # the hall is no department
        is_problem(c.get("/v1/entities/E0000000001", params={"purpose": "general"}), 403)
        is_problem(c.get("/v1/nowhere"), 404)
    r = httpx.get(server.url + "/v1/service-items", headers={"X-API-Key": server.keys["hall"]})
    assert r.status_code == 200


def test_request_errors_are_problems(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    person, _ = person_holding(model, ("004",))
    token = open_session(server, person.data["id_number"], person.data["name"])
    is_problem(autofill(server, token, {"service_item": "S9999"}), 404)
    assert "uscc" in str(is_problem(autofill(server, token, {"service_item": FOOD_LICENCE}), 422)["detail"])
    is_problem(autofill(server, token, {"service_item": DRIVING_RENEWAL, "uscc": "91341600MA2TGJ6X5N"}), 422)
    body = is_problem(autofill(server, token, {"service_item": FOOD_LICENCE, "uscc": "91341600MA2TGJ6X5Z"}), 422)
    assert body["element"] == "entity.uscc" and body["reason"]
    body = is_problem(autofill(server, token, {"service_item": "S1"}), 422)
    assert body["errors"] and "service_item" in str(body["detail"])
    with server.client("hall", **{"X-Applicant-Token": token}) as c:
        is_problem(c.post("/v1/hall/autofill", content=b"{not json", headers={"content-type": "application/json"}),
                   422)


def test_rate_limit(server: Server) -> None:
    with server.client("slow") as c:
        codes = [c.get("/v1/service-items").status_code for _ in range(6)]
        assert 429 in codes and codes[0] == 200
        r = c.get("/v1/service-items")
        if r.status_code == 429:
            assert int(r.headers["retry-after"]) >= 1
            assert r.headers["content-type"].startswith("application/problem+json")
