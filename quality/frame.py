"""The relation a suite is evaluated on: silver (or gold) rows plus the suite's derived columns.

DuckDB builds it in stages (each a ``SELECT *, ... FROM`` the previous one) so the heavy identifier
macros run once per value. The same SQL serves the full-table scorecards and the pandas samples
handed to Great Expectations; only the input differs (the whole current snapshot of a source
table, or its latest batch).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import duckdb

from core.sqltext import lit, q
from quality.suites import DUP_KEYS, Suite

LINEAGE = ("_source", "_table", "_record_key", "_batch_id", "_extracted_at", "_updated_at")


def connect(codes: dict[str, list[str]], threads: int | None = None) -> duckdb.DuckDBPyConnection:
    """A DuckDB connection with the standard's macros and one ``quality_codes_<table>`` per code table.

    The code lists come from the dictionary's rules (:func:`quality.suites.code_values`), so a
    membership check always tests against the table the *current* rule names.
    """
    import pyarrow as pa

    from core.db import connect as std_connect

    con = std_connect()
    if threads:
        con.execute(f"SET threads = {int(threads)}")
    # The scorecard's one scan keeps a defect histogram per check (histogram(...) FILTER): this
    # optimizer turns each into a GROUP BY over a materialised copy of the whole checked relation
    # (0.6 GB for 0.9 M golden licences) - more memory and ~20% more CPU than the plain aggregate.
    try:
        con.execute("SET disabled_optimizers = 'aggregate_function_rewriter'")
    except duckdb.Error:  # a DuckDB without that optimizer: nothing to disable
        pass
    _share_text_macros(con)
    for table, values in codes.items():
        con.register("__quality_codes", pa.table({"__code": pa.array(values, pa.string())}))
        # a table of the (in-memory) database, not a TEMP one: the run's cursors see it too
        con.execute(f"CREATE OR REPLACE TABLE {q('quality_codes_' + table)} AS SELECT * FROM __quality_codes")
        con.unregister("__quality_codes")
    return con


def _share_text_macros(con: duckdb.DuckDBPyConnection) -> None:
    """The standard's text macros (``phone_digits``, ``fw2hw``...) and their address table, made in
    the database itself as well: :func:`core.db.connect` installs them as TEMP objects, which only
    that connection sees, and the run's queries also go through other cursors (quality.parallel)."""
    from standards.text import macro_sql

    con.execute("CREATE OR REPLACE TABLE main.std_address_county AS SELECT * FROM temp.std_address_county")
    for stmt in macro_sql(temporary=False):
        con.execute(stmt)


def parquet_source(files: Sequence[Path | str]) -> str:
    """``read_parquet`` over some files (batches written at different times may differ in columns)."""
    return f"read_parquet([{', '.join(lit(str(f)) for f in files)}], union_by_name = true)"


def snapshot_sql(files: Sequence[Path | str], batch_order: Sequence[str] = ()) -> str:
    """The current state of a source table: each record key's latest batch, deletions removed.

    A table loaded in several batches (first a full extract, then daily deltas) holds older
    versions of changed records; only the newest counts. ``batch_order`` lists the batch ids
    oldest first (file batches loaded in one run share an extraction time, so the time alone
    cannot order them). All rows of the newest batch are kept, so a record a source sent twice in
    one batch still shows as a duplicate.
    """
    src = parquet_source(files)
    if len(batch_order) <= 1:
        return f"SELECT * FROM {src} WHERE NOT coalesce(_deleted, FALSE)"
    order = "[" + ", ".join(lit(b) for b in batch_order) + "]"
    pos = f"list_position({order}, _batch_id)"
    # Each key's newest batch from a hash aggregate over two narrow columns, joined back, instead of
    # a window (rank() OVER PARTITION BY _record_key) that buffers and sorts every column of every
    # row: the same rows (all of the newest batch's, NULL keys as one key), streamed.
    return (f"SELECT * EXCLUDE (__quality_pos) FROM (SELECT *, {pos} AS __quality_pos FROM {src}) AS __s "
            f"SEMI JOIN (SELECT _record_key AS __quality_rk, max({pos}) AS __quality_newest FROM {src} GROUP BY 1) "
            f"AS __n ON __s._record_key IS NOT DISTINCT FROM __n.__quality_rk "
            f"AND __s.__quality_pos = __n.__quality_newest WHERE NOT coalesce(__s._deleted, FALSE)")


def columns_of(con: duckdb.DuckDBPyConnection, relation_sql: str) -> dict[str, str]:
    """Column name -> type of a relation, without reading its rows."""
    return {r[0]: r[1] for r in con.execute(f"DESCRIBE SELECT * FROM ({relation_sql})").fetchall()}


def base_columns(suite: Suite) -> dict[str, str]:
    """The columns the suite's SQL reads from the input, with the type to use if one is absent."""
    out = dict.fromkeys(("_source", "_table", "_record_key", "_batch_id"), "VARCHAR")
    out.update({"_extracted_at": "TIMESTAMP", "_updated_at": "TIMESTAMP"})
    out.update(suite.base_types)
    return out


