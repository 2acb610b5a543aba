"""The analysts' report: one self-contained HTML page (inline CSS and SVG, readable offline) next
to the Great Expectations Data Docs.

It is drawn from the quality store only (the latest run plus the history for trends), so it can be
re-rendered at any time without touching the lake; the GX section shows the batch validations made
for this report.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections import defaultdict
from dataclasses import dataclass
from html import escape
from pathlib import Path
from typing import Any

from core.errors import mask, redact
from quality import charts, once_only
from quality.charts import count_fmt, meter, pct, score_colour, sparkline
from quality.dimensions import DIMENSIONS, FAILING, SCORECARD, short
from quality.gxrun import GxOutcome
from quality.rules import DEFECT_TEXT
from quality.store import QualityStore
from standards.codetables import department_name
from standards.dictionary import dictionary
from warehouse.api.settings import Settings

#: the scorecard's dimensions under GB/T 36344's names, as the console's dashboard shows them
DIMS = SCORECARD
TREND_RUNS = 30

CSS = """
body{font:14px/1.45 -apple-system,"Segoe UI","PingFang SC","Microsoft YaHei","Noto Sans CJK SC",sans-serif;
margin:0;color:#212121;background:#fafafa}
header{background:#0d47a1;color:#fff;padding:18px 28px}header h1{margin:0 0 4px;font-size:22px}
header .sub{opacity:.85}main{padding:8px 28px 40px;max-width:1280px}
h2{border-bottom:2px solid #0d47a1;padding-bottom:4px;margin-top:34px}h3{margin:18px 0 6px}
nav a{margin-right:14px;color:#0d47a1}
table{border-collapse:collapse;margin:8px 0 16px;background:#fff;font-size:13px}
th,td{border:1px solid #e0e0e0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#eceff1;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums}
.cards{display:flex;flex-wrap:wrap;gap:14px}.card{background:#fff;border:1px solid #ddd;border-radius:6px;
padding:12px 16px;min-width:min(300px,100%);flex:1 1 360px;box-sizing:border-box;overflow-wrap:anywhere}
.card h3{margin-top:0}.card svg.chart{display:block;width:100%}
.kpi{display:inline-block;margin:4px 18px 4px 0}.kpi b{display:block;font-size:20px}
.muted{color:#757575}.bad{color:#c62828}.ok{color:#2e7d32}.warn{color:#ef6c00}
code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:12px}
.eg{font-family:ui-monospace,Consolas,monospace;font-size:12px;color:#37474f}
svg.chart{background:#fff;border:1px solid #e0e0e0;margin:6px 0;max-width:100%;height:auto;box-sizing:border-box}
.slug{color:#9e9e9e;font-size:11px;margin-left:4px}.tw{overflow-x:auto;max-width:100%}
main{box-sizing:border-box}nav{display:flex;flex-wrap:wrap;row-gap:4px}svg text.ct{font-weight:600;font-size:13px}
svg text.cl{font-size:12px;fill:#37474f}svg text.cv{font-size:11px;fill:#616161}
dl.defs dt{font-weight:600;margin-top:6px}dl.defs dd{margin-left:18px}
"""


def number(v: Any) -> float | None:
    """A stored figure as a float (None stays None)."""
    return None if v is None else float(v)


def _age(hours: Any) -> str:
    if hours is None:
        return "–"
    h = float(hours)
    if h < 0:
        return "ahead of run"
    if h < 48:
        return f"{h:.1f} h"
    return f"{h / 24:.1f} d"


def _samples(raw: Any, limit: int = 3, element: Any = None) -> str:
    """Example rows (record key = value): a personal element's values masked; ID and phone numbers
    masked wherever they occur (a record key can be an ID number)."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except json.JSONDecodeError:
        return ""
    parts = []
    hide = dictionary().is_personal(element)
    for s in items[:limit]:
        key, val = s.get("record_key"), s.get("value")
        if hide and val is not None:
            val = mask(val)
        reason = s.get("reason")
        txt = f"{key} = {val!r}" + (f" ({reason})" if reason and reason not in ("MISMATCH", "DUPLICATE_KEY") else "")
        parts.append(escape(redact(txt)))
    return "<br>".join(parts)


def _table(head: list[str], rows: list[list[str]], numeric: set[int] | None = None) -> str:
    numeric = numeric or set()
    out = ['<div class="tw"><table><thead><tr>', *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table></div>")
    return "".join(out)


MASTERS = {"person": "人口库 person", "entity": "法人库 entity", "licence": "电子证照库 licence"}


def source_name(source: Any) -> str:
    """A source as analysts know it: the department's name (亳州市档案馆), not the slug (archives)."""
    return department_name(str(source))


def _where(source: Any, table: Any = None) -> str:
    """HTML: the department's name, then the slug and table small (what a steward searches by)."""
    slug = f"{source}.{table}" if table else str(source)
    return f'{escape(source_name(source))}<span class="slug">{escape(slug)}</span>'


def _label(r: dict[str, Any]) -> str:
    lvl = r["level"]
    if lvl == "feed":
        return f"{_where(r['source'], r['table'])} → {escape(MASTERS.get(r['master'], r['master']))}"
    if lvl == "table":
        return _where(r["source"], r["table"])
    if lvl == "source":
        return _where(r["source"])
    return escape(MASTERS.get(r["master"], r["master"]) + (" (gold 主数据)" if lvl == "gold" else ""))


def _score_row(r: dict[str, Any], spark: str = "") -> list[str]:
    def cell(v: Any) -> str:
        return f'{meter(number(v))} <span style="color:{score_colour(number(v))}">{pct(number(v), 2)}</span>'

    dup = number(r.get("duplicate_rate"))
    qr = number(r.get("quarantine_rate"))
    cr = number(r.get("conflict_rate"))
    row = [_label(r), f"{int(r['rows'] or 0):,}"] + [cell(r.get(k)) for k, _ in DIMS] + [
        pct(dup, 2), pct(cr, 2), f"{pct(qr, 2)} <span class=muted>({int(r.get('quarantined') or 0):,})</span>",
        _age(r.get("age_hours")), f'<b style="color:{score_colour(number(r.get("score")))}">{pct(number(r.get("score")), 2)}</b>',
    ]
    if spark:
        row.append(spark)
    return row


SCORE_HEAD = ["评分对象 Scorecard", "行数 Rows", *(f"{DIMENSIONS[k].split(' (')[0]}" for k, _ in DIMS),
              "重复 Duplicates", "冲突 Conflicts", "隔离 Quarantine", "时效性 Newest update", "得分 Score"]


def _combine_runs(store: QualityStore, ids: list[str]) -> tuple[list[str], dict[str, list[float | None]]]:
    """Per run, the dimensions over all sources (counts added, so row-weighted)."""
    labels, series = [], defaultdict(list)
    for rid in ids:
        rows = [r for r in store.read("scores", rid) if r.get("level") == "source"]
        meta = store.meta(rid)
        labels.append(_run_label(meta))
        n = sum(int(r["rows"] or 0) for r in rows)
        ext = sum(int(r["extracted"] or 0) for r in rows)
        for key, name in DIMS:
            series[name].append(1 - sum(int(r[FAILING[key]] or 0) for r in rows) / n if n else None)
        series["未隔离"].append(1 - sum(int(r["quarantined"] or 0) for r in rows) / ext if ext else None)
    return labels, dict(series)


def _run_label(meta: dict[str, Any]) -> str:
    try:
        t = dt.datetime.fromisoformat(meta["started_at"])
        return t.strftime("%m-%d %H:%M")
    except (KeyError, ValueError):
        return str(meta.get("run_id", "?"))[:13]


@dataclass
class _Run:
    """One recorded run as the report reads it: its tables, scores by level, and the trend window."""

    store: QualityStore
    run_id: str
    meta: dict[str, Any]
    checks: list[dict[str, Any]]
    quarantine: list[dict[str, Any]]
    gold: list[dict[str, Any]]
    ids: list[str]
    by_level: dict[str, list[dict[str, Any]]]

    @classmethod
    def read(cls, store: QualityStore, run_id: str) -> _Run:
        by_level: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for r in store.read("scores", run_id):
            by_level[r["level"]].append(r)
        return cls(store, run_id, store.meta(run_id), store.read("checks", run_id),
                   store.read("quarantine", run_id), store.read("gold", run_id),
                   [i for i in store.run_ids() if i <= run_id][-TREND_RUNS:], by_level)

    @property
    def failing(self) -> list[dict[str, Any]]:
        return [c for c in self.checks if int(c["failed"] or 0) > 0]


def render(store: QualityStore, out_dir: Path, run_id: str | None = None, gx: GxOutcome | None = None) -> Path:
    """Write ``out_dir/index.html`` for ``run_id`` (default: the latest run); returns its path."""
    run = _Run.read(store, run_id or store.latest())
    body = [_summary(run), _masters(run), _sources(run), _trends(run), _defects(run), _quarantine(run),
            _source_tables(run), _great_expectations(gx, out_dir),
            once_only.section(once_only.load(Settings.from_env().once_only_report), _table), DEFINITIONS]
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / "index.html"
    tmp = path.with_suffix(".html.tmp")
    # (the safety net: no ID or phone number in the page, whatever part put it there)
    tmp.write_text(redact(_head(run) + "".join(body) + "</main></body></html>"), encoding="utf-8")
    os.replace(tmp, path)
    return path


def _head(run: _Run) -> str:
    title = "数据质量报告"
    meta = run.meta
    nav = "".join(f'<a href="#{a}">{t}</a>' for a, t in SECTIONS)
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title} Data quality report</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f'<header><h1>{title} <small>Data quality report</small></h1><div class="sub">运行 run '
            f'{escape(run.run_id)} · {escape(str(meta.get("started_at", ""))[:19])} UTC · 评估时点 as of '
            f'{escape(str(meta.get("as_of", ""))[:19])} · 数据湖 lake {escape(str(meta.get("lake", "")))} · '
            f'数据元字典 dictionary {escape(str(meta.get("dictionary_version", "")))}'
            f'</div></header><main><nav aria-label="章节 sections">{nav}</nav>')


#: the report's sections: (anchor, title), in page order
SECTIONS = (("masters", "主数据库 Masters"), ("sources", "各部门评分 Sources"), ("trends", "趋势 Trends"),
            ("defects", "缺陷 Defects"), ("quarantine", "隔离 Quarantine"), ("tables", "来源表 Source tables"),
            ("gx", "数据校验 Great Expectations"), ("once-only", "免提交 Once-only"), ("defs", "计算方法 Definitions"))
TITLES = dict(SECTIONS)


def _h2(anchor: str, title: str | None = None) -> str:
    return f'<h2 id="{anchor}">{escape(title or TITLES[anchor])}</h2>'


def _summary(run: _Run) -> str:
    sources = run.by_level["source"]
    total_rows = sum(int(r["rows"] or 0) for r in sources)
    total_q = sum(int(r["quarantined"] or 0) for r in sources)
    total_x = sum(int(r["extracted"] or 0) for r in sources)
    html = ('<section id="summary"><div class="cards"><div class="card">'
            f'<span class="kpi"><b>{len(sources)}</b>个部门数据源 sources</span>'
            f'<span class="kpi"><b>{len(run.by_level["feed"])}</b>来源表 × 主数据 source tables × masters</span>'
            f'<span class="kpi"><b>{total_rows:,}</b>行已评分 silver rows scored</span>'
            f'<span class="kpi"><b>{pct(total_q / total_x if total_x else None, 2)}</b>隔离 quarantined '
            f'({total_q:,} / {total_x:,})</span>'
            f'<span class="kpi"><b>{len(run.failing)}</b>项检查未通过 failing checks (共 {len(run.checks)})</span>'
            f'<span class="kpi"><b>{float(run.meta.get("seconds", 0)):.1f} s</b>评分用时 to score</span></div></div>')
    if run.meta.get("notes"):
        html += "<p class=warn>" + "<br>".join(escape(n) for n in run.meta["notes"]) + "</p>"
    return html + "</section>"


def _gold_card(g: dict[str, Any], gs: dict[str, Any]) -> str:
    if not g.get("available"):
        return f'<p class="muted">主数据 Gold: {escape(g.get("note") or "not available")}</p>'
    queue = "–" if g.get("review_queue") is None else f"{int(g['review_queue']):,}"
    return (f'<span class="kpi"><b>{int(g.get("golden_records") or 0):,}</b>黄金记录 golden records</span>'
            f'<span class="kpi"><b>{pct(number(g.get("match_rate")))}</b>匹配率 match rate</span>'
            f'<span class="kpi"><b>{queue}</b>待复核 in review queue</span>'
            f'<span class="kpi"><b>{pct(number(g.get("conflict_rate")), 2)}</b>冲突值 conflicting values</span>'
            f'<span class="kpi"><b>{pct(number(gs.get("score")), 2)}</b>黄金记录检查 golden-record checks</span>'
            + (f'<div class="muted">{escape(g["note"])}</div>' if g.get("note") else ""))


def _masters(run: _Run) -> str:
    body = [_h2("masters"), '<div class="cards">']
    gold_by = {g["master"]: g for g in run.gold}
    gold_scores = {r["master"]: r for r in run.by_level["gold"]}
    for r in sorted(run.by_level["master"], key=lambda x: x["master"]):
        m = r["master"]
        items = [(lab, number(r.get(k))) for k, lab in DIMS]
        items += [("准确性·键唯一 unique keys",
                   None if r.get("duplicate_rate") is None else 1 - float(r["duplicate_rate"])),
                  ("未隔离 not quarantined",
                   None if r.get("quarantine_rate") is None else 1 - float(r["quarantine_rate"]))]
        body.append(f'<div class="card"><h3>{escape(MASTERS.get(m, m))} <span class="muted">'
                    f'{int(r["rows"] or 0):,} 行 silver rows · 得分 score {pct(number(r.get("score")), 2)}</span></h3>'
                    + charts.hbar(items, chart=f"master-{m}", max_value=1.0, colour=score_colour, width=460,
                                  label_width=170)
                    + _gold_card(gold_by.get(m) or {}, gold_scores.get(m, {})) + "</div>")
    body.append("</div>")
    available = [g for g in run.gold if g.get("available")]
    if available:
        body.append(charts.hbar([(MASTERS.get(g["master"], g["master"]), number(g.get("match_rate")))
                                 for g in available], chart="match-rate",
                                title="各主数据库匹配率 Match rate (linked records whose golden record another "
                                "source also feeds)", max_value=1.0))
        body.append(charts.hbar([(MASTERS.get(g["master"], g["master"]), number(g.get("review_queue")))
                                 for g in available], chart="review-queue",
                                title="待复核 Open review-queue items per master", fmt=count_fmt))
    return "".join(body)


def _history(run: _Run, level: str, key: str, names: set[str]) -> dict[str, list[float | None]]:
    """Score of each named source or master in every run of the trend window (None where absent)."""
    series: dict[str, list[float | None]] = defaultdict(list)
    for rid in run.ids:
        got = {r[key]: number(r.get("score")) for r in run.store.read("scores", rid) if r.get("level") == level}
        for name in sorted(names):
            series[name].append(got.get(name))
    return series


def _sources(run: _Run) -> str:
    src_rows = sorted(run.by_level["source"], key=lambda r: (number(r.get("score")) or 0.0, r["source"]))
    hist = _history(run, "source", "source", {r["source"] for r in src_rows})
    return (_h2("sources")
            + charts.hbar([(source_name(r["source"]), number(r.get("score"))) for r in src_rows],
                          chart="source-scores", title="各部门数据源得分 Score per source (mean of the dimensions; "
                          "worst first)", max_value=1.0, colour=score_colour)
            + _table(SCORE_HEAD + ["趋势 Trend"],
                     [_score_row(r, sparkline(hist[r["source"]], chart=f"trend-{r['source']}")) for r in src_rows],
                     numeric={1}))


def _trends(run: _Run) -> str:
    labels, series = _combine_runs(run.store, run.ids)
    mseries = _history(run, "master", "master", {r["master"] for r in run.by_level["master"]})
    html = (_h2("trends")
            + charts.line(series, labels, chart="trend-dimensions",
                          title=f"全部数据源各维度 All sources, last {len(run.ids)} run(s)", y_max=1.0)
            + charts.line(dict(mseries), labels, chart="trend-masters", title="各主数据库得分 Score per master",
                          y_max=1.0))
    if len(run.ids) < 2:
        html += ('<p class="muted">目前仅有一次运行记录 One run recorded so far: the lines grow as runs accumulate '
                 "(every <code>masterdata quality run</code> and every scheduled DAG run adds one).</p>")
    return html


def _reasons(c: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(c["reasons"] or "{}").items()}


def _defects(run: _Run) -> str:
    body = [_h2("defects", "主要缺陷类型 Top defect types")]
    kinds: dict[tuple[str, str], int] = defaultdict(int)
    for c in run.failing:
        if c["kind"] == "feed":
            for k, v in _reasons(c).items():
                kinds[(c["dimension"], k)] += v
    top_kinds = sorted(kinds.items(), key=lambda kv: -kv[1])[:15]
    if not top_kinds:
        body.append('<p class="ok">所有来源表的所有检查均通过 Every check passes on every source table.</p>')
    body.append(charts.hbar([(f"{short(d)} · {k}", float(v)) for (d, k), v in top_kinds], chart="defect-types",
                            title="各缺陷类型的问题行数 Failing rows by defect type, all sources", fmt=count_fmt,
                            colour=lambda _v: "#c62828"))
    body.append(_table(["缺陷 Defect", "行数 Rows", "含义 Meaning"],
                       [[escape(f"{DIMENSIONS.get(d, d)} · {k}"), f"{v:,}", escape(DEFECT_TEXT.get(k, ""))]
                        for (d, k), v in top_kinds], numeric={1}))
    body.append("<h3>未通过的检查及示例 Failing checks, with example rows</h3>")
    worst = sorted(run.failing, key=lambda c: (-int(c["failed"]), c["suite"]))[:40]
    body.append(_table(["位置 Where", "数据元 Element", "检查 Check", "未通过 Failed", "比例 Rate", "缺陷 Defects",
                        "示例 Examples (record key = value)"], [
        [_where(c["source"], c["table"]) if c["kind"] == "feed" else escape(f"gold {MASTERS.get(c['master'], '')}"),
         f"<code>{escape(c['element'])}</code>", escape(f"{short(c['dimension'])} {c['dimension']} ({c['rule']})"),
         f"{int(c['failed']):,} / {int(c['scope']):,}", pct(number(c["rate"]), 2),
         escape(", ".join(f"{k} {v:,}" for k, v in sorted(_reasons(c).items(), key=lambda kv: -kv[1])[:3])),
         f'<span class="eg">{_samples(c["samples"], element=c["element"])}</span>'] for c in worst], numeric={3, 4}))
    return "".join(body)


def _quarantine(run: _Run) -> str:
    body = [_h2("quarantine", "隔离区：被拒收的行及原因 Quarantine: rejected rows and why")]
    qagg: dict[str, int] = defaultdict(int)
    for x in run.quarantine:
        qagg[x["reason"]] += int(x["rows"])
    if qagg:
        body.append(charts.hbar(sorted(((k, float(v)) for k, v in qagg.items()), key=lambda kv: -kv[1])[:12],
                                chart="quarantine-reasons", title="按原因统计的隔离行数 Quarantined rows by reason",
                                fmt=count_fmt,
                                colour=lambda _v: "#6a1b9a"))
    else:
        body.append('<p class="ok">没有被隔离的行 No row was quarantined.</p>')
    body.append(_table(["来源表 Source table", "数据元 Element", "原因 Reason", "行数 Rows",
                        "示例 Examples (record key = value)"], [
        [_where(x["source"], x["table"]), f"<code>{escape(str(x['element']))}</code>", escape(x["reason"]),
         f"{int(x['rows']):,}", f'<span class="eg">{_samples(x["samples"], element=x["element"])}</span>']
        for x in sorted(run.quarantine, key=lambda x: -int(x["rows"]))[:30]], numeric={3}))
    return "".join(body)


def _source_tables(run: _Run) -> str:
    feeds = sorted(run.by_level["feed"], key=lambda r: (r["source"], r["table"], r["master"]))
    html = _h2("tables", "各来源表对各主数据库的评分 Scorecards per source table and master") + _table(
        SCORE_HEAD, [_score_row(r) for r in feeds], numeric={1})
    nprov = {k: v["not_provided"] for k, v in (run.meta.get("suites") or {}).items() if v.get("not_provided")}
    if nprov:
        html += ("<p class=muted>来源表未映射的必填数据元 Required elements a source table does not map at all "
                 "(not counted as missing): "
                 + "; ".join(escape(f"{k}: {', '.join(v)}") for k, v in sorted(nprov.items())) + "</p>")
    return html


def _great_expectations(gx: GxOutcome | None, out_dir: Path) -> str:
    body = [_h2("gx", "数据校验 Great Expectations: latest batch of every source table")]
    if gx is None:
        return body[0] + '<p class="muted">本报告未运行 Not run for this report (<code>--no-gx</code>).</p>'
    if gx.docs_index:
        rel = os.path.relpath(gx.docs_index, out_dir)
        body.append(f'<p>校验文档 Data Docs: <a href="{escape(rel)}">{escape(rel)}</a> '
                    f'({len(gx.results)} suites validated in {gx.seconds:.1f} s).</p>')
    ok = sum(1 for r in gx.results if r.success)
    body.append(f"<p>{ok} / {len(gx.results)} 个批次满足全部期望 batches meet every expectation.</p>")
    body.append(_table(["规则集 Suite", "批次 Batch", "行数 Rows", "满足 Met",
                        "未满足的期望 Failed expectations (source, element, sample rows)"], [
        [escape(r.suite), f"<code>{escape(r.batch_id or 'sample')}</code>", f"{r.rows:,}",
         f"{r.successful}/{r.evaluated}",
         "<br>".join(escape(f.line()) for f in r.failures)]
        for r in gx.results if not r.success], numeric={2}))
    body.extend(f'<p class="muted">{escape(n)}</p>' for n in gx.notes)
    return "".join(body)


DEFINITIONS = """
<h2 id="defs">计算方法 How the scores are computed</h2>
<p class="muted">维度按 GB/T 36344-2018《信息技术 数据质量评价指标》命名：规范性、完整性、准确性、一致性、时效性、可访问性。
The dimensions carry the names of GB/T 36344-2018.</p>
<dl class="defs">
<dt>规则集 Suites</dt><dd>Generated from <code>standards/elements.yaml</code> and the source specs, never written by
hand: each element a source table maps gets the checks its rule implies; change a rule and the suites change.</dd>
<dt>快照 Snapshot</dt><dd>A source table's current state: the newest batch of every record key, deletions removed.</dd>
<dt>规范性 Conformity</dt><dd>Rows that arrived exactly in the standard's form: valid, consistent, and needing no
repair (lowercase x, full-width digits, spaces, 15-digit upgrade) and no placeholder.</dd>
<dt>完整性 Completeness</dt><dd>Rows whose <em>required</em> elements are all given; placeholders (不详, 无,
000000000000000000, 123456789012345678, 1900-01-01, 13800000000) count as missing.</dd>
<dt>准确性 Accuracy</dt><dd>Rows whose given values all satisfy their rule: identifiers re-validated with the
standard's macros (check character, length, characters, area, embedded codes), phone pattern, dates from 1890 to the
run date (licence validity may lie ahead), numbers not negative, codes present in the rule's code table; and keys
unique (重复 duplicates: surplus copies of the master key within a source table, (keyed rows − distinct keys) / keyed
rows).</dd>
<dt>一致性 Consistency</dt><dd>Cross-field rules: birth date and sex agree with the ID number, the USCC embeds the
recorded organisation code, end dates are not before start dates, a licence holder's identifier is valid for its
declared kind. With gold, 冲突 conflicts: values a source sends that differ from the golden record they are linked
to.</dd>
<dt>时效性 Timeliness</dt><dd>Age of the newest source update time (extraction time when a source sends none) at the
run's as-of time (the column 时效性 Newest update).</dd>
<dt>可访问性 Accessibility</dt><dd>Whether the masters can be served: measured by the serving layer's health and shown
on the console's quality dashboard (this offline report is written without a running service).</dd>
<dt>隔离 Quarantine</dt><dd>Rows rejected at standardisation / rows extracted, from the batch markers; reasons from the
quarantine files.</dd>
<dt>得分 Score</dt><dd>The mean of the dimensions that apply (rates of duplicates, conflicts and quarantine counted as
1 − rate). Tables, sources and masters add their feeds' counts, so their scores are row-weighted.</dd>
</dl>
"""
