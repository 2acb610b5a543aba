"""No full resident ID number in anything the platform writes for people to read.

A small city is generated and run through the commands an operator runs - ``ingest`` (with one
landed file whose header line is a data row, so ingest refuses it and says why), ``build``,
``quality run``, ``quality report`` (the analysts' page, the GX stores and Data Docs) and
``once-only`` - and every text they produced is searched for the valid ID numbers of the city's
people: each command's output and errors (stdout, stderr: logs and one-line errors), every HTML, JSON
and YAML file of the report folder and the once-only report.  An ID number inside a longer number
(a 残疾人证号 is the ID number and two digits) counts too.  None may be found.

Great Expectations keeps the failing values of every failed expectation (``unexpected_list``, the
partial lists and counts, the failing rows by record key) in its validation results, and its Data
Docs print them: every value of an expectation on a personal element (names, ID numbers, phones,
addresses) must be stored masked, and no person's name - as the city knows it, or as a source
delivered it - may appear in the Data Docs.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest

from standards.dictionary import dictionary

REPO = Path(__file__).resolve().parents[2]
DIGITS = re.compile(r"[0-9]{17}[0-9X]+|[0-9]{18,}")


def _cli(env: dict[str, str], *args: str, ok: tuple[int, ...] = (0,)) -> str:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, capture_output=True,
                         text=True, timeout=600)
    assert out.returncode in ok, f"masterdata {' '.join(args)}: {out.returncode}\n{out.stderr[-2000:]}"
    return out.stdout + "\n" + out.stderr


def _row_as_header(files: Path) -> Path:
    """A copy of the disabled persons' federation's CSV without its header line: ingest reads the
    first person's row (name, ID number, phone) as the column names, and refuses the file."""
    src = next(files.glob("disabled_federation/*.csv"))
    raw = src.read_bytes().split(b"\n", 1)[1]
    bad = src.with_name(src.stem + "_noheader.csv")
    bad.write_bytes(raw)
    past = time.time() - 3600  # long settled
    os.utime(bad, (past, past))
    return bad


def found_ids(text: str, ids: set[str]) -> set[str]:
    """The ID numbers of ``ids`` that ``text`` holds in full, alone or inside a longer number."""
    hits = set()
    for run in DIGITS.findall(text):
        for i in range(len(run) - 17):
            if run[i:i + 18] in ids:
                hits.add(run[i:i + 18])
    return hits


