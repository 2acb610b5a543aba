"""The licence library's own steps: holder linkage, GB/T 36904 identifiers, status as of a date;
and the legal representatives of entities linked to population masters.

Holder linkage, in order of trust:

1. ``same_record`` - the row that carries the licence also feeds the holder's master (a driving
   licence row is a person record too): the holder is that record's master.  This is what keeps a
   birth certificate with the infant although its holder id is the mother's ID number.
2. ``id`` - the holder id equals the key its type names (``holders`` in ``schemas/masters/licence.yaml``:
   resident ID for type 111, USCC 001, organisation code 002, registration number 003) of a
   person / entity master.
3. ``id_one_keystroke`` - a holder id that failed validation is one keystroke from exactly one
   master's key.

Identifiers: departments do not send GB/T 36904 identifiers, so each licence master gets one minted
from its type (defining authority's USCC + type number), the issuing department's USCC, a serial
equal to the master id's sequence number (stable, never reused) and version 001; the MOD 37,36
check comes from :func:`standards.identifiers.licence_check_chars` over all rows at once and equals
what :func:`standards.identifiers.make_licence_identifier` gives for one.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import numpy as np
import pyarrow as pa

from core.sqltext import lit
from pipelines.resolve.config import Holder
from pipelines.resolve.macros import RID_ALPHABET, USCC_ALPHABET
from pipelines.resolve.sql import Sql
from standards.identifiers import LICENCE_PREFIX, licence_check_chars

#: The characters a mistyped holder id's one-keystroke variants are drawn from, by identifier.
ALPHABETS = {"resident_id": RID_ALPHABET, "uscc": USCC_ALPHABET}


def link_holders(sql: Sql, src: str, records: str, keys: Callable[[str], str], out: str, holders: dict[str, Holder],
                 held: list[str]) -> dict[str, int]:
    """Create ``out`` (record_id, holder_kind, holder_master_id, holder_link) for every licence record.

    ``holders`` maps each holder id type to the master holding such ids (its name is the
    ``holder_kind``) and the key they are looked up by; ``records`` (holder_kind, record_id,
    master_id) are the holder masters' records; ``keys(wanted)`` gives a SELECT of their key values
    (holder_kind, kind, key, master_id; ``kind`` naming the key) covering at least the values
    ``wanted`` (a SELECT of one column) lists; ``held``: the holder kinds some master holds keys of.
    """
    def by_type(value: Callable[[Holder], str]) -> str:
        return "CASE holder_id_type " + " ".join(f"WHEN {lit(t)} THEN {lit(value(h))}" for t, h in holders.items()) + " END"

    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out}_s AS SELECT record_id, holder_id, holder_id_raw, "
        f"{by_type(lambda h: h.master)} AS holder_kind, {by_type(lambda h: h.key)} AS key_kind, "
        f"{by_type(lambda h: ALPHABETS[h.alphabet])} AS alphabet FROM {src}"
    )
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT s.record_id, s.holder_kind, "
        f"coalesce(hr.master_id, hk.master_id) AS holder_master_id, "
        f"CASE WHEN hr.master_id IS NOT NULL THEN 'same_record' "
        f"WHEN hk.master_id IS NOT NULL THEN 'id' END AS holder_link "
        f"FROM {out}_s AS s "
        f"LEFT JOIN {records} AS hr ON hr.holder_kind = s.holder_kind AND hr.record_id = s.record_id "
        f"LEFT JOIN ({keys(f'SELECT holder_id FROM {out}_s')}) AS hk "
        f"ON hk.holder_kind = s.holder_kind AND hk.kind = s.key_kind AND hk.key = s.holder_id"
    )
    # one keystroke away from exactly one master's key; only kinds some master holds keys of: with
    # none (the entity library not built yet) every entity-held licence would expand into ~450
    # variants that cannot match
    kinds = ", ".join(lit(k) for k in held) or "NULL"
    variants = (
        f"SELECT s.record_id, s.holder_kind, unnest(id_variants(id_clean(s.holder_id_raw), s.alphabet)) AS k "
        f"FROM {out}_s AS s JOIN {out} AS h ON h.record_id = s.record_id "
        f"WHERE h.holder_master_id IS NULL AND s.holder_id_raw IS NOT NULL AND s.holder_kind IN ({kinds}) "
        f"AND length(id_clean(s.holder_id_raw)) BETWEEN 8 AND 19 AND NOT id__placeholder(id_clean(s.holder_id_raw))"
    )
    # (the variants stay a CTE: a full build's unlinked licences make tens of millions of them)
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out}_fz AS WITH v AS ({variants}), m AS (SELECT DISTINCT v.record_id, "
        f"hk.master_id FROM v JOIN ({keys(f'SELECT k FROM ({variants})')}) AS hk "
        f"ON hk.holder_kind = v.holder_kind AND hk.key = v.k) "
        f"SELECT record_id, min(master_id) AS master_id FROM m GROUP BY record_id HAVING count(DISTINCT master_id) = 1"
    )
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT h.record_id, h.holder_kind, "
        f"coalesce(h.holder_master_id, f.master_id) AS holder_master_id, "
        f"CASE WHEN h.holder_master_id IS NULL AND f.master_id IS NOT NULL THEN 'id_one_keystroke' ELSE h.holder_link END "
        f"AS holder_link FROM {out} AS h LEFT JOIN {out}_fz AS f ON f.record_id = h.record_id"
    )
    for tmp in ("s", "fz"):
        sql.run(f"DROP TABLE {out}_{tmp}")
    return {str(k): int(n) for k, n in sql.rows(f"SELECT coalesce(holder_link, 'unlinked'), count(*) FROM {out} GROUP BY 1")}


def identifier_bodies_sql(masters: str, where: str = "") -> str:
    """SELECT (master_id, body) for masters without an identifier: the parts before the check."""
    filt = f" AND ({where})" if where else ""
    return (
        f"SELECT m.master_id, d.uscc || m.type_code || '.' || d.uscc || '.' || right(m.master_id, 10) || '.001' AS body "
        f"FROM {masters} AS m JOIN code_licence_types AS t ON t.code = m.type_code "
        f"JOIN code_departments AS d ON d.key = t.department WHERE m.identifier IS NULL{filt}"
    )


#: Licence masters whose identifiers are minted at a time: the numpy strings of a chunk cost
#: ~1 KB a row, so a city's millions of licences in one go would cost gigabytes outside DuckDB.
MINT_CHUNK = 200_000


def mint_identifiers(sql: Sql, masters: str, where: str = "") -> int:
    """Fill ``identifier`` of licence masters that have none (see the module docstring).

    The check characters are computed in chunks of :data:`MINT_CHUNK` bodies, each written to a
    work table before the next is fetched, so the Python side holds one chunk whatever the city.
    """
    sql.run(f"CREATE OR REPLACE TEMP TABLE __bodies AS SELECT master_id, body, row_number() OVER (ORDER BY master_id) "
            f"AS k FROM ({identifier_bodies_sql(masters, where)})")
    n = int(sql.one("SELECT count(*) FROM __bodies") or 0)
    sql.run("CREATE OR REPLACE TEMP TABLE __minted (master_id VARCHAR, identifier VARCHAR)")
    for lo in range(0, n, MINT_CHUNK):
        bodies = sql.arrow(f"SELECT master_id, body FROM __bodies WHERE k > {lo} AND k <= {lo + MINT_CHUNK}")
        body = bodies.column("body").to_numpy(zero_copy_only=False).astype(str)
        check = licence_check_chars(body)
        ident = np.char.add(np.char.add(np.char.add(LICENCE_PREFIX, body), "."), check)
        sql.register("__minted_chunk", pa.table({"master_id": bodies.column("master_id"), "identifier": pa.array(ident)}))
        sql.run("INSERT INTO __minted SELECT master_id, identifier FROM __minted_chunk")
        sql.unregister("__minted_chunk")
        del bodies, body, check, ident
    if n:
        sql.run(f"UPDATE {masters} AS m SET identifier = n.identifier FROM __minted AS n WHERE n.master_id = m.master_id")
    sql.run("DROP TABLE __bodies")
    sql.run("DROP TABLE __minted")
    return n


def status_sql(as_of: date) -> str:
    """Licence status on ``as_of`` from the source status code and the validity period."""
    d = f"DATE {lit(as_of.isoformat())}"
    return (f"CASE WHEN status = '3' THEN 'revoked' WHEN status = '2' THEN 'cancelled' "
            f"WHEN status = '4' OR valid_to < {d} THEN 'expired' "
            f"WHEN valid_from > {d} THEN 'not_yet_valid' ELSE 'valid' END")


def link_legal_reps(sql: Sql, entity_masters: str, person_ids: str, out: str) -> dict[str, int]:
    """Create ``out`` (entity master_id, legal_rep_name, legal_rep_id_number, person_master_id, link);
    ``person_ids`` (key, master_id) maps resident IDs to population masters."""
    sql.run(
        f"CREATE OR REPLACE TEMP TABLE {out} AS SELECT e.master_id AS entity_master_id, e.legal_rep_name, "
        f"e.legal_rep_id_number, p.master_id AS person_master_id, "
        f"CASE WHEN p.master_id IS NOT NULL THEN 'id' WHEN e.legal_rep_id_number IS NULL THEN 'no_id' "
        f"ELSE 'unknown_id' END AS link FROM {entity_masters} AS e "
        f"LEFT JOIN {person_ids} AS p ON p.key = e.legal_rep_id_number "
        f"WHERE e.legal_rep_name IS NOT NULL OR e.legal_rep_id_number IS NOT NULL"
    )
    return {str(k): int(n) for k, n in sql.rows(f"SELECT link, count(*) FROM {out} GROUP BY 1")}
