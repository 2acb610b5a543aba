"""Why each queued pair scored what it did: the bits every comparison level added (``review_levels``).

A steward deciding a pair needs more than its probability: which comparisons agreed, which
disagreed, and how strongly each counted.  For every pair in the review queue of a master this
writes one row per comparison - its level (-1: nothing to compare, a side is empty) and the bits it
contributed - plus the prior, so that the rows of a pair add up to its ``match_weight`` (the console
draws them as a waterfall).  The bits are computed by the engine's own weight terms
(:func:`pipelines.resolve.comparisons.explain_pairs`) over the stored features
(``state.{master}_rec``) and term frequencies, with the parameters the queue was scored with; a
``conflicting_keys`` pair with the configuration's ``ignore`` comparisons made neutral, as it was
queued.  Written after the review queue, for the whole queue of the master (thousands of pairs),
from the queued records' features only.
"""

from __future__ import annotations

from core.sqltext import lit
from pipelines.masters.store import replace_master_rows
from pipelines.resolve.comparisons import Params, explain_pairs
from pipelines.resolve.config import ResolveConfig
from pipelines.resolve.sql import Sql

COLUMNS = ("master VARCHAR, record_id VARCHAR, candidate_record_id VARCHAR, comparison VARCHAR, level INTEGER, "
           "label VARCHAR, bits DOUBLE, build_id VARCHAR")
#: the label of level -1 and of the prior's row
NO_COMPARISON, PRIOR = "null", "prior"


def write_review_levels(sql: Sql, cfg: ResolveConfig, params: Params | None, build_id: str,
                        records: str | None = None) -> int:
    """Replace the master's rows of ``gold.review_levels`` by the contributions of every queued pair;
    returns the number of pairs explained.  ``records``: resolved records covering every queued one
    (default: all of ``state.{master}_rec``)."""
    m = cfg.master
    sql.run(f"CREATE TABLE IF NOT EXISTS gold.review_levels ({COLUMNS})")
    if params is None or not cfg.comparisons:
        replace_master_rows(sql, "review_levels", m, "SELECT * FROM gold.review_levels WHERE FALSE")
        return 0
    rec = records or f"state.main.{m}_rec"
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_qpairs AS SELECT DISTINCT fl.rid AS l, fr.rid AS r, "
            f"q.reason = 'conflicting_keys' AS conflict FROM gold.review_queue AS q "
            f"JOIN {rec} AS fl ON fl.record_id = q.record_id "
            f"JOIN {rec} AS fr ON fr.record_id = q.candidate_record_id WHERE q.master = {lit(m)}")
    # the features of the queued pairs' records, read once: every step below joins them by record
    # number, and the stored records are millions of rows as wide as the features (a few thousand here)
    sql.run(f"CREATE OR REPLACE TEMP TABLE {m}_qrec AS SELECT * FROM {rec} WHERE rid IN "
            f"(SELECT l FROM {m}_qpairs UNION SELECT r FROM {m}_qpairs)")
    tf = "state.main.{master}_tf_{feature}"
    ignore = cfg.conflict_review.ignore if cfg.conflict_review else []
    parts = []
    for name, conflict, p in ((f"{m}_qlev", False, params), (f"{m}_qlevc", True, params.neutralised(ignore))):
        sql.run(f"CREATE OR REPLACE TEMP VIEW {m}_qsel AS SELECT l, r FROM {m}_qpairs WHERE conflict = {conflict}")
        explain_pairs(sql, cfg, p, f"{m}_qsel", f"{m}_qrec", name, tf)
        parts.append(f"SELECT * FROM {name}")
    labels = (f"(SELECT comparison, level, label FROM gold.match_params WHERE master = {lit(m)})")
    select = (
        f"SELECT {lit(m)} AS master, fl.record_id, fr.record_id AS candidate_record_id, x.comparison, x.level, "
        f"CASE WHEN x.comparison = {lit(PRIOR)} THEN {lit(PRIOR)} WHEN x.level = -1 THEN {lit(NO_COMPARISON)} "
        f"ELSE coalesce(p.label, CAST(x.level AS VARCHAR)) END AS label, x.bits, {lit(build_id)} AS build_id "
        f"FROM ({' UNION ALL '.join(parts)}) AS x JOIN {m}_qrec AS fl ON fl.rid = x.l "
        f"JOIN {m}_qrec AS fr ON fr.rid = x.r "
        f"LEFT JOIN {labels} AS p ON p.comparison = x.comparison AND p.level = x.level"
    )
    replace_master_rows(sql, "review_levels", m, select)
    n = int(sql.one(f"SELECT count(*) FROM {m}_qpairs") or 0)
    for t in (f"{m}_qlev", f"{m}_qlevc", f"{m}_qpairs", f"{m}_qrec"):
        sql.run(f"DROP TABLE {t}")
    sql.run(f"DROP VIEW {m}_qsel")
    return n