@pytest.fixture(scope="module")
def produced(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("noid")
    home = root / "home"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MASTERDATA_")}
    env.update({"MASTERDATA_HOME": str(home), "MASTERDATA_SOURCES": str(root / "city" / "sources"),
                "MASTERDATA_TRUTH": str(root / "city" / "truth")})
    texts: dict[str, str] = {}
    texts["generate"] = _cli(env, "generate", "--persons", "400", "--seed", "7", "--out", str(root / "city"),
                             "--no-day2")
    _row_as_header(root / "city" / "sources" / "files")
    texts["ingest"] = _cli(env, "ingest", ok=(0, 1))
    assert "changed its columns" in texts["ingest"] or "set aside" in texts["ingest"], texts["ingest"][-2000:]
    texts["build"] = _cli(env, "build")
    texts["quality run"] = _cli(env, "quality", "run", ok=(0, 1))
    report = root / "report"
    texts["quality report"] = _cli(env, "quality", "report", "--out", str(report), "--sample", "500", ok=(0, 1))
    texts["once-only"] = _cli(env, "once-only", "--applications", "60", "--out", str(root / "once.json"), ok=(0, 1))
    for path in [*report.rglob("*"), root / "once.json", home / "warehouse" / "once-only.json"]:
        if path.is_file() and path.suffix in (".html", ".json", ".yml", ".yaml", ".txt", ".log"):
            texts[str(path.relative_to(root))] = path.read_text(encoding="utf-8", errors="replace")
    shutil.rmtree(home / "lake" / "_tmp", ignore_errors=True)
    ids = set(pq.read_table(root / "city" / "truth" / "persons.parquet", columns=["id_number"])
              .column("id_number").drop_null().to_pylist())
    return {"ids": "\n".join(sorted(ids)), "root": str(root), **texts}


META = ("ids", "root")


def test_no_full_id_number_in_any_report_log_or_error(produced: dict[str, str]) -> None:
    ids = set(produced["ids"].split("\n"))
    assert len(ids) > 300
    texts = {k: v for k, v in produced.items() if k not in META}
    assert any(k.endswith("index.html") for k in texts), sorted(texts)  # the analysts' page was written
    assert any("data-docs" in k for k in texts), sorted(texts)  # and the GX Data Docs
    leaks = {k: sorted(found_ids(v, ids))[:3] for k, v in texts.items() if found_ids(v, ids)}
    assert not leaks, f"full ID numbers in {len(leaks)} text(s): " + "; ".join(
        f"{k}: {[i[:6] + '…' for i in v]}" for k, v in leaks.items())
    # the refused file was named and explained, its row masked
    assert "***" in texts["ingest"]


def _values(result: dict[str, object], column: str | None) -> list[object]:
    """Every failing value an expectation's stored result lists (the record keys left out)."""
    out: list[object] = []
    for k in ("unexpected_list", "partial_unexpected_list"):
        out += list(result.get(k) or [])  # type: ignore[call-overload]
    out += [c.get("value") for c in result.get("partial_unexpected_counts") or []]  # type: ignore[attr-defined]
    for k in ("unexpected_index_list", "partial_unexpected_index_list"):
        out += [v for row in result.get(k) or [] if isinstance(row, dict)  # type: ignore[attr-defined]
                for c, v in row.items() if c != "_record_key"]
    flat: list[object] = []
    for v in out:
        flat += list(v) if isinstance(v, (list, tuple)) else [v]
    return [v for v in flat if v is not None and not isinstance(v, bool)]


def _names(root: Path) -> set[str]:
    """Every person's name: as the city made it and as the sources delivered it (silver's names)."""
    names = set(pq.read_table(root / "city" / "truth" / "persons.parquet", columns=["name"])
                .column("name").drop_null().to_pylist())
    silver = root / "home" / "lake" / "silver" / "person"
    with duckdb.connect() as con:
        got = con.execute(f"SELECT DISTINCT name FROM read_parquet('{silver}/**/*.parquet', union_by_name=true) "
                          "WHERE name IS NOT NULL").fetchall()
    names |= {str(r[0]).strip() for r in got}
    return {n for n in names if len(n) >= 2}


def test_gx_results_and_data_docs_mask_failing_values(produced: dict[str, str]) -> None:
    import json

    root = Path(produced["root"])
    d = dictionary()
    stored = [p for p in (root / "report" / "gx").rglob("*.json") if "validations" in p.parts]
    assert stored, "no GX validation result was stored"
    personal_values: list[object] = []
    for path in stored:
        for r in json.loads(path.read_text(encoding="utf-8"))["results"]:
            cfg = r["expectation_config"]
            element = str((cfg.get("meta") or {}).get("element", ""))
            col = cfg["kwargs"].get("column") or cfg["kwargs"].get("column_A")
            if r["success"] or not (d.has(element) and d.element(element).personal) or str(col).endswith("_reason"):
                continue
            values = _values(r.get("result") or {}, col)
            personal_values += values
            plain = [v for v in values if not str(v).endswith("***")]
            assert not plain, f"{path.name} {cfg['type']} on {element}: unmasked failing values {len(plain)}"
    # the city's dirty names and ID numbers fail personal expectations: there was something to mask
    assert len(personal_values) >= 5, personal_values
    names = _names(root)
    assert len(names) > 300
    docs = {k: v for k, v in produced.items() if "data-docs" in k or "/gx/" in k or k.startswith("report/gx")}
    assert docs
    leaks = {k: sorted(n for n in names if n in v)[:3] for k, v in docs.items()}
    leaks = {k: v for k, v in leaks.items() if v}
    assert not leaks, f"people's names in {len(leaks)} GX file(s): " + "; ".join(
        f"{k}: {[n[:1] + '…' for n in v]}" for k, v in list(leaks.items())[:5])
