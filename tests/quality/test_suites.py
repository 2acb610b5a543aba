"""Suites are derived from the element dictionary and the source specs, not written by hand."""

from __future__ import annotations

import datetime as dt
import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import yaml

from pipelines import standardise
from pipelines.lake import Lake
from pipelines.registry import registry
from quality import rules
from quality.run import QualityError, RunResult, run_quality
from quality.store import QualityStore
from quality.suites import Suite, SuiteError, build_suites, code_values, feed_suite, master_suite
from standards.dictionary import ELEMENTS_FILE, Dictionary, dictionary, load_dictionary
from tests.quality.lakes import add_batch, person_rows

TODAY = dt.date(2026, 11, 20)


def _suite(d: Dictionary, source: str = "public_security", table: str = "hjxx_czrk", master: str = "person") -> Suite:
    spec = registry()[source]
    return feed_suite(d, spec, spec.table(table), master, TODAY)


def _modified(tmp_path: Path, edit: Callable[[dict[str, Any]], None]) -> Path:
    raw = yaml.safe_load(ELEMENTS_FILE.read_text(encoding="utf-8"))
    edit(raw)
    p = tmp_path / "elements.yaml"
    p.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return p


def test_checks_follow_the_mapped_elements_and_their_rules() -> None:
    s = _suite(dictionary())
    ids = {c.id for c in s.checks}
    mapped = registry()["public_security"].table("hjxx_czrk").mapped_elements()
    # completeness exactly for the required elements (id_number, name)
    assert {c.element for c in s.checks if c.dimension == "completeness"} == {"person.id_number", "person.name"}
    # one rule check per mapped element whose rule asks something of a value; free text asks nothing
    ruled = {c.element for c in s.checks if c.dimension in ("validity", "membership")}
    assert ruled == {e for e in mapped if e.startswith("person.")} - {
        "person.household_no", "person.relation_to_head"}  # rule: text
    assert "person.household_area:membership" in ids and "person.id_number:uniqueness" in ids
    assert {"person.birth_date:consistency:resident_id_embeds_birth_date",
            "person.sex:consistency:resident_id_embeds_gb2261_sex",
            "person.death_date:consistency:after_birth_date"} <= ids
    # each check is also a GX expectation on a column of the prepared batch
    by_id = {c.id: c for c in s.checks}
    assert by_id["person.sex:membership"].gx_type == "expect_column_values_to_be_in_set"
    assert set(by_id["person.sex:membership"].gx_kwargs["value_set"]) == set(code_values(dictionary())["gb2261_sex"])
    assert by_id["person.birth_date:validity"].gx_kwargs["max_value"] == TODAY


def test_entity_suite_checks_the_uscc_embeds_the_org_code() -> None:
    s = _suite(dictionary(), "statistics", "jbdw_ml", "entity")
    c = s.check("entity.org_code:consistency:uscc_embeds_org_code")
    assert c.gx_type == "expect_column_pair_values_to_be_equal"
    assert "uscc_org_code" in {col: sql for col, sql, _ in s.derived}["org_code__from_uscc"]


def test_a_source_without_the_key_gets_no_uniqueness_check() -> None:
    s = _suite(dictionary(), "health", "csyxzm", "person")
    assert not any(c.dimension == "uniqueness" for c in s.checks)
    assert s.not_provided == ("person.id_number",)


def test_changing_a_rule_in_the_dictionary_changes_the_suite(tmp_path: Path) -> None:
    base = _suite(dictionary())

    def edit(raw: dict) -> None:
        person = raw["masters"]["person"]["elements"]
        person["household_no"]["rule"] = "code:gb2260"       # text -> a code table
        person["name"]["required"] = False                    # no longer required
        person["birth_date"]["rule"] = "text"                 # no longer a date rule

    changed = _suite(load_dictionary(_modified(tmp_path, edit)))
    before, after = {c.id for c in base.checks}, {c.id for c in changed.checks}
    assert after - before == {"person.household_no:membership"}
    assert before - after == {"person.name:completeness",
                              "person.birth_date:consistency:resident_id_embeds_birth_date"}
    assert base.fingerprint() != changed.fingerprint()
    # the birth date is still typed, so its own validity stays: a date is judged as a date
    assert "person.birth_date:validity" in after


def test_a_new_phone_rule_changes_what_is_valid(tmp_path: Path) -> None:
    """Scores move with the dictionary: turn household_no into a phone and its values fail."""
    lake = Lake(tmp_path / "lake")
    rows = person_rows(20)
    for r in rows:
        r["household_no"] = "HH-5821"  # 4 digits: not a phone
    add_batch(lake, "public_security", "hjxx_czrk", "b1", {"person": rows})

    def edit(raw: dict) -> None:
        raw["masters"]["person"]["elements"]["household_no"]["rule"] = "phone"

    def score(d: Dictionary) -> RunResult:
        return run_quality(lake, QualityStore(tmp_path / "store"), tmp_path / "none", dictionary=d, record=False)

    plain = score(dictionary()).scores_at("feed")[0]
    strict = score(load_dictionary(_modified(tmp_path, edit)))
    assert plain.invalid == 0 and strict.scores_at("feed")[0].invalid == 20
    (c,) = [c for c in strict.checks if c.check_id == "person.household_no:validity"]
    assert c.reasons == {"BAD_PHONE": 20}


def test_an_unknown_code_table_is_a_one_line_error(tmp_path: Path) -> None:
    def edit(raw: dict) -> None:
        raw["masters"]["person"]["elements"]["sex"]["rule"] = "code:no_such_table"

    d = load_dictionary(_modified(tmp_path, edit))
    with pytest.raises(SuiteError) as err:
        build_suites(d)
    assert "person.sex" in str(err.value) and "\n" not in str(err.value)
    lake = Lake(tmp_path / "lake")
    add_batch(lake, "hrss", "si_cbry", "b1", {"person": person_rows(3)})
    with pytest.raises(QualityError, match="no_such_table"):
        run_quality(lake, dictionary=d, record=False, gold_path=tmp_path / "none")


def test_every_feed_of_the_registry_gets_a_suite() -> None:
    suites = build_suites(dictionary(), as_of=TODAY)
    feeds = {(s.source, t.name, m) for s in registry().values() for t in s.tables for m in t.feeds}
    assert {(s.source, s.table, s.master) for s in suites} == feeds
    assert all(s.checks for s in suites)
    assert len({s.name for s in suites}) == len(suites)


def test_master_suite_uses_the_columns_gold_has() -> None:
    s = master_suite(dictionary(), "person", {"person_id", "id_number", "name", "sex", "birth_date"}, TODAY)
    assert set(s.elements) == {"person.id_number", "person.name", "person.sex", "person.birth_date"}
    assert s.check("person.id_number:uniqueness").description.endswith("unique within the master")


def test_phone_pattern_matches_standardisation() -> None:
    """Quality judges a phone by the standard's own pattern and digits, the ones silver was made with."""
    assert rules.PHONE_PATTERN is standardise.PHONE_PATTERN
    assert rules.DUMMY_PHONE_PATTERN is standardise.DUMMY_PHONE_PATTERN
    assert "phone_digits(" in inspect.getsource(rules) and "phone_digits(" in inspect.getsource(standardise)


def test_gx_suite_mirrors_the_checks() -> None:
    from quality.gxrun import gx_suite

    s = _suite(dictionary())
    g = gx_suite(s)
    assert len(g.expectations) == len(s.checks)
    metas = [e.meta for e in g.expectations]
    assert {m["check_id"] for m in metas} == {c.id for c in s.checks}
    assert all(m["source"] == "public_security" and m["element"].startswith("person.") for m in metas)
