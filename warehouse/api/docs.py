"""The API's documentation pages, offline, and an example for every operation.

``/docs`` (Swagger UI) and ``/redoc`` load their scripts from the ``fastapi-offline`` package, served
by the API itself - never from a CDN - so they work on an intranet without internet access.  ReDoc's
bundle would still fetch its sidebar logo from the vendor's CDN; :func:`redoc_js` serves the bundle
with that one URL pointed at the service's own icon.

:data:`EXAMPLES` gives each operation (by route name) a request body and a response as a caller
would see them (synthetic people and companies); :func:`install` adds them to the OpenAPI document,
and ``tests/serving/test_docs.py`` keeps every operation described and exemplified.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_redoc_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response

STATIC = "/docs-static"
#: the vendor CDN URL in ReDoc's bundle (its sidebar logo) and what it becomes
REDOC_CDN_LOGO = "https://cdn.redoc.ly/redoc/logo-mini.svg"

_PERSON = {"name": "李凯文", "sex": "1", "birth_date": "1986-04-12", "household_area": "341602",
           "marital_status": "20", "phone": "13905581234"}
_WITHHELD = [{"element": "person.disability_category", "reason": "not_shared"},
             {"element": "person.id_number", "reason": "no_grant"}]
_APPLICATION: dict[str, Any] = {
    "application_id": "A20261206a1b2c3d4e5f6", "status": "preview",
    "service_item": {"code": "S0005", "name": "机动车驾驶证换证", "power_class": "行政许可", "department": "traffic_police",
                     "target": "person"},
    "applicant": {"kind": "person", "master_id": "P0000000123", "name": "李凯文",
                  "acting_person_master_id": "P0000000123"},
    "fields": [{"element": "person.name", "label": "姓名", "value": "李凯文", "display": None, "prefilled": True,
                "reason": None, "source": {"department": "public_security", "department_name": "亳州市公安局",
                                           "table": "hjxx_czrk", "updated_at": "2026-11-20T09:12:00"}}],
    "materials": [{"code": "M1", "material": "机动车驾驶证", "licence_types": [{"code": "004", "name": "机动车驾驶证"}],
                   "holder": "applicant", "status": "held", "reason": None, "note": None,
                   "licence": {"master_id": "L0000000456", "identifier": "1.2.156.3005.2.11341600MB1234567X004.113416"
                               "00MB1234567X.0000123.001.K", "type_code": "004", "type_name": "机动车驾驶证",
                               "number": "341602198604120012", "issuer_name": "亳州市公安局交通警察支队",
                               "issuer_code": "11341600MB1234567X", "issue_date": "2020-05-01",
                               "valid_from": "2020-05-01", "valid_to": "2030-05-01", "status": "valid"}}],
    "summary": {"fields": 1, "prefilled": 1, "materials": 1, "held": 1, "to_upload": 0},
    "as_of": "2026-12-06", "build_id": "b20261206T020000", "consent_url":
        "/v1/hall/applications/A20261206a1b2c3d4e5f6/consent"}

_SEAL = {"alg": "Ed25519", "key_id": "k2026a1b2", "signature": "mC3v...Q=="}
_EVIDENCE = {"document_id": "EV0123456789abcdef", "application_id": "A20261206a1b2c3d4e5f6",
             "service_item": {"code": "S0005", "name": "机动车驾驶证换证"},
             "material": {"code": "M1", "material": "居民身份证"},
             "issued_to": {"department": "traffic_police", "department_name": "亳州市公安局交通警察支队"},
             "issued_at": "2026-12-06T10:02:14.000000Z",
             "statement": {"kind": "resident_identity", "attests": "the resident identity the household register records",
                           "department": "public_security", "attested": {"person.name": "李凯文"}},
             "seal": _SEAL}

#: route name -> {"request": body example, "response": 200/201 body example}
EXAMPLES: dict[str, dict[str, Any]] = {
    "health": {"response": {"status": "ok", "build_id": "b20261206T020000", "snapshot_built_at": "2026-12-06T02:04:11",
                            "error": None}},
    "service_items": {"response": {"count": 1, "items": [_APPLICATION["service_item"]]}},
    "service_item": {"response": {**_APPLICATION["service_item"], "fields": ["person.name", "person.id_number"],
                                  "materials": [{"code": "M1", "material": "机动车驾驶证", "licence_types": ["004"],
                                                 "holder": "applicant"}]}},
    "open_session": {"request": {"id_number": "341602198604120012", "name": "李凯文", "method": "face"},
                     "response": {"token": "mds_5mX...", "expires_at": "2026-12-06T10:30:00.000000Z",
                                  "person_master_id": "P0000000123"}},
    "autofill": {"request": {"service_item": "S0005"}, "response": _APPLICATION},
    "preview": {"response": _APPLICATION},
    "consent": {"request": {"agree": True}, "response": {"application_id": "A20261206a1b2c3d4e5f6", "status": "consented",
                                                         "consent_at": "2026-12-06T10:02:13.000000Z",
                                                         "department": "traffic_police"}},
    "delivered": {"response": {"application_id": "A20261206a1b2c3d4e5f6", "status": "consented",
                               "consent_at": "2026-12-06T10:02:13.000000Z",
                               "application": {**_APPLICATION, "status": "consented"}}},
    "documents": {"response": {"application_id": "A20261206a1b2c3d4e5f6", "count": 1, "documents": [_EVIDENCE]}},
    "document": {"response": _EVIDENCE},
    "public_key": {"response": {"alg": "Ed25519", "key_id": "k2026a1b2",
                                "public_key": "-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA...\n-----END PUBLIC KEY-----\n"}},
    "verify": {"request": _EVIDENCE, "response": {"valid": True, "reason": "valid", "key_id": "k2026a1b2",
                                                  "document_id": "EV0123456789abcdef"}},
    "explain": {"response": {"master": "person", "build_id": "B20261206T194222302", "explanations": [{
        "left": "agriculture:tljsz:A0000003125", "right": "hrss:sbk:E97019993",
        "parts": [{"comparison": "prior", "level": None, "label": "prior", "bits": -10.6152, "m": None, "u": None,
                   "tf_bits": 0.0},
                  {"comparison": "id", "level": 0, "label": "exact", "bits": 10.4603, "m": 0.9918, "u": 0.0007042,
                   "tf_bits": 0.0},
                  {"comparison": "name", "level": 0, "label": "exact", "bits": 10.9904, "m": 0.9851, "u": 0.0007682,
                   "tf_bits": 0.6613},
                  {"comparison": "birth", "level": 0, "label": "exact", "bits": 10.3424, "m": 0.9972, "u": 0.0007681,
                   "tf_bits": 0.0},
                  {"comparison": "sex", "level": 0, "label": "exact", "bits": 0.9752, "m": 0.9994, "u": 0.5084,
                   "tf_bits": 0.0},
                  {"comparison": "phone", "level": 1, "label": "different", "bits": -2.7926, "m": 0.1442, "u": 0.9992,
                   "tf_bits": 0.0},
                  {"comparison": "address", "level": 0, "label": "exact", "bits": 8.8686, "m": 0.8948, "u": 0.001909,
                   "tf_bits": 0.0},
                  *({"comparison": c, "level": -1, "label": "null", "bits": 0.0, "m": None, "u": None, "tf_bits": 0.0}
                    for c in ("ethnicity", "guardian", "employer", "spouse"))],
        "weight": 28.2291, "probability": 0.9999999969, "verdict": "match", "thresholds": {"match": 0.99, "review": 0.5},
        "scored_weight": None, "note": "both in P0000000325"}]}},
    "my_grants": {"response": {
        "department": "civil_affairs", "department_name": "亳州市民政局", "clearance": "important", "as_of": "2026-12-06",
        "purposes": [{"purpose": "general_inquiry", "text": "一般查询：仅无条件共享项", "general": True},
                     {"purpose": "marriage_registration", "text": "婚姻登记核验当事人身份与婚姻状况", "general": False}],
        "grants": [{"id": "G2026-003", "purpose": "marriage_registration", "purpose_text": "婚姻登记核验当事人身份与婚姻状况",
                    "owner": "public_security", "owner_name": "亳州市公安局",
                    "elements": ["person.id_number", "person.birth_date", "person.marital_status"],
                    "status": "approved", "requested_at": "2026-01-05", "approved_at": "2026-01-20", "expires": None,
                    "in_force": True}]}},
    "person": {"response": {"master": "person", "master_id": "P0000000123", "fields": _PERSON,
                            "labels": {"sex": "男", "household_area": "谯城区", "marital_status": "已婚"}, "withheld": _WITHHELD,
                            "purpose": "marriage_registration", "grants": ["G2026-003"]}},
    "person_licences": {"response": {"holder": "person", "holder_master_id": "P0000000123", "licences": [
        {"master_id": "L0000000456", "fields": {"type_code": "004", "issuer_name": "亳州市公安局交通警察支队"}}],
        "withheld": [], "purpose": "driver_licensing", "grants": []}},
    "person_search": {"request": {"name": "李凯文", "birth_date": "1986-04-12", "limit": 10},
                      "response": {"master": "person", "results": [{"master_id": "P0000000123", "score": 1.0,
                                                                    "match": "exact", "fields": _PERSON}],
                                   "withheld": _WITHHELD, "purpose": "marriage_registration", "grants": ["G2026-003"]}},
    "entity": {"response": {"master": "entity", "master_id": "E0000000042", "fields": {
        "uscc": "91341600MA2T12345X", "name": "亳州市华佗药业有限公司", "entity_type": "1100", "status": "1"},
        "withheld": [{"element": "entity.annual_revenue", "reason": "not_shared"}], "purpose": "tax_registration",
        "grants": []}},
    "entity_licences": {"response": {"holder": "entity", "holder_master_id": "E0000000042", "licences": [
        {"master_id": "L0000000789", "fields": {"type_code": "028", "issuer_name": "亳州市市场监督管理局"}}],
        "withheld": [], "purpose": "food_licence_review", "grants": []}},
    "entity_search": {"request": {"name": "华佗药业", "limit": 10},
                      "response": {"master": "entity", "results": [{"master_id": "E0000000042", "score": 0.93,
                                                                    "match": "similar", "fields": {
                                                                        "name": "亳州市华佗药业有限公司"}}],
                                   "withheld": [], "purpose": "market_entity_registration", "grants": []}},
    "licence": {"response": {"master": "licence", "master_id": "L0000000456", "fields": {
        "type_code": "004", "issuer_name": "亳州市公安局交通警察支队", "jurisdiction": "341600"},
        "withheld": [{"element": "licence.number", "reason": "no_grant"}], "purpose": "general_inquiry", "grants": []}},
}


def _operations(doc: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Route name -> its operation object in an OpenAPI document."""
    out = {}
    for item in doc.get("paths", {}).values():
        for op in item.values():
            if isinstance(op, dict) and "operationId" in op:
                out[op["operationId"]] = op
    return out


