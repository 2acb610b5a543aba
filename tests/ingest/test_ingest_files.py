"""File sources (CSV in GBK, JSON lines, Excel): bad rows are quarantined with reasons naming the
source, field and value; files are picked up once, by content; a changed header fails the source."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb

from pipelines.connections import SourceEnvironment
from pipelines.ingest import ingest_table
from pipelines.lake import Lake
from pipelines.registry import registry
from tests.ingest.helpers import land

HEADER = "残疾人证号,姓名,性别,身份证号,残疾类别,发证日期,有效期至,联系电话,住址"
GOOD = "34160219800101019X11,張偉,男,34160219800101019x,肢体,2019年05月06日,2029年05月06日,13912345678,安徽省亳州市谯城区"


def quarantine(lake: Lake, source: str) -> list[tuple]:
    files = [str(p) for p in lake.quarantine_files() if f"/{source}/" in str(p)]
    return duckdb.execute(f"SELECT _line, field, reason, value FROM read_parquet({files!r}) ORDER BY _line").fetchall()


def test_gbk_csv_bad_rows_are_quarantined_with_reasons(env: SourceEnvironment, tmp_path: Path) -> None:
    spec = registry()["disabled_federation"]
    rows = [HEADER, GOOD,
            GOOD.replace("11,", "12,", 1).replace("2019年05月06日", "2019年13月06日", 1),     # unparseable date
            GOOD.replace("11,", "13,", 1).replace(",男,", ",不男不女,"),                        # code not in any map
            "34160219800101019X14,赵四,男,341602198001010013"]                                  # wrong column count
    data = ("\n".join(rows) + "\n").encode("gbk") + b"34160219800101019X15,\xff\xfe,\xc4\xd0,1,2,,,,\n"  # bad GBK bytes
    land(env, "disabled_federation/cjrz_20261125.csv", data)
    lake = Lake(tmp_path / "lake")
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (5, 1, 4)
    q = quarantine(lake, "disabled_federation")
    reasons = sorted(((r[1], r[2], r[3]) for r in q), key=str)
    assert reasons == sorted([
        ("licence.issue_date", "BAD_DATE", "2019年13月06日"),
        ("person.sex", "UNMAPPED_CODE", "不男不女"),
        (None, "BAD_ROW", "expected 9 columns, got 4"),
        (None, "BAD_ENCODING", "bytes not valid gbk"),
    ], key=str)
    silver = lake.silver_files("person")[0]
    name, idn = duckdb.execute(f"SELECT name, id_number FROM '{silver}'").fetchall()[0]
    assert (name, idn) == ("张伟", "34160219800101019X")  # traditional -> simplified, lowercase x repaired


def test_a_file_is_loaded_once_by_content(env: SourceEnvironment, tmp_path: Path) -> None:
    spec = registry()["disabled_federation"]
    first = land(env, "disabled_federation/cjrz_20261125.csv", (HEADER + "\n" + GOOD + "\n").encode("gbk"))
    lake = Lake(tmp_path / "lake")
    assert [o.extracted for o in ingest_table(spec, spec.tables[0], env, lake)] == [1]
    shutil.copy(first, first.with_name("cjrz_20261125_resent.csv"))  # re-delivered under another name
    assert ingest_table(spec, spec.tables[0], env, lake) == []
    land(env, "disabled_federation/cjrz_20261126.csv", (HEADER + "\n" + GOOD.replace("11,", "21,", 1) + "\n").encode("gbk"))
    assert [o.extracted for o in ingest_table(spec, spec.tables[0], env, lake)] == [1]


def test_jsonl_broken_lines_are_quarantined(env: SourceEnvironment, tmp_path: Path) -> None:
    spec = registry()["grassroots_service"]
    good = {"id": "1", "xm": "王芳", "zjhm": "34160219800101027X", "xb": "2", "lxdh": "13912345678",
            "jzdz": "亳州市", "fwsj": "2026-11-25 09:00:00"}
    lines = [json.dumps(good, ensure_ascii=False), '{"id": "2", "xm": "李', "[1, 2]",
             json.dumps({**good, "id": "3", "fwsj": "yesterday"}, ensure_ascii=False)]
    land(env, "grassroots_service/fwjl_20261125.jsonl", ("\n".join(lines) + "\n").encode("utf-8"))
    lake = Lake(tmp_path / "lake")
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (4, 1, 3)
    assert sorted(r[2] for r in quarantine(lake, "grassroots_service")) == ["BAD_DATE", "BAD_JSON", "BAD_JSON"]


def test_a_changed_csv_header_sets_the_file_aside(env: SourceEnvironment, tmp_path: Path) -> None:
    spec = registry()["disabled_federation"]
    land(env, "disabled_federation/cjrz_20261125.csv", (HEADER.replace("住址", "居住地址") + "\n" + GOOD + "\n").encode("gbk"))
    lake = Lake(tmp_path / "lake")
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert o.skipped and o.set_aside
    assert re.search(r"cjrz_20261125.csv: set aside \(COLUMNS_CHANGED\): .*missing column\(s\) 住址; "
                     r"new column\(s\) 居住地址", o.line()), o.line()
    assert lake.committed_batches() == []
    # the next delivery to the same table loads; the refused file is reported, not retried
    land(env, "disabled_federation/cjrz_20261126.csv", (HEADER + "\n" + GOOD + "\n").encode("gbk"))
    outcomes = ingest_table(spec, spec.tables[0], env, lake)
    assert [(o.skipped, o.set_aside, o.extracted) for o in outcomes] == [(True, False, 0), (False, False, 1)]
    assert "set aside earlier (COLUMNS_CHANGED)" in outcomes[0].line()


def test_excel_source(env: SourceEnvironment, tmp_path: Path) -> None:
    import pyarrow as pa

    from pipelines.synthetic.writers import write_excel

    spec = registry()["trade_unions"]
    cols = spec.tables[0].columns
    row = {"会员编号": "M1", "姓名": "王芳", "身份证号码": "34160219800101027X", "性别": "女", "民族": "汉族",
           "手机号": "13912345678", "工作单位代码": None, "学历": "大学本科"}
    write_excel(env.files_dir / "trade_unions" / "hyxx_20261125.xlsx",
                pa.table({c: [row[c], row[c] if c != "会员编号" else "M2"] for c in cols}))
    lake = Lake(tmp_path / "lake")
    [o] = ingest_table(spec, spec.tables[0], env, lake)
    assert (o.extracted, o.standardised, o.quarantined) == (2, 2, 0)
    eth = duckdb.execute(f"SELECT DISTINCT ethnicity FROM '{lake.silver_files('person')[0]}'").fetchall()
    assert eth == [("01",)]
