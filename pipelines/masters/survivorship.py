"""Golden records: for each attribute of a master, which value survives, and from which record.

Candidate values are every non-null value the cluster's records hold.  The configuration ranks
them with a chain of rules, ties going to the next rule:

* ``validated_first`` - values from records where the attribute's ``validated`` SQL holds (a
  birth date equal to the one embedded in the validated ID) come first;
* ``source_priority`` - the department listed first wins (public security for names);
* ``most_recent`` - the value seen most recently (source update time, else extraction time);
* ``most_frequent`` - the value most records agree on;
* ``non_null`` - any value (the final tie-breaks still make it deterministic).

Final tie-breaks are the value itself and then the smallest record number, so the same input
always yields the same golden record.  Which of the records holding the surviving value it is
credited to follows the same chain (validated, then source priority), then the source's own update
time where the rule chain has ``most_recent`` - never the extraction time, which says when a run
happened to read a table (a re-run after a crash, a retry, a table read a second later) - and
then the record number (``hash63(record_id)``: stable), so re-running the same deliveries credits
the same records.  Every surviving value keeps the record it came from: the
master table's ``lineage`` struct holds, per attribute, the ``record_no`` of that record (the
cross-reference table maps it to record id, source, table and batch; the ``attribute_lineage``
view shows it long).

Work: the inputs are materialised once as a narrow table (master, record, one value and one
validation flag per attribute).  Masters with a single record - most licences - take their values
directly; the others need one GROUP BY (master, value) per attribute, where frequency, recency and
priority are aggregates of a value's records and the supplying record is an ``arg_min`` over the
same ranking.
"""

from __future__ import annotations

from core.settings import memory_bytes
from core.sqltext import lit, q
from pipelines.resolve.config import Attribute, ResolveConfig
from pipelines.resolve.sql import Sql


def _srank(a: Attribute) -> str:
    whens = " ".join(f"WHEN {lit(s)} THEN {i}" for i, s in enumerate(a.sources))
    return f"CASE _source {whens} ELSE {len(a.sources)} END"


def _rank_columns(cfg: ResolveConfig) -> tuple[list[str], dict[int, str], dict[int, str]]:
    """The survivorship input's ranking columns, each materialised once: a validation flag for
    attributes that have one, a source rank per distinct ``sources`` list (attributes listing the
    same departments share it).  Returns the column definitions and, per attribute index, the
    expression its ranking reads (a column, or the constant FALSE / 0): at a million persons the
    input is ~8 M rows, and constant or repeated columns of an uncompressed TEMP table cost
    gigabytes the build budget then spills."""
    cols: list[str] = []
    ok: dict[int, str] = {}
    srank: dict[int, str] = {}
    by_sources: dict[tuple[str, ...], str] = {}
    for i, a in enumerate(cfg.attributes.values()):
        if a.validated:
            cols.append(f"coalesce(({a.validated}), FALSE) AS ok{i}")
            ok[i] = f"ok{i}"
        if a.sources:
            key = tuple(a.sources)
            if key not in by_sources:
                by_sources[key] = f"s{i}"
                cols.append(f"{_srank(a)} AS s{i}")
            srank[i] = by_sources[key]
    return cols, ok, srank


def surv_input_sql(cfg: ResolveConfig, records: str) -> str:
    """SELECT cluster, master_id, rid, lineage columns, ``v<i>`` per attribute and the ranking
    columns of :func:`_rank_columns`."""
    cols = ["cluster", "master_id", "rid", "_source", "_batch_id", "_extracted_at",
            "coalesce(_updated_at, _extracted_at) AS ts", "_updated_at AS uts"]
    for i, (name, a) in enumerate(cfg.attributes.items()):
        cols.append(f"({a.value or q(name)}) AS v{i}")
    cols.extend(_rank_columns(cfg)[0])
    return f"SELECT {', '.join(cols)} FROM {records}"


