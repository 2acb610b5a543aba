"""Hostile and broken deliveries: every bad file is set aside with its reason while the other files
of the same table (and later deliveries) load; nothing outside the landing folder is ever read;
files are picked up only once complete; bad values inside good files are quarantined with reasons."""

from __future__ import annotations

import io
import json
import os
import re
import shutil
import zipfile
from pathlib import Path

import duckdb
import pyarrow as pa
import pytest

from pipelines import landing
from pipelines.connections import SourceEnvironment
from pipelines.ingest import BatchOutcome, ingest_table
from pipelines.lake import Lake
from pipelines.registry import SourceSpec, registry
from pipelines.synthetic.writers import write_excel
from tests.ingest.helpers import land, quarantined

CSV_HEADER = "残疾人证号,姓名,性别,身份证号,残疾类别,发证日期,有效期至,联系电话,住址"
CSV_ROW = "34160219800101019X{n:02d},王芳{n},女,34160219800101019X,肢体,2019年05月06日,2029年05月06日,13912345678,亳州市谯城区"


def csv_bytes(*ns: int, header: str = CSV_HEADER) -> bytes:
    return ("\n".join([header, *(CSV_ROW.format(n=n) for n in ns)]) + "\n").encode("gbk")


def loaded(outcomes: list[BatchOutcome]) -> list[int]:
    return [o.extracted for o in outcomes if not o.skipped]


def set_aside(outcomes: list[BatchOutcome]) -> dict[str, str]:
    """file name -> reason of the files set aside by this run."""
    out = {}
    for o in outcomes:
        if o.set_aside:
            m = re.search(r" (\S+): set aside \((\w+)\)", o.line())
            assert m, o.line()
            out[m.group(1).rsplit("/", 1)[-1]] = m.group(2)
    return out


def excel_bytes(spec: SourceSpec, rows: list[dict[str, str | None]], tmp: Path) -> bytes:
    cols = spec.tables[0].columns
    p = tmp / "book.xlsx"
    write_excel(p, pa.table({c: pa.array([r.get(c) for r in rows], pa.string()) for c in cols}))
    return p.read_bytes()


def member(n: int, **kw: str | None) -> dict[str, str | None]:
    row: dict[str, str | None] = {"会员编号": f"M{n}", "姓名": f"王芳{n}", "身份证号码": "34160219800101027X", "性别": "女",
                                  "民族": "汉族", "手机号": "13912345678", "工作单位代码": None, "学历": "大学本科"}
    row.update(kw)
    return row


