"""The audit log: append-only, hash-chained, and ``masterdata audit verify`` names any changed,
inserted or deleted entry (on copies of the live server's store, tampered as a DBA could)."""

from __future__ import annotations

import json
import shutil
import sqlite3
from pathlib import Path

import pytest

from tests.serving.conftest import Server, base_env, run_cli
from warehouse.api.store import Store, verify_chain


@pytest.fixture()
def copy(server: Server, tmp_path: Path) -> Path:
    """A consistent copy of the live store (with a few more entries) and its audit key."""
    with server.client("statistics") as c:
        for n in range(1, 7):
            c.get(f"/v1/entities/{server.public_id('statistics', f'E{n:010d}')}", params={"purpose": "enterprise_census"})
    home = tmp_path / "home"
    (home / "warehouse").mkdir(parents=True)
    src = sqlite3.connect(server.store)
    dst = sqlite3.connect(home / "warehouse" / "serving.sqlite")
    src.backup(dst)
    src.close()
    dst.close()
    shutil.copyfile(server.home / "warehouse" / "serving.audit-key", home / "warehouse" / "serving.audit-key")
    return home


def store_of(home: Path) -> Path:
    return home / "warehouse" / "serving.sqlite"


def verify(home: Path) -> tuple[int, list]:
    return verify_chain(store_of(home), home / "warehouse" / "serving.audit-key")


def tamper(home: Path, *sql: str | tuple[str, list[object]]) -> None:
    """What someone with write access to the file could do: drop the guards and edit."""
    con = sqlite3.connect(store_of(home))
    con.execute("DROP TRIGGER IF EXISTS audit_no_update")
    con.execute("DROP TRIGGER IF EXISTS audit_no_delete")
    for s in sql:
        if isinstance(s, tuple):
            con.execute(*s)
        else:
            con.execute(s)
    con.commit()
    con.close()


def middle(home: Path) -> int:
    con = sqlite3.connect(store_of(home))
    n = con.execute("SELECT max(seq) FROM audit").fetchone()[0]
    con.close()
    assert n >= 5
    return int(n // 2)


def test_intact_chain_verifies(copy: Path) -> None:
    n, findings = verify(copy)
    assert n >= 5 and findings == []
    out = run_cli("audit", "verify", env=base_env(copy))
    assert "intact" in out.stdout


def test_the_log_refuses_updates_and_deletes(copy: Path) -> None:
    con = sqlite3.connect(store_of(copy))
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("UPDATE audit SET caller = 'x' WHERE seq = 1")
    with pytest.raises(sqlite3.DatabaseError, match="append-only"):
        con.execute("DELETE FROM audit WHERE seq = 1")
    con.close()


def test_changed_entry_is_named(copy: Path) -> None:
    k = middle(copy)
    tamper(copy, f"UPDATE audit SET fields = '[\"person.name\"]', caller = 'someone-else' WHERE seq = {k}")
    _n, findings = verify(copy)
    assert [(f.seq, f.problem) for f in findings] == [(k, "changed")]
    with pytest.raises(AssertionError) as exc:
        run_cli("audit", "verify", env=base_env(copy))
    assert f"entry {k} was changed" in str(exc.value) and "TAMPERED" in str(exc.value)


def test_deleted_entry_is_named(copy: Path) -> None:
    k = middle(copy)
    tamper(copy, f"DELETE FROM audit WHERE seq = {k}")
    _n, findings = verify(copy)
    assert [(f.seq, f.problem) for f in findings] == [(k, "deleted")]
    assert f"entry {k} deleted" in findings[0].message


def test_inserted_entry_is_named(copy: Path) -> None:
    k = middle(copy)
    con = sqlite3.connect(store_of(copy))
    row = con.execute(f"SELECT * FROM audit WHERE seq = {k}").fetchone()
    con.close()
    forged = list(row)
    forged[0] = k + 1  # slipped in after entry k, the rest shifted up by one
    forged[2] = "forged-caller"
    values = ", ".join("?" * len(forged))
    tamper(copy, "UPDATE audit SET seq = -seq WHERE seq > " + str(k),
           "UPDATE audit SET seq = -seq + 1 WHERE seq < 0",
           (f"INSERT INTO audit VALUES ({values})", forged))
    _n, findings = verify(copy)
    assert [(f.seq, f.problem) for f in findings] == [(k + 1, "inserted")]


def test_appended_forgery_and_truncation(copy: Path) -> None:
    con = sqlite3.connect(store_of(copy))
    last = con.execute("SELECT * FROM audit ORDER BY seq DESC LIMIT 1").fetchone()
    con.close()
    forged = list(last)
    forged[0] = last[0] + 1
    forged[-2] = last[-1]  # links to the real last entry, but its own hash cannot be made without the key
    tamper(copy, (f"INSERT INTO audit VALUES ({', '.join('?' * len(forged))})", forged))
    assert [(f.seq, f.problem) for f in verify(copy)[1]] == [(last[0] + 1, "inserted")]
    tamper(copy, f"DELETE FROM audit WHERE seq >= {last[0] - 1}")
    findings = verify(copy)[1]
    assert [(f.seq, f.problem) for f in findings] == [(last[0] - 1, "truncated")]


def test_entries_have_what_an_auditor_needs(server: Server) -> None:
    entries = Store(server.store, server.home / "warehouse" / "serving.audit-key").audit_entries(20)
    assert entries
    for e in entries:
        assert e["at"].endswith("Z") and e["caller"] and e["caller_kind"] in ("hall", "department", "identity", "anonymous")
        assert isinstance(json.loads(e["subject"]), list) and isinstance(json.loads(e["fields"]), list)
        assert len(e["hash"]) == 64 and len(e["prev_hash"]) == 64
        assert "mdk_" not in json.dumps(e) and "mds_" not in json.dumps(e)  # no secret in the log
