"""The analysts' dashboard: scorecards, trends, defects, the masters' figures and the once-only figure.

Drawn from the quality store (the runs ``masterdata quality run`` and the quality DAG record) with
the report's own SVG charts (:mod:`quality.charts`), but in the analysts' terms: departments by name
instead of source slugs, the platform's dimensions under GB/T 36344's names (完整性, 规范性, 准确性,
一致性, 时效性 and 可访问性 - the last from the serving layer's health), charts that scale to their
cards.  The once-only figure is the serving layer's simulation (:mod:`warehouse.api.once_only`) on the
current build, computed once per build.
"""

from __future__ import annotations

import json
import threading
from collections import defaultdict
from typing import Any

from console.labels import DIMENSIONS, department
from quality import charts
from quality.dimensions import FAILING, SCORECARD
from quality.report import number
from quality.rules import DEFECT_TEXT
from quality.store import QualityStore
from warehouse.api.service.state import ServingState

#: the scorecard columns shown, each under its GB/T 36344 dimension (the analysts' report's too)
SCORE_DIMS = SCORECARD
TREND_RUNS = 30
ONCE_ONLY_APPLICATIONS = 300
_once_only: dict[str, dict[str, Any]] = {}
_once_only_lock = threading.Lock()


def _age(hours: Any) -> str:
    if hours is None:
        return "–"
    h = float(hours)
    return f"{h:.0f} 小时" if h < 48 else f"{h / 24:.1f} 天"


def once_only(state: ServingState) -> dict[str, Any]:
    """Shares of materials no longer uploaded and of fields pre-filled, for the current build."""
    from warehouse.api.once_only import simulate

    model = state.model()
    with _once_only_lock:
        got = _once_only.get(model.build_id)
        if got is None:
            report = simulate(model, state.catalogue, state.settings.gold, ONCE_ONLY_APPLICATIONS, 7, state.today())
            got = _once_only[model.build_id] = report.as_dict()
    return got


def _sources(store: QualityStore, ids: list[str], rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    hist: dict[str, list[float | None]] = defaultdict(list)
    for rid in ids:
        got = {r["source"]: number(r.get("score")) for r in store.read("scores", rid) if r.get("level") == "source"}
        for r in rows:
            hist[r["source"]].append(got.get(r["source"]))
    out = []
    for r in sorted(rows, key=lambda r: (number(r.get("score")) or 0.0, r["source"])):
        dims = [(name, number(r.get(k))) for k, name in SCORE_DIMS]
        dims.append(("准确性·唯一", None if r.get("duplicate_rate") is None else 1 - float(r["duplicate_rate"])))
        out.append({"source": r["source"], "department": department(r["source"]), "rows": int(r["rows"] or 0),
                    "dims": [(n, v, charts.pct(v, 2), charts.score_colour(v)) for n, v in dims],
                    "age": _age(r.get("age_hours")), "quarantined": int(r.get("quarantined") or 0),
                    "score": number(r.get("score")), "score_text": charts.pct(number(r.get("score")), 2),
                    "score_colour": charts.score_colour(number(r.get("score"))),
                    "trend": charts.sparkline(hist[r["source"]], chart=f"trend-{r['source']}")})
    return out


def _trend(store: QualityStore, ids: list[str]) -> str:
    labels, series = [], defaultdict(list)
    for rid in ids:
        rows = [r for r in store.read("scores", rid) if r.get("level") == "source"]
        labels.append(rid[4:6] + "-" + rid[6:8] + " " + rid[9:11] + ":" + rid[11:13])
        n = sum(int(r["rows"] or 0) for r in rows)
        for key, name in SCORE_DIMS:
            series[name].append(1 - sum(int(r[FAILING[key]] or 0) for r in rows) / n if n else None)
    return charts.line(dict(series), labels, chart="trend-dimensions", title="各维度趋势 (all sources)", y_max=1.0)


def _defects(checks: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    kinds: dict[tuple[str, str], int] = defaultdict(int)
    for c in checks:
        if int(c["failed"] or 0) > 0 and c["kind"] == "feed":
            for k, v in json.loads(c["reasons"] or "{}").items():
                kinds[(c["dimension"], k)] += int(v)
    top = sorted(kinds.items(), key=lambda kv: -kv[1])[:15]
    rows = [{"dimension": DIMENSIONS.get(d, d), "kind": k, "rows": v, "text": DEFECT_TEXT.get(k, "")}
            for (d, k), v in top]
    chart = charts.hbar([(f"{DIMENSIONS.get(d, d).split()[0]} · {k}", float(v)) for (d, k), v in top],
                        chart="defect-types", title="缺陷类型 Failing rows by defect type", fmt=charts.count_fmt,
                        colour=lambda _v: "#c62828") if top else ""
    return chart, rows


def _masters(scores: list[dict[str, Any]], gold: list[dict[str, Any]]) -> list[dict[str, Any]]:
    gold_by = {g["master"]: g for g in gold}
    out = []
    for r in sorted((r for r in scores if r["level"] == "master"), key=lambda x: x["master"]):
        items = [(name, number(r.get(k))) for k, name in SCORE_DIMS]
        g = gold_by.get(r["master"]) or {}
        out.append({"master": r["master"], "rows": int(r["rows"] or 0), "score": charts.pct(number(r.get("score")), 2),
                    "chart": charts.hbar(items, chart=f"master-{r['master']}", max_value=1.0,
                                         colour=charts.score_colour, width=460, label_width=90),
                    "golden": g.get("golden_records"), "match_rate": charts.pct(number(g.get("match_rate"))),
                    "queue": g.get("review_queue"), "conflicts": charts.pct(number(g.get("conflict_rate")), 2)})
    return out


def dashboard(store: QualityStore, state: ServingState) -> dict[str, Any]:
    run_id = store.latest()
    meta = store.meta(run_id)
    scores = store.read("scores", run_id)
    checks = store.read("checks", run_id)
    ids = [i for i in store.run_ids() if i <= run_id][-TREND_RUNS:]
    src_rows = [r for r in scores if r["level"] == "source"]
    total_x = sum(int(r["extracted"] or 0) for r in src_rows)
    total_q = sum(int(r["quarantined"] or 0) for r in src_rows)
    defects_chart, defects = _defects(checks)
    health = state.health()
    return {
        "run_id": run_id, "meta": meta, "sources": _sources(store, ids, src_rows),
        "kpis": {"sources": len(src_rows), "rows": sum(int(r["rows"] or 0) for r in src_rows),
                 "quarantine": charts.pct(total_q / total_x if total_x else None, 2),
                 "failing": sum(1 for c in checks if int(c["failed"] or 0) > 0), "checks": len(checks)},
        "master_cards": _masters(scores, store.read("gold", run_id)), "trend": _trend(store, ids),
        "defects_chart": defects_chart, "defects": defects, "runs": len(ids),
        "accessibility": health, "dimensions": DIMENSIONS,
    }
