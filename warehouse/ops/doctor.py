"""``masterdata doctor``: what is wrong with this deployment, each with a one-line fix.

Each check is a small function returning :class:`Check` results (``ok``, ``warn`` or ``fail``, what
was found, and the fix); one that raises an expected error reports it as a failure instead of
stopping the others.  A failure makes the command exit 1; warnings do not.  Nothing here writes
anything, and nothing printed holds a password or a personal value.

Checks: settings; the departmental sources (a server that answers its protocol's greeting, an
embedded SQLite file, the landing folder); the gold store (present, opens, holds the masters) and
its delta state (a warning when the next build will be full, and why); the
serving store and its active API keys; the grants file; the audit log against its anchor (and an
anchor role that could rewrite it, a signing key beside the log or readable by others); the lake
(every committed batch reconciles and its files are there); free disk space.
"""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from core.errors import MasterdataError
from core.settings import settings

MASTERS = ("person_master", "entity_master", "licence_master")
#: below this free space under MASTERDATA_HOME a build or a backup may not fit
MIN_FREE_BYTES = 2 << 30


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # ok | warn | fail
    message: str
    fix: str = ""


def ok(name: str, message: str) -> Check:
    return Check(name, "ok", message)


def check_sources() -> list[Check]:
    """Every departmental source reachable: servers greet, SQLite files and the landing folder exist."""
    from pipelines.connections import SourceEnvironment, probe_server
    from pipelines.registry import load_registry

    env = SourceEnvironment.from_env()
    specs = load_registry()
    out: list[Check] = []
    servers: dict[tuple[str, str, int | None], list[str]] = {}
    absent: list[str] = []
    for spec in specs.values():
        kind = env.effective_kind(spec)
        if kind in ("postgres", "mariadb"):
            u = urlsplit(env.db_uri(spec))
            servers.setdefault((u.scheme, u.hostname or "", u.port), []).append(spec.source)
        elif kind == "sqlite" and not env.sqlite_file(spec.connection.database or "").exists():
            absent.append(spec.source)
    if absent:
        out.append(Check("sources", "fail", f"{len(absent)} source(s) have no SQLite file under "
                         f"{env.sources_dir / 'db'} ({', '.join(absent[:4])}{'...' if len(absent) > 4 else ''})",
                         "set MASTERDATA_SOURCES to the folder holding db/ and files/, or MASTERDATA_DB_MODE=servers"))
    for (scheme, host, port), names in sorted(servers.items(), key=lambda kv: str(kv[0])):
        try:
            probe_server(f"{scheme}://{host}:{port}" if port else f"{scheme}://{host}", 3.0, 5.0)
            out.append(ok(f"server {host}:{port or ''}", f"answers ({len(names)} source(s))"))
        except OSError as exc:
            out.append(Check(f"server {host}:{port or ''}", "fail", f"{len(names)} source(s) unreachable "
                             f"({', '.join(sorted(names)[:4])}...): {exc}",
                             "start the server or fix MASTERDATA_PG_URL / MASTERDATA_MYSQL_URL (or the Airflow Connection)"))
    if any(s.connection.kind not in ("postgres", "mariadb", "sqlite") for s in specs.values()) \
            and not env.files_dir.is_dir():
        out.append(Check("landing folder", "fail", f"no landing folder {env.files_dir}",
                         "create it or set MASTERDATA_SOURCES"))
    return out or [ok("sources", f"{len(specs)} source(s) reachable")]


