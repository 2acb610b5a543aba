"""Features computed per distinct value (pipelines.resolve.pervalue) equal the per-record ones."""

from __future__ import annotations

import random

import pyarrow as pa
import pytest

from core.db import connect
from pipelines.resolve.config import parse_config
from pipelines.resolve.deterministic import features_sql
from pipelines.resolve.macros import install_resolve_macros
from pipelines.resolve.pervalue import column_refs, groups
from pipelines.resolve.sql import Sql
from tests.masters.helpers import rid
from tests.masters.test_library import COLUMNS, CONFIG

#: per column: values that exercise the normal forms' edges (NULL, blank, padding, width, placeholders,
#: 15-digit IDs, traditional characters, compound surnames, pinyin-only names, separators)
EDGES: dict[str, list[str | None]] = {
    "id_number": [None, "", "   ", rid("34160219900304123"), rid("34160219900304123").lower(),
                  " " + rid("11010519491231002"), "341602900304123", "000000000000000000", "１１０１０５１９４９１２３１００２X",
                  rid("34160219900304123")[:17] + "0", "abc", "3416021990030412"],
    "name": [None, "", " ", "張三", "张三", "欧阳娜娜", "歐陽娜娜", "Zhang San", "zhang·san", "··李·四··", "司马 光", "乐乐", "\U0010ffff"],
    "birth_date": [None, "1990-03-04", "1949-12-31", "2024-02-29"],  # the resident_id birth option casts
    "phone": [None, "", "13800138000", "+86 138-0013-8000", "008613800138000", "1380013800", "0000000000", "12345"],
    "address": [None, "", "安徽省阜阳市颍州区清河路12号", "阜阳市颍州区清河路12号", "内蒙古自治区呼和浩特市新城区", "某某镇", "  "],
    "uscc": [None, "", "91110000600037341L", "９１１１００００６０００３７３４１Ｌ", "bad"],
    "given": [None, "", "San", "san "],
    "family": [None, "Zhang", "ZHANG"],
}


def _table(n: int, seed: int) -> pa.Table:
    """``n`` records drawing every column from its edge values (so values repeat across records)."""
    rng = random.Random(seed)
    cols = {c: pa.array([rng.choice(EDGES[c]) for _ in range(n)], pa.string()) for c in COLUMNS}
    return pa.table({"record_id": pa.array([f"r{i}" for i in range(n)]), **cols})


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_per_value_features_equal_per_record(seed: int) -> None:
    cfg = parse_config(CONFIG, "test.yaml")
    assert {g.column for g in groups(cfg.features, {n for n in cfg.features if n.startswith("_lib_")})} >= {
        "id_number", "name", "phone", "address", "uscc"}
    sql = Sql(connect())
    install_resolve_macros(sql)
    sql.register("raw", _table(3000, seed))
    fast, slow = features_sql(cfg, "raw"), features_sql(cfg, "raw", per_value=False)
    assert fast != slow
    names = ", ".join(f'"{n}"' for n in ("rid", "record_id", *cfg.table_features))
    for a, b in ((fast, slow), (slow, fast)):
        diff = sql.con.execute(f"SELECT count(*) FROM (SELECT {names} FROM ({a}) EXCEPT ALL SELECT {names} FROM ({b}))"
                               ).fetchone()
        assert diff == (0,)
    assert sql.con.execute(f"SELECT count(*) FROM ({fast})").fetchone() == (3000,)


@pytest.mark.parametrize(("expr", "refs"), [
    ("rid_normalise(id_number)", {"id_number"}),
    ("CASE WHEN _lib_id IS NULL THEN id_clean(Id_Number) END", {"_lib_id", "id_number"}),
    ("random() < 0.5 OR a", None),
    ("x IN (SELECT code FROM t)", None),
    ("list_transform([a], lambda q: q || b)", None),
    ("l.a", None),
    ("count(*) OVER ()", None),
    ("1 +", None),
])
def test_column_refs(expr: str, refs: set[str] | None) -> None:
    assert column_refs(expr) == (None if refs is None else frozenset(refs))


def test_what_stays_per_record() -> None:
    feats = {"_lib_a": "upper(a)", "x": "_lib_a || b", "y": "lower(_lib_a)", "z": "y || 'x'",
             "_lib_r": "random()", "w": "_lib_r + 1"}
    gs = groups(feats, {"_lib_a", "_lib_r"})
    assert [(g.column, g.private, g.public) for g in gs] == [("a", ["_lib_a"], ["y"])]