def checked_sql(suite: Suite, relation_sql: str, present: Iterable[str] | None = None) -> str:
    """``relation_sql`` with the suite's derived columns added (and absent base columns as NULL).

    ``present`` lists the columns the relation really has; any column the suite reads that is not
    there (an element added to the standard after the batch was loaded) is added as NULL, so old
    batches are judged as "not given" rather than failing the run.
    """
    fill = ""
    if present is not None:
        have = set(present)
        missing = [f"CAST(NULL AS {t}) AS {q(c)}" for c, t in base_columns(suite).items() if c not in have]
        if missing:
            fill = ", " + ", ".join(missing)
    sql = f"SELECT *{fill} FROM ({relation_sql})"
    stages = sorted({s for _, _, s in suite.derived} | {lk.stage for lk in suite.lookups})
    last = stages[-1] if stages else 0
    for stage in stages[:-1] if suite.key else stages:
        sql = _stage(suite, stage, _looked_up(suite, stage, sql))
    if not suite.key:
        return sql
    # The key's duplicates need the relation twice (group, then flag rows), so the stages before
    # the last are materialised once instead of recomputing the identifier macros - only the
    # columns read after it, so that 4.5 M golden licences fit in memory instead of spilling.
    drop = _not_read_later(suite, present)
    if drop:
        sql = f"SELECT * EXCLUDE ({', '.join(q(c) for c in drop)}) FROM ({sql})"
    key = q(f"{suite.key}__std")
    # Shared keys: first the shared 64-bit hashes (a hash table of integers, not of every key's
    # text), then the keys among those rows that really are shared (a hash may collide).
    return (f"WITH __quality_base AS MATERIALIZED ({sql}), "
            f"__quality_dup_hashes AS (SELECT hash({key}) AS __h FROM __quality_base WHERE {key} IS NOT NULL "
            f"GROUP BY 1 HAVING count(*) > 1), "
            f"{DUP_KEYS} AS (SELECT {key} AS __k FROM __quality_base WHERE {key} IS NOT NULL AND hash({key}) IN "
            f"(SELECT __h FROM __quality_dup_hashes) GROUP BY 1 HAVING count(*) > 1) "
            f"{_stage(suite, last, _looked_up(suite, last, 'SELECT * FROM __quality_base'))}")


def _stage(suite: Suite, stage: int, sql: str) -> str:
    """``sql`` with the derived columns of ``stage`` added."""
    cols = [f"({expr}) AS {q(c)}" for c, expr, s in suite.derived if s == stage]
    return f"SELECT *, {', '.join(cols)} FROM ({sql})" if cols else sql


def _looked_up(suite: Suite, stage: int, sql: str) -> str:
    """``sql`` with the lookups of ``stage`` joined: each computed over the distinct values of its
    keys (read from ``sql``, which DuckDB scans again for them: only those columns) and joined back
    on them, NULL matching NULL, so every row gets what its own values would have given it."""
    out = sql
    for i, lk in enumerate(x for x in suite.lookups if x.stage == stage):
        keys = ", ".join(q(k) for k in lk.keys)
        on = " AND ".join(f"__l{i}.{q(k)} IS NOT DISTINCT FROM __m{i}.{q(k)}" for k in lk.keys)
        out = (f"SELECT __l{i}.*, __m{i}.{q(lk.column)} FROM ({out}) AS __l{i} LEFT JOIN "
               f"(SELECT {keys}, ({lk.sql}) AS {q(lk.column)} FROM (SELECT DISTINCT {keys} FROM ({sql}))) "
               f"AS __m{i} ON {on}")
    return out


def _not_read_later(suite: Suite, present: Iterable[str] | None) -> list[str]:
    """Columns of the staged relation that nothing after the materialised stages reads: the input's
    columns that are not lineage or one of the suite's elements (a golden record's lineage JSON,
    silver's ``*_raw`` texts, already read into ``__text``) and the derivations' helper columns
    (``__chk`` structs, ``__digits``, a licence identifier's ``__pair``: :attr:`Suite.helpers`)."""
    keep = {*LINEAGE, "_issues", *suite.base_types}
    out = [c for c in present or () if c not in keep]
    return out + [c for c in suite.helpers if c not in keep]


def gx_columns(suite: Suite) -> list[str]:
    """The columns a Great Expectations batch needs: lineage, each element's value and text as
    received (shown beside failing record keys), and every column an expectation names (derived
    struct columns are left out: pandas cannot hold them usefully)."""
    cols = ["_record_key", "_batch_id"]
    for qual in suite.elements:
        name = qual.split(".", 1)[1]
        cols += [name, f"{name}__text"]
    for c in suite.checks:
        for k in ("column", "column_A", "column_B"):
            v = c.gx_kwargs.get(k)
            if isinstance(v, str):
                cols.append(v)
    seen: dict[str, None] = {}
    for col in cols:
        seen.setdefault(col, None)
    return list(seen)
