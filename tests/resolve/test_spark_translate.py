"""The DuckDB -> Spark translation of the engine's statements, without a Spark session (fast).

What Spark computes from these translations is checked against DuckDB in ``test_spark_engine.py``;
here: every macro is gone after expansion (nested ones too), DuckDB-only functions become their
Spark forms, and what has no Spark form is refused with one line naming it.
"""

from __future__ import annotations

import pytest
import sqlglot

from pipelines.resolve.deterministic import features_sql
from pipelines.resolve.macros import MACROS
from pipelines.resolve.spark.translate import TranslationError, Translator
from standards import identifiers, text


@pytest.fixture(scope="module")
def translator() -> Translator:
    tr = Translator()
    for name, (params, body) in MACROS.items():
        tr.define(name, params, body)
    for m in identifiers.macro_definitions():
        tr.define(m.name, m.params, m.body)
    for name, (params, body) in text.macro_definitions().items():
        tr.define(name, params, body)
    return tr


def spark(tr: Translator, sql: str) -> str:
    return tr.to_spark(sqlglot.parse_one(sql, read="duckdb"))


def test_features_of_the_person_master_leave_no_duckdb_only_function(translator: Translator) -> None:
    from pipelines.masters.config import master_config

    out = spark(translator, features_sql(master_config("person"), "src")).lower()
    for gone in ("md5_number", "hash63", "blank_null", "is_blank", "rid_birth_date", "id_clean", "typeof",
                 "try_strptime", "regexp_full_match"):
        assert gone + "(" not in out, gone
    assert "md_pinyin_key(" in out and "try_to_timestamp(" in out and " rlike " in out


def test_spark_forms_of_duckdb_functions(translator: Translator) -> None:
    out = spark(translator, "SELECT hamming(a, b), jaro_winkler_similarity(a, b), str_split(a, ''), "
                            "regexp_full_match(a, '[0-9]+') FROM t")
    assert "AGGREGATE(SEQUENCE(1" in out and "MD_JARO_WINKLER(a, b)" in out
    assert "REGEXP_EXTRACT_ALL(a, '(?s).', 0)" in out and "a RLIKE '^(?:[0-9]+)\\\\z'" in out
    assert "RANGE(0, 10)" in spark(translator, "SELECT i FROM range(10) AS t(i)")
    # a macro argument keeps its precedence inside the body
    assert "(a + 1)" in spark(translator, "SELECT blank_null(a + 1) FROM t")


def test_what_has_no_spark_form_is_refused_by_name(translator: Translator) -> None:
    with pytest.raises(TranslationError, match="md5_number"):
        spark(translator, "SELECT md5_number(x) FROM t")
    with pytest.raises(TranslationError, match="macro edit1_or_swap takes 2 argument"):
        spark(translator, "SELECT edit1_or_swap(a) FROM t")
    with pytest.raises(TranslationError, match="regexp_full_match with a non-literal pattern"):
        spark(translator, "SELECT regexp_full_match(a, b) FROM t")
