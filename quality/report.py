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
from quality.gxrun import GxOutcome
from quality.rules import DEFECT_TEXT
from quality.store import QualityStore
from warehouse.api.settings import Settings

DIMS = (("completeness", "Completeness"), ("validity", "Validity"), ("consistency", "Consistency"),
        ("conformity", "Conformity"))
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
padding:12px 16px;min-width:300px;flex:1}.card h3{margin-top:0}
.kpi{display:inline-block;margin:4px 18px 4px 0}.kpi b{display:block;font-size:20px}
.muted{color:#757575}.bad{color:#c62828}.ok{color:#2e7d32}.warn{color:#ef6c00}
code,.mono{font-family:ui-monospace,Consolas,monospace;font-size:12px}
.eg{font-family:ui-monospace,Consolas,monospace;font-size:12px;color:#37474f}
svg.chart{background:#fff;border:1px solid #e0e0e0;margin:6px 0;max-width:100%;height:auto}svg text.ct{font-weight:600;font-size:13px}
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


def _personal(element: Any) -> bool:
    """Whether examples of ``element`` (``master.element`` or a bare name) show personal data."""
    from standards.dictionary import dictionary

    d = dictionary()
    name = str(element or "")
    found = [e for e in d.all_elements() if name in (e.qualified, e.name)]
    return any(e.personal for e in found)


def _samples(raw: Any, limit: int = 3, element: Any = None) -> str:
    """Example rows (record key = value): a personal element's values masked; ID and phone numbers
    masked wherever they occur (a record key can be an ID number)."""
    try:
        items = json.loads(raw) if isinstance(raw, str) else (raw or [])
    except json.JSONDecodeError:
        return ""
    parts = []
    hide = _personal(element)
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
    out = ["<table><thead><tr>", *(f"<th>{escape(h)}</th>" for h in head), "</tr></thead><tbody>"]
    for r in rows:
        out.append("<tr>" + "".join(f'<td class="n">{c}</td>' if i in numeric else f"<td>{c}</td>"
                                    for i, c in enumerate(r)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _label(r: dict[str, Any]) -> str:
    lvl = r["level"]
    if lvl == "feed":
        return f"{r['source']}.{r['table']} → {r['master']}"
    if lvl == "table":
        return f"{r['source']}.{r['table']}"
    if lvl == "source":
        return str(r["source"])
    return f"{r['master']}{' (gold)' if lvl == 'gold' else ''}"


def _score_row(r: dict[str, Any], spark: str = "") -> list[str]:
    def cell(v: Any) -> str:
        return f'{meter(number(v))} <span style="color:{score_colour(number(v))}">{pct(number(v), 2)}</span>'

    dup = number(r.get("duplicate_rate"))
    qr = number(r.get("quarantine_rate"))
    cr = number(r.get("conflict_rate"))
    row = [escape(_label(r)), f"{int(r['rows'] or 0):,}"] + [cell(r.get(k)) for k, _ in DIMS] + [
        pct(dup, 2), pct(cr, 2), f"{pct(qr, 2)} <span class=muted>({int(r.get('quarantined') or 0):,})</span>",
        _age(r.get("age_hours")), f'<b style="color:{score_colour(number(r.get("score")))}">{pct(number(r.get("score")), 2)}</b>',
    ]
    if spark:
        row.append(spark)
    return row


SCORE_HEAD = ["Scorecard", "Rows", "Completeness", "Validity", "Consistency", "Conformity", "Duplicates", "Conflicts",
              "Quarantine", "Newest update", "Score"]


def _combine_runs(store: QualityStore, ids: list[str]) -> tuple[list[str], dict[str, list[float | None]]]:
    """Per run, the dimensions over all sources (counts added, so row-weighted)."""
    labels, series = [], defaultdict(list)
    for rid in ids:
        rows = [r for r in store.read("scores", rid) if r.get("level") == "source"]
        meta = store.meta(rid)
        labels.append(_run_label(meta))
        n = sum(int(r["rows"] or 0) for r in rows)
        ext = sum(int(r["extracted"] or 0) for r in rows)
        for key, col in (("Completeness", "incomplete"), ("Validity", "invalid"), ("Consistency", "inconsistent"),
                         ("Conformity", "nonconforming")):
            series[key].append(1 - sum(int(r[col] or 0) for r in rows) / n if n else None)
        series["Not quarantined"].append(1 - sum(int(r["quarantined"] or 0) for r in rows) / ext if ext else None)
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
    title = "Data quality report"
    meta = run.meta
    return (f'<!DOCTYPE html><html lang="zh-CN"><head><meta charset="utf-8"><title>{title}</title>'
            f'<meta name="viewport" content="width=device-width, initial-scale=1"><style>{CSS}</style></head><body>'
            f'<header><h1>{title} · 数据质量报告</h1><div class="sub">Run {escape(run.run_id)} · '
            f'{escape(str(meta.get("started_at", ""))[:19])} UTC · as of {escape(str(meta.get("as_of", ""))[:19])} · '
            f'lake {escape(str(meta.get("lake", "")))} · dictionary {escape(str(meta.get("dictionary_version", "")))}'
            f'</div></header><main><nav><a href="#masters">Masters</a><a href="#sources">Sources</a>'
            f'<a href="#trends">Trends</a><a href="#defects">Defects</a><a href="#quarantine">Quarantine</a>'
            f'<a href="#tables">Source tables</a><a href="#gx">Great Expectations</a><a href="#once-only">Once-only</a>'
            f'<a href="#defs">Definitions</a></nav>')


def _summary(run: _Run) -> str:
    sources = run.by_level["source"]
    total_rows = sum(int(r["rows"] or 0) for r in sources)
    total_q = sum(int(r["quarantined"] or 0) for r in sources)
    total_x = sum(int(r["extracted"] or 0) for r in sources)
    html = ('<section id="summary"><div class="cards"><div class="card">'
            f'<span class="kpi"><b>{len(sources)}</b>sources</span>'
            f'<span class="kpi"><b>{len(run.by_level["feed"])}</b>source tables × masters</span>'
            f'<span class="kpi"><b>{total_rows:,}</b>silver rows scored</span>'
            f'<span class="kpi"><b>{pct(total_q / total_x if total_x else None, 2)}</b>quarantined '
            f'({total_q:,} of {total_x:,})</span>'
            f'<span class="kpi"><b>{len(run.failing)}</b>failing checks of {len(run.checks)}</span>'
            f'<span class="kpi"><b>{float(run.meta.get("seconds", 0)):.1f} s</b>to score</span></div></div>')
    if run.meta.get("notes"):
        html += "<p class=warn>" + "<br>".join(escape(n) for n in run.meta["notes"]) + "</p>"
    return html + "</section>"


def _gold_card(g: dict[str, Any], gs: dict[str, Any]) -> str:
    if not g.get("available"):
        return f'<p class="muted">Gold: {escape(g.get("note") or "not available")}</p>'
    queue = "–" if g.get("review_queue") is None else f"{int(g['review_queue']):,}"
    return (f'<span class="kpi"><b>{int(g.get("golden_records") or 0):,}</b>golden records</span>'
            f'<span class="kpi"><b>{pct(number(g.get("match_rate")))}</b>match rate</span>'
            f'<span class="kpi"><b>{queue}</b>in review queue</span>'
            f'<span class="kpi"><b>{pct(number(g.get("conflict_rate")), 2)}</b>conflicting values</span>'
            f'<span class="kpi"><b>{pct(number(gs.get("score")), 2)}</b>golden-record checks</span>'
            + (f'<div class="muted">{escape(g["note"])}</div>' if g.get("note") else ""))


def _masters(run: _Run) -> str:
    body = ['<h2 id="masters">Masters</h2><div class="cards">']
    gold_by = {g["master"]: g for g in run.gold}
    gold_scores = {r["master"]: r for r in run.by_level["gold"]}
    for r in sorted(run.by_level["master"], key=lambda x: x["master"]):
        m = r["master"]
        items = [(lab, number(r.get(k))) for k, lab in DIMS]
        items += [("Unique keys", None if r.get("duplicate_rate") is None else 1 - float(r["duplicate_rate"])),
                  ("Not quarantined", None if r.get("quarantine_rate") is None else 1 - float(r["quarantine_rate"]))]
        body.append(f'<div class="card"><h3>{escape(m)} <span class="muted">{int(r["rows"] or 0):,} silver rows · '
                    f'score {pct(number(r.get("score")), 2)}</span></h3>'
                    + charts.hbar(items, chart=f"master-{m}", max_value=1.0, colour=score_colour, width=520,
                                  label_width=130)
                    + _gold_card(gold_by.get(m) or {}, gold_scores.get(m, {})) + "</div>")
    body.append("</div>")
    available = [g for g in run.gold if g.get("available")]
    if available:
        body.append(charts.hbar([(g["master"], number(g.get("match_rate"))) for g in available],
                                chart="match-rate", title="Match rate per master (linked records whose golden "
                                "record another source also feeds)", max_value=1.0))
        body.append(charts.hbar([(g["master"], number(g.get("review_queue"))) for g in available],
                                chart="review-queue", title="Open review-queue items per master", fmt=count_fmt))
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
    return ('<h2 id="sources">Scorecards per source</h2>'
            + charts.hbar([(r["source"], number(r.get("score"))) for r in src_rows], chart="source-scores",
                          title="Score per source (mean of the dimensions; worst first)", max_value=1.0,
                          colour=score_colour)
            + _table(SCORE_HEAD + ["Trend"],
                     [_score_row(r, sparkline(hist[r["source"]], chart=f"trend-{r['source']}")) for r in src_rows],
                     numeric={1}))


def _trends(run: _Run) -> str:
    labels, series = _combine_runs(run.store, run.ids)
    mseries = _history(run, "master", "master", {r["master"] for r in run.by_level["master"]})
    html = ('<h2 id="trends">Trends across runs</h2>'
            + charts.line(series, labels, chart="trend-dimensions", title=f"All sources, last {len(run.ids)} run(s)",
                          y_max=1.0)
            + charts.line(dict(mseries), labels, chart="trend-masters", title="Score per master", y_max=1.0))
    if len(run.ids) < 2:
        html += ('<p class="muted">One run recorded so far: the lines grow as runs accumulate '
                 "(every <code>masterdata quality run</code> and every scheduled DAG run adds one).</p>")
    return html


def _reasons(c: dict[str, Any]) -> dict[str, int]:
    return {k: int(v) for k, v in json.loads(c["reasons"] or "{}").items()}


def _defects(run: _Run) -> str:
    body = ['<h2 id="defects">Top defect types</h2>']
    kinds: dict[tuple[str, str], int] = defaultdict(int)
    for c in run.failing:
        if c["kind"] == "feed":
            for k, v in _reasons(c).items():
                kinds[(c["dimension"], k)] += v
    top_kinds = sorted(kinds.items(), key=lambda kv: -kv[1])[:15]
    if not top_kinds:
        body.append('<p class="ok">Every check passes on every source table.</p>')
    body.append(charts.hbar([(f"{d} · {k}", float(v)) for (d, k), v in top_kinds], chart="defect-types",
                            title="Failing rows by defect type, all sources", fmt=count_fmt,
                            colour=lambda _v: "#c62828"))
    body.append(_table(["Defect", "Rows", "Meaning"],
                       [[escape(f"{d} · {k}"), f"{v:,}", escape(DEFECT_TEXT.get(k, ""))] for (d, k), v in top_kinds],
                       numeric={1}))
    body.append("<h3>Failing checks, with example rows</h3>")
    worst = sorted(run.failing, key=lambda c: (-int(c["failed"]), c["suite"]))[:40]
    body.append(_table(["Where", "Element", "Check", "Failed", "Rate", "Defects", "Examples (record key = value)"], [
        [escape(f"{c['source']}.{c['table']}" if c["kind"] == "feed" else f"gold {c['master']}"),
         f"<code>{escape(c['element'])}</code>", escape(f"{c['dimension']} ({c['rule']})"),
         f"{int(c['failed']):,} / {int(c['scope']):,}", pct(number(c["rate"]), 2),
         escape(", ".join(f"{k} {v:,}" for k, v in sorted(_reasons(c).items(), key=lambda kv: -kv[1])[:3])),
         f'<span class="eg">{_samples(c["samples"], element=c["element"])}</span>'] for c in worst], numeric={3, 4}))
    return "".join(body)


def _quarantine(run: _Run) -> str:
    body = ['<h2 id="quarantine">Quarantine: rejected rows and why</h2>']
    qagg: dict[str, int] = defaultdict(int)
    for x in run.quarantine:
        qagg[x["reason"]] += int(x["rows"])
    if qagg:
        body.append(charts.hbar(sorted(((k, float(v)) for k, v in qagg.items()), key=lambda kv: -kv[1])[:12],
                                chart="quarantine-reasons", title="Quarantined rows by reason", fmt=count_fmt,
                                colour=lambda _v: "#6a1b9a"))
    else:
        body.append('<p class="ok">No row was quarantined.</p>')
    body.append(_table(["Source table", "Element", "Reason", "Rows", "Examples (record key = value)"], [
        [escape(f"{x['source']}.{x['table']}"), f"<code>{escape(str(x['element']))}</code>", escape(x["reason"]),
         f"{int(x['rows']):,}", f'<span class="eg">{_samples(x["samples"], element=x["element"])}</span>']
        for x in sorted(run.quarantine, key=lambda x: -int(x["rows"]))[:30]], numeric={3}))
    return "".join(body)


def _source_tables(run: _Run) -> str:
    feeds = sorted(run.by_level["feed"], key=lambda r: (r["source"], r["table"], r["master"]))
    html = '<h2 id="tables">Scorecards per source table and master</h2>' + _table(
        SCORE_HEAD, [_score_row(r) for r in feeds], numeric={1})
    nprov = {k: v["not_provided"] for k, v in (run.meta.get("suites") or {}).items() if v.get("not_provided")}
    if nprov:
        html += ("<p class=muted>Required elements a source table does not map at all (not counted as missing): "
                 + "; ".join(escape(f"{k}: {', '.join(v)}") for k, v in sorted(nprov.items())) + "</p>")
    return html


def _great_expectations(gx: GxOutcome | None, out_dir: Path) -> str:
    body = ['<h2 id="gx">Great Expectations: latest batch of every source table</h2>']
    if gx is None:
        return body[0] + '<p class="muted">Not run for this report (<code>--no-gx</code>).</p>'
    if gx.docs_index:
        rel = os.path.relpath(gx.docs_index, out_dir)
        body.append(f'<p>Data Docs: <a href="{escape(rel)}">{escape(rel)}</a> '
                    f'({len(gx.results)} suites validated in {gx.seconds:.1f} s).</p>')
    ok = sum(1 for r in gx.results if r.success)
    body.append(f"<p>{ok} of {len(gx.results)} batches meet every expectation.</p>")
    body.append(_table(["Suite", "Batch", "Rows", "Met", "Failed expectations (source, element, sample rows)"], [
        [escape(r.suite), f"<code>{escape(r.batch_id or 'sample')}</code>", f"{r.rows:,}",
         f"{r.successful}/{r.evaluated}",
         "<br>".join(escape(f.line()) for f in r.failures)]
        for r in gx.results if not r.success], numeric={2}))
    body.extend(f'<p class="muted">{escape(n)}</p>' for n in gx.notes)
    return "".join(body)


DEFINITIONS = """
<h2 id="defs">How the scores are computed</h2>
<dl class="defs">
<dt>Suites</dt><dd>Generated from <code>standards/elements.yaml</code> and the source specs, never written by hand:
each element a source table maps gets the checks its rule implies; change a rule and the suites change.</dd>
<dt>Snapshot</dt><dd>A source table's current state: the newest batch of every record key, deletions removed.</dd>
<dt>Completeness</dt><dd>Rows whose <em>required</em> elements are all given; placeholders (不详, 无, 000000000000000000,
123456789012345678, 1900-01-01, 13800000000) count as missing.</dd>
<dt>Validity</dt><dd>Rows whose given values all satisfy their rule: identifiers re-validated with the standard's macros
(check character, length, characters, area, embedded codes), phone pattern, dates from 1890 to the run date
(licence validity may lie ahead), numbers not negative, codes present in the rule's code table.</dd>
<dt>Consistency</dt><dd>Cross-field rules: birth date and sex agree with the ID number, the USCC embeds the recorded
organisation code, end dates are not before start dates, a licence holder's identifier is valid for its declared kind.</dd>
<dt>Conformity</dt><dd>Rows that arrived exactly in the standard's form: valid, consistent, and needing no repair
(lowercase x, full-width digits, spaces, 15-digit upgrade) and no placeholder.</dd>
<dt>Duplicates</dt><dd>Surplus copies of the master key within a source table: (keyed rows − distinct keys) / keyed rows.</dd>
<dt>Conflicts</dt><dd>With gold only: values a source sends that differ from the golden record they are linked to.</dd>
<dt>Quarantine</dt><dd>Rows rejected at standardisation / rows extracted, from the batch markers; reasons from the quarantine files.</dd>
<dt>Newest update</dt><dd>Age of the newest source update time (extraction time when a source sends none) at the run's as-of time.</dd>
<dt>Score</dt><dd>The mean of the dimensions that apply (rates of duplicates, conflicts and quarantine counted as 1 − rate).
Tables, sources and masters add their feeds' counts, so their scores are row-weighted.</dd>
</dl>
"""
