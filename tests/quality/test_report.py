"""The analysts' report renders on a small generated city: the HTML parses, holds the SVG charts
with their data, needs nothing from the network, and sits beside the GX Data Docs."""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

from pipelines.lake import Lake
from pipelines.masters.build import build
from pipelines.synthetic.city import generate_city
from quality.dimensions import DIMENSIONS
from quality.report import SECTIONS
from quality.store import QualityStore
from standards.codetables import department_name

SOURCES = ["public_security", "market_regulation", "traffic_police", "health"]


class Page(HTMLParser):
    """Collects the charts (svg elements and their data marks), links and scripts of a page."""

    def __init__(self) -> None:
        super().__init__()
        self.charts: dict[str, list[dict[str, str]]] = {}
        self.svgs = 0
        self.links: list[str] = []
        self.scripts: list[dict[str, str | None]] = []
        self._chart: str | None = None
        self.tables = 0
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "svg":
            self.svgs += 1
            chart = a.get("data-chart")
            if chart:
                self._chart = chart
                self.charts.setdefault(chart, [])
        elif tag in ("rect", "circle") and self._chart and a.get("data-value") not in (None, ""):
            self.charts[self._chart].append({k: v or "" for k, v in a.items()})
        elif tag in ("a", "link", "img", "script", "iframe"):
            for k in ("href", "src"):
                if a.get(k):
                    self.links.append(str(a[k]))
            if tag == "script":
                self.scripts.append(a)
        elif tag == "table":
            self.tables += 1

    def handle_endtag(self, tag: str) -> None:
        if tag == "svg":
            self._chart = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)


