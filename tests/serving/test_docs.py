"""The API documents itself: every operation has a description and an example, and the documentation
pages load their assets from the service (no CDN)."""

from __future__ import annotations

import httpx

from tests.serving.conftest import Server


def test_every_operation_is_described_with_an_example(server: Server) -> None:
    doc = httpx.get(server.url + "/openapi.json").json()
    ops = [(path, method, op) for path, item in doc["paths"].items() for method, op in item.items()]
    assert len(ops) >= 15
    for path, method, op in ops:
        where = f"{method.upper()} {path}"
        assert op.get("description") and op.get("summary"), where
        if "requestBody" in op:
            assert op["requestBody"]["content"]["application/json"].get("example"), where
        ok = op["responses"].get("200") or op["responses"].get("201")
        assert ok and ok["content"]["application/json"].get("example"), where


def test_docs_pages_use_only_local_assets(server: Server) -> None:
    for page in ("/docs", "/redoc"):
        html = httpx.get(server.url + page).text
        assert "cdn." not in html and "fonts.googleapis" not in html, page
        for src in [s.split('"')[1] for s in html.split("src=")[1:]] + [h.split('"')[1] for h in html.split("href=")[1:]]:
            assert src.startswith("/"), (page, src)
            assert httpx.get(server.url + src).status_code == 200, (page, src)
    bundle = httpx.get(server.url + "/docs-offline/redoc.standalone.js").text
    assert "cdn.redoc.ly" not in bundle