# --------------------------------------------------------------------------------------------
# broken files
# --------------------------------------------------------------------------------------------
def test_broken_workbooks_are_set_aside_and_the_good_one_loads(env: SourceEnvironment, lake: Lake,
                                                               tmp_path: Path) -> None:
    spec = registry()["trade_unions"]
    good = excel_bytes(spec, [member(1), member(2)], tmp_path)
    land(env, "trade_unions/hyxx_20261120.xlsx", good[: len(good) // 2])        # truncated in transfer
    land(env, "trade_unions/hyxx_20261121.xlsx", b"")                          # 0 bytes
    land(env, "trade_unions/hyxx_20261122.xlsx", "会员编号,姓名\nM1,王芳\n".encode())  # a CSV renamed .xlsx
    land(env, "trade_unions/hyxx_20261123.xlsx", good)
    outcomes = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(outcomes) == [2]
    assert set_aside(outcomes) == {"hyxx_20261120.xlsx": "UNREADABLE", "hyxx_20261121.xlsx": "EMPTY",
                                   "hyxx_20261122.xlsx": "UNREADABLE"}
    assert all("cannot be read as excel" in o.line() for o in outcomes if "(UNREADABLE)" in o.line())
    records = {r["file"]: r["reason"] for r in lake.set_aside_records("trade_unions")}
    assert records == {"trade_unions/hyxx_20261120.xlsx": "UNREADABLE",
                       "trade_unions/hyxx_20261121.xlsx": "EMPTY", "trade_unions/hyxx_20261122.xlsx": "UNREADABLE"}
    # a later delivery to the same table loads; the refused files are reported, not parsed again
    land(env, "trade_unions/hyxx_20261124.xlsx", excel_bytes(spec, [member(3)], tmp_path))
    later = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(later) == [1] and set_aside(later) == {}
    assert sum("set aside earlier" in o.line() for o in later) == 3
    # the sender re-delivers the truncated file whole under the same name: it loads (new content)
    land(env, "trade_unions/hyxx_20261120.xlsx", excel_bytes(spec, [member(4)], tmp_path))
    assert loaded(ingest_table(spec, spec.tables[0], env, lake)) == [1]


@pytest.mark.parametrize("label,data,reason,detail", [
    ("duplicated header column", csv_bytes(1, header=CSV_HEADER + ",姓名"), "COLUMNS_CHANGED", "repeated column(s) 姓名"),
    ("changed header", csv_bytes(1, header=CSV_HEADER.replace("住址", "地址")), "COLUMNS_CHANGED",
     "missing column(s) 住址; new column(s) 地址"),
    ("undecodable header", b"\xff\xfe\xfd\xfc," + csv_bytes(1)[2:], "BAD_HEADER", "header line is not valid gbk"),
    ("empty file", b"", "EMPTY", "the file is empty"),
    ("binary file", bytes(range(256)) * 40, "BAD_HEADER", "control characters (not a text file)"),
])
def test_a_bad_csv_is_set_aside_with_its_reason_while_others_load(env: SourceEnvironment, lake: Lake, label: str,
                                                                  data: bytes, reason: str, detail: str) -> None:
    spec = registry()["disabled_federation"]
    land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1, 2))
    land(env, "disabled_federation/cjrz_20261121.csv", data)
    land(env, "disabled_federation/cjrz_20261122.csv", csv_bytes(3))
    outcomes = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(outcomes) == [2, 1], label
    assert set_aside(outcomes) == {"cjrz_20261121.csv": reason}
    [line] = [o.line() for o in outcomes if o.set_aside]
    assert detail in line and "\n" not in line
    assert sorted(b.files["source_file"] for b in lake.committed_batches()) == [
        "disabled_federation/cjrz_20261120.csv", "disabled_federation/cjrz_20261122.csv"]


def test_a_column_change_is_retried_once_the_spec_maps_it(env: SourceEnvironment, lake: Lake) -> None:
    spec = registry()["disabled_federation"]
    land(env, "disabled_federation/cjrz_20261121.csv", csv_bytes(1, header=CSV_HEADER.replace("住址", "地址")))
    assert set_aside(ingest_table(spec, spec.tables[0], env, lake)) == {"cjrz_20261121.csv": "COLUMNS_CHANGED"}
    t = spec.tables[0]
    fields = [f.model_copy(update={"column": "地址"}) if f.column == "住址" else f for f in t.fields]
    fixed = spec.model_copy(update={"tables": [t.model_copy(update={"fields": fields})]})
    assert loaded(ingest_table(fixed, fixed.tables[0], env, lake)) == [1]


# --------------------------------------------------------------------------------------------
# nothing outside the landing folder
# --------------------------------------------------------------------------------------------
def test_symlinks_are_refused_and_never_read(env: SourceEnvironment, lake: Lake, tmp_path: Path) -> None:
    spec = registry()["disabled_federation"]
    secret = tmp_path / "outside" / "secret.csv"
    secret.parent.mkdir()
    secret.write_bytes(csv_bytes(7))  # would even parse: it must still not be read
    folder = env.files_dir / "disabled_federation"
    land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1))
    (folder / "cjrz_20261121.csv").symlink_to("/etc/passwd")
    (folder / "cjrz_20261122.csv").symlink_to(secret)
    (folder / "cjrz_20261123.csv").symlink_to(folder / "cjrz_20261120.csv")  # even one pointing inside
    outcomes = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(outcomes) == [1]
    assert set_aside(outcomes) == {f"cjrz_2026112{i}.csv": "SYMLINK" for i in (1, 2, 3)}
    assert quarantined(lake) == []
    bronze = [str(p) for p in lake.root.glob("bronze/**/*.parquet")]
    assert duckdb.execute(f"SELECT count(*) FROM read_parquet({bronze!r})").fetchall() == [(1,)]
    assert "root:" not in json.dumps(lake.set_aside_records())