def check_gold() -> list[Check]:
    from pipelines.masters.gold_file import open_gold

    path = settings().gold
    if not path.exists():
        return [Check("gold store", "fail", f"no gold store at {path}", "run `masterdata build` (or restore a backup)")]
    try:
        con = open_gold(path)
        tables = {r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()}
        counts = {m: con.execute(f"SELECT count(*) FROM {m}").fetchone()[0] for m in MASTERS if m in tables}  # type: ignore[index]
        con.close()
    except Exception as exc:  # a damaged file: DuckDB raises several kinds
        return [Check("gold store", "fail", f"{path.name} does not open: {str(exc).splitlines()[0][:160]}",
                      "rebuild with `masterdata build` or restore a backup")]
    missing = [m for m in MASTERS if m not in counts]
    if missing:
        return [Check("gold store", "fail", f"{path.name} lacks {', '.join(missing)}", "run `masterdata build`")]
    return [ok("gold store", ", ".join(f"{m} {n:,}" for m, n in counts.items()))]


def check_state() -> list[Check]:
    """The delta state beside the gold file (:func:`pipelines.masters.gold_file.state_path`): a
    warning, not a failure, when the next build will be full because it is missing or names other
    builds than the gold file's (a build that died, a restored gold file)."""
    import duckdb

    from core.sqltext import lit
    from pipelines.masters.gold_file import state_path
    from pipelines.masters.store import STATE_BUILDS_SQL

    gold = settings().gold
    state = state_path(gold)
    if not gold.exists():
        return []  # the gold check names that
    if not state.exists():
        return [Check("delta state", "warn", f"no {state.name} beside the gold file: the next build resolves "
                      "every master in full", "nothing to do: `masterdata build` writes it")]
    try:
        con = duckdb.connect()
        con.execute(f"ATTACH {lit(str(gold))} AS gold (READ_ONLY)")
        con.execute(f"ATTACH {lit(str(state))} AS state (READ_ONLY)")
        rows = con.execute(f"{STATE_BUILDS_SQL} ORDER BY b.master").fetchall()
        con.close()
    except duckdb.IOException as exc:
        if "lock" in str(exc).lower():
            return [ok("delta state", f"{state.name} is held by a running build")]
        raise
    except duckdb.Error as exc:
        return [Check("delta state", "warn", f"{state.name} does not open: {str(exc).splitlines()[0][:160]}",
                      "remove it; the next build resolves every master in full and writes it again")]
    stale = [f"{m} (state {s or 'incomplete'}, gold {g})" for m, g, s in rows if s != g]
    if stale:
        return [Check("delta state", "warn", f"the next build is full for {', '.join(stale)}",
                      "nothing to do: a build that died, or a restored gold file, leaves this; the next build "
                      "repairs it")]
    return [ok("delta state", f"matches the gold file ({', '.join(f'{m} {g}' for m, g, _s in rows)})")]


def check_serving() -> list[Check]:
    from warehouse.api.settings import Settings

    s = Settings.from_env()
    if not s.store.exists():
        return [Check("serving store", "fail", f"no serving store at {s.store}",
                      "create the calling systems' keys: `masterdata keys create --name hall-web --kind hall`")]
    try:
        con = sqlite3.connect(f"file:{s.store}?mode=ro", uri=True)
        active = con.execute("SELECT count(*) FROM callers WHERE revoked_at IS NULL").fetchone()[0]
        con.close()
    except sqlite3.Error as exc:
        return [Check("serving store", "fail", f"{s.store.name} does not open: {exc}", "restore a backup")]
    if not active:
        return [Check("API keys", "fail", "no active API key: the server will not start",
                      "`masterdata keys create --name hall-web --kind hall` (one per calling system)")]
    return [ok("API keys", f"{active} active key(s)")]


def check_grants() -> list[Check]:
    from warehouse.api.grants import load_policy

    path = settings().grants
    policy = load_policy(path)
    return [ok("grants", f"{path.name} valid ({len(policy.spec.grants)} grant(s))")]


