"""Master configurations load, and a bad one fails with one line naming the file and the field."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines.masters.config import MASTERS, MASTERS_DIR, master_config
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


#: An edit of a parsed configuration (in place).
Edit = Callable[[dict[str, Any]], object]


def _master_copies(directory: Path, name: str, edit: Edit) -> Path:
    """The three master configurations copied to ``directory``, ``name``'s edited."""
    directory.mkdir(parents=True, exist_ok=True)
    for m in MASTERS:
        raw = yaml.safe_load((MASTERS_DIR / f"{m}.yaml").read_text(encoding="utf-8"))
        if m == name:
            edit(raw)
        (directory / f"{m}.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return directory / f"{name}.yaml"


def test_the_masters_declare_their_build_steps() -> None:
    assert master_config("person").hooks.prepare == [] and master_config("person").hooks.enrich == []
    assert master_config("entity").hooks.enrich == ["legal_reps"]
    lic = master_config("licence")
    assert lic.hooks.prepare == ["holder_links"]
    assert {t: (h.master, h.key) for t, h in lic.holders.items()} == {
        "111": ("person", "id_number"), "001": ("entity", "uscc"), "002": ("entity", "org_code"),
        "003": ("entity", "reg_no")}


@pytest.mark.parametrize(("name", "edit", "where", "message"), [
    ("entity", lambda r: r["hooks"].update(enrich=["legal_reps", "legal_repz"]), "hooks.enrich[1]",
     "unknown hook 'legal_repz'; known: legal_reps, licence_identifiers, licence_status"),
    ("licence", lambda r: r["hooks"].update(prepare=["holders"]), "hooks.prepare[0]", "unknown hook 'holders'"),
    ("licence", lambda r: r.update(holders={}), "holders", "holder_links hook needs at least one holder type"),
    ("licence", lambda r: r["holders"]["001"].update(key="tax_no"), "holders.001.key",
     "'tax_no' is not a deterministic key of entity (uscc, org_code, reg_no)"),
    ("licence", lambda r: r["holders"]["111"].update(master="licence"), "holders.111.master",
     "'licence' is not a master built before licence (person, entity)"),
    ("licence", lambda r: r["holders"]["111"].update(alphabet="latin"), "holders.111.alphabet",
     "Input should be 'resident_id' or 'uscc'"),
    ("person", lambda r: r.update(hooks={"finish": ["x"]}), "hooks.finish", "Extra inputs are not permitted"),
])
def test_bad_build_steps_are_one_line(tmp_path: Path, name: str, edit: Edit, where: str, message: str) -> None:
    path = _master_copies(tmp_path, name, edit)
    with pytest.raises(ConfigError) as err:
        master_config(name, tmp_path)
    text = str(err.value)
    assert "\n" not in text and str(path) in text and where in text and message in text, text


def test_a_link_job_has_no_build_steps(tmp_path: Path) -> None:
    path = tmp_path / "link.yaml"
    path.write_text(yaml.safe_dump({**BASE, "hooks": {"enrich": ["legal_reps"]}}), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"link.yaml: hooks: Extra inputs are not permitted"):
        load_config(path)