def test_a_symlinked_folder_is_refused(env: SourceEnvironment, lake: Lake, tmp_path: Path) -> None:
    spec = registry()["disabled_federation"]
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "cjrz_20261120.csv").write_bytes(csv_bytes(1))
    (env.files_dir / "disabled_federation").symlink_to(outside, target_is_directory=True)
    outcomes = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(outcomes) == [] and set_aside(outcomes) == {"cjrz_20261120.csv": "SYMLINK"}
    assert lake.committed_batches() == []


def test_refusal_of_paths_outside_the_landing_folder(env: SourceEnvironment, tmp_path: Path) -> None:
    inside = land(env, "x/a.csv", b"a\n")
    assert landing.refusal(env.files_dir, inside) is None
    r = landing.refusal(env.files_dir, env.files_dir / "x" / ".." / ".." / "a.csv")
    assert r is not None and r.reason == "OUTSIDE_LANDING"
    r = landing.refusal(env.files_dir, tmp_path / "a.csv")
    assert r is not None and r.reason == "OUTSIDE_LANDING"
    (env.files_dir / "fifo").mkdir()
    os.mkfifo(env.files_dir / "fifo" / "p.csv")
    r = landing.refusal(env.files_dir, env.files_dir / "fifo" / "p.csv")
    assert r is not None and r.reason == "NOT_A_FILE"


# --------------------------------------------------------------------------------------------
# complete files only
# --------------------------------------------------------------------------------------------
def _settling(spec: SourceSpec, settle_s: float) -> SourceSpec:
    return spec.model_copy(update={"connection": spec.connection.model_copy(update={"settle_s": settle_s})})


def test_a_file_still_being_written_waits_and_then_loads_once(env: SourceEnvironment, lake: Lake,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _settling(registry()["disabled_federation"], 30)
    land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1))
    whole = csv_bytes(2, 3, 4, 5)
    growing = land(env, "disabled_federation/cjrz_20261121.csv", whole[:80], age_s=0)  # cut mid-row
    land(env, "disabled_federation/cjrz_20261122.csv", csv_bytes(6))
    watched: list[float] = []

    def sender_keeps_writing(s: float) -> None:  # the sender appends while ingest watches the file
        watched.append(s)
        with open(growing, "ab") as f:
            f.write(whole[80:160])

    monkeypatch.setattr(landing.time, "sleep", sender_keeps_writing)
    first = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(first) == [1]
    assert len(watched) == 1 and 15 < watched[0] <= 30.1  # one wait per table, until the youngest file settled
    waiting = [o.line() for o in first if o.note and "waiting" in o.line()]
    assert len(waiting) == 2 and "still being written" in waiting[0] and "after disabled_federation/cjrz_20261121.csv" in waiting[1]
    land(env, "disabled_federation/cjrz_20261121.csv", whole, age_s=31)  # the sender finished a while ago
    monkeypatch.setattr(landing.time, "sleep", lambda s: pytest.fail("no file is young: nothing to wait for"))
    second = ingest_table(spec, spec.tables[0], env, lake)
    assert loaded(second) == [4, 1]
    assert quarantined(lake) == []  # no half row was ever read
    assert ingest_table(spec, spec.tables[0], env, lake) == []