def _attribute_sql(a: Attribute, i: int, inp: str, multi: str, ok: str, srank: str) -> str:
    """SELECT (cluster, value, rid) of one attribute's surviving value per multi-record cluster;
    ``ok`` and ``srank`` are what the input holds for its validation flag and source rank."""
    order: list[str] = []
    rec_key: list[str] = []
    for rule in a.rules:
        if rule == "validated_first":
            order.append("ok DESC")
            rec_key.append(f"o := NOT {ok}")
        elif rule == "source_priority":
            order.append("srank ASC")
            rec_key.append(f"s := {srank}")
        elif rule == "most_recent":
            order.append("ts DESC")
            rec_key.append("t := -coalesce(epoch_ms(uts), 0)")  # the source's time only (module doc)
        elif rule == "most_frequent":
            order.append("freq DESC")
    rec_key.append("r := rid")
    order.append("value ASC")
    filt = f" AND {ok}" if a.validated_only else ""
    return (
        f"SELECT cluster, value, rid FROM (SELECT cluster, v{i} AS value, count(*) AS freq, max(ts) AS ts, "
        f"min({srank}) AS srank, bool_or({ok}) AS ok, arg_min(rid, struct_pack({', '.join(rec_key)})) AS rid "
        f"FROM {inp} WHERE v{i} IS NOT NULL{filt} AND cluster IN (SELECT cluster FROM {multi}) "
        f"GROUP BY cluster, v{i}) "
        f"QUALIFY row_number() OVER (PARTITION BY cluster ORDER BY {', '.join(order)}) = 1"
    )


def build_golden(sql: Sql, cfg: ResolveConfig, records: str, out: str, where: str = "",
                 derived: dict[str, str] | None = None) -> None:
    """Create TEMP ``out``: master_id, attributes..., record_count, sources, first_seen, last_seen,
    lineage (struct of record numbers) from ``records`` (source records + features + master_id +
    cluster + rid); ``where`` limits the masters rebuilt.  Grouping is on the integer cluster.
    ``derived`` (column -> SQL over those columns) are added last, as each row is assembled."""
    p = cfg.master
    extra = "".join(f", ({e}) AS {q(c)}" for c, e in (derived or {}).items())

    def with_derived(select: str) -> str:
        return f"SELECT *{extra} FROM ({select})" if extra else select

    attrs = list(cfg.attributes.items())
    extra_where = f" WHERE {where}" if where else ""
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_surv AS {surv_input_sql(cfg, records)}{extra_where}")
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {p}_gbase AS SELECT cluster, any_value(master_id) AS master_id, "
        f"count(*) AS record_count, list(DISTINCT _source ORDER BY _source) AS sources, "
        f"min(_extracted_at) AS first_seen, max(_extracted_at) AS last_seen FROM {p}_surv GROUP BY cluster"
    )
    sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_gmulti AS SELECT cluster FROM {p}_gbase WHERE record_count > 1")
    # masters of one record: every value is that record's (validated_only still applies)
    _cols, ok, srank = _rank_columns(cfg)
    vals = [f"CASE WHEN {ok.get(i, 'FALSE')} THEN v{i} END" if a.validated_only else f"v{i}"
            for i, (_n, a) in enumerate(attrs)]
    single_cols = "".join(f", {v} AS {q(n)}" for v, (n, _a) in zip(vals, attrs))
    lineage = ", ".join(f"{q(n)} := CASE WHEN ({v}) IS NOT NULL THEN rid END" for v, (n, _a) in zip(vals, attrs))
    lin_col = f", struct_pack({lineage}) AS lineage" if attrs else ""
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS " + with_derived(
            f"SELECT b.master_id{single_cols}, b.record_count, b.sources, b.first_seen, b.last_seen{lin_col} "
            f"FROM {p}_surv AS s JOIN {p}_gbase AS b ON b.cluster = s.cluster WHERE b.record_count = 1")
    )
    for i, (_name, a) in enumerate(attrs):
        sql.run(f"CREATE OR REPLACE TEMP TABLE {p}_gv_{i} AS {_attribute_sql(a, i, f'{p}_surv', f'{p}_gmulti', ok.get(i, 'FALSE'), srank.get(i, '0'))}")
    names = [n for n, _a in attrs]
    passes = assembly_passes(sql, int(sql.one(f"SELECT count(*) FROM {p}_gmulti") or 0), len(names))
    for k in range(passes):
        sql.run(f"INSERT INTO {out} {with_derived(_assemble_sql(p, names, k, passes))}")
    for i in range(len(attrs)):
        sql.run(f"DROP TABLE {p}_gv_{i}")
    sql.run(f"DROP TABLE {p}_gmulti")


#: Bytes of join hash table per (multi-record master, attribute) the assembly plans for: measured
#: at 125-210 bytes for short values (300 k masters x 16 attributes joined at 1 GB, not at 600 MB),
#: rounded up so long values (addresses) fit too.
ASSEMBLY_BYTES = 256


