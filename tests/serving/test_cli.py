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
    row = json.loads(listed.splitlines()[0])
    assert row["department"] == "market_regulation" and row["revoked_at"] is None
    assert key not in listed and key.split("_", 2)[2] not in listed  # never the secret
    stored = (bare_home / "warehouse" / "serving.sqlite").read_bytes()
    assert key.split("_", 2)[2].encode() not in stored  # stored hashed
    run_cli("keys", "revoke", row["key_id"], env=env)
    assert json.loads(run_cli("keys", "list", "--json", env=env).stdout.splitlines()[0])["revoked_at"]
    out = masterdata("serve", "--port", "1", env=env)  # the only key is revoked: still no credentials
    assert out.returncode == 2 and "no API keys" in out.stderr


def test_once_only_figures(city: Path, tmp_path: Path) -> None:
    out_json = tmp_path / "once.json"
    out = run_cli("once-only", "--applications", "1000", "--seed", "3", "--json", str(out_json), env=base_env(city))
    assert "required materials not uploaded" in out.stdout and "form fields pre-filled" in out.stdout
    fig = json.loads(out_json.read_text(encoding="utf-8"))
    t = fig["total"]
    assert t["applications"] == 1000
    assert 0 < t["held"] < t["licence_backed"] <= t["materials"]
    assert 0 < t["prefilled"] <= t["fields"]
    assert 0 < t["materials_not_uploaded"] < 1 and 0 < t["fields_prefilled"] <= 1
    assert set(fig["by_power_class"]) == {"行政审批", "行政确认", "行政备案", "行政给付", "审核转报", "公共服务"}