def test_a_done_marker_source_loads_a_file_only_once_its_marker_exists(env: SourceEnvironment, lake: Lake) -> None:
    base = registry()["disabled_federation"]
    spec = base.model_copy(update={"connection": base.connection.model_copy(update={"done_marker": True})})
    f = land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1, 2), age_s=3600)
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert o.skipped and "waiting for its done-marker cjrz_20261120.csv.done" in o.line()
    f.with_name(f.name + ".done").write_bytes(b"")
    assert loaded(ingest_table(spec, spec.tables[0], env, lake)) == [2]


def test_a_settled_file_is_not_waited_for(env: SourceEnvironment, lake: Lake, monkeypatch: pytest.MonkeyPatch) -> None:
    spec = _settling(registry()["disabled_federation"], 30)
    land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1), age_s=31)
    monkeypatch.setattr(landing.time, "sleep", lambda s: pytest.fail(f"slept {s}s for a settled file"))
    assert loaded(ingest_table(spec, spec.tables[0], env, lake)) == [1]


# --------------------------------------------------------------------------------------------
# bad values inside good files
# --------------------------------------------------------------------------------------------
def test_json_lines_split_only_on_newline(env: SourceEnvironment, lake: Lake) -> None:
    spec = registry()["grassroots_service"]
    base = {"id": "1", "xm": "王芳", "zjhm": "34160219800101027X", "xb": "2", "lxdh": "13912345678",
            "jzdz": "亳州市", "fwsj": "2026-11-25 09:00:00"}
    rows = [{**base, "id": "1", "jzdz": "亳州市\u2028谯城区"}, {**base, "id": "2", "jzdz": "亳州市\u0085谯城区"},
            {**base, "id": "3", "jzdz": "亳州市\u2029\x1c\x1d\x1e\x0b\x0c谯城区"}]
    text = "\r\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n"
    land(env, "grassroots_service/fwjl_20261125.jsonl", text.encode("utf-8"))
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (3, 3, 0)
    got = duckdb.execute(f"SELECT _record_key, residential_address FROM '{lake.silver_files('person')[0]}' ORDER BY 1").fetchall()
    assert [k for k, _ in got] == ["1", "2", "3"]
    assert "\u2028" in got[0][1] or "谯城区" in got[0][1]


def _with_formulas(book: bytes, cells: dict[str, tuple[str, str | None]]) -> bytes:
    """Put formulas (with or without a cached value) into cells of the first sheet of ``book``."""
    src = zipfile.ZipFile(io.BytesIO(book))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                for ref, (formula, cached) in cells.items():
                    cell = re.search(rf'<c r="{ref}"[^>]*?(/>|>.*?</c>)', xml)
                    assert cell, ref
                    value = f"<v>{cached}</v>" if cached is not None else ""
                    xml = xml.replace(cell.group(0), f'<c r="{ref}" t="str"><f>{formula}</f>{value}</c>')
                data = xml.encode()
            dst.writestr(item, data)
    return out.getvalue()


def test_excel_formula_cells_are_read_from_their_cached_value_or_flagged(env: SourceEnvironment, lake: Lake,
                                                                         tmp_path: Path) -> None:
    spec = registry()["trade_unions"]
    book = excel_bytes(spec, [member(1), member(2), member(3)], tmp_path)
    # B = 姓名, A = 会员编号: row 2 has a computed name, row 3 a formula key never computed
    land(env, "trade_unions/hyxx_20261125.xlsx", _with_formulas(book, {"B2": ('"王"&amp;"芳"', "王芳"),
                                                                        "A3": ('"M"&amp;ROW()', None)}))
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (3, 2, 1)
    names = duckdb.execute(f"SELECT _record_key, name FROM '{lake.silver_files('person')[0]}' ORDER BY 1").fetchall()
    assert names == [("M1", "王芳"), ("M3", "王芳3")]
    q = duckdb.execute(f"SELECT _line, reason, field, value FROM '{lake.quarantine_files()[0]}'").fetchall()
    assert q == [(3, "NO_FORMULA_VALUE", "会员编号", '="M"&ROW()')]


