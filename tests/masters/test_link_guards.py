"""``masterdata link`` explains itself: blank keys, pair budgets, failures, progress and the summary."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from core.db import connect
from pipelines.cli import app
from pipelines.masters.link import link
from pipelines.resolve.blocking import rule_estimate_sql, rule_pairs_sql, side_tables_sql
from pipelines.resolve.config import BlockingRule
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.sql import Sql

CONFIG: dict[str, Any] = {
    "master": "people",
    "id_column": "rid",
    "features": {"nm": "name_norm(name)", "nm_py": "pinyin_key(name_norm(name))", "tel": "phone"},
    "blocking": [{"name": "pinyin", "keys": ["nm_py"], "scope": "all"},
                 {"name": "phone", "keys": ["tel"], "scope": "all"}],
    "comparisons": [
        {"name": "name", "null_when": "l.nm IS NULL OR r.nm IS NULL", "levels": [
            {"label": "exact", "when": "l.nm = r.nm", "m": 0.9, "u": 0.001, "fixed": True},
            {"label": "pinyin", "when": "l.nm_py = r.nm_py", "m": 0.08, "u": 0.002, "fixed": True}]},
        {"name": "phone", "null_when": "l.tel IS NULL OR r.tel IS NULL", "levels": [
            {"label": "exact", "when": "l.tel = r.tel", "m": 0.9, "u": 0.0001, "fixed": True}]},
    ],
    "training": {"prior": 0.01},
    "thresholds": {"match": 0.95, "review": 0.5},
}

#: five strangers whose only shared "phone" is blank, two 张伟 with one real phone, a 章伟 homophone
ROWS = [("a", "李娜", ""), ("b", "王芳", " "), ("c", "赵强", "\u3000"), ("d", "孙丽", "\t"), ("e", "周杰", ""),
        ("f", "张伟", "13912345678"), ("g", "張偉", "13912345678"), ("h", "章伟", None)]


def write_config(path: Path, **changes: Any) -> Path:
    path.write_text(yaml.safe_dump({**CONFIG, **changes}, allow_unicode=True), encoding="utf-8")
    return path


@pytest.fixture()
def files(tmp_path: Path) -> tuple[Path, Path, Path]:
    inp = tmp_path / "people.parquet"
    pq.write_table(pa.table({"rid": [r[0] for r in ROWS], "name": [r[1] for r in ROWS],
                             "phone": [r[2] for r in ROWS]}), inp)
    return write_config(tmp_path / "people.yaml"), inp, tmp_path / "out.parquet"


def test_blank_phones_are_no_key_and_the_summary_tells_what_happened(files: tuple[Path, Path, Path]) -> None:
    config, inp, out = files
    events: list[tuple[str, tuple[str, ...]]] = []
    report = link(config, [inp], out, listener=lambda kind, path, info: events.append((kind, path)))
    got = dict(duckdb.connect().execute(f"SELECT record_id, cluster_id FROM '{out}'").fetchall())
    assert got["f"] == got["g"]  # traditional spelling, same phone
    assert len({got[r] for r in "abcde"}) == 5  # '', ' ', '\u3000', '\t' tie nobody together
    assert report.rules["phone"].made == 1 and report.rules["phone"].estimated == 1
    assert report.rules["pinyin"].made == 3  # 张伟 / 張偉 / 章伟
    assert {lv["comparison"] for lv in report.levels} == {"name", "phone"}
    assert report.thresholds == {"match": 0.95, "review": 0.5} and report.clusters == 7
    assert list(report.steps) == ["read", "features", "deterministic", "blocking", "training", "scoring",
                                  "clustering", "write"]
    assert ("start", ("blocking", "rule phone")) in events and ("end", ("blocking", "rule phone")) in events
    assert events.index(("start", ("blocking",))) < events.index(("end", ("blocking", "rule pinyin")))


def test_rule_over_budget_is_refused_with_masked_largest_keys(files: tuple[Path, Path, Path]) -> None:
    config, inp, out = files
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(out),
                                   "--max-pairs-per-rule", "2"])
    assert res.exit_code == 2, res.output
    line = [ln for ln in res.output.splitlines() if ln.startswith("error:")]
    assert len(line) == 1 and "Traceback" not in res.output
    assert "blocking / rule pinyin" in line[0] and "about 3 record pairs" in line[0] and "budget of 2" in line[0]
    assert "zha*** 3 records (3 pairs)" in line[0]
    assert "zhangwei" not in line[0] and not out.exists()


def test_budget_from_the_config(files: tuple[Path, Path, Path], tmp_path: Path) -> None:
    _, inp, out = files
    with pytest.raises(Exception, match="rule 'pinyin'.*over the budget of 1"):
        link(write_config(tmp_path / "tight.yaml", max_pairs_per_rule=1), [inp], out)


@pytest.mark.parametrize(("feature", "where", "shown"), [
    ("name_norm(nme)", "features / feature tel", "nme"),  # a misspelt column: the feature is named
    ("CAST(name AS INTEGER)", "features", "***' to INT32"),  # a value that does not convert: masked
])
def test_failures_name_the_step(files: tuple[Path, Path, Path], tmp_path: Path, feature: str, where: str,
                                shown: str) -> None:
    _, inp, out = files
    config = write_config(tmp_path / "bad.yaml", features={**CONFIG["features"], "tel": feature})
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(out)])
    assert res.exit_code == 2, res.output
    assert f"failed in {where}:" in res.output and shown in res.output, res.output
    assert "李娜" not in res.output


def test_json_summary_on_stdout_progress_on_stderr(files: tuple[Path, Path, Path]) -> None:
    config, inp, out = files
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(out),
                                                   "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)
    assert summary["clusters"] == 7 and summary["rules"]["phone"] == {"estimated": 1, "made": 1, "kept": 0}  # pinyin found it first
    assert summary["levels"][0]["label"] == "exact" and "m" in summary["levels"][0]
    assert set(summary["steps"]) >= {"features", "blocking", "training", "scoring", "clustering"}
    assert "rule pinyin  (3 pairs, estimated 3)" in res.stderr


def test_estimate_counts_pairs_as_blocking_makes_them() -> None:
    """Same records on both sides: n(n-1)/2 per key; left a subset: left x others + pairs within left."""
    sql = Sql(connect())
    install_resolve_macros(sql)
    sql.run("CREATE TABLE rec AS SELECT i AS rid, i AS node, i < 3 AS anchored, "
            "['a', 'a', 'a', 'a', 'b', 'b', '', NULL][i + 1] AS k FROM range(8) t(i)")
    rule = BlockingRule(name="k", keys=["k"], scope="all")
    rows = sql.rows(rule_estimate_sql(rule, "rec", "TRUE", "TRUE"))
    assert rows[0][0] == 6 + 1 and [(r[1], r[2], r[3]) for r in rows] == [(["a"], 4, 6), (["b"], 2, 1)]
    rows = sql.rows(rule_estimate_sql(rule, "rec", "NOT anchored", "TRUE"))  # left: record 3 ('a'), 4, 5 ('b')
    assert rows[0][0] == 1 * 3 + 1
    small = BlockingRule(name="k", keys=["k"], scope="all", max_block=3)  # the 'a' block is dropped
    assert sql.rows(rule_estimate_sql(small, "rec", "TRUE", "TRUE"))[0][0] == 1


def test_sides_made_once_give_the_same_estimate_and_pairs() -> None:
    """The engine makes each rule's sides as tables once (side_tables_sql); the estimate and the
    pairs read from them equal those computed from the records directly."""
    sql = Sql(connect())
    install_resolve_macros(sql)
    sql.run("CREATE TABLE rec AS SELECT i AS rid, i // 2 AS node, i % 3 = 0 AS anchored, "
            "['a', 'a', 'a', 'a', 'b', 'b', '', NULL, ' ', 'c', 'c', 'b'][i % 12 + 1] AS k FROM range(40) t(i)")
    rules = [BlockingRule(name="k", keys=["k"], scope="all"), BlockingRule(name="k", keys=["k"], max_block=9),
             BlockingRule(name="x", left=["unnest([k, upper(k)])"], right=["upper(k)"])]
    for rule in rules:
        for left_where, right_where in (("TRUE", "TRUE"), ("NOT anchored", "TRUE"), ("NOT anchored", "anchored")):
            for stmt in side_tables_sql(rule, "rec", left_where, right_where, ("lt", "rt")):
                sql.run(stmt)
            for sides in (None, ("lt", "rt")):
                est = sql.rows(rule_estimate_sql(rule, "rec", left_where, right_where, top=100, sides=sides))
                pairs = sql.rows(f"SELECT * FROM ({rule_pairs_sql(rule, 0, 'rec', left_where, right_where, sides=sides)}) "
                                 "ORDER BY ALL")
                if sides is None:
                    want = (sorted(est), pairs)
                else:
                    assert (sorted(est), pairs) == want
            assert want[1], (rule, left_where)  # the case makes pairs
