"""Great Expectations never stores or renders a person's failing values unmasked.

A real GX context validates a small frame whose failing values are names, ID numbers and a phone
(duplicated keys, a person's record key that is an ID number), through the same steps
``validate_batches`` takes (:func:`quality.gxrun._run`, :func:`quality.gxrun.mask_results`,
:func:`quality.gxrun._store`, then the Data Docs built from the store).  The raw result holds the
values (the test can fail); every file GX then wrote - its validation result store and the Data
Docs HTML - holds each of them only masked, while a defect kind (``BAD_CHECK``) and a non-personal
code stay readable.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from quality.gxrun import _fresh_context, _gx, _run, _store, mask_results

ID_A, ID_B, PHONE = "34160219800101019X", "110101199003074514", "13912345678"
NAMES = ("欧阳娜娜", "司马相如")


def test_failing_personal_values_are_masked_before_gx_stores_or_renders_them(tmp_path: Path) -> None:
    gx = _gx()
    ctx = _fresh_context(gx, tmp_path / "gx")
    df = pd.DataFrame({
        "_record_key": [ID_A, "K2", "K3", "K4"],
        "name__std": [NAMES[0], NAMES[0], NAMES[1], NAMES[1]],
        "id_number__std": [ID_A, ID_A, ID_B, ID_B],
        "id_number__reason": [None, None, "BAD_CHECK", None],
        "phone__std": [PHONE, PHONE, "13800000000", None],
        "sex__std": ["1", "2", "9", "1"],
    })

    def meta(element: str) -> dict[str, str]:
        return {"element": element, "check_id": f"{element}:test", "dimension": "validity"}

    expectations = [
        gx.expectations.ExpectColumnValuesToBeUnique(column="name__std", meta=meta("person.name")),
        gx.expectations.ExpectColumnValuesToBeUnique(column="id_number__std", meta=meta("person.id_number")),
        gx.expectations.ExpectColumnValuesToBeUnique(column="phone__std", meta=meta("person.phone")),
        gx.expectations.ExpectColumnValuesToBeNull(column="id_number__reason", meta=meta("person.id_number")),
        gx.expectations.ExpectColumnValuesToBeInSet(column="sex__std", value_set=["1", "2"], meta=meta("person.sex")),
    ]
    bd = ctx.data_sources.add_pandas("lake").add_dataframe_asset(name="t").add_batch_definition_whole_dataframe("b")
    suite = ctx.suites.add(gx.ExpectationSuite(name="t", expectations=expectations))
    vd = ctx.validation_definitions.add(gx.ValidationDefinition(name="t", data=bd, suite=suite))

    res, judged = _run(vd, df)
    raw = json.dumps(res.to_json_dict(), ensure_ascii=False)
    assert all(v in raw for v in (*NAMES, ID_A, ID_B, PHONE)), "GX listed the failing values"
    assert mask_results(res) == 3  # name, ID number and phone; not the reason column nor the sex code
    _store(ctx, vd, res, judged)
    ctx.build_data_docs()

    files = {p: p.read_text(encoding="utf-8", errors="replace") for p in (tmp_path / "gx").rglob("*")
             if p.is_file() and p.suffix in (".json", ".html", ".yml")}
    stored = [t for p, t in files.items() if "validations" in p.parts and p.suffix == ".json"]
    pages = [t for p, t in files.items() if p.suffix == ".html" and "validations" in p.parts]
    assert len(stored) == 1 and pages, sorted(str(p) for p in files)
    leaks = {str(p.relative_to(tmp_path)): [v for v in (*NAMES, ID_A, ID_B, PHONE) if v in t]
             for p, t in files.items()}
    assert not {k: v for k, v in leaks.items() if v}, leaks
    page = "\n".join(pages)
    for shown in ("欧阳***", "司马***", "341***", "110***", "139***", "BAD_CHECK"):
        assert shown in page or shown in stored[0], shown
    result = {r["expectation_config"]["kwargs"]["column"]: r["result"] for r in json.loads(stored[0])["results"]}
    assert result["sex__std"]["partial_unexpected_list"] == ["9"]
    assert result["id_number__reason"]["partial_unexpected_list"] == ["BAD_CHECK"]
    assert {r["_record_key"] for r in result["name__std"]["partial_unexpected_index_list"]} == {"341***", "K2", "K3", "K4"}
