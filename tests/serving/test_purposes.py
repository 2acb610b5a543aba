"""A department learns its grants and purposes before it asks; a purpose it cannot state is a 422
that names the valid ones (not a silently thinner answer)."""

from __future__ import annotations

from tests.serving.conftest import Server


def test_department_reads_its_grants_and_purposes(server: Server) -> None:
    with server.client("civil_affairs") as c:
        r = c.get("/v1/departments/me/grants")
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["department"] == "civil_affairs" and body["department_name"] == "亳州市民政局"
    purposes = {p["purpose"]: p for p in body["purposes"]}
    assert purposes["general_inquiry"]["general"] is True
    assert {g["purpose"] for g in body["grants"]} <= set(purposes)
    assert any(g["in_force"] for g in body["grants"]) and all(g["owner_name"] for g in body["grants"])
    with server.client("hall") as c:  # a hall is no department
        assert c.get("/v1/departments/me/grants").status_code == 403


def test_unknown_purpose_is_refused_naming_the_valid_ones(server: Server) -> None:
    with server.client("civil_affairs") as c:
        r = c.get("/v1/persons/P0000000001", params={"purpose": "marriage_registraton"})  # a typo
        assert r.status_code == 422, r.text
        body = r.json()
        assert body["type"].endswith("unknown-purpose")
        assert "marriage_registration" in body["valid"] and "general_inquiry" in body["valid"]
        assert "marriage_registration" in body["detail"]
        # another department's purpose is not this one's
        r = c.get("/v1/persons/P0000000001", params={"purpose": "driver_licensing"})
        assert r.status_code == 422
        # a valid purpose: on to the identifier (a minted master id is not one a department may send)
        assert c.get("/v1/persons/P0000000001", params={"purpose": "general_inquiry"}).json()["element"] == "master_id"


def test_department_answers_carry_code_names_beside_codes(server: Server, model) -> None:  # type: ignore[no-untyped-def]
    from tests.serving.subjects import rich_person

    person = rich_person(model)
    pid = server.public_id("civil_affairs", person.master_id)
    with server.client("civil_affairs") as c:
        body = c.get(f"/v1/persons/{pid}", params={"purpose": "marriage_registration"}).json()
        plain = c.get(f"/v1/persons/{pid}", params={"purpose": "general_inquiry"}).json()
    assert body["labels"]["sex"] in ("男", "女", "未知的性别", "未说明的性别")
    assert set(body["labels"]) <= {k for k, v in body["fields"].items() if v is not None}
    assert "ethnicity" in body["labels"] and "ethnicity" not in plain["fields"] and "ethnicity" not in plain["labels"]
