"""Run fixture cases through the real ingestion step: one JSON-lines source table per case setup.

Each setup (element, date format, code map, holder-id type) becomes a source spec written as YAML and
loaded by the registry (so it is validated like a department's spec), and its cases become the rows
of one landed file, which ``ingest_table`` extracts, lands in bronze and standardises into silver and
quarantine. Nothing here re-implements a rule: the outcome is read back from the lake's files.

Every row also carries *anchor* columns with clean values for the elements its master needs (the
registry demands them, and a row that identifies nobody is quarantined as ``NO_IDENTITY``); an
element under test is never also an anchor.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import yaml

from core.sqltext import lit
from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from pipelines.registry import load_spec
from standards.dictionary import dictionary
from tests.standardise.fixtures import QUARANTINED, Case

#: Clean anchor values per master: element -> value the standard accepts unchanged.
ANCHORS: dict[str, dict[str, str]] = {
    "person": {"person.name": "张三", "person.id_number": "341602198001010018"},
    "entity": {"entity.name": "亳州市示例商贸有限公司", "entity.uscc": "9144030071526726XG"},
    "licence": {"licence.type_code": "004", "licence.number": "L0001", "licence.holder_name": "张三",
                "licence.holder_id": "341602198001010018", "licence.holder_id_type": "111"},
}
#: The one anchor a person or entity table needs; the second is the fallback when the first is tested.
_FIRST_ANCHOR = {"person": ("person.name", "person.id_number"), "entity": ("entity.name", "entity.uscc")}


@dataclass(frozen=True)
class Outcome:
    """What the step made of one case's row."""

    value: str | None       # the silver value as text (QUARANTINED when the row was rejected)
    reasons: list[str]      # reason codes for the element: from _issues, or from the quarantine row


def _anchors(case: Case) -> dict[str, str]:
    master = case.master
    if master == "licence":
        anchors = dict(ANCHORS["licence"])
        if case.holder_id_type is not None:
            anchors["licence.holder_id_type"] = case.holder_id_type
    else:
        first, fallback = _FIRST_ANCHOR[master]
        name = fallback if case.element == first else first
        anchors = {name: ANCHORS[master][name]}
    anchors.pop(case.element, None)
    return anchors


def _spec_yaml(source: str, case: Case, anchors: dict[str, str]) -> dict[str, Any]:
    field: dict[str, Any] = {"column": "v", "element": case.element}
    if case.fmt is not None:
        field["format"] = case.fmt
    if case.codes is not None:
        field["codes"] = dict(case.codes)
    fields = [{"column": "k", "element": "meta.record_key"}, field]
    fields += [{"column": f"a{i}", "element": e} for i, e in enumerate(anchors)]
    return {
        "source": source, "department": "grassroots_service", "title": "standardisation fixture",
        "connection": {"kind": "jsonl"}, "dialect": "duckdb",
        "tables": [{"name": "t", "path": f"{source}/*.jsonl", "primary_key": ["k"],
                    "incremental": {"kind": "file"}, "feeds": [case.master], "fields": fields}],
    }


def _column_of(element: str) -> str:
    """The silver column an element lands in (metadata elements become ``_updated_at``, ``_deleted``)."""
    master, _, name = element.partition(".")
    return f"_{name}" if master == "meta" else name


def standardise_setup(cases: list[Case], workdir: Path, con: duckdb.DuckDBPyConnection) -> dict[int, Outcome]:
    """Run cases sharing one setup through ``ingest_table``; outcome per fixture line."""
    first = cases[0]
    source = "fixture_" + first.file.removesuffix(".txt") + f"_{first.line}"
    anchors = _anchors(first)
    spec_path = workdir / "specs" / f"{source}.yaml"
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(yaml.safe_dump(_spec_yaml(source, first, anchors), allow_unicode=True), encoding="utf-8")
    spec = load_spec(spec_path)
    landed = workdir / "sources" / "files" / source / "cases.jsonl"
    landed.parent.mkdir(parents=True, exist_ok=True)
    rows = [{"k": str(c.line), "v": c.raw, **{f"a{i}": v for i, v in enumerate(anchors.values())}} for c in cases]
    landed.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    lake = Lake(workdir / "lake" / source)
    [outcome] = ingest_table(spec, spec.tables[0], SourceEnvironment(sources_dir=workdir / "sources"), lake, con=con)
    assert outcome.extracted == len(cases), outcome.line()
    return _read_back(lake, first, con)


def _read_back(lake: Lake, case: Case, con: duckdb.DuckDBPyConnection) -> dict[int, Outcome]:
    out: dict[int, Outcome] = {}
    element, master = case.element, case.master
    mine = f"x.element IN ({lit(element)}, {lit(master)})"
    for path in lake.silver_files(master):
        column = _column_of(element)
        for key, value, reasons in con.execute(
            f'SELECT _record_key, CAST("{column}" AS VARCHAR), '
            f"list_transform(list_filter(_issues, lambda x: {mine}), lambda x: x.reason) "
            f"FROM read_parquet({lit(str(path))})"
        ).fetchall():
            out[int(key)] = Outcome(value, list(reasons))
    for path in lake.quarantine_files():
        for key, reasons in con.execute(
            f"SELECT _record_key, list_transform(list_filter(reasons, lambda x: {mine}), lambda x: x.reason) "
            f"FROM read_parquet({lit(str(path))})"
        ).fetchall():
            out[int(key)] = Outcome(QUARANTINED, list(reasons))
    return out


def element_type(element: str) -> str:
    """The dictionary type of an element (decimals compare by value, not by printed scale)."""
    return dictionary().element(element).type
