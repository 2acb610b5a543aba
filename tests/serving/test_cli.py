"""The serving commands: keys, no default credentials, once-only."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.serving.conftest import REPO, base_env, run_cli


def masterdata(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipelines.cli", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=300)


@pytest.fixture()
def bare_home(city: Path, tmp_path: Path) -> Path:
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(city / "warehouse" / "gold.duckdb", home / "warehouse" / "gold.duckdb")
    return home


def test_serve_refuses_without_keys_and_keys_lifecycle(bare_home: Path) -> None:
    env = base_env(bare_home)
    out = masterdata("serve", "--port", "1", env=env)
    assert out.returncode == 2 and "no API keys" in out.stderr and "no default credentials" in out.stderr
    out = masterdata("keys", "create", "--name", "scjg", "--kind", "department", "--department", "nowhere", env=env)
    assert out.returncode == 2 and "not a department key" in out.stderr
    out = run_cli("keys", "create", "--name", "scjg", "--kind", "department", "--department", "market_regulation",
                  env=env)
    key = out.stdout.strip()
    assert key.startswith("mdk_") and len(key) > 40 and key not in out.stderr
    listed = run_cli("keys", "list", "--json", env=env).stdout
    row = json.loads(listed)[0]
    assert row["department"] == "market_regulation" and row["revoked_at"] is None
    assert key not in listed and key.split("_", 2)[2] not in listed  # never the secret
    stored = (bare_home / "warehouse" / "serving.sqlite").read_bytes()
    assert key.split("_", 2)[2].encode() not in stored  # stored hashed
    run_cli("keys", "revoke", row["key_id"], env=env)
    assert json.loads(run_cli("keys", "list", "--json", env=env).stdout)[0]["revoked_at"]
    out = masterdata("serve", "--port", "1", env=env)  # the only key is revoked: still no credentials
    assert out.returncode == 2 and "no API keys" in out.stderr


def test_once_only_figures(city: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "once.json"
    env = base_env(city)
    out = run_cli("once-only", "--applications", "1000", "--seed", "3", "--out", str(out_json), env=env)
    assert "required materials not uploaded" in out.stdout and "ceiling" in out.stdout
    assert "still to upload, by reason" in out.stdout and "by hall" in out.stdout
    fig = json.loads(out_json.read_text(encoding="utf-8"))
    t = fig["total"]
    assert t["applications"] == fig["applications"] == 1000
    assert t["not_uploaded"] == t["held"] + t["evidence"] + t["form"]
    assert sum(t["to_upload_by_reason"].values()) == t["materials"] - t["not_uploaded"]
    assert t["government"] <= t["materials"] and t["held"] + t["evidence"] <= t["government"]
    assert 0 < t["not_uploaded"] < t["materials"]
    assert 0 < t["ceiling_government"] <= t["ceiling_with_forms"] <= 1 and 0 < t["fields_prefilled"] <= 1
    # every government-held material a department holds for the subject was served
    assert fig["served_check"]["government_held_for_subject"] > 0 and fig["served_check"]["not_served"] == 0
    # the day's stated share withdraws at consent: their held and attested materials are to upload
    from warehouse.api.day import DECLINE_RATE

    assert fig["decline"] == DECLINE_RATE and 0 < fig["withdrawn"] < 0.06 * 1000
    assert 0 < t["to_upload_by_reason"]["no_consent"]
    for dim in ("hall", "department", "power_class", "applicant", "action"):
        tallies = fig[f"by_{dim}"]
        assert sum(v["applications"] for v in tallies.values()) == 1000, dim
        assert sum(v["materials"] for v in tallies.values()) == t["materials"], dim
    assert set(fig["by_hall"]) <= {"city", "qiaocheng", "guoyang", "mengcheng", "lixin", "devzone"}
    assert set(fig["by_applicant"]) == {"person", "entity"}
    # reproducible by seed; kept beside the serving store for the analysts' report
    again = tmp_path / "again.json"
    run_cli("once-only", "--applications", "1000", "--seed", "3", "--out", str(again), env=env)
    assert json.loads(again.read_text(encoding="utf-8"))["total"] == t
    assert json.loads((city / "warehouse" / "once-only.json").read_text(encoding="utf-8"))["seed"] == 3
    # the analysts' report shows the latest run
    from quality.once_only import load, section
    from quality.report import _table

    html = section(load(city / "warehouse" / "once-only.json"), _table)
    assert f"({t['not_uploaded']:,} of {t['materials']:,})" in html and "Still to upload, by reason" in html
    assert "By hall" in html and "By department" in html and "By power type" in html and "By applicant kind" in html
    assert f"{fig['withdrawn']:,} applicants withdrew at consent" in html
    assert "No once-only run yet" in section(load(tmp_path / "absent.json"), _table)
    # nobody withdraws: the same applicants, nothing to upload for want of consent, the same served check
    run_cli("once-only", "--applications", "1000", "--seed", "3", "--decline", "0", "--out", str(again), env=env)
    none = json.loads(again.read_text(encoding="utf-8"))
    assert none["withdrawn"] == 0 and "no_consent" not in none["total"]["to_upload_by_reason"]
    assert none["total"]["not_uploaded"] == t["not_uploaded"] + t["to_upload_by_reason"]["no_consent"]
    assert none["served_check"] == fig["served_check"]
    bad = masterdata("once-only", "--decline", "1.5", env=env)
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1 and "--decline" in bad.stderr
