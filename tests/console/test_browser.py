"""The console in a real browser (Chromium through Playwright) on a generated city, offline.

Stewards resolve a queued pair and split a master, and the next ``masterdata build`` honours both;
an applicant sees his form pre-filled and his licences held, and consents; a department user sees
only the fields his grants allow; no role opens another role's pages; every page loads with the
network cut to anything but the platform (:class:`tests.console.conftest.Offline`).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import duckdb
import httpx
import pytest

from tests.console.conftest import Offline, Site
from tests.serving.conftest import run_cli

pytestmark = pytest.mark.slow

PAGES = {
    "steward": ["/console/steward/queue", "/console/steward/search?q=%E5%BC%A0", "/console/steward/decisions",
                "/console/steward/explain",
                "/console/ingestion", "/console/quality"],
    "analyst": ["/console/quality", "/console/quality/once-only", "/console/ingestion"],
    "civil": ["/console/department/lookup", "/console/department/grants"],
}


def gold_rows(site: Site, sql: str, params: list[Any] | None = None) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(site.gold), read_only=True)
    try:
        return con.execute(sql, params or []).fetchall()
    finally:
        con.close()


def master_of(site: Site, master: str, record_id: str) -> str:
    return str(gold_rows(site, f"SELECT master_id FROM {master}_xref WHERE record_id = ?", [record_id])[0][0])


def rebuild(site: Site) -> None:
    """The next build, as an operator runs it; then wait until the server serves it."""
    import time

    before = site.gold.stat().st_mtime_ns
    run_cli("build", env=site.env, timeout=600)
    assert site.gold.stat().st_mtime_ns != before
    time.sleep(0.5)


@pytest.mark.parametrize("who", sorted(PAGES))
def test_every_page_loads_offline(offline: Offline, who: str) -> None:
    offline.login(who)
    for path in PAGES[who]:
        r = offline.goto(path)
        assert r.status == 200, (path, offline.page.content()[:500])
        assert offline.page.locator("main h1").count() == 1, (path, offline.page.content()[:2000])
        offline.shot(f"{who}{re.sub(r'[^a-z0-9]+', '_', path.split('?')[0])}")
    # every input has a label a screen reader announces
    for path in PAGES[who]:
        offline.goto(path)
        unlabelled = offline.page.evaluate(
            "() => [...document.querySelectorAll('input:not([type=hidden]), select')]"
            ".filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label')).map(e => e.name)")
        assert unlabelled == [], (path, unlabelled)


def test_api_docs_render_offline(offline: Offline) -> None:
    offline.goto("/docs")
    offline.page.wait_for_selector(".opblock-summary", timeout=20_000)
    assert offline.page.locator(".opblock").count() >= 10
    offline.shot("api_docs", full=False)
    offline.goto("/redoc")
    offline.page.wait_for_selector("[data-section-id]", timeout=20_000)
    offline.shot("api_redoc", full=False)


def test_no_role_opens_another_roles_pages(offline: Offline, site: Site) -> None:
    r = offline.goto("/console/steward/queue")  # no session: the login page
    assert "/console/login" in offline.page.url and r.status == 200
    offline.login("civil")
    for path in ("/console/steward/queue", "/console/steward/decisions", "/console/steward/masters/P0000000001",
                 "/console/steward/explain?a=P0000000001",
                 "/console/quality", "/console/ingestion", "/console/hall"):
        r = offline.goto(path)
        assert r.status == 403, path
    offline.shot("department_refused_steward_page")
    # a forged POST with the department user's own session and CSRF token is refused as well
    offline.goto("/console/department/lookup")
    csrf = offline.page.locator("form.who input[name=csrf]").get_attribute("value")
    r = offline.page.request.post(site.url + "/console/steward/decide", form={
        "csrf": csrf, "master": "person", "a": "x:y:1", "b": "x:y:2", "decision": "match"})
    assert r.status == 403
    offline.login("steward")
    assert offline.goto("/console/department/lookup").status == 403


def test_steward_resolves_a_queued_pair_and_the_next_build_honours_it(offline: Offline, site: Site) -> None:
    offline.login("steward")
    offline.goto("/console/steward/queue?master=person")
    first = offline.page.locator("table.grid tbody tr").first
    first.get_by_role("link").click()
    offline.page.wait_for_selector("svg.waterfall")
    url = offline.page.url
    a = re.search(r"[?&]a=([^&]+)", url)
    b = re.search(r"[?&]b=([^&]+)", url)
    assert a and b
    from urllib.parse import unquote

    ra, rb = unquote(a.group(1)), unquote(b.group(1))
    assert master_of(site, "person", ra) != master_of(site, "person", rb)
    # the two records side by side, the waterfall's bars add up to the weight
    assert offline.page.locator("table.compare tbody tr").count() >= 3
    bars = offline.page.locator("svg.waterfall rect[data-comparison]")
    bits = [float(bars.nth(i).get_attribute("data-bits") or 0) for i in range(bars.count())]
    assert abs(sum(bits[:-1]) - bits[-1]) < 0.01
    offline.shot("steward_pair")
    # keyboard only: from the note, Tab reaches the decision buttons; Enter decides
    offline.page.focus("#note")
    offline.page.keyboard.type("同一人，换发新证号")
    offline.page.keyboard.press("Tab")
    assert offline.page.evaluate("document.activeElement.id") == "btn-match"
    offline.page.keyboard.press("Tab")
    assert offline.page.evaluate("document.activeElement.id") == "btn-no-match"
    offline.page.keyboard.press("Shift+Tab")
    offline.page.keyboard.press("Enter")
    offline.page.wait_for_selector(".flash")
    assert "recorded" in offline.page.inner_text(".flash")
    offline.goto("/console/steward/decisions")
    newest = offline.page.locator("tbody tr").first.inner_text()
    assert "steward" in newest and "match" in newest and "换发新证号" in newest
    rebuild(site)
    assert master_of(site, "person", ra) == master_of(site, "person", rb)
    offline.goto("/console/steward/queue?master=person")
    assert ra not in offline.page.content() or rb not in offline.page.content()
    offline.shot("steward_queue_after_build")


def test_steward_sees_why_any_pair_scored_what_it_did(offline: Offline, site: Site) -> None:
    """From a master's page to the waterfall of each of its records against the first; then any pair
    typed into the form; every chart's bars add up to the weight the page states."""
    (mid,), = gold_rows(site, "SELECT master_id FROM person_xref GROUP BY 1 HAVING count(*) >= 3 ORDER BY 1 LIMIT 1")
    offline.login("steward")
    offline.goto(f"/console/steward/masters/{mid}")
    offline.page.get_by_role("link", name=re.compile("Why these records are one master")).click()
    offline.page.wait_for_selector("svg.waterfall")
    cards = offline.page.locator("section.explained")
    n = int(gold_rows(site, "SELECT count(*) FROM person_xref WHERE master_id = ?", [mid])[0][0])
    assert cards.count() == n - 1

    def adds_up(card: Any) -> None:
        bars = card.locator("svg.waterfall rect[data-comparison]")
        bits = [float(bars.nth(i).get_attribute("data-bits") or 0) for i in range(bars.count())]
        weight = float(card.locator("[data-weight]").get_attribute("data-weight") or "nan")
        assert bits[0] < 0 and abs(sum(bits[:-1]) - bits[-1]) < 1e-3 and abs(bits[-1] - weight) < 1e-3

    for i in range(cards.count()):
        adds_up(cards.nth(i))
    offline.shot("steward_explain_master")
    (a,), (b,) = gold_rows(site, "SELECT min(record_id) FROM person_xref WHERE master_id = ? UNION ALL "
                                 "SELECT min(record_id) FROM person_xref WHERE master_id <> ?", [mid, mid])
    offline.page.fill("#a", str(a))
    offline.page.fill("#b", str(b))
    offline.page.keyboard.press("Enter")
    offline.page.wait_for_selector("section.explained")
    assert offline.page.locator("section.explained").count() == 1
    adds_up(offline.page.locator("section.explained").first)
    assert offline.goto("/console/steward/explain?a=nope%3Ax%3A1").status == 404


