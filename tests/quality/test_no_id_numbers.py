"""No full resident ID number in anything the platform writes for people to read.

A small city is generated and run through the commands an operator runs - ``ingest`` (with one
landed file whose header line is a data row, so ingest refuses it and says why), ``build``,
``quality run``, ``quality report`` (the analysts' page, the GX stores and Data Docs) and
``once-only`` - and every text they produced is searched for the valid ID numbers of the city's
people: each command's output and errors (stdout, stderr: logs and one-line errors), every HTML, JSON
and YAML file of the report folder and the once-only report.  An ID number inside a longer number
(a 残疾人证号 is the ID number and two digits) counts too.  None may be found.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pyarrow.parquet as pq
import pytest

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
    return {"ids": "\n".join(sorted(ids)), **texts}


def test_no_full_id_number_in_any_report_log_or_error(produced: dict[str, str]) -> None:
    ids = set(produced["ids"].split("\n"))
    assert len(ids) > 300
    texts = {k: v for k, v in produced.items() if k != "ids"}
    assert any(k.endswith("index.html") for k in texts), sorted(texts)  # the analysts' page was written
    assert any("data-docs" in k for k in texts), sorted(texts)  # and the GX Data Docs
    leaks = {k: sorted(found_ids(v, ids))[:3] for k, v in texts.items() if found_ids(v, ids)}
    assert not leaks, f"full ID numbers in {len(leaks)} text(s): " + "; ".join(
        f"{k}: {[i[:6] + '…' for i in v]}" for k, v in leaks.items())
    # the refused file was named and explained, its row masked
    assert "***" in texts["ingest"]
