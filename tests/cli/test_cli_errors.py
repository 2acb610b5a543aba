"""Bad input at the command line is one clear line naming what was wrong, never a traceback."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import yaml

from pipelines.registry import SOURCES_DIR

MASTERDATA = str(Path(sys.executable).with_name("masterdata"))


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([MASTERDATA, *args], capture_output=True, text=True, timeout=120)


def test_help_lists_the_commands() -> None:
    res = run("--help")
    assert res.returncode == 0
    for cmd in ("generate", "ingest", "registry", "demo"):
        assert cmd in res.stdout


def test_every_command_group_plugs_in_and_has_help() -> None:
    """The groups of the layers above pipelines arrive through the ``masterdata.commands`` entry
    points (pyproject.toml): each is installed, in the order of the entry names, and answers --help."""
    from importlib.metadata import entry_points

    assert sorted(ep.name for ep in entry_points(group="masterdata.commands")) == ["console", "quality", "serving"]
    # a command's row starts with its name; a wrapped help line starts with spaces
    listed = [line.split()[1] for line in run("--help").stdout.splitlines() if line.startswith("│ ") and line[2] != " "]
    groups = [g for g in listed if g in ("registry", "steward", "users", "quality", "keys", "audit", "evidence")]
    assert groups == ["registry", "steward", "users", "quality", "keys", "audit", "evidence"]
    for cmd in ("build", "link", "evaluate", "serve", "once-only", *groups):
        res = run(cmd, "--help")
        assert res.returncode == 0 and "Usage: masterdata " + cmd in " ".join(res.stdout.split()), (cmd, res.stderr)


def test_registry_check_names_the_bad_file_and_field(tmp_path: Path) -> None:
    raw = yaml.safe_load((SOURCES_DIR / "tax.yaml").read_text(encoding="utf-8"))
    raw["tables"][0]["fields"][1]["element"] = "entity.uscc_typo"
    (tmp_path / "tax.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    res = run("registry", "check", str(tmp_path))
    assert res.returncode == 2
    err = " ".join(res.stderr.split())
    assert "tax.yaml: tables[0].fields[1].element: unknown element 'entity.uscc_typo'" in err
    assert "Traceback" not in res.stderr


def test_registry_check_passes_on_the_real_registry() -> None:
    res = run("registry", "check")
    assert res.returncode == 0, res.stderr
    assert "32 sources valid" in res.stdout


def test_bad_generate_arguments(tmp_path: Path) -> None:
    res = run("generate", "--persons", "0", "--out", str(tmp_path / "c"))
    assert res.returncode == 2 and "Traceback" not in res.stderr
    assert "persons" in res.stderr
    res = run("generate", "--target", "cloud", "--out", str(tmp_path / "c"))
    assert res.returncode == 2 and "--target must be 'embedded' or 'servers'" in " ".join(res.stderr.split())


def test_ingest_unknown_source() -> None:
    res = run("ingest", "--source", "ministry_of_magic")
    assert res.returncode == 2 and "unknown source(s) ministry_of_magic" in " ".join(res.stderr.split())
