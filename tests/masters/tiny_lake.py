"""A tiny lake written directly as silver batches, and master configurations with fixed parameters.

End-to-end tests of the build (ids, deltas, stewards, lineage, licences) should not depend on the
ingestion step or on EM fitting thirty records, so:

* :func:`add_batch` writes committed silver batches from hand-made rows with the same repair and
  normalisation macros standardisation uses (``rid_normalise``, ``uscc_normalise``, ``name_norm``);
* :func:`fixed_configs` copies ``schemas/masters`` with every comparison level's m and u given and
  the prior set, so matching behaves as if trained on a real city.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pyarrow as pa
import yaml

from core.db import connect
from pipelines.lake import BatchRecord, Lake
from pipelines.masters.config import MASTERS_DIR
from pipelines.masters.records import LINEAGE_TYPES, silver_columns
from pipelines.resolve.config import expand_library
from standards.dictionary import dictionary
from tests.masters.helpers import HANDMADE

NORMALISE = {"resident_id": "rid_normalise", "uscc": "uscc_normalise", "org_code": "orgcode_normalise"}


def _value_sql(master: str, name: str, typ: str) -> str:
    d = dictionary()
    e = d.masters[master].elements[name]
    c = f'"{name}"'
    if e.qualified == "licence.holder_id":
        return ("CASE holder_id_type WHEN '111' THEN rid_normalise(holder_id_raw) WHEN '001' THEN "
                "uscc_normalise(holder_id_raw) WHEN '002' THEN orgcode_normalise(holder_id_raw) ELSE holder_id_raw END")
    if e.rule in NORMALISE:
        return f"{NORMALISE[e.rule]}({name}_raw)"
    if e.rule == "name":
        return f"name_norm({c})"
    return f"CAST({c} AS {typ})"


_CON: list[Any] = []


def _connection() -> Any:
    """One connection with the standard's macros for all batches (installing them takes a second)."""
    if not _CON:
        _CON.append(connect())
    return _CON[0]  # (temporary macros are not visible through cursors)


def add_batch(lake: Lake, source: str, table: str, batch_id: str, rows: list[dict[str, Any]],
              feeds: tuple[str, ...] = ("person",), extracted_at: str = "2026-11-25 08:00:00") -> None:
    """Write ``rows`` (silver column -> raw text; identifiers as ``<name>_raw``) as one committed batch."""
    con = _connection()
    files = {}
    for master in feeds:
        cols = silver_columns(master)
        names = [c for c in cols if c not in LINEAGE_TYPES and c != "_issues"]
        data = {c: [None if r.get(c) is None else str(r.get(c)) for r in rows] for c in names}
        data["_record_key"] = [str(r["key"]) for r in rows]
        data["_deleted"] = [str(bool(r.get("_deleted", False))).lower() for r in rows]
        data["_row_hash"] = [hashlib.md5(json.dumps(r, sort_keys=True, default=str).encode()).hexdigest() for r in rows]
        con.register("__rows", pa.table({k: pa.array(v, pa.string()) for k, v in data.items()}))
        select = [f"'{source}' AS _source", f"'{table}' AS _table", "_record_key", f"'{batch_id}' AS _batch_id",
                  f"TIMESTAMP '{extracted_at}' AS _extracted_at", "_row_hash",
                  "CAST(NULL AS TIMESTAMP) AS _updated_at", "CAST(_deleted AS BOOLEAN) AS _deleted"]
        for c, typ in cols.items():
            if c in LINEAGE_TYPES or c == "_issues":
                continue
            select.append(f"{c} AS {c}" if c.endswith("_raw") else f"{_value_sql(master, c, typ)} AS \"{c}\"")
        select.append("CAST([] AS STRUCT(element VARCHAR, reason VARCHAR, \"value\" VARCHAR)[]) AS _issues")
        path = lake.silver_path(master, source, table, batch_id)
        path.parent.mkdir(parents=True, exist_ok=True)
        con.execute(f"COPY (SELECT {', '.join(select)} FROM __rows) TO '{path}' (FORMAT parquet)").fetchall()
        con.unregister("__rows")
        files[master] = str(path.relative_to(lake.root))
    lake.commit_batch(BatchRecord(source=source, table=table, batch_id=batch_id, load_date=extracted_at[:10],
                                  extracted_at=extracted_at, watermark_from=None, watermark_to=None,
                                  extracted=len(rows), standardised=len(rows), quarantined=0,
                                  files={"silver": files}))


def fixed_configs(directory: Path) -> Path:
    """Copies of the three master configurations with fixed m, u and prior; returns the folder."""
    directory.mkdir(parents=True, exist_ok=True)
    for name in ("person", "entity", "licence"):
        raw = yaml.safe_load((MASTERS_DIR / f"{name}.yaml").read_text(encoding="utf-8"))
        raw = expand_library(raw, name)  # library comparisons as the SQL levels they stand for
        assert isinstance(raw, dict)
        for c in raw.get("comparisons", []):
            m, u = HANDMADE.get(c["name"], (None, None)) if name == "person" else (None, None)
            for i, lv in enumerate(c["levels"]):
                lv.pop("tf", None)  # thirty records cannot tell a common name from a rare one
                lv["m"] = m[i] if m else (0.9 if i == 0 else 0.04)
                lv["u"] = u[i] if u else (1e-4 if i == 0 else 1e-3)
                lv["fixed"] = True
        if raw.get("comparisons"):
            raw["training"] = {"sessions": [], "prior": 1e-5}
        (directory / f"{name}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False),
                                                encoding="utf-8")
    return directory
