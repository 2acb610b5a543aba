"""Hand-made lakes for the quality tests: silver and quarantine files with known defects, written
through the Lake API exactly as ingestion lays them out (lineage, typed elements, ``<name>_raw``
beside identifiers, ``_issues``, commit markers with reconciliation counts)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pyarrow as pa

from pipelines.lake import BatchRecord, Lake, write_parquet_atomic
from standards.dictionary import dictionary
from standards.identifiers import org_code_check_char, resident_id_check_char, uscc_check_char

ISSUE = pa.struct([("element", pa.string()), ("reason", pa.string()), ("value", pa.string())])
ARROW = {"varchar": pa.string(), "date": pa.date32(), "timestamp": pa.timestamp("us"), "decimal": pa.float64(),
         "integer": pa.int64(), "boolean": pa.bool_()}
EXTRACTED = "2026-11-20 02:00:00"


def rid(n: int, sex: str = "1", birth: dt.date = dt.date(1980, 1, 1), area: str = "341602") -> str:
    """A valid 18-digit resident id; ``n`` makes it unique, ``sex`` sets the parity of digit 17."""
    seq = (n * 2 + (1 if sex == "1" else 0)) % 1000
    body = f"{area}{birth:%Y%m%d}{seq:03d}"
    return body + resident_id_check_char(body)


def bad_check(id18: str) -> str:
    """The same id with a wrong check character."""
    good = id18[-1]
    return id18[:-1] + ("0" if good != "0" else "1")


def org_code(n: int) -> str:
    body = f"{n:08d}"
    return body + org_code_check_char(body)


def uscc(n: int, area: str = "341602") -> str:
    oc = org_code(n)
    body = f"91{area}{oc}"
    return body + uscc_check_char(body)


def silver_columns(master: str) -> list[tuple[str, pa.DataType]]:
    d = dictionary()
    cols = [("_source", pa.string()), ("_table", pa.string()), ("_record_key", pa.string()),
            ("_batch_id", pa.string()), ("_extracted_at", pa.timestamp("us")), ("_row_hash", pa.string()),
            ("_updated_at", pa.timestamp("us")), ("_deleted", pa.bool_())]
    for e in d.masters[master].elements.values():
        cols.append((e.name, ARROW[e.type]))
        if e.keeps_raw:
            cols.append((f"{e.name}_raw", pa.string()))
    cols.append(("_issues", pa.list_(ISSUE)))
    return cols


def silver_table(master: str, source: str, table: str, batch_id: str, rows: list[dict[str, Any]],
                 extracted_at: str = EXTRACTED) -> pa.Table:
    """Rows (element short names, ``<name>_raw``, ``_issues``, ``_record_key``...) as a silver table.

    Identifier elements default their ``_raw`` to the value; missing keys are NULL.
    """
    ts = dt.datetime.fromisoformat(extracted_at)
    out: dict[str, list[Any]] = {}
    cols = silver_columns(master)
    for name, _ in cols:
        out[name] = []
    for i, r in enumerate(rows):
        r = dict(r)
        r.setdefault("_source", source)
        r.setdefault("_table", table)
        r.setdefault("_record_key", f"{table}-{i:05d}")
        r.setdefault("_batch_id", batch_id)
        r.setdefault("_extracted_at", ts)
        r.setdefault("_row_hash", f"h{i}")
        r.setdefault("_deleted", False)
        r.setdefault("_issues", [])
        for name, _ in cols:
            if name.endswith("_raw") and name not in r:
                r[name] = r.get(name[:-4])
            out[name].append(r.get(name))
    return pa.table({name: pa.array(out[name], typ) for name, typ in cols})


def add_batch(lake: Lake, source: str, table: str, batch_id: str, silver: dict[str, list[dict[str, Any]]],
              quarantine: list[dict[str, Any]] | None = None, extracted_at: str = EXTRACTED,
              source_file: str | None = None) -> BatchRecord:
    """Write one committed batch: silver files per master, a quarantine file, the marker."""
    files: dict[str, Any] = {"silver": {}, "quarantine": None, "source_file": source_file}
    n = 0
    for master, rows in silver.items():
        p = lake.silver_path(master, source, table, batch_id)
        write_parquet_atomic(p, silver_table(master, source, table, batch_id, rows, extracted_at))
        files["silver"][master] = str(p.relative_to(lake.root))
        n = len(rows)
    q = quarantine or []
    if q:
        p = lake.quarantine_path(source, table, batch_id)
        qt = pa.table({
            "_source": pa.array([source] * len(q)), "_table": pa.array([table] * len(q)),
            "_record_key": pa.array([r.get("record_key") for r in q], pa.string()),
            "_batch_id": pa.array([batch_id] * len(q)),
            "_extracted_at": pa.array([dt.datetime.fromisoformat(extracted_at)] * len(q), pa.timestamp("us")),
            "_row_hash": pa.array([None] * len(q), pa.string()),
            "_line": pa.array(list(range(1, len(q) + 1)), pa.int64()),
            "field": pa.array([r["element"] for r in q]), "reason": pa.array([r["reason"] for r in q]),
            "value": pa.array([r.get("value") for r in q], pa.string()),
            "reasons": pa.array([[{"element": r["element"], "reason": r["reason"], "value": r.get("value")}]
                                 for r in q], pa.list_(ISSUE)),
            "raw": pa.array([r.get("raw", "{}") for r in q], pa.string()),
        })
        write_parquet_atomic(p, qt)
        files["quarantine"] = str(p.relative_to(lake.root))
    rec = BatchRecord(source=source, table=table, batch_id=batch_id, load_date=extracted_at[:10],
                      extracted_at=extracted_at, watermark_from=None, watermark_to=None, extracted=n + len(q),
                      standardised=n, quarantined=len(q), files=files)
    lake.commit_batch(rec)
    return rec


def person_rows(n: int, key_prefix: str = "R", start: int = 0) -> list[dict[str, Any]]:
    """``n`` clean persons: valid distinct ids, names, sex and birth dates that agree with the id."""
    rows = []
    for i in range(start, start + n):
        sex = "1" if i % 2 == 0 else "2"
        birth = dt.date(1950, 1, 1) + dt.timedelta(days=97 * i)
        idn = rid(i, sex, birth)
        rows.append({"_record_key": f"{key_prefix}{i:04d}", "id_number": idn, "name": f"张{chr(0x4E00 + i)}",
                     "sex": sex, "ethnicity": "01", "birth_date": birth, "household_area": "341602",
                     "_updated_at": dt.datetime(2026, 11, 19, 8, 0, 0)})
    return rows


def defective_person_rows() -> list[dict[str, Any]]:
    """100 persons with known defects, each defect on its own rows:

    * 0-6   invalid ID numbers (wrong check character; silver nulls the element, keeps the raw text)
    * 7-9   no name
    * 10-11 the same (valid) ID number twice
    * 12-16 sex contradicts the ID's parity
    * 17-18 birth date contradicts the ID's embedded date
    * 19    an ID with a lowercase x (accepted after repair: valid, but not conforming)
    """
    rows = person_rows(100)
    for i in range(7):
        raw = bad_check(rows[i]["id_number"])
        rows[i].update(id_number=None, id_number_raw=raw,
                       _issues=[{"element": "person.id_number", "reason": "BAD_CHECK", "value": raw}])
    for i in range(7, 10):
        rows[i]["name"] = None
    rows[11].update(id_number=rows[10]["id_number"], sex=rows[10]["sex"], birth_date=rows[10]["birth_date"])
    for i in range(12, 17):
        rows[i]["sex"] = "2" if rows[i]["sex"] == "1" else "1"
    for i in range(17, 19):
        rows[i]["birth_date"] = rows[i]["birth_date"] + dt.timedelta(days=1)
    # find an id ending in X for the repair case
    j = 0
    while True:
        idn = rid(500 + j, "1", dt.date(1975, 5, 5))
        if idn.endswith("X"):
            break
        j += 1
    rows[19].update(id_number=idn, id_number_raw=idn[:-1] + "x", sex="1", birth_date=dt.date(1975, 5, 5),
                    _issues=[{"element": "person.id_number", "reason": "REPAIRED_CASE", "value": idn[:-1] + "x"}])
    return rows


def write_public_security(root: Path) -> Lake:
    """The defective 100-person table of ``public_security.hjxx_czrk`` plus 3 quarantined rows."""
    lake = Lake(root)
    add_batch(lake, "public_security", "hjxx_czrk", "b0001", {"person": defective_person_rows()}, quarantine=[
        {"record_key": "Q1", "element": "person.birth_date", "reason": "BAD_DATE", "value": "1980-13-01"},
        {"record_key": "Q2", "element": "person.birth_date", "reason": "BAD_DATE", "value": "19800230"},
        {"record_key": "Q3", "element": "person.household_area", "reason": "UNMAPPED_CODE", "value": "999999"},
    ])
    return lake
