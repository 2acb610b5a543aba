"""The serving layers: the service layer answers without HTTP (as the console and the CLI call it),
response models refuse what must not leave, and every refusal is one kind of error.
"""

from __future__ import annotations

import ast
from datetime import date
from pathlib import Path

import pytest
from pydantic import ValidationError

from core.errors import MasterdataError, NotFoundError
from tests.serving.conftest import REPO, Server
from warehouse.api import errors, models
from warehouse.api.service import access, masters
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState
from warehouse.api.settings import Settings
from warehouse.api.store import Store

SERVICE = REPO / "warehouse" / "api" / "service"
HTTP_MODULES = ("fastapi", "starlette", "uvicorn")


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_service_layer_knows_no_http() -> None:
    files = sorted(SERVICE.glob("*.py")) + [REPO / "warehouse" / "api" / "errors.py"]
    assert len(files) >= 8
    for f in files:
        web = {m for m in imported_modules(f) if m.split(".")[0] in HTTP_MODULES or ".routers" in m
               or m in ("warehouse.api.deps", "warehouse.api.problems", "warehouse.api.app")}
        assert not web, f"{f.relative_to(REPO)} imports {sorted(web)}: the service layer must work without HTTP"


@pytest.fixture(scope="module")
def state(server: Server):  # type: ignore[no-untyped-def]
    """A second ServingState over the live server's store, read model and grants (as a console would open)."""
    wh = server.home / "warehouse"
    s = ServingState.open(Settings(gold=wh / "gold.duckdb", store=wh / "serving.sqlite",
                                   index_dir=wh / "serving_index", grants=Path(server.env["MASTERDATA_GRANTS"]),
                                   as_of=date.fromisoformat(server.env["MASTERDATA_AS_OF"])))
    yield s
    s.close()


def test_service_answers_as_the_http_api_and_audits(server: Server, state: ServingState, model) -> None:  # type: ignore[no-untyped-def]
    internal = model._all("SELECT master_id FROM person WHERE id_number IS NOT NULL ORDER BY master_id LIMIT 1")[0][0]
    mid = server.public_id("civil_affairs", internal)  # the service's own key: the same ids as over HTTP
    q = {"purpose": "marriage_registration"}
    with server.client("civil_affairs") as c:
        over_http = c.get(f"/v1/persons/{mid}", params=q).json()
        licences_http = c.get(f"/v1/persons/{mid}/licences", params=q).json()
    caller = access.authenticate(state, server.keys["civil_affairs"])
    acc = Access(caller, "person")
    direct = masters.record(state, acc, "person", mid, q["purpose"])
    assert direct == over_http
    assert masters.licences(state, Access(caller, "person_licences"), "person", mid, q["purpose"]) == licences_http
    last = [e for e in Store(server.store, server.home / "warehouse" / "serving.audit-key").audit_entries(20)
            if e["action"] != "refused"][-2:]  # counted refusals are written whenever a minute is over
    assert [e["action"] for e in last] == ["person", "person_licences"]
    assert all(e["caller"].endswith("civil_affairs-system") and e["status"] == 200 for e in last)
    # the same refusals as over HTTP: a lookup by ID number needs the ID number's grant
    other = access.authenticate(state, server.keys["water_resources"])
    row = model.person(master_id=internal)
    with pytest.raises(errors.NotGranted) as exc:
        masters.record(state, Access(other, "person"), "person", row.data["id_number"], "general_inquiry")
    assert exc.value.status == 403 and exc.value.problem()["element"] == "person.id_number"
    with pytest.raises(errors.WrongCaller):
        access.admit(caller, ("hall",))


def test_response_models_refuse_what_must_not_leave() -> None:
    record = models.record_model("person")
    ok = {"master": "person", "master_id": "P0000000001", "fields": {"name": "张三", "phone": None},
          "withheld": [{"element": "person.disability_category", "reason": "not_shared"}], "purpose": "x",
          "grants": []}
    dumped = record.model_validate(ok).model_dump(exclude_unset=True)
    assert dumped["fields"] == {"name": "张三", "phone": None}  # absent = withheld; null = allowed, not held
    for bad in ({"lineage": {"name": 3}}, {"sources": ["disabled_federation"]}, {"name": 3}):
        with pytest.raises(ValidationError):
            record.model_validate({**ok, "fields": bad})
    schema = models.fields_model("licence").model_json_schema()
    assert schema["additionalProperties"] is False and "holder_id" in schema["properties"]


def test_openapi_documents_each_masters_fields_from_the_dictionary(server: Server) -> None:
    import httpx
    import yaml

    doc = httpx.get(server.url + "/openapi.json").json()
    schemas = doc["components"]["schemas"]
    elements = yaml.safe_load((REPO / "standards" / "elements.yaml").read_text(encoding="utf-8"))["masters"]
    for master in ("person", "entity", "licence"):
        assert set(schemas[f"{master.title()}Fields"]["properties"]) == set(elements[master]["elements"])
    ok = doc["paths"]["/v1/persons/{ident}"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert ok["$ref"].endswith("/PersonRecord")
    assert doc["components"]["securitySchemes"].keys() == {"bearer", "apiKey"}


@pytest.mark.parametrize("err,status,kind", [
    (errors.NotFound("no person master has this identifier", title="No such person"), 404, "not-found"),
    (errors.NotGranted("x", element="person.id_number", reason="no_grant"), 403, "not-granted"),
    (errors.ApplicantOnly("y", title="Not the legal representative"), 403, "applicant-only"),
    (errors.TooManyRequests("z", retry_after=2), 429, "too-many-requests"),
    (errors.InvalidApiKey("k"), 401, "invalid-api-key"),
])
def test_refusals_are_masterdata_errors(err: errors.ApiError, status: int, kind: str) -> None:
    assert isinstance(err, MasterdataError)
    body = err.problem()
    assert body["status"] == status and body["type"] == f"/problems/{kind}" and body["title"] == err.case
    assert err.one_line() == body["detail"]
    assert isinstance(errors.NotFound("a"), NotFoundError)  # the platform's own kinds still catch them
    if status == 401:
        assert err.headers["WWW-Authenticate"] == "Bearer"
    if status == 429:
        assert err.headers["Retry-After"] == "2"