def test_steward_splits_a_master(offline: Offline, site: Site) -> None:
    mid, records = next((m, rs) for m, rs in gold_rows(
        site, "SELECT master_id, list(record_id ORDER BY record_id) FROM person_xref GROUP BY master_id "
              "HAVING count(*) >= 3 ORDER BY master_id LIMIT 1"))
    offline.login("steward")
    offline.goto(f"/console/steward/masters/{mid}")
    golden = offline.page.locator("section[aria-labelledby=golden] tbody tr")
    assert golden.count() >= 3 and "亳州市" in offline.page.inner_text("section[aria-labelledby=golden]")
    offline.shot("steward_master")
    off = records[-1]
    offline.page.check(f"input[name=records][value='{off}']")
    offline.page.click("#btn-split")
    offline.page.wait_for_selector(".flash")
    assert "split" in offline.page.inner_text(".flash")
    rebuild(site)
    after = {r: master_of(site, "person", r) for r in records}
    assert after[off] != after[records[0]]
    assert len({after[r] for r in records if r != off}) == 1
    # the decision log shows the split; undoing it is one click, honoured by the next build
    offline.goto("/console/steward/decisions")
    row = offline.page.locator("tbody tr", has_text="split").first
    row.get_by_role("button").click()
    offline.page.wait_for_selector(".flash")
    rebuild(site)
    assert master_of(site, "person", off) == master_of(site, "person", records[0])


