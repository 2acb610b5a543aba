"""The licence master's checks count seeded defects exactly, in the one set-based scan per table.

A gold ``licence_master`` of valid licences is built here, then known defects are seeded by row
(bad check characters, shared identifiers, unknown codes, dates out of order or range, holder ids
invalid for their kind, missing required values); every check must count exactly those.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import duckdb
import pyarrow as pa
import pytest

from quality import frame, gold
from quality.scorecard import CheckResult, Score, evaluate
from quality.suites import code_values, master_suite
from standards.dictionary import dictionary
from standards.identifiers import make_licence_identifier
from tests.quality.lakes import bad_check, org_code, rid, uscc

AS_OF = dt.datetime(2026, 11, 20, 8, 0, 0)
N = 60


def _licences() -> list[dict[str, Any]]:
    """N valid licences, then the seeded defects (row numbers in the comments of the test)."""
    rows: list[dict[str, Any]] = []
    for i in range(N):
        rows.append({
            "master_id": f"L{i:05d}", "type_code": "004", "number": f"N{i:06d}", "holder_name": "张三",
            "holder_id": rid(i), "holder_id_type": "111", "issuer_name": "谯城区公安局", "issuer_code": uscc(2),
            "identifier": make_licence_identifier(uscc(1) + "004", uscc(2), f"{i:010d}", 1),
            "issue_date": dt.date(2020, 1, 1), "valid_from": dt.date(2020, 1, 1), "valid_to": dt.date(2030, 1, 1),
            "status": "1", "jurisdiction": "341602", "detail": "C1",
        })
    for i in (0, 1, 2):  # identifier with a wrong check character
        rows[i]["identifier"] = bad_check(rows[i]["identifier"])
    rows[3]["identifier"], rows[4]["identifier"] = rows[10]["identifier"], rows[11]["identifier"]  # shared keys
    for i in (12, 13, 14, 15):  # a licence type the standard does not know
        rows[i]["type_code"] = "999"
    for i in (16, 17):  # valid_to before valid_from
        rows[i]["valid_to"] = dt.date(2019, 1, 1)
    for i in (18, 19, 20):  # a resident id with a wrong check character
        rows[i]["holder_id"] = bad_check(rows[i]["holder_id"])
    rows[24].update(holder_id_type="001", holder_id=uscc(7))  # a valid USCC holder: no defect
    rows[25].update(holder_id_type="002", holder_id=bad_check(org_code(8)))  # an invalid organisation code
    for i in (21, 22):  # the required licence number missing
        rows[i]["number"] = None
    rows[23]["issue_date"] = dt.date(1850, 1, 1)  # before 1890
    rows[26]["status"] = "9"  # no such licence status
    return rows


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory) -> tuple[Score, dict[str, CheckResult], duckdb.DuckDBPyConnection,
                                                               Any]:
    path = tmp_path_factory.mktemp("licence") / "gold.duckdb"
    con = duckdb.connect(str(path))
    con.register("t", pa.Table.from_pylist(_licences()))
    con.execute("CREATE TABLE licence_master AS SELECT * FROM t")
    con.close()
    d = dictionary()
    codes = code_values(d)
    qcon = frame.connect(codes)
    assert gold.attach(qcon, path) is None
    lay = gold.layout(qcon, "licence")
    assert not isinstance(lay, str)
    suite = master_suite(d, "licence", set(lay.columns), AS_OF.date(), codes)
    score, results = evaluate(qcon, suite, gold.master_relation(lay), AS_OF, present=gold.relation_columns(lay))
    return score, {r.check_id: r for r in results}, qcon, (suite, lay)


def test_each_seeded_defect_is_counted_exactly(scored: Any) -> None:
    score, checks, _, _ = scored
    failed = {k: c.failed for k, c in checks.items() if c.failed}
    assert failed == {
        "licence.identifier:validity": 3,
        "licence.identifier:uniqueness": 4,
        "licence.type_code:membership": 4,
        "licence.valid_to:consistency:after_valid_from": 2,
        "licence.holder_id:consistency:valid_for_holder_id_type": 4,
        "licence.number:completeness": 2,
        "licence.issue_date:validity": 1,
        "licence.status:membership": 1,
    }
    assert checks["licence.identifier:validity"].reasons == {"BAD_CHECK": 3}
    assert checks["licence.identifier:uniqueness"].reasons == {"DUPLICATE_KEY": 4}
    assert {s["record_key"] for s in checks["licence.identifier:uniqueness"].samples} == {"L00003", "L00004",
                                                                                         "L00010", "L00011"}
    assert checks["licence.holder_id:consistency:valid_for_holder_id_type"].reasons == {"BAD_CHECK": 4}
    assert checks["licence.issue_date:validity"].reasons == {"OUT_OF_RANGE": 1}
    assert checks["licence.holder_id:consistency:valid_for_holder_id_type"].scope == N
    assert checks["licence.identifier:uniqueness"].scope == N - 3


def test_the_scorecard_adds_the_defects_up_by_row(scored: Any) -> None:
    score, _, _, _ = scored
    assert score.rows == N
    assert (score.incomplete, score.invalid, score.inconsistent) == (2, 9, 6)
    assert (score.keyed, score.duplicates, score.dup_rows) == (N - 3, 2, 4)
    assert score.nonconforming == 9 + 6  # the invalid rows and the inconsistent ones (no row is both)

