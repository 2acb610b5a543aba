"""Master configurations load, and a bad one fails with one line naming the file and the field."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipelines.masters.config import MASTERS, master_config
from pipelines.resolve.config import ConfigError, load_config

BASE = {
    "master": "people",
    "id_column": "pid",
    "features": {"nm": "name", "dob": "birth"},
    "deterministic": {"keys": [{"name": "pid", "feature": "nm"}]},
    "blocking": [{"name": "nm", "keys": ["nm"]}],
    "comparisons": [{"name": "dob", "null_when": "l.dob IS NULL OR r.dob IS NULL",
                     "levels": [{"label": "exact", "when": "l.dob = r.dob"}]}],
}


def test_the_three_masters_load() -> None:
    for m in MASTERS:
        cfg = master_config(m)
        assert cfg.master == m and cfg.features
    assert master_config("person").probabilistic and not master_config("licence").probabilistic
    assert master_config("person").distinct == ["id_key"]


@pytest.mark.parametrize(("change", "where", "message"), [
    ({"blocking": [{"name": "x", "keys": ["nope"]}]}, "blocking[0].keys[0]", "unknown feature 'nope'"),
    ({"features": {"nm": "name ++ ("}}, "features.nm", "not valid DuckDB SQL"),
    ({"thresholds": {"match": 0.8, "review": 0.9}}, "thresholds", "must not exceed match"),
    ({"attributes": {"name": {"rules": ["source_priority"]}}}, "attributes.name", "needs 'sources'"),
    ({"comparisons": [{"name": "c", "null_when": "dob IS NULL", "levels": [{"label": "e", "when": "TRUE"}]}]},
     "comparisons[0].null_when", "refer to features as l.<name>"),
    ({"surprise": 1}, "surprise", "Extra inputs are not permitted"),
    ({"blocking": [{"name": "x"}]}, "blocking[0]", "needs 'keys'"),
])
def test_bad_config_is_one_line(tmp_path: Path, change: dict, where: str, message: str) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(yaml.safe_dump({**BASE, **change}, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and where in text and message in text, text


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "broken.yaml"
    path.write_text("master: x\nfeatures: {a: [\n", encoding="utf-8")
    with pytest.raises(ConfigError, match=r"broken.yaml: line \d+"):
        load_config(path)


def test_fingerprint_ignores_survivorship() -> None:
    cfg = master_config("person")
    other = cfg.model_copy(update={"attributes": {}})
    assert cfg.fingerprint() == other.fingerprint()
    changed = cfg.model_copy(update={"thresholds": cfg.thresholds.model_copy(update={"match": 0.95})})
    assert cfg.fingerprint() != changed.fingerprint()
