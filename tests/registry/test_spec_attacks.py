"""Specs that try to reach outside: every attack is refused by `masterdata registry check` with one
line naming the file and the field (never a traceback), and DuckDB stays confined to the lake while
ingest standardises even if a spec object bypassed the registry."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest
import yaml

from core.db import confine, connect
from pipelines.registry import SOURCES_DIR, RegistryError, load_spec
from pipelines.registry_check import check_registry

ROOT = Path(__file__).resolve().parents[2]


def _spec(name: str) -> dict[str, Any]:
    return yaml.safe_load((SOURCES_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


def _derived(raw: dict[str, Any], expr: str) -> None:
    raw["tables"][0]["derived"][1]["expr"] = expr  # traffic_police: licence.holder_id


#: (label, source spec, mutation, expected text after "<file>: ")
ATTACKS: list[tuple[str, str, Callable[[dict[str, Any]], object], str]] = [
    ("subquery reading a file", "traffic_police",
     lambda r: _derived(r, "(SELECT COLUMNS('content') FROM read_text('/etc/passwd'))"),
     "tables[0].derived[1].expr: uses a subquery"),
    ("table function as a value", "traffic_police", lambda r: _derived(r, "read_text('/etc/passwd')"),
     "uses function read_text()"),
    ("read_csv", "traffic_police", lambda r: _derived(r, "read_csv('/etc/passwd')"), "uses function read_csv()"),
    ("server file function", "traffic_police", lambda r: _derived(r, "LOAD_FILE('/etc/passwd')"), "uses function LOAD_FILE()"),
    ("environment", "traffic_police", lambda r: _derived(r, "getenv('HOME')"), "uses function getenv()"),
    ("settings", "traffic_police", lambda r: _derived(r, "current_setting('home_directory')"), "uses function current_setting()"),
    ("second statement", "traffic_police", lambda r: _derived(r, "sfzmhm; DROP TABLE x"), "2 statements"),
    ("quote-breaking injection", "traffic_police", lambda r: _derived(r, "sfzmhm'); DROP TABLE audit; --"),
     "tables[0].derived[1].expr: not valid mysql SQL"),
    ("credit code injection", "market_regulation",
     lambda r: r["tables"][0]["derived"][0].update(expr="credit_code'); DROP TABLE x; --"), "expr: not valid postgres SQL"),
    ("IN subquery", "traffic_police", lambda r: _derived(r, "CASE WHEN sfzmhm IN (SELECT 1) THEN sfzmhm END"),
     "uses a subquery"),
    ("qualified column", "traffic_police", lambda r: _derived(r, "information_schema.tables"), "only the row's own columns"),
    ("unknown column", "traffic_police", lambda r: _derived(r, "UPPER(password)"), "refers to 'password'"),
    ("lambda", "traffic_police", lambda r: _derived(r, "list_transform([1], x -> x)"), "not allowed in a spec expression"),
    ("table name leaving the lake", "traffic_police", lambda r: r["tables"][0].update(name="../../etc/cron"),
     "tables[0].name: '../../etc/cron' is not a plain table name"),
    ("table name with quotes", "traffic_police", lambda r: r["tables"][0].update(name='x"; DROP TABLE y; --'),
     "is not a plain table name"),
    ("absolute file pattern", "disabled_federation", lambda r: r["tables"][0].update(path="/etc/*"),
     "must be a relative file pattern inside the landing folder"),
    ("file pattern with ..", "disabled_federation", lambda r: r["tables"][0].update(path="../../../etc/passwd"),
     "must be a relative file pattern inside the landing folder"),
    ("recursive file pattern", "disabled_federation", lambda r: r["tables"][0].update(path="**/*.csv"),
     "must be a relative file pattern"),
    ("database path", "justice", lambda r: r["connection"].update(database="../../../etc/shadow"),
     "is not a plain database name"),
    ("column name breaking a JSON path", "grassroots_service",
     lambda r: r["tables"][0]["fields"][1].update(column="xm') || read_text('/etc/passwd"), "is not a column name"),
    ("column name clashing with lineage", "traffic_police", lambda r: r["tables"][0]["fields"][1].update(column="_source"),
     "is not a column name"),
    ("source name", "traffic_police", lambda r: r.update(source="../x"), "source: String should match pattern"),
    ("DuckDB cannot run it", "traffic_police", lambda r: _derived(r, "sfzmhm + 1"),
     "tables[0].derived[1].expr: DuckDB cannot run the SQL for licence.holder_id"),
    ("bad date format", "traffic_police", lambda r: r["tables"][0]["fields"][4].update(format="%Q-%m"),
     "tables[0].fields[4]: DuckDB cannot run the SQL for person.birth_date"),
    ("timeout on a file source", "disabled_federation", lambda r: r["connection"].update(read_timeout_s=3),
     "connection.read_timeout_s: does not apply to a csv source"),
]


Mutation = Callable[[dict[str, Any]], object]


def _write(tmp: Path, source: str, mutate: Mutation) -> Path:
    raw = _spec(source)
    mutate(raw)
    folder = tmp / "specs"
    folder.mkdir(exist_ok=True)
    p = folder / f"{source}.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return p


@pytest.mark.parametrize("label,source,mutate,expected", ATTACKS, ids=[a[0] for a in ATTACKS])
def test_every_spec_attack_is_refused_with_one_line(tmp_path: Path, label: str, source: str, mutate: Mutation,
                                                    expected: str) -> None:
    p = _write(tmp_path, source, mutate)
    specs, errors = check_registry(p.parent)
    assert specs == {}, label
    [line] = errors
    assert line.startswith(f"{p}: ") and "\n" not in line, line
    assert expected in line, line


def test_registry_check_command_names_every_bad_spec_and_exits_2(tmp_path: Path) -> None:
    for source, mutate in [("traffic_police", ATTACKS[0][2]), ("market_regulation", ATTACKS[8][2]),
                           ("disabled_federation", ATTACKS[16][2])]:
        _write(tmp_path, source, mutate)
    _write(tmp_path, "tax", lambda r: None)  # a good one among them
    res = subprocess.run([sys.executable, "-m", "pipelines.cli", "registry", "check", str(tmp_path / "specs")],
                         capture_output=True, text=True, timeout=300, cwd=ROOT, env={**os.environ})
    out = res.stdout + res.stderr
    assert res.returncode == 2, out
    assert "Traceback" not in out
    assert out.count("error:") == 4  # three specs, and the summary
    assert "tax " in res.stdout and "3 spec(s) invalid, 1 valid" in out


def test_the_real_registry_passes_the_check() -> None:
    specs, errors = check_registry(SOURCES_DIR)
    assert errors == [] and len(specs) == 32


def test_a_spec_that_bypassed_the_registry_cannot_reach_outside(tmp_path: Path) -> None:
    """Defence in depth: a spec object built in code (never loaded from YAML) with a file-reading
    expression is refused when its SQL is generated, and DuckDB is confined to the lake anyway."""
    from pipelines.registry import registry
    from pipelines.specsql import ExpressionRefused
    from pipelines.standardise import table_elements

    spec = registry()["disabled_federation"]
    t = spec.tables[0]
    evil = [d.model_copy(update={"expr": "(SELECT content FROM read_text('/etc/passwd'))"}) if i == 0 else d
            for i, d in enumerate(t.derived)]
    with pytest.raises(ExpressionRefused, match="subquery"):
        table_elements(spec, t.model_copy(update={"derived": evil}))

    con = connect()
    lake = tmp_path / "lake"
    confine(con, lake)
    with pytest.raises(duckdb.PermissionException):
        con.execute("SELECT * FROM read_text('/etc/passwd')").fetchall()
    with pytest.raises(duckdb.PermissionException):
        con.execute(f"COPY (SELECT 1) TO '{tmp_path / 'outside.parquet'}'").fetchall()
    lake.mkdir()
    con.execute(f"COPY (SELECT 1 AS a) TO '{lake / 'inside.parquet'}'")
    assert con.execute(f"SELECT a FROM '{lake / 'inside.parquet'}'").fetchall() == [(1,)]
    with pytest.raises(RegistryError.__mro__[2]):  # ConfigurationError: confined elsewhere
        confine(con, tmp_path / "another_lake")
    con.close()


def test_load_spec_refuses_before_anything_runs(tmp_path: Path) -> None:
    p = _write(tmp_path, "traffic_police", ATTACKS[0][2])
    with pytest.raises(RegistryError, match=r"derived\[1\]\.expr: uses a subquery"):
        load_spec(p)