@pytest.fixture(scope="module")
def city(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    from pipelines.connections import SourceEnvironment
    from pipelines.ingest import ingest_source

    root = tmp_path_factory.mktemp("city")
    generate_city(persons=400, seed=5, out=root / "city", sources=SOURCES)
    # one row the standard cannot read (no such division), so the quarantine section has data
    db = sqlite3.connect(root / "city" / "sources" / "db" / "dept_public_security.sqlite")
    cols = [r[1] for r in db.execute("PRAGMA table_info(hjxx_czrk)")]
    pick = ", ".join({"rkbh": "'QTEST0001'", "hjqh": "'999999'"}.get(c, c) for c in cols)
    db.execute(f"INSERT INTO hjxx_czrk SELECT {pick} FROM hjxx_czrk LIMIT 1")
    db.commit()
    db.close()
    lake = Lake(root / "lake")
    env = SourceEnvironment(sources_dir=root / "city" / "sources")
    for s in SOURCES:
        ingest_source(s, env, lake)
    gold = root / "warehouse" / "gold.duckdb"
    build(lake=lake, gold=gold)
    return {"root": root, "lake": lake.root, "gold": gold}


@pytest.fixture(scope="module")
def report(city: dict[str, Path]) -> dict[str, object]:
    from pipelines.cli import app
    from quality.run import run_quality

    store = QualityStore(city["root"] / "warehouse" / "quality")
    # an earlier run, so the trend charts have two points
    run_quality(Lake(city["lake"]), store, gold_path=city["gold"], as_of=dt.datetime.now() - dt.timedelta(days=1))
    out = city["root"] / "report"
    env = {"MASTERDATA_LAKE": str(city["lake"]), "MASTERDATA_HOME": str(city["root"]),
           "MASTERDATA_GOLD": str(city["gold"])}
    res = CliRunner().invoke(app, ["quality", "report", "--out", str(out), "--fresh", "--sample", "500"], env=env)
    assert res.exit_code == 0, res.output
    page = Page()
    html = (out / "index.html").read_text(encoding="utf-8")
    page.feed(html)
    return {"out": out, "html": html, "page": page, "output": res.output, "store": store}


def test_html_parses_and_holds_the_charts(report: dict) -> None:
    page: Page = report["page"]
    for chart in ("source-scores", "trend-dimensions", "trend-masters", "defect-types", "quarantine-reasons",
                  "master-person", "master-entity", "master-licence"):
        assert page.charts.get(chart), f"chart {chart} missing or without data"
    scores = {m["data-label"]: float(m["data-value"]) for m in page.charts["source-scores"]}
    assert set(scores) == {department_name(s) for s in SOURCES} and all(0 < v <= 1 for v in scores.values())
    # two recorded runs -> two points per series on the trend charts
    points = [m for m in page.charts["trend-masters"] if m.get("data-series") == "person"]
    assert len(points) == 2
    assert page.svgs > 20 and page.tables >= 5


def test_page_is_self_contained(report: dict) -> None:
    page: Page = report["page"]
    assert not page.scripts
    remote = [u for u in page.links if re.match(r"(https?:)?//", u)]
    assert remote == []
    assert "<link" not in report["html"] and "@import" not in report["html"]


def test_quarantine_section_shows_the_rejected_row(report: dict) -> None:
    page: Page = report["page"]
    reasons = {m["data-label"]: float(m["data-value"]) for m in page.charts["quarantine-reasons"]}
    assert reasons.get("UNMAPPED_CODE", 0) >= 1
    assert "QTEST0001" in "".join(page.text)


def test_report_names_failures_with_example_rows(report: dict) -> None:
    store: QualityStore = report["store"]
    failing = [c for c in store.read("checks") if c["failed"] and c["kind"] == "feed"]
    assert failing, "the generated city always carries defects"
    worst = max(failing, key=lambda c: c["failed"])
    text = "".join(report["page"].text)
    assert department_name(worst["source"]) in text and f"{worst['source']}.{worst['table']}" in text
    assert worst["element"] in text
    import json

    sample = json.loads(worst["samples"])[0]
    assert str(sample["record_key"]) in text


def test_gx_data_docs_are_linked(report: dict) -> None:
    out: Path = report["out"]
    docs = [u for u in report["page"].links if u.endswith("index.html")]
    assert docs and (out / docs[0]).exists()
    assert "great expectations data docs:" in report["output"]
    validations = list((out / "gx").rglob("validations/**/*.json"))
    assert validations


def test_gold_figures_match_the_gold_store(city: dict[str, Path], report: dict) -> None:
    page: Page = report["page"]
    assert {m["data-label"] for m in page.charts["match-rate"]} >= {"人口库 person"}
    assert page.charts.get("review-queue") is not None
    gold = {g["master"]: g for g in report["store"].read("gold")}
    # the figures are the gold store's own, counted here independently of quality/gold.py
    con = duckdb.connect(str(city["gold"]), read_only=True)
    masters = con.execute("SELECT count(*) FROM person_master").fetchall()[0][0]
    total, matched = con.execute(
        "SELECT sum(n), coalesce(sum(n) FILTER (WHERE ns >= 2), 0) FROM (SELECT master_id, count(*) AS n, "
        "count(DISTINCT source) AS ns FROM person_xref GROUP BY ALL)").fetchall()[0]
    con.close()
    assert gold["person"]["available"] and gold["person"]["golden_records"] == masters > 0
    assert 0 < matched < total  # a generated city has persons in several sources, and some in one only
    assert gold["person"]["match_rate"] == pytest.approx(matched / total)



def test_report_speaks_the_analysts_language(report: dict) -> None:
    """Chinese section titles, departments by name, the dimensions under GB/T 36344's names."""
    html: str = report["html"]
    page: Page = report["page"]
    text = "".join(page.text)
    for anchor, title in SECTIONS:
        assert f'id="{anchor}"' in html and title.split()[0] in text, anchor
    for s in SOURCES:
        assert department_name(s) in text and department_name(s) != s
    for name in ("规范性", "完整性", "准确性", "一致性", "时效性", "可访问性"):
        assert name in text, name
    # the same names as the console's dashboard: one table of them
    assert all(v.split()[0] in text for k, v in DIMENSIONS.items() if k != "accessibility")
    assert page.charts["defect-types"][0]["data-label"].split(" · ")[0] in {"规范性", "完整性", "准确性", "一致性"}


@pytest.mark.parametrize("width", [1280, 760, 420])
def test_charts_fit_their_cards(report: dict, width: int, browser: Any) -> None:
    """In a real browser at desktop, tablet and phone widths, no chart is wider than its card and
    the page does not scroll sideways."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    try:
        page.goto((report["out"] / "index.html").as_uri())
        over = page.evaluate("""() => [...document.querySelectorAll('.card svg.chart')].map(svg => {
            const c = svg.closest('.card').getBoundingClientRect(), s = svg.getBoundingClientRect();
            return {chart: svg.dataset.chart, svg: [s.left, s.right], card: [c.left, c.right]};
        }).filter(r => r.svg[0] < r.card[0] - 0.5 || r.svg[1] > r.card[1] + 0.5)""")
        charts = page.evaluate("document.querySelectorAll('.card svg.chart').length")
        clipped = page.evaluate("""() => [...document.querySelectorAll('svg.chart')].flatMap(svg => {
            const vb = svg.viewBox.baseVal;
            return [...svg.querySelectorAll('text')].map(t => ({chart: svg.dataset.chart, text: t.textContent,
                box: t.getBBox()})).filter(r => r.box.x < -0.5 || r.box.x + r.box.width > vb.width + 0.5)
                .map(r => r.chart + ': ' + r.text); })""")
        scroll = page.evaluate("[document.documentElement.scrollWidth, window.innerWidth]")
    finally:
        page.close()
    assert charts >= 3 and over == []
    assert clipped == []  # every label and value inside its chart
    assert scroll[0] <= scroll[1], scroll  # wide tables scroll in their own box, the page never sideways
