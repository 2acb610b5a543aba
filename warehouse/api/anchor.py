"""The audit log's anchor: signed checkpoints of the chain's head, kept where the API cannot rewrite them.

Why: the hash chain (:mod:`warehouse.api.chain`) shows an edit only to someone who lacks the audit
key, and the key lives beside the log.  Whoever can write the serving store - an operator with the
API's OS account - can re-hash a rewritten log, cut its tail and rewrite the head, empty it, put back
an older copy or delete it, and the chain alone still looks intact.  So a running server writes,
every ``MASTERDATA_AUDIT_ANCHOR_EVERY`` seconds, a *checkpoint* - the head's sequence number and hash,
signed with Ed25519 (:mod:`warehouse.api.sealing`) - into a PostgreSQL table that its database role
may only INSERT into and SELECT from (``masterdata audit anchor-setup`` makes the database, the table,
guard triggers and the role; the table belongs to the administrator).  A checkpoint written can never
be taken back by the API's role, so ``masterdata audit verify`` finds any later rewrite of the entries
it covers: a stored hash that differs (``rewritten``: re-hashed with the key), a log that ends before
the newest checkpoint (``rolled_back``: truncated, emptied, an older copy), a log that is gone
(``missing``).  A checkpoint whose signature fails is ``forged`` (someone with only the database
role); two valid checkpoints of one entry that differ are a ``conflict`` (someone holding the signing
key re-anchoring a rewritten log: the first checkpoint still stands against him).

What stays open, by design and documented: entries newer than the last checkpoint (at most
``MASTERDATA_AUDIT_ANCHOR_EVERY`` seconds of them) can be rewritten unseen.

A restore (``masterdata restore``) writes a signed ``restore`` record naming the head it restored
to; checkpoints past it belong to the log before the restore and are then reported as what the
restore lost, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from core.errors import ConfigurationError, UnavailableError
from warehouse.api.chain import Finding, Walk
from warehouse.api.sealing import key_id, seal, verify

TABLE = "audit_anchor"
KINDS = ("checkpoint", "restore")

DDL = f"""
CREATE TABLE IF NOT EXISTS {TABLE} (
    id bigserial PRIMARY KEY,
    kind text NOT NULL CHECK (kind IN ('checkpoint', 'restore')),
    seq bigint NOT NULL CHECK (seq >= 0),
    hash text NOT NULL,
    written_at timestamptz NOT NULL DEFAULT clock_timestamp(),
    document text NOT NULL);
CREATE OR REPLACE FUNCTION {TABLE}_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN RAISE EXCEPTION 'the audit anchor is append-only'; END $$;
DROP TRIGGER IF EXISTS {TABLE}_no_change ON {TABLE};
CREATE TRIGGER {TABLE}_no_change BEFORE UPDATE OR DELETE ON {TABLE}
    FOR EACH ROW EXECUTE FUNCTION {TABLE}_refuse();
DROP TRIGGER IF EXISTS {TABLE}_no_truncate ON {TABLE};
CREATE TRIGGER {TABLE}_no_truncate BEFORE TRUNCATE ON {TABLE}
    FOR EACH STATEMENT EXECUTE FUNCTION {TABLE}_refuse();
"""


class AnchorUnavailable(UnavailableError):
    title = "Audit anchor unavailable"


def where(url: str) -> str:
    """The anchor's place for messages: host, port and database, never the password."""
    u = urlsplit(url)
    return f"{u.hostname or 'localhost'}:{u.port or 5432}/{u.path.lstrip('/') or '?'} as {u.username or '?'}"


@contextmanager
def connect(url: str) -> Iterator[Any]:
    """An autocommit connection to the anchor (one line naming the place when it cannot be had)."""
    import psycopg

    try:
        con = psycopg.connect(url, autocommit=True, connect_timeout=5)
    except psycopg.Error as exc:
        raise AnchorUnavailable(f"audit anchor {where(url)} unreachable: {str(exc).strip().splitlines()[0]}") \
            from None
    try:
        yield con
    finally:
        con.close()


