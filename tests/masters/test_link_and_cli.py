"""``masterdata link`` on small tables, and the one-line errors of the master commands."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import yaml
from typer.testing import CliRunner

from pipelines.cli import app

CONFIG = {
    "master": "customers",
    "id_column": "cid",
    "features": {
        "nm": "name_norm(name)",
        "nm_py": "pinyin_key(name_norm(name))",
        "dob": "TRY_CAST(dob AS DATE)",
        "tel": "regexp_replace(tel, '[^0-9]', '', 'g')",
        "city": "city",
    },
    "blocking": [
        {"name": "pinyin_dob", "keys": ["nm_py", "dob"], "scope": "all"},
        {"name": "tel", "keys": ["tel"], "scope": "all"},
    ],
    "comparisons": [
        {"name": "name", "null_when": "l.nm IS NULL OR r.nm IS NULL", "levels": [
            {"label": "exact", "when": "l.nm = r.nm", "m": 0.9, "u": 0.001, "fixed": True},
            {"label": "pinyin", "when": "l.nm_py = r.nm_py", "m": 0.08, "u": 0.0005, "fixed": True}]},
        {"name": "dob", "null_when": "l.dob IS NULL OR r.dob IS NULL", "levels": [
            {"label": "exact", "when": "l.dob = r.dob", "m": 0.95, "u": 0.0002, "fixed": True}]},
        {"name": "tel", "null_when": "l.tel IS NULL OR r.tel IS NULL", "levels": [
            {"label": "exact", "when": "l.tel = r.tel", "m": 0.8, "u": 0.0001, "fixed": True}]},
        {"name": "city", "null_when": "l.city IS NULL OR r.city IS NULL", "levels": [
            {"label": "exact", "when": "l.city = r.city", "m": 0.9, "u": 0.2, "fixed": True}]},
    ],
    "training": {"prior": 0.001},
    "thresholds": {"match": 0.95, "review": 0.5},
}

ROWS = [
    ("c1", "张伟", "1980-01-01", "139-1234-5678", "亳州"),
    ("c2", "章伟", "1980-01-01", None, "亳州"),  # homophone
    ("c3", "張偉", None, "13912345678", "亳州"),  # traditional, same phone
    ("c4", "李娜", "1990-02-02", "13500000001", "合肥"),
    ("c5", "李娜", "1991-03-03", "13500000002", "阜阳"),  # same name, different person
]


def write(path: Path, rows: list[tuple]) -> Path:
    pq.write_table(pa.table({"cid": [r[0] for r in rows], "name": [r[1] for r in rows], "dob": [r[2] for r in rows],
                             "tel": [r[3] for r in rows], "city": [r[4] for r in rows]}), path)
    return path


@pytest.fixture()
def config(tmp_path: Path) -> Path:
    p = tmp_path / "customers.yaml"
    p.write_text(yaml.safe_dump(CONFIG, allow_unicode=True), encoding="utf-8")
    return p


def test_link_deduplicates_one_table(tmp_path: Path, config: Path) -> None:
    inp = write(tmp_path / "in.parquet", ROWS)
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(inp), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = dict(duckdb.execute(f"SELECT record_id, cluster_id FROM '{out}'").fetchall())
    assert list(duckdb.execute(f"DESCRIBE SELECT * FROM '{out}'").fetchall())[0][0] == "record_id"
    assert got["c1"] == got["c2"] == got["c3"]
    assert len({got["c1"], got["c4"], got["c5"]}) == 3


def test_link_two_tables_compares_across_only(tmp_path: Path, config: Path) -> None:
    a = write(tmp_path / "a.parquet", ROWS[:1] + ROWS[3:4])
    b = write(tmp_path / "b.parquet", [("x1", "张伟", "1980-01-01", None, "亳州"), ("x2", "王芳", None, None, None)])
    out = tmp_path / "out.parquet"
    res = CliRunner().invoke(app, ["link", "--config", str(config), str(a), str(b), "--out", str(out)])
    assert res.exit_code == 0, res.output
    got = dict(duckdb.execute(f"SELECT record_id, cluster_id FROM '{out}'").fetchall())
    assert got["c1"] == got["x1"] and got["x2"] not in (got["c1"], got["c4"])


@pytest.mark.parametrize(("args", "message"), [
    (["link", "--config", "{cfg}", "{missing}", "--out", "{out}"], "no such file"),
    (["link", "--config", "{badcfg}", "{inp}", "--out", "{out}"], "unknown feature"),
    (["link", "--config", "{cfg}", "{noid}", "--out", "{out}"], "no column 'cid'"),
    (["build", "--master", "people"], "unknown master"),
    (["build", "--as-of", "yesterday"], "--as-of must be a date"),
    (["evaluate", "--truth", "{missing}"], "error"),
])
def test_errors_are_one_line(tmp_path: Path, config: Path, monkeypatch: pytest.MonkeyPatch, args: list[str],
                             message: str) -> None:
    monkeypatch.setenv("MASTERDATA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("MASTERDATA_LAKE", str(tmp_path / "lake"))
    monkeypatch.delenv("MASTERDATA_GOLD", raising=False)
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({**CONFIG, "blocking": [{"name": "x", "keys": ["zz"]}]}), encoding="utf-8")
    noid = tmp_path / "noid.parquet"
    pq.write_table(pa.table({"other": ["1"]}), noid)
    inp = write(tmp_path / "in.parquet", ROWS)
    fill = {"cfg": str(config), "badcfg": str(bad), "missing": str(tmp_path / "nope"), "out": str(tmp_path / "o.parquet"),
            "noid": str(noid), "inp": str(inp)}
    res = CliRunner().invoke(app, [a.format(**fill) for a in args])
    assert res.exit_code == 2, res.output
    assert message in res.output and "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1, res.output


def test_steward_commands(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from pipelines.lake import Lake
    from pipelines.masters.build import build
    from tests.masters.test_build_tiny import AS_OF, day1
    from tests.masters.tiny_lake import fixed_configs

    lake = Lake(tmp_path / "lake")
    day1(lake)
    gold = tmp_path / "gold" / "gold.duckdb"
    build(lake=lake, gold=gold, config_dir=fixed_configs(tmp_path / "cfg"), as_of=AS_OF)
    monkeypatch.setenv("MASTERDATA_GOLD", str(gold))
    monkeypatch.delenv("MASTERDATA_STEWARD", raising=False)
    runner = CliRunner()
    res = runner.invoke(app, ["steward", "queue", "--master", "person"])
    assert res.exit_code == 0 and "ambiguous" in res.output, res.output
    a, b = duckdb.connect(str(gold), read_only=True).execute(
        "SELECT record_id, candidate_master_id FROM review_queue WHERE master = 'person' LIMIT 1").fetchone()  # type: ignore[misc]
    res = runner.invoke(app, ["steward", "no-match", a, b])
    assert res.exit_code == 0 and "recorded" in res.output, res.output
    res = runner.invoke(app, ["steward", "match", "P9999999999", a])
    assert res.exit_code == 2 and "no current person master" in res.output
    res = runner.invoke(app, ["steward", "split", "P0000000001", "nope:x:1"])
    assert res.exit_code == 2 and "is not a record of" in res.output
    assert (gold.parent / "steward_decisions.jsonl").read_text(encoding="utf-8").count("\n") == 1
