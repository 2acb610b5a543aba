"""``masterdata quality``: run, report, suite, history; GX failures name source, element and rows;
bad input is one line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from pipelines.cli import app
from pipelines.lake import Lake
from quality.gxrun import validate_batches
from tests.quality.lakes import defective_person_rows, write_public_security


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("home")
    write_public_security(root / "lake")
    return root


def _invoke(home: Path, *args: str) -> Result:
    env = {"MASTERDATA_HOME": str(home), "MASTERDATA_LAKE": str(home / "lake"), "MASTERDATA_GOLD": "",
           "MASTERDATA_QUALITY_STORE": ""}
    return CliRunner().invoke(app, list(args), env=env)


def test_run_prints_scorecards_and_failures(home: Path) -> None:
    res = _invoke(home, "quality", "run", "--as-of", "2026-11-20T08:00")
    assert res.exit_code == 0, res.output
    out = res.output
    assert "public_security" in out and "93.00%" in out and "97.00%" in out
    assert "public_security.hjxx_czrk person.id_number validity (resident_id): 7 of 100" in out
    assert "recorded run" in out
    assert (home / "warehouse" / "quality" / "runs").is_dir()


def test_run_json(home: Path) -> None:
    res = _invoke(home, "quality", "run", "--json", "--as-of", "2026-11-20")
    assert res.exit_code == 0, res.output
    body = json.loads(res.stdout)
    src = next(s for s in body["scores"] if s["level"] == "source")
    assert src["validity"] == pytest.approx(0.93) and body["failures"]


def test_history_lists_runs(home: Path) -> None:
    _invoke(home, "quality", "run", "--as-of", "2026-11-20")
    res = _invoke(home, "quality", "history", "--level", "source")
    assert res.exit_code == 0, res.output
    assert res.stdout.count("public_security=") >= 1


def test_suite_command_shows_the_derived_checks() -> None:
    res = CliRunner().invoke(app, ["quality", "suite", "--source", "statistics"])
    assert res.exit_code == 0, res.output
    assert "statistics.jbdw_ml.entity" in res.stdout and "uscc_embeds_org_code" in res.stdout
    res = CliRunner().invoke(app, ["quality", "suite", "--source", "tax", "--json"])
    suites = json.loads(res.stdout)
    assert suites[0]["checks"][0]["gx_type"].startswith("expect_")


@pytest.mark.parametrize("args, message", [
    (["quality", "run", "--as-of", "yesterday"], "--as-of 'yesterday' is not an ISO date"),
    (["quality", "run", "--source", "nosuch"], "unknown source(s) nosuch"),
    (["quality", "run", "--lake", "/no/such/lake"], "--lake /no/such/lake: no such folder"),
    (["quality", "suite", "--master", "nobody"], "unknown master 'nobody'"),
    (["quality", "report", "--out", "/dev/null"], "exists and is not a folder"),
    (["quality", "report", "--out", "x", "--sample", "0"], "--sample must be at least 1"),
    (["quality", "history", "--level", "galaxy"], "--level must be"),
])
def test_bad_input_is_one_line(home: Path, args: list[str], message: str) -> None:
    res = _invoke(home, *args)
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    assert len([ln for ln in res.output.splitlines() if ln.strip()]) == 1


def test_empty_lake_and_empty_store_are_one_line(tmp_path: Path) -> None:
    env = {"MASTERDATA_HOME": str(tmp_path), "MASTERDATA_LAKE": str(tmp_path / "lake"), "MASTERDATA_GOLD": ""}
    res = CliRunner().invoke(app, ["quality", "run"], env=env)
    assert res.exit_code == 2 and "no committed batches" in res.output and "Traceback" not in res.output
    res = CliRunner().invoke(app, ["quality", "history"], env=env)
    assert res.exit_code == 2 and "no quality run recorded" in res.output


def test_gx_failures_name_source_element_and_rows(home: Path, tmp_path: Path) -> None:
    outcome = validate_batches(tmp_path / "report", Lake(home / "lake"), gold_path=tmp_path / "none")
    assert outcome.docs_index is not None and outcome.docs_index.exists()
    (suite,) = outcome.results
    assert suite.rows == 100 and not suite.success
    bad = {r["_record_key"]: r["id_number_raw"] for r in defective_person_rows()[:7]}
    (f,) = [f for f in suite.failures if f.check_id == "person.id_number:validity"]
    assert (f.source, f.table, f.element, f.unexpected) == ("public_security", "hjxx_czrk", "person.id_number", 7)
    from core.errors import mask

    # (an ID number is personal data: the sample shows it masked, as the report and the CLI do)
    assert f.samples and all(s["record_key"] in bad and s["value"] == mask(bad[s["record_key"]])
                             and s["reason"] == "BAD_CHECK" for s in f.samples)
    assert f.line().startswith("public_security.hjxx_czrk person.id_number validity")
    failed = {f.check_id: f.unexpected for f in suite.failures}
    assert failed == {"person.id_number:validity": 7, "person.name:completeness": 3,
                      "person.id_number:uniqueness": 2,
                      "person.sex:consistency:resident_id_embeds_gb2261_sex": 5,
                      "person.birth_date:consistency:resident_id_embeds_birth_date": 2}
    # the Data Docs hold the validation, with the failing record keys
    pages = [p.read_text(encoding="utf-8") for p in outcome.docs_index.parent.rglob("validations/**/*.html")]
    assert pages and any(next(iter(bad)) in p for p in pages)
    # published at a short path, every asset local (nothing from a CDN or S3), no tutorial buttons
    assert outcome.docs_index == tmp_path / "report" / "data-docs" / "index.html"
    import re

    site = outcome.docs_index.parent
    for page in [outcome.docs_index.read_text(encoding="utf-8"), *pages]:
        assert not re.findall(r"(?:src|href)=\"https?://", page), re.findall(r"(?:src|href)=\"(https?://[^\"]+)", page)
        assert "tutorials" not in page and "newsletter" not in page
    for ref in re.findall(r'(?:src|href)="([^"#?]+\.(?:js|css))"', outcome.docs_index.read_text(encoding="utf-8")):
        assert (site / ref).exists(), ref
    assert not [n for n in outcome.notes if "external" in n]
