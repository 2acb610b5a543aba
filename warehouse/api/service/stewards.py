"""What the data stewards' systems may ask: why the engine scored a pair of records as it did.

The match weight of any pair (or of a record against the other records of its master) broken down
per comparison level, computed from the gold store's stored features and trained parameters by
:func:`pipelines.masters.explain.explain_gold`.  Stewards see every record of the masters in the
console already; the answer carries record ids, levels and bits, never the records' values.
Every request is audited with the masters it touched.
"""

from __future__ import annotations

from typing import Any

from pipelines.masters.explain import explain_gold
from warehouse.api.service import audit
from warehouse.api.service.audit import Access
from warehouse.api.service.state import ServingState

PURPOSE = "match_review"


def explain(state: ServingState, access: Access, a: str, b: str | None, master: str | None,
            limit: int) -> dict[str, Any]:
    """The explained pairs of ``a`` / ``b`` (or of the record or master ``a``), audited."""
    access.purpose = PURPOSE
    access.detail = {"a": a, "b": b, "master": master}
    got = explain_gold(a, b, master, limit=limit, path=state.settings.gold)
    access.subject = sorted({x for e in got.explanations for x in (e.left, e.right)})
    audit.record(state.store, access, 200, ["match_weight"])
    return got.as_dict()