def assembly_passes(sql: Sql, masters: int, attributes: int) -> int:
    """In how many passes (slices of the clusters) the golden records of ``masters`` multi-record
    masters are assembled, so that one pass's hash tables fit in half of DuckDB's memory limit.

    The assembly joins each attribute's surviving values to the masters; DuckDB builds the hash
    tables of such a chain of joins all at once and cannot spill them, so at seed scale (6.6 M
    persons, ~15 attributes) one pass would need more memory than the build's budget and fail.
    A slice of the clusters (by a hash of the cluster) needs a slice of the memory; scanning the
    small value tables once per pass costs little."""
    limit = memory_bytes(str(sql.one("SELECT current_setting('memory_limit')")))
    need = masters * max(attributes, 1) * ASSEMBLY_BYTES
    return max(1, -(-need // max(limit // 2, 1)))


def _assemble_sql(p: str, names: list[str], k: int, passes: int) -> str:
    """SELECT the golden records of slice ``k`` of ``passes`` of the multi-record clusters: the base
    row joined to each attribute's surviving value (``{p}_gv_<i>``, at most one row per cluster)."""
    def part(t: str) -> str:
        return f"(SELECT * FROM {t} WHERE hash(cluster) % {passes} = {k})" if passes > 1 else t

    joins = " ".join(f"LEFT JOIN {part(f'{p}_gv_{i}')} AS a{i} ON a{i}.cluster = b.cluster" for i in range(len(names)))
    cols = "".join(f"a{i}.value AS {q(n)}, " for i, n in enumerate(names))
    lin = ", ".join(f"{q(n)} := a{i}.rid" for i, n in enumerate(names))
    lin_col = f", struct_pack({lin}) AS lineage" if names else ""
    return (f"SELECT b.master_id, {cols}b.record_count, b.sources, b.first_seen, b.last_seen{lin_col} "
            f"FROM {part(f'{p}_gbase')} AS b {joins} WHERE b.record_count > 1")


def lineage_view_sql(cfg: ResolveConfig) -> str:
    """Long lineage of one master: (master, master_id, attribute, value, record_no, record_id, ...).

    Unqualified names on purpose: the view is stored in the gold file and must resolve there
    whatever name the file is opened under.
    """
    m = cfg.master
    parts = []
    for name in cfg.attributes:
        parts.append(
            f"SELECT {lit(m)} AS master, g.master_id, {lit(name)} AS attribute, CAST(g.{q(name)} AS VARCHAR) AS value, "
            f"g.lineage.{q(name)} AS record_no, x.record_id, x.source, x.table_name, x.batch_id "
            f"FROM {m}_master AS g JOIN {m}_xref AS x ON x.record_no = g.lineage.{q(name)}"
        )
    return " UNION ALL ".join(parts)


def attribute_change_sql(cfg: ResolveConfig, old: str, new: str, batches: str) -> str:
    """SELECT (master_id, attribute, old_value, new_value, batch_id) for kept ids whose value changed;
    ``batches`` (rid, batch_id) names the batch of the record that supplied the new value.

    One join of old and new versions for all attributes (not one per attribute: a full build
    compares every master, and a join per attribute cost a licence build ~15 hash joins of a
    million rows): each attribute that differs becomes one element of a list, unnested to rows.
    The values are compared typed and rendered as text only when they differ."""
    parts = []
    for name in cfg.attributes:
        a = q(name)
        parts.append(
            f"CASE WHEN n.{a} IS DISTINCT FROM o.{a} THEN struct_pack(attribute := {lit(name)}, "
            f"old_value := CAST(o.{a} AS VARCHAR), new_value := CAST(n.{a} AS VARCHAR), rid := n.lineage.{a}) END"
        )
    if not parts:
        return ("SELECT CAST(NULL AS VARCHAR) AS master_id, CAST(NULL AS VARCHAR) AS attribute, "
                "CAST(NULL AS VARCHAR) AS old_value, CAST(NULL AS VARCHAR) AS new_value, "
                "CAST(NULL AS VARCHAR) AS batch_id LIMIT 0")
    return (
        f"SELECT c.master_id, c.ch.attribute, c.ch.old_value, c.ch.new_value, b._batch_id AS batch_id FROM ("
        f"SELECT n.master_id, unnest(list_filter([{', '.join(parts)}], lambda x: x IS NOT NULL)) AS ch "
        f"FROM {new} AS n JOIN {old} AS o ON o.master_id = n.master_id) AS c "
        f"LEFT JOIN {batches} AS b ON b.rid = c.ch.rid"
    )