def _applicant(site: Site) -> tuple[str, str, str]:
    """(token, name, licence identifier) of a person holding a valid driving licence (type 004)."""
    from tests.serving.subjects import person_holding
    from warehouse.api.index import ReadModel

    snaps = sorted((site.home / "warehouse" / "serving_index").glob("gold-*.sqlite"))
    model = ReadModel(snaps[-1])
    person, lic = person_holding(model, ("004",))
    r = httpx.post(site.url + "/v1/identity/sessions", headers={"Authorization": f"Bearer {site.identity_key}"},
                   json={"id_number": person.data["id_number"], "name": person.data["name"]})
    assert r.status_code == 201, r.text
    return r.json()["token"], person.data["name"], str(lic["identifier"])


def test_applicant_sees_prefilled_fields_and_held_materials_and_consents(offline: Offline, site: Site) -> None:
    token, name, identifier = _applicant(site)
    offline.goto(f"/console/hall/enter?token={token}")
    assert offline.page.url.endswith("/console/hall")
    assert name in offline.page.inner_text("h1")
    offline.page.select_option("#service_item", "S0005")
    offline.page.click("#btn-apply")
    offline.page.wait_for_selector("ul.materials")
    assert offline.page.locator("tr.prefilled").count() >= 3
    held = offline.page.locator("ul.materials li[data-status=held]", has_text=identifier)
    assert held.count() == 1, offline.page.inner_text("ul.materials")
    assert offline.page.locator("ul.materials li.to_upload").count() >= 1
    offline.shot("applicant_form")
    offline.page.click("#btn-consent")
    offline.page.wait_for_selector(".flash")
    assert "consented" in offline.page.inner_text("#status")
    offline.shot("applicant_consented")
    import sqlite3

    con = sqlite3.connect(site.home / "warehouse" / "serving.sqlite")
    got = con.execute("SELECT status FROM applications ORDER BY created_at DESC LIMIT 1").fetchone()
    con.close()
    assert got == ("consented",)


def test_department_user_sees_only_granted_fields(offline: Offline, site: Site) -> None:
    from warehouse.api.grants import load_policy

    policy = load_policy(Path(site.env["MASTERDATA_GRANTS"]))
    import datetime as dt

    today = dt.date.fromisoformat(site.env["MASTERDATA_AS_OF"])
    from warehouse.api.publicid import PublicIds, load_secret

    internal = gold_rows(site, "SELECT master_id FROM person_master WHERE id_number IS NOT NULL AND marital_status "
                               "IS NOT NULL ORDER BY master_id LIMIT 1")[0][0]
    # the id the department is shown (opaque, its own): what its users look a master up by
    mid = PublicIds(load_secret(site.home / "warehouse" / "serving.id-key")).encode("department:civil_affairs",
                                                                                   internal)
    offline.login("civil")
    offline.goto("/console/department/grants")
    assert "marriage_registration" in offline.page.content()
    for purpose in ("marriage_registration", "general_inquiry"):
        offline.goto(f"/console/department/lookup?kind=person&ident={mid}&purpose={purpose}")
        shown = set(offline.page.eval_on_selector_all("table.fields tr[data-element]",
                                                      "rs => rs.map(r => r.dataset.element)"))
        allowed = policy.allowed("civil_affairs", purpose, today, "person")
        assert shown == allowed, (purpose, shown ^ allowed)
        withheld = set(offline.page.eval_on_selector_all("ul.withheld li", "ls => ls.map(l => l.dataset.element)"))
        from standards.dictionary import dictionary

        assert shown | {w.split(".", 1)[1] for w in withheld} == set(dictionary().masters["person"].elements)
        assert not shown & {w.split(".", 1)[1] for w in withheld}
        offline.shot(f"department_lookup_{purpose}")
    assert "男" in offline.page.content() or "女" in offline.page.content()  # labels beside codes
    # another department with no grant for marriage registration is told which purposes it may state
    offline.login("water")
    offline.goto(f"/console/department/lookup?kind=person&ident={mid}&purpose=marriage_registration")
    assert "general_inquiry" in offline.page.inner_text(".error")
