"""The once-only section of the analysts' report: how much the hall's applicants no longer upload.

Drawn from the latest ``masterdata once-only`` run (``once-only.json`` beside the serving store, see
:mod:`warehouse.api.once_only`): the share of required materials not uploaded, the ceiling by 来源渠道,
every remaining upload's reason, the served check, and the breakdowns by hall, department, power
type and applicant kind.  Absent until a once-only run has been made.
"""

from __future__ import annotations

import json
from html import escape
from pathlib import Path
from typing import Any

from quality import charts
from quality.charts import count_fmt, pct
from standards.codetables import department_name
from warehouse.api.autofill import UPLOAD_REASONS

HALLS = {"city": "市直", "qiaocheng": "谯城", "guoyang": "涡阳", "mengcheng": "蒙城", "lixin": "利辛", "devzone": "经开区"}
#: what each reason to upload means, for analysts (declared with the codes in warehouse.api.autofill)
REASONS: dict[str, str] = {code: text.report for code, text in UPLOAD_REASONS.items()}


def load(path: Path) -> dict[str, Any] | None:
    """The latest once-only report, or None (not run yet, or unreadable)."""
    try:
        return dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def _rows(tallies: dict[str, dict[str, Any]], label: Any = str, top: int = 40) -> list[list[str]]:
    ordered = sorted(tallies.items(), key=lambda kv: -kv[1]["applications"])[:top]
    return [[escape(label(k)), f"{t['applications']:,}", f"{t['materials']:,}", f"{t['not_uploaded']:,}",
             pct(t["share_not_uploaded"]), pct(t["ceiling_government"]), pct(t["government_served"]),
             escape(", ".join(f"{r} {n}" for r, n in list(t["to_upload_by_reason"].items())[:3]))]
            for k, t in ordered]


def section(report: dict[str, Any] | None, table: Any) -> str:
    """The HTML of the section (``table``: the report's table renderer)."""
    out = ['<h2 id="once-only">免提交 Once-only: materials applicants no longer upload</h2>']
    if report is None:
        return "".join(out) + '<p class="muted">No once-only run yet: <code>masterdata once-only</code>.</p>'
    t, check = report["total"], report["served_check"]
    out.append(f'<p class="muted">{report["applications"]:,} applications of a simulated day (seed {report["seed"]}, '
               f'as of {escape(report["as_of"])}, gold build {escape(str(report["build_id"]))}; '
               f'{report.get("withdrawn", 0):,} applicants withdrew at consent, decline rate '
               f'{pct(float(report.get("decline") or 0))}).</p>')
    out.append('<div class="cards"><div class="card">'
               f'<span class="kpi"><b>{pct(t["share_not_uploaded"])}</b>required materials not uploaded '
               f'({t["not_uploaded"]:,} of {t["materials"]:,})</span>'
               f'<span class="kpi"><b>{pct(t["ceiling_government"])}</b>ceiling: 政府部门核发 by 来源渠道</span>'
               f'<span class="kpi"><b>{pct(t["ceiling_with_forms"])}</b>ceiling with the pre-filled online form</span>'
               f'<span class="kpi"><b>{pct(check["served_share"])}</b>served of what a department holds '
               f'({check["government_held_for_subject"] - check["not_served"]:,} of '
               f'{check["government_held_for_subject"]:,})</span>'
               f'<span class="kpi"><b>{pct(t["fields_prefilled"])}</b>form fields pre-filled</span></div></div>')
    served = [("licence held", float(t["held"])), ("department evidence", float(t["evidence"])),
              ("pre-filled online form", float(t["form"]))]
    out.append(charts.hbar(served, chart="once-only-served", title="Not uploaded: how", fmt=count_fmt,
                           colour=lambda _v: "#2e7d32"))
    reasons = sorted(t["to_upload_by_reason"].items(), key=lambda kv: -kv[1])
    out.append(charts.hbar([(k, float(v)) for k, v in reasons], chart="once-only-reasons",
                           title="Still to upload, by reason", fmt=count_fmt, colour=lambda _v: "#c62828"))
    out.append(table(["Reason", "Materials", "Meaning"], [[escape(k), f"{v:,}", escape(REASONS.get(k, ""))]
                                                        for k, v in reasons], numeric={1}))
    head = ["", "Applications", "Materials", "Not uploaded", "Share", "Ceiling", "Gov. served", "Top reasons to upload"]
    for dim, title, label in (("hall", "By hall", lambda k: HALLS.get(k, k)), ("power_class", "By power type", str),
                              ("applicant", "By applicant kind", str), ("department", "By department", department_name)):
        out.append(f"<h3>{title}</h3>" + table(head, _rows(report[f"by_{dim}"], label), numeric={1, 2, 3, 4, 5, 6}))
    if report.get("to_upload_not_in_library"):
        out.append("<h3>Licence types the library holds none of yet (to upload until they are issued "
                   "electronically)</h3>" + table(["Licence type(s)", "Materials"], [
                       [escape(k), f"{v:,}"] for k, v in report["to_upload_not_in_library"].items()], numeric={1}))
    if check["misses"]:
        out.append('<h3 class="bad">Defects: held by a department but not served</h3>' + table(
            ["Item", "Material", "Status", "Reason"], [[escape(f"{m['item']} {m['item_name']}"), escape(m["material"]),
                                                        escape(m["status"]), escape(str(m["reason"]))]
                                                       for m in check["misses"]]))
    return "".join(out)
