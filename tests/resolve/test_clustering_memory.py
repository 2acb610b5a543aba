"""The clustering's compact Python side: edges streamed in chunks, constraint values as int codes.

The union-find must accept, refuse and weigh exactly the same edges whether the candidate edges
arrive in one chunk or one at a time, and a node's several values (a steward's merge of two IDs)
must still refuse what a single value would.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterator
from typing import Any

import pytest

from core.db import connect
from pipelines.resolve import clustering
from pipelines.resolve.clustering import ClusterStats, _Values
from pipelines.resolve.engine import Constraints, resolve
from pipelines.resolve.sql import Sql
from tests.masters.helpers import handmade_params, load_people, person_config, rid
from tests.resolve.test_engine_handmade import ADDR, BABY, TWIN_A, TWIN_B, WF, ZW

MUM = {"name": "王芳", "birth_date": "1982-02-03", "sex": "2"}
KID = {"name": "王小明", "birth_date": "2020-03-04", "sex": "1", "household_address": ADDR}
TWIN = {"name": "王子涵", "birth_date": "2010-05-05", "sex": "1", "household_address": ADDR}
ROWS = [
    {"record_id": "ps:mum", "id_number_raw": WF, **MUM, "household_address": ADDR},
    {"record_id": "ms:mum", "id_number_raw": WF, **MUM},
    {"record_id": "ms:baby", "id_number_raw": WF, **KID},  # filed under the mother's ID
    {"record_id": "ps:baby", "id_number_raw": BABY, **KID},
    {"record_id": "ps:a", "id_number_raw": TWIN_A, **TWIN},
    {"record_id": "ps:b", "id_number_raw": TWIN_B, **TWIN},
    {"record_id": "edu:a", "id_number_raw": TWIN_A, **TWIN, "phone": "13800001111"},
    {"record_id": "ps:1", "id_number_raw": ZW, "name": "张伟", "birth_date": "1980-01-01", "phone": "13912345678"},
    {"record_id": "gs:1", "name": "张伟", "birth_date": "1980-01-01", "phone": "13912345678"},
    {"record_id": "gs:2", "name": "张伟", "birth_date": "1980-01-01", "phone": "13912345678",
     "household_address": ADDR},
    {"record_id": "ps:2", "id_number_raw": rid("34160219800101005"), "name": "张伟", "birth_date": "1980-01-01"},
    {"record_id": "ps:3", "id_number_raw": rid("34160219800101013"), "name": "张伟", "birth_date": "1980-01-01",
     "phone": "13912345678"},
]


@pytest.fixture()
def sql() -> Iterator[Sql]:
    con = connect()
    yield Sql(con)
    con.close()


Rows = list[tuple[Any, ...]]


def _run(sql: Sql, constraints: Constraints) -> tuple[Rows, Rows, Rows, Rows, ClusterStats]:
    cfg = person_config()
    load_people(sql, ROWS)
    res = resolve(sql, cfg, "people", params=handmade_params(cfg), constraints=constraints)
    clusters = sql.rows(f"SELECT f.record_id, c.cluster, c.rule, c.weight FROM {res.clusters} AS c "
                        f"JOIN {res.rec} AS f ON f.rid = c.rid ORDER BY 1")
    nodemap = sql.rows(f"SELECT * FROM {cfg.master}_nodemap ORDER BY node")
    refused = sql.rows(f"SELECT * FROM {cfg.master}_nodemap_refused ORDER BY a, b")
    review = sql.rows(f"SELECT * FROM {res.review} ORDER BY l, r, reason")
    return clusters, nodemap, refused, review, res.cluster_stats


@pytest.mark.parametrize("constraints", [Constraints(), Constraints(must=[("ps:1", "ps:2")], cannot=[("gs:1", "ps:1")])])
def test_one_edge_per_chunk_clusters_the_same(sql: Sql, monkeypatch: pytest.MonkeyPatch,
                                              constraints: Constraints) -> None:
    whole = _run(sql, constraints)
    monkeypatch.setattr(clustering, "EDGE_CHUNK", 1)
    one_by_one = _run(sql, constraints)
    assert one_by_one == whole
    stats = whole[-1]
    assert stats.candidate_edges > 1  # more than one chunk was fetched
    got = {r[0]: r[1] for r in whole[0]}
    assert got["ps:mum"] == got["ms:mum"] != got["ms:baby"] == got["ps:baby"]
    assert got["ps:a"] == got["edu:a"] != got["ps:b"]


def test_a_steward_merge_of_two_ids_still_refuses_a_third(sql: Sql) -> None:
    clusters, _, refused, _, stats = _run(sql, Constraints(must=[("ps:1", "ps:2")]))
    got = {r[0]: r[1] for r in clusters}
    assert got["ps:1"] == got["ps:2"]  # two IDs in one node set: a frozenset of codes
    assert got["ps:3"] != got["ps:1"]  # a third ID conflicts with that set
    assert stats.steward_links == 1


def test_values_hold_none_a_code_or_a_set() -> None:
    v = _Values(array("i", [-1, 7, 3]))
    assert v[0] is None and v[1] == 7
    v[2] = frozenset({3, 9})
    v[0] = frozenset({1})
    assert v[2] == frozenset({3, 9}) and v[0] == frozenset({1})
    v[2] = None
    assert v[2] is None and v[0] == frozenset({1})
    with pytest.raises(TypeError):
        v[1] = "a string"