def setup(admin_url: str, database: str, role: str, password: str | None = None) -> str:
    """Create the anchor database, table and guards, and the INSERT-only role; returns the role's URL.

    Run once by a database administrator (``masterdata audit anchor-setup``); idempotent.  The table
    belongs to the administrator; the role may CONNECT, SELECT and INSERT - no UPDATE, DELETE,
    TRUNCATE, no DDL - so the API that logs in as it can add checkpoints and never change one."""
    from psycopg import sql

    for name, what in ((database, "database"), (role, "role")):
        if not name.replace("_", "").isalnum() or not name[0].isalpha():
            raise ConfigurationError(f"{what} name {name!r}: letters, digits and _ only, starting with a letter")
    admin = urlsplit(admin_url)
    with connect(admin_url) as con:
        if con.execute("SELECT 1 FROM pg_database WHERE datname = %s", (database,)).fetchone() is None:
            con.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(database)))
        exists = con.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone() is not None
        verb = "ALTER" if exists else "CREATE"
        pw = sql.SQL(" PASSWORD {}").format(sql.Literal(password)) if password else sql.SQL("")
        con.execute(sql.SQL(verb + " ROLE {} LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE{}")
                    .format(sql.Identifier(role), pw))
    with connect(admin._replace(path="/" + database).geturl()) as con:
        con.execute(DDL)
        ident = sql.Identifier(role)
        con.execute(sql.SQL("REVOKE ALL ON DATABASE {} FROM PUBLIC").format(sql.Identifier(database)))
        con.execute(sql.SQL("GRANT CONNECT ON DATABASE {} TO {}").format(sql.Identifier(database), ident))
        con.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
        con.execute(sql.SQL(f"REVOKE ALL ON {TABLE} FROM PUBLIC, {{}}").format(ident))
        con.execute(sql.SQL(f"GRANT SELECT, INSERT ON {TABLE} TO {{}}").format(ident))
        con.execute(sql.SQL(f"GRANT USAGE ON SEQUENCE {TABLE}_id_seq TO {{}}").format(ident))
    netloc = f"{role}@{admin.hostname or 'localhost'}" + (f":{admin.port}" if admin.port else "")
    return f"postgresql://{netloc}/{database}"


def privileges(url: str) -> list[str]:
    """What the configured role could do beyond INSERT and SELECT (empty: it is append-only)."""
    with connect(url) as con:
        row = con.execute("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").fetchone()
        if con.execute("SELECT to_regclass(%s)", (TABLE,)).fetchone()[0] is None:
            return [f"no {TABLE} table (run `masterdata audit anchor-setup`)"]
        found = ["is a superuser"] if row and row[0] else []
        owner = con.execute("SELECT tableowner = current_user FROM pg_tables WHERE tablename = %s",
                            (TABLE,)).fetchone()
        if owner and owner[0]:
            found.append(f"owns {TABLE}")
        for p in ("UPDATE", "DELETE", "TRUNCATE"):
            if con.execute("SELECT has_table_privilege(current_user, %s, %s)", (TABLE, p)).fetchone()[0]:
                found.append(f"may {p}")
    return found


@dataclass(frozen=True)
class Record:
    id: int
    kind: str
    seq: int
    hash: str
    document: dict[str, Any]


