"""The audit pieces on their own: refusal counting and the anchor's reading of restores and forgeries."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from warehouse.api.anchor import Record, compare, expected
from warehouse.api.chain import walk_chain
from warehouse.api.sealing import seal
from warehouse.api.service.audit import FLOOD, RefusalKey, RefusalTally, key_id_of
from warehouse.api.store import Store


def store(tmp_path: Path) -> Store:
    return Store(tmp_path / "serving.sqlite", tmp_path / "serving.audit-key")


def test_a_flood_is_one_entry_per_minute_key_and_address(tmp_path: Path) -> None:
    s = store(tmp_path)
    caller, _key = s.create_key("slow", "department", "statistics", rate=1, burst=1)
    tally = RefusalTally()
    for _ in range(43_700):
        tally.add(429, caller.key_id, "10.0.0.7", "Too many requests", "get_entity")
    for _ in range(5):
        tally.add(401, "deadbeef", "10.0.0.9", "Invalid API key", "get_person")
    assert tally.flush(s, everything=True) == 2
    rows = {r["status"]: r for r in s.audit_entries()}
    assert json.loads(rows[429]["detail"])["count"] == 43_700 and rows[429]["caller_kind"] == "department"
    assert json.loads(rows[401]["detail"])["count"] == 5 and rows[401]["caller_kind"] == "anonymous"
    assert json.loads(rows[429]["detail"])["routes"] == {"get_entity": 43_700}
    assert len(s.audit_entries()) == 2 and walk_chain(s.path, tmp_path / "serving.audit-key").findings == []


def test_past_minutes_are_written_and_the_current_one_waits(tmp_path: Path) -> None:
    s = store(tmp_path)
    tally = RefusalTally()
    past = (datetime.now(UTC) - timedelta(minutes=2)).strftime("%Y-%m-%dT%H:%MZ")
    tally.counts[RefusalKey(past, 401, None, "10.0.0.1", "Authentication required")] = 3
    tally.add(401, None, "10.0.0.1", "Authentication required", "x")
    assert tally.flush(s) == 1 and len(tally.counts) == 1


def test_a_callers_refusals_past_the_flood_mark_are_counted() -> None:
    tally = RefusalTally()
    assert all(tally.individual("k:dept") for _ in range(FLOOD))
    assert not tally.individual("k:dept") and tally.individual("k:other")


def test_key_ids_never_secrets() -> None:
    assert key_id_of("mdk_ab12cd34_s3cr3t") == "ab12cd34"
    assert key_id_of("s3cr3t") is None and key_id_of(None) is None and key_id_of("mdk__x") is None


def _rec(key: Ed25519PrivateKey, rid: int, kind: str, seq: int, h: str) -> Record:
    return Record(rid, kind, seq, h, seal({"kind": kind, "seq": seq, "hash": h, "at": "t", "backup_at": "b"}, key))


def test_a_restore_supersedes_later_checkpoints_and_says_what_was_lost(tmp_path: Path) -> None:
    key = Ed25519PrivateKey.generate()
    recs = [_rec(key, 1, "checkpoint", 5, "h5"), _rec(key, 2, "checkpoint", 9, "h9"),
            _rec(key, 3, "restore", 5, "h5"), _rec(key, 4, "checkpoint", 6, "new6")]
    exp = expected(recs, key.public_key())
    assert exp.findings == [] and {s: h for s, (h, _) in exp.hashes.items()} == {5: "h5", 6: "new6"}
    assert len(exp.notices) == 1 and "entries 6..9" in exp.notices[0]


def test_forged_and_conflicting_records(tmp_path: Path) -> None:
    key, other = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    recs = [_rec(key, 1, "checkpoint", 5, "h5"), _rec(other, 2, "checkpoint", 7, "x7"),
            _rec(key, 3, "checkpoint", 5, "rewritten5")]
    tampered_columns = _rec(key, 4, "checkpoint", 8, "h8")
    recs.append(Record(4, "checkpoint", 8, "not-what-was-signed", tampered_columns.document))
    exp = expected(recs, key.public_key())
    assert [f.problem for f in exp.findings] == ["forged", "conflict", "forged"]
    s = store(tmp_path)
    walk = walk_chain(s.path, tmp_path / "serving.audit-key", frozenset(exp.hashes))
    assert [f.problem for f in compare(walk, exp)] == ["rolled_back"]  # an empty log, entry 5 anchored
