"""Why a pair scored what it did, for stewards: the API endpoint (steward keys only) and the command.

Over the serving tests' real city: every pair the build queued is explained with the parameters,
features and term frequencies the build stored, and its parts add up to the weight the build
scored it with (``review_queue.match_weight``); a record is explained against its master's other
records; unknown ids are one line (404 / exit 2); hall, department and identity keys are refused.
"""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import duckdb
import pytest

from tests.serving.conftest import REPO, Server, run_cli


def gold_rows(server: Server, sql: str) -> list[tuple[Any, ...]]:
    con = duckdb.connect(str(server.home / "warehouse" / "gold.duckdb"), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def check_parts(e: dict[str, Any]) -> float:
    """The parts add up to the weight, the probability follows from it; returns the weight."""
    parts = e["parts"]
    assert parts[0]["comparison"] == "prior"
    total = 0.0
    for p in parts:
        total += p["bits"]
    w = float(e["weight"])
    assert total == pytest.approx(w, abs=1e-9)
    assert e["probability"] == pytest.approx(1 / (1 + 2 ** -w), rel=1e-12)
    for p in parts[1:]:
        if p["level"] >= 0:  # a neutralised comparison has m = u: zero bits
            assert p["bits"] - p["tf_bits"] == pytest.approx(math.log2(p["m"] / p["u"]), abs=1e-9)
    return w


def test_every_queued_pair_adds_up_to_the_weight_the_build_scored(server: Server) -> None:
    queued = gold_rows(server, "SELECT master, record_id, candidate_record_id, match_weight, reason FROM review_queue "
                               "ORDER BY master, record_id LIMIT 40")
    assert queued, "the 1,500-person city queues pairs"
    with server.client("steward") as c:
        for master, a, b, weight, reason in queued:
            r = c.get("/v1/steward/explain", params={"a": a, "b": b, "master": master})
            assert r.status_code == 200, r.text
            body = r.json()
            assert body["master"] == master and body["build_id"]
            (e,) = body["explanations"]
            assert check_parts(e) == pytest.approx(weight, abs=1e-9), (a, b, reason)
            assert e["scored_weight"] == pytest.approx(weight, abs=1e-12)
            if reason == "conflicting_keys":  # scored with the ignored comparison neutral, as it was queued
                assert next(p for p in e["parts"] if p["comparison"] == "id")["bits"] == 0.0
                assert "conflicting keys" in e["note"]


def test_a_master_is_explained_record_by_record(server: Server) -> None:
    (mid, n), = gold_rows(server, "SELECT master_id, count(*) FROM person_xref GROUP BY 1 HAVING count(*) >= 4 "
                                  "ORDER BY 2 DESC, 1 LIMIT 1")
    with server.client("steward") as c:
        r = c.get("/v1/steward/explain", params={"a": mid, "limit": 50})
    assert r.status_code == 200, r.text
    got = r.json()["explanations"]
    assert len(got) == min(int(n) - 1, 50)
    assert len({e["left"] for e in got}) == 1 and all(e["note"] == f"both in {mid}" for e in got)
    weights = [check_parts(e) for e in got]
    assert sum(w > 0 for w in weights) >= len(weights) / 2, "most records of one person agree"


@pytest.mark.parametrize("who", ["hall", "identity", "civil_affairs"])
def test_only_stewards_may_ask(server: Server, who: str) -> None:
    with server.client(who) as c:
        r = c.get("/v1/steward/explain", params={"a": "P0000000001"})
    assert r.status_code == 403 and r.headers["content-type"].startswith("application/problem+json")
    assert "steward" in r.json()["detail"]
    with server.client() as c:
        assert c.get("/v1/steward/explain", params={"a": "P0000000001"}).status_code == 401


def test_unknown_ids_are_one_line(server: Server) -> None:
    with server.client("steward") as c:
        r = c.get("/v1/steward/explain", params={"a": "nope:x:1"})
        assert r.status_code == 404 and r.json()["detail"] == "no record or master 'nope:x:1' in the gold store"
        (a,), = gold_rows(server, "SELECT min(record_id) FROM person_xref")
        r = c.get("/v1/steward/explain", params={"a": a, "b": "nope:x:2"})
        assert r.status_code == 404 and r.json()["detail"] == "no person record 'nope:x:2'"
        assert c.get("/v1/steward/explain", params={"a": a, "master": "cars"}).status_code == 422


def test_the_command_explains_and_refuses_unknown_ids(server: Server) -> None:
    (a, b, weight), = gold_rows(server, "SELECT record_id, candidate_record_id, match_weight FROM review_queue "
                                        "WHERE master = 'person' ORDER BY record_id LIMIT 1")
    out = run_cli("steward", "explain", str(a), str(b), env=server.env).stdout
    assert f"engine scored {weight:+.2f}" in out and "prior" in out and "-> probability" in out
    bad = subprocess.run([sys.executable, "-m", "pipelines.cli", "steward", "explain", "nope:x:1"], cwd=REPO,
                         env=server.env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2
    lines = [ln for ln in bad.stderr.splitlines() if ln.strip()]
    assert lines == ["error: no record or master 'nope:x:1' in the gold store"], bad.stderr