def now_iso() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Anchor:
    """The anchor of one deployment: write signed records, read them back."""

    def __init__(self, url: str, key: Ed25519PrivateKey | None = None) -> None:
        self.url = url
        self.key = key

    def write(self, kind: str, seq: int, head_hash: str, **note: Any) -> Record:
        """Append one signed record (``checkpoint`` of the head, or ``restore`` to a head)."""
        if self.key is None:
            raise ConfigurationError("no audit signing key: checkpoints cannot be written")
        if kind not in KINDS:
            raise ValueError(kind)
        doc = seal({"kind": kind, "seq": seq, "hash": head_hash, "at": now_iso(), **note}, self.key)
        text = json.dumps(doc, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
        with connect(self.url) as con:
            rid = con.execute(f"INSERT INTO {TABLE} (kind, seq, hash, document) VALUES (%s, %s, %s, %s) "
                              "RETURNING id", (kind, seq, head_hash, text)).fetchone()[0]
        return Record(int(rid), kind, seq, head_hash, doc)

    def records(self) -> list[Record]:
        with connect(self.url) as con:
            rows = con.execute(f"SELECT id, kind, seq, hash, document FROM {TABLE} ORDER BY id").fetchall()
        out = []
        for rid, kind, seq, h, text in rows:
            try:
                doc = json.loads(text)
            except json.JSONDecodeError:
                doc = {}
            out.append(Record(int(rid), str(kind), int(seq), str(h), doc if isinstance(doc, dict) else {}))
        return out

    def last(self) -> Record | None:
        with connect(self.url) as con:
            row = con.execute(f"SELECT id, kind, seq, hash FROM {TABLE} ORDER BY id DESC LIMIT 1").fetchone()
        return Record(int(row[0]), str(row[1]), int(row[2]), str(row[3]), {}) if row else None


def load_anchor_key(path: Path, create: bool) -> Ed25519PrivateKey:
    """The checkpoint signing key (an Ed25519 PEM, mode 0600, made on first use if ``create``)."""
    from warehouse.api.sealing import load_signing_key

    try:
        return load_signing_key(path, create=create)
    except (OSError, ValueError) as exc:
        raise ConfigurationError(f"audit signing key {path}: {str(exc).splitlines()[0]}") from None


# -- checking a walked chain against the anchor ------------------------------------------------------
@dataclass
class Expected:
    """What the anchor says the log must hold, after its restores."""

    hashes: dict[int, tuple[str, int]]  # seq -> (hash, record id)
    findings: list[Finding]
    notices: list[str]
    checkpoints: int


def _genuine(r: Record, public: Ed25519PublicKey) -> bool:
    """Signed by the deployment's key, and the columns are what was signed."""
    d = r.document
    return (verify(d, public).valid and d.get("kind") == r.kind and d.get("seq") == r.seq
            and d.get("hash") == r.hash)


def expected(records: list[Record], public: Ed25519PublicKey | None) -> Expected:
    """The hashes the log must hold at the anchored sequence numbers (a restore drops those past it)."""
    exp = Expected({}, [], [], 0)
    for r in records:
        if public is None or not _genuine(r, public):
            exp.findings.append(Finding(r.seq, "forged", f"anchor record {r.id} (entry {r.seq}) is not signed by "
                                        f"key {key_id(public) if public else '?'}: written by someone without the signing key"))
            continue
        if r.kind == "restore":
            lost = [s for s in exp.hashes if s > r.seq]
            exp.notices.append(f"restored on {r.document.get('at', '?')} to entry {r.seq} from the backup of "
                               f"{r.document.get('backup_at', '?')}" + (f"; entries {r.seq + 1}..{max(lost)}, "
                                                                         "anchored before, were lost" if lost else ""))
            exp.hashes = {s: v for s, v in exp.hashes.items() if s <= r.seq}
        elif r.seq in exp.hashes and exp.hashes[r.seq][0] != r.hash:
            exp.findings.append(Finding(r.seq, "conflict", f"anchor records {exp.hashes[r.seq][1]} and {r.id} "
                                        f"give entry {r.seq} two different hashes: the log was rewritten and "
                                        "re-anchored"))
            continue
        exp.checkpoints += 1
        if r.seq > 0:
            exp.hashes.setdefault(r.seq, (r.hash, r.id))
    return exp


def compare(walk: Walk, exp: Expected) -> list[Finding]:
    """Findings where the walked log departs from what the anchor recorded."""
    if not exp.hashes:
        return []
    newest = max(exp.hashes)
    if not walk.readable:
        return [Finding(None, "missing", f"the anchor records {newest:,} entries but there is no log to check "
                        "(store, table or key gone)")]
    out: list[Finding] = []
    beyond = sorted(s for s in exp.hashes if s not in walk.hashes)
    if beyond:
        out.append(Finding(beyond[0], "rolled_back",
                           f"the log ends at entry {walk.last_seq:,} but the anchor recorded entry {newest:,} "
                           f"(checkpoint {exp.hashes[newest][1]}): entries were cut off, emptied or an older copy "
                           "put back"))
    for s in sorted(exp.hashes):
        if s in walk.hashes and walk.hashes[s] != exp.hashes[s][0]:
            out.append(Finding(s, "rewritten", f"entry {s} is not the entry anchored by checkpoint "
                               f"{exp.hashes[s][1]}: the log up to it was rewritten and re-hashed"))
            break  # every later hash differs too: the first is the finding
    return out
