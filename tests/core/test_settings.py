"""The settings object: one reader of every MASTERDATA_* variable, in step with the README."""

from __future__ import annotations

import re
from datetime import date
from pathlib import Path

import pytest

from core.errors import ConfigurationError
from core.settings import ENV_VARS, settings

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_variable_is_in_the_readme_table() -> None:
    documented = set(re.findall(r"`(MASTERDATA_[A-Z_]+)`", README.read_text(encoding="utf-8")))
    missing = sorted(set(ENV_VARS.values()) - documented)
    assert not missing, f"README's configuration table lacks {missing}"


def test_defaults_follow_home(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MASTERDATA_HOME", str(tmp_path))
    s = settings()
    assert s.lake == tmp_path / "lake"
    assert s.gold == tmp_path / "warehouse" / "gold.duckdb"
    assert s.sources == tmp_path / "city" / "sources"
    assert s.truth == tmp_path / "city" / "truth"
    assert s.serving_index == tmp_path / "warehouse" / "serving_index"
    assert s.steward is None and s.db_mode == "embedded"


def test_overrides_and_change_is_seen(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("MASTERDATA_GOLD", str(tmp_path / "g.duckdb"))
    monkeypatch.setenv("MASTERDATA_AS_OF", "2024-02-29")
    assert settings().gold == tmp_path / "g.duckdb"
    assert settings().today() == date(2024, 2, 29)
    monkeypatch.setenv("MASTERDATA_GOLD", str(tmp_path / "h.duckdb"))
    assert settings().gold == tmp_path / "h.duckdb"


@pytest.mark.parametrize(("var", "value", "said"), [
    ("MASTERDATA_DB_MODE", "cloud", "MASTERDATA_DB_MODE='cloud'"),
    ("MASTERDATA_AS_OF", "2024-13-01", "MASTERDATA_AS_OF='2024-13-01'"),
    ("MASTERDATA_SERVE_WORKERS", "two", "MASTERDATA_SERVE_WORKERS='two'"),
])
def test_bad_values_are_one_line_errors(monkeypatch: pytest.MonkeyPatch, var: str, value: str, said: str) -> None:
    monkeypatch.setenv(var, value)
    with pytest.raises(ConfigurationError) as err:
        settings()
    assert said in err.value.one_line() and "\n" not in err.value.one_line()