def test_an_overlong_value_is_quarantined_with_a_reason(env: SourceEnvironment, lake: Lake) -> None:
    spec = registry()["disabled_federation"]
    huge = "亳州市" * 3_000_000  # 9 million characters
    data = (CSV_HEADER + "\n" + CSV_ROW.format(n=1) + "\n" + CSV_ROW.format(n=2).replace("亳州市谯城区", huge) + "\n").encode("utf-8")
    utf8 = spec.model_copy(update={"connection": spec.connection.model_copy(update={"encoding": "utf-8"})})
    land(env, "disabled_federation/cjrz_20261125.csv", data)
    [o] = ingest_table(utf8, utf8.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (2, 1, 1)
    [(field, reason, value)] = duckdb.execute(f"SELECT field, reason, value FROM '{lake.quarantine_files()[0]}'").fetchall()
    assert (field, reason) == ("person.residential_address", "TOO_LONG")
    assert value.endswith("… (9000000 characters)") and len(value) < 300
    silver = duckdb.execute(f"SELECT max(length(residential_address)) FROM '{lake.silver_files('person')[0]}'").fetchall()
    assert silver == [(6,)]


# --------------------------------------------------------------------------------------------
# the command line: a bad file never stops anything else, and never shows a traceback
# --------------------------------------------------------------------------------------------
def test_masterdata_ingest_sets_bad_files_aside_and_loads_the_rest(tmp_path: Path) -> None:
    import subprocess
    import sys

    env = SourceEnvironment(sources_dir=tmp_path / "sources")
    spec = registry()["trade_unions"]
    land(env, "trade_unions/hyxx_20261120.xlsx", b"PK\x03\x04 not really a zip")
    land(env, "trade_unions/hyxx_20261121.xlsx", excel_bytes(spec, [member(1)], tmp_path))
    land(env, "disabled_federation/cjrz_20261120.csv", csv_bytes(1, header=CSV_HEADER + ",姓名"))
    land(env, "disabled_federation/cjrz_20261121.csv", csv_bytes(2, 3))
    (env.files_dir / "disabled_federation" / "cjrz_20261122.csv").symlink_to("/etc/passwd")
    run_env = {**os.environ, "MASTERDATA_SOURCES": str(env.sources_dir), "MASTERDATA_LAKE": str(tmp_path / "lake"),
               "MASTERDATA_TMP": str(tmp_path / "tmp"), "TMPDIR": str(tmp_path / "tmp")}
    (tmp_path / "tmp").mkdir()
    cmd = [sys.executable, "-m", "pipelines.cli", "ingest", "-s", "disabled_federation", "-s", "grassroots_service",
           "-s", "trade_unions"]
    res = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    out = res.stdout + res.stderr
    assert res.returncode == 1, out
    assert "Traceback" not in out
    assert re.search(r"disabled_federation\s+1 batch\(es\)\s+extracted\s+2", out), out
    assert re.search(r"trade_unions\s+1 batch\(es\)\s+extracted\s+1", out), out
    assert "hyxx_20261120.xlsx: set aside (UNREADABLE)" in out
    assert "cjrz_20261120.csv: set aside (COLUMNS_CHANGED)" in out and "cjrz_20261122.csv: set aside (SYMLINK)" in out
    assert "3 file(s) set aside" in out
    assert not list((tmp_path / "tmp").glob("ingest-*"))
    # the next run: nothing new, the refused files are still reported but no longer fail the run
    res = subprocess.run(cmd, env=run_env, capture_output=True, text=True, timeout=300, cwd=Path(__file__).parents[2])
    assert res.returncode == 0, res.stdout + res.stderr
    assert (res.stdout + res.stderr).count("set aside earlier") == 3
    shutil.rmtree(tmp_path / "lake")