def with_examples(app: FastAPI) -> dict[str, Any]:
    """The app's OpenAPI document with :data:`EXAMPLES` in place (made once per process)."""
    if app.openapi_schema:
        return app.openapi_schema
    doc = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    names = {getattr(r, "unique_id", None): getattr(r, "name", None) for r in app.routes}
    for op_id, op in _operations(doc).items():
        ex = EXAMPLES.get(names.get(op_id) or "")
        if not ex:
            continue
        if "request" in ex and "requestBody" in op:
            op["requestBody"]["content"]["application/json"]["example"] = ex["request"]
        for code in ("200", "201"):
            if code in op.get("responses", {}):
                op["responses"][code].setdefault("content", {}).setdefault("application/json", {})["example"] = \
                    ex["response"]
    app.openapi_schema = doc
    return doc


@cache
def _redoc_bundle() -> bytes:
    import fastapi_offline

    js = (Path(fastapi_offline.__file__).parent / "static" / "redoc.standalone.js").read_text(encoding="utf-8")
    return js.replace(REDOC_CDN_LOGO, f"{STATIC}/favicon.png").encode()


def install(app: FastAPI) -> None:
    """Examples in the OpenAPI document; ``/redoc`` with a bundle that fetches nothing from outside."""
    app.openapi = lambda: with_examples(app)  # type: ignore[method-assign]

    @app.get("/docs-offline/redoc.standalone.js", include_in_schema=False)
    def redoc_js() -> Response:
        return Response(_redoc_bundle(), media_type="text/javascript")

    @app.get("/redoc", include_in_schema=False)
    def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "")
        return get_redoc_html(openapi_url=f"{root}{app.openapi_url}", title=app.title + " - ReDoc",
                              redoc_js_url=f"{root}/docs-offline/redoc.standalone.js", with_google_fonts=False,
                              redoc_favicon_url=f"{root}{STATIC}/favicon.png")