def check_audit() -> list[Check]:
    from warehouse.api.auditcheck import check
    from warehouse.api.settings import Settings

    s, cs = Settings.from_env(), settings()
    if not s.store.exists() and not cs.audit_anchor:
        return []  # nothing to check (the serving check names the missing store)
    out: list[Check] = []
    if cs.audit_anchor:
        key = cs.audit_signing_key
        if not key.exists():
            out.append(Check("audit signing key", "fail", f"no checkpoint signing key at {key}",
                             "start the server once (it makes the key) or set MASTERDATA_AUDIT_SIGNING_KEY"))
            return out
        if key.resolve().parent == s.store.resolve().parent:
            out.append(Check("audit signing key", "fail", "the checkpoint signing key lies beside the serving store",
                             "move it to another disk/account and set MASTERDATA_AUDIT_SIGNING_KEY"))
        elif key.stat().st_mode & 0o077:
            out.append(Check("audit signing key", "warn", f"{key} is readable by others", f"chmod 600 {key}"))
    report = check(s.store, s.audit_key, cs.audit_anchor)
    for w in report.warnings:
        fix = ("`masterdata audit anchor-setup --admin-url ...` and set MASTERDATA_AUDIT_ANCHOR" if not cs.audit_anchor
               else "use the role `masterdata audit anchor-setup` made")
        out.append(Check("audit anchor", "warn" if not cs.audit_anchor else "fail", w, fix))
    for f in report.findings:
        fix = ("check the anchor's server and MASTERDATA_AUDIT_ANCHOR" if f.problem == "unreachable"
               else "the log was tampered with: keep the evidence, run `masterdata audit verify`, restore a backup")
        out.append(Check("audit log", "fail", f.message, fix))
    if report.intact:
        out.append(ok("audit log", f"{report.entries:,} entries intact" + (
            f", {report.checkpoints:,} anchored checkpoint(s) agree" if report.anchored else "")))
    return out


def check_lake() -> list[Check]:
    from pipelines.lake import Lake

    lake = Lake(settings().lake)
    batches = lake.committed_batches()
    bad = [b for b in batches if not b.reconciles]
    gone = [b for b in batches if any(not lake.silver_path(m, b.source, b.table, b.batch_id).exists()
                                      for m in b.files.get("silver", {}))
            or (b.quarantined and not lake.quarantine_path(b.source, b.table, b.batch_id).exists())]
    out = []
    if bad:
        b = bad[0]
        out.append(Check("lake", "fail", f"{len(bad)} committed batch(es) do not reconcile, e.g. {b.source}.{b.table} "
                         f"{b.batch_id}: extracted {b.extracted} != {b.standardised} + {b.quarantined}",
                         "re-ingest the table (`masterdata ingest --source ...`) after moving the batch's marker aside"))
    if gone:
        b = gone[0]
        out.append(Check("lake", "fail", f"{len(gone)} committed batch(es) miss their files, e.g. {b.source}.{b.table} "
                         f"{b.batch_id}", "restore the lake from its backup, or remove the markers and re-ingest"))
    return out or [ok("lake", f"{len(batches):,} committed batch(es) reconcile")]


def check_disk() -> list[Check]:
    home = settings().home
    probe = home if home.exists() else Path(".")
    free = shutil.disk_usage(probe).free
    if free < MIN_FREE_BYTES:
        return [Check("disk", "fail", f"{free / 2**30:.1f} GiB free under {probe}",
                      "free space or move MASTERDATA_HOME / MASTERDATA_TMP to a larger disk")]
    return [ok("disk", f"{free / 2**30:.1f} GiB free")]


CHECKS: dict[str, Callable[[], list[Check]]] = {
    "sources": check_sources, "gold store": check_gold, "delta state": check_state, "serving store": check_serving,
    "grants": check_grants,
    "audit": check_audit, "lake": check_lake, "disk": check_disk}


def run() -> list[Check]:
    """Every check; an expected error in one is its failure, the others still run."""
    out: list[Check] = []
    for name, fn in CHECKS.items():
        try:
            out.extend(fn())
        except MasterdataError as exc:
            out.append(Check(name, "fail", exc.one_line(), "fix what the message names"))
    return out


def as_json(checks: list[Check]) -> dict[str, Any]:
    return {"healthy": not any(c.status == "fail" for c in checks), "checks": [asdict(c) for c in checks]}
