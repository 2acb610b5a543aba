"""The standard's cases (``fixtures/*.txt``) through the real ingestion step, one test per case.

Cases sharing a setup are standardised together, once per session, as one source table landed as a
JSON-lines file; each test then compares its row's silver value and reason codes (or its quarantine
reason) with what the fixture says the standard requires. A known defect is marked ``# xfail: why``
in the fixture (strict: the test fails once the defect is fixed, so the mark gets removed).
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from core.db import confine, connect
from tests.standardise.batch import Outcome, element_type, standardise_setup
from tests.standardise.fixtures import QUARANTINED, Case, FixtureError, all_cases, read_fixture, split_case

CASES = all_cases()


def _param(case: Case) -> object:
    marks = [pytest.mark.xfail(reason=case.xfail, strict=True)] if case.xfail else []
    return pytest.param(case, id=case.id, marks=marks)


class Outcomes:
    """Standardises a setup's cases on first use and keeps every row's outcome for the session."""

    def __init__(self, workdir: Path, con: duckdb.DuckDBPyConnection) -> None:
        self.workdir, self.con = workdir, con
        self.done: dict[tuple[str, int], Outcome] = {}

    def __getitem__(self, case: Case) -> Outcome:
        if (case.file, case.line) not in self.done:
            group = [c for c in CASES if c.setup == case.setup and c.file == case.file]
            for line, outcome in standardise_setup(group, self.workdir, self.con).items():
                self.done[(case.file, line)] = outcome
        return self.done[(case.file, case.line)]


@pytest.fixture(scope="session")
def outcomes(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Outcomes]:
    con = connect()
    workdir = tmp_path_factory.mktemp("standardise-fixtures")
    confine(con, workdir)  # ingest confines its connection to the lake; here one holds every setup's lake
    try:
        yield Outcomes(workdir, con)
    finally:
        con.close()


def _same_value(case: Case, actual: str | None) -> bool:
    if case.expected is None or actual is None or case.expected == QUARANTINED or actual == QUARANTINED:
        return case.expected == actual
    if element_type(case.element) == "decimal":
        return Decimal(case.expected) == Decimal(actual)
    return case.expected == actual


@pytest.mark.parametrize("case", [_param(c) for c in CASES])
def test_standardised_value_and_reason(case: Case, outcomes: Outcomes) -> None:
    got = outcomes[case]
    expected_reasons = [case.reason] if case.reason else []
    assert (_same_value(case, got.value), got.reasons) == (True, expected_reasons), (
        f"{case.id} {case.element} raw {case.raw!r}: expected {case.expected!r} {expected_reasons}, "
        f"got {got.value!r} {got.reasons}"
    )


def test_every_rule_family_has_fixtures() -> None:
    """Each kind of element rule the dictionary uses is exercised by at least one fixture case."""
    from standards.dictionary import dictionary

    d = dictionary()
    tested = {d.element(c.element).rule for c in CASES} | {d.element(c.element).type for c in CASES}
    rules = {e.rule for e in d.all_elements()}
    assert rules - tested == set()
    assert len(CASES) >= 300


def test_reader_quotes_escapes_and_comments() -> None:
    fields, comment = split_case('"a | b" | "\\u3000x" | NULL  # xfail: why', "f:1")
    assert (fields, comment) == (["a | b", "\u3000x", None], "xfail: why")


def test_reader_names_file_and_line_of_a_bad_case(tmp_path: Path) -> None:
    bad = tmp_path / "bad.txt"
    bad.write_text("element: person.name\n张三 | 张三\n", encoding="utf-8")
    with pytest.raises(FixtureError, match=r"bad\.txt:2: expected 'raw \| expected \| reason'"):
        read_fixture(bad)
