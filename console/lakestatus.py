"""Ingestion status per source, from the lake's own state: commit markers, watermarks, quarantine.

Every batch that became visible has a commit marker (``_state/batches``) recording what was
extracted, standardised and quarantined, so the page needs no other bookkeeping: rows landed,
reconciliation (extracted = standardised + quarantined), the watermark the next run starts from and
the reasons rows were quarantined, with examples whose personal data is masked.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from console.labels import department, mask
from core.db import connect
from pipelines.lake import BatchRecord, Lake
from quality.scorecard import quarantine_stats

RECENT = 10


def _summary(batches: list[BatchRecord]) -> dict[str, Any]:
    last = max(batches, key=lambda b: (b.extracted_at, b.batch_id))
    return {"batches": len(batches), "last_at": last.extracted_at, "extracted": sum(b.extracted for b in batches),
            "standardised": sum(b.standardised for b in batches), "quarantined": sum(b.quarantined for b in batches),
            "reconciles": all(b.reconciles for b in batches), "tables": len({b.table for b in batches})}


def sources(lake: Lake) -> list[dict[str, Any]]:
    """One row per source that landed anything, worst reconciliation and most quarantine first."""
    by: dict[str, list[BatchRecord]] = defaultdict(list)
    for b in lake.committed_batches():
        by[b.source].append(b)
    rows = [{"source": s, "department": department(s), **_summary(bs)} for s, bs in by.items()]
    return sorted(rows, key=lambda r: (r["reconciles"], -r["quarantined"], r["source"]))


def source(lake: Lake, name: str) -> dict[str, Any]:
    """Tables of one source: recent batches, watermark, quarantine reasons with masked examples."""
    batches = lake.committed_batches(source=name)
    tables: dict[str, list[BatchRecord]] = defaultdict(list)
    for b in batches:
        tables[b.table].append(b)
    out = []
    for table, bs in sorted(tables.items()):
        recent = sorted(bs, key=lambda b: (b.extracted_at, b.batch_id), reverse=True)[:RECENT]
        out.append({"table": table, **_summary(bs), "recent": recent, "watermark": lake.watermark(name, table)})
    files = [lake.quarantine_path(b.source, b.table, b.batch_id) for b in batches if b.quarantined]
    files = [f for f in files if f.exists()]
    reasons = []
    if files:
        con = connect(standard=False)
        try:
            for st in quarantine_stats(con, files, samples=3):
                reasons.append({"table": st.table, "element": st.element, "reason": st.reason, "rows": st.rows,
                                "examples": [{"record_key": mask(x.get("record_key"), 1), "value": mask(x.get("value"))}
                                             for x in st.samples]})
        finally:
            con.close()
    return {"source": name, "department": department(name), "tables": out, "quarantine": reasons,
            "summary": _summary(batches) if batches else None}
