"""Command-line group of the serving layer: ``serve``, ``keys``, ``audit``, ``evidence``, ``once-only``,
``backup``, ``restore``, ``doctor``.

Plugs into the ``masterdata`` app through the ``masterdata.commands`` entry point ``serving``
(pyproject.toml; :mod:`pipelines.cli` calls ``register(app)`` without naming this module).  Cheap to import:
FastAPI, uvicorn and DuckDB are imported inside the commands.  Bad input or state ends in one red
line, never a traceback: a :class:`core.errors.MasterdataError` raised by the serving code reaches
``pipelines.cli.main``, which prints its one line and exits with its code.  An API key is printed
once, when created, and never again.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from core.cli import DepartmentOption, add_group, console, fail
from core.jsonout import dumps

if TYPE_CHECKING:
    from warehouse.api.settings import Settings
    from warehouse.api.store import Store

JSON_OPTION = typer.Option("--json", help="print one JSON document on stdout instead of the text")


def _settings() -> Settings:
    from warehouse.api.settings import Settings

    return Settings.from_env()


def _store() -> Store:
    from warehouse.api.store import Store

    s = _settings()
    return Store(s.store, s.audit_key)


def _progress(message: str) -> None:
    console.print(f"  read model: {message}", highlight=False)


def serve(
    host: Annotated[str, typer.Option(help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port to listen on")] = 8000,
    workers: Annotated[int, typer.Option(help="server processes (one per core is a good start)")] = 2,
    access_log: Annotated[bool, typer.Option(help="log every request line (paths can hold ID numbers: off by "
                                             "default; the audit log records every access)")] = False,
) -> None:
    """Serve the hall auto-fill and department queries over the gold masters (HTTP, OpenAPI at /docs).

    Reads the gold file (MASTERDATA_GOLD or $MASTERDATA_HOME/warehouse/gold.duckdb) read-only and
    follows new builds; keeps keys, sessions, applications and the audit log in
    $MASTERDATA_HOME/warehouse/serving.sqlite (MASTERDATA_SERVING). Refuses to start without API keys.
    """
    from warehouse.api.catalogue import catalogue
    from warehouse.api.grants import load_policy
    from warehouse.api.index import ensure_snapshot

    if workers < 1:
        fail("--workers must be at least 1")
    s = _settings()
    load_policy(s.grants)
    catalogue()
    store = _store()
    if store.active_keys() == 0:
        fail("no API keys: the server has no default credentials. Create one per calling system, e.g. "
              "`masterdata keys create --name hall-web --kind hall` or "
              "`masterdata keys create --name scjg --kind department --department market_regulation`")
    store.close()
    path = ensure_snapshot(s.gold, s.index_dir, _progress)
    console.print(f"[bold]serving[/] {s.gold} (read model {path.name}) on http://{host}:{port} "
                  f"with {workers} worker(s); OpenAPI at /docs", highlight=False)
    os.environ["MASTERDATA_SERVE_WORKERS"] = str(workers)
    import uvicorn

    uvicorn.run("warehouse.api.app:create_app", factory=True, host=host, port=port, workers=workers,
                access_log=access_log, log_level="info", loop="uvloop", http="httptools",
                timeout_graceful_shutdown=5)


def once_only(
    applications: Annotated[int, typer.Option(help="applications of the simulated day (the seed city gets 1,000+ "
                                              "a day)")] = 1000,
    seed: Annotated[int, typer.Option(help="random seed (same seed, same day)")] = 7,
    as_of: Annotated[Optional[str], typer.Option(help="the day (YYYY-MM-DD; default today): licences must be valid "
                                                 "on it, events are the year before it")] = None,
    decline: Annotated[Optional[float], typer.Option(help="share of applicants who withdraw instead of consenting "
                                                    "(default: the day's stated rate, 2%)")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the figures as JSON on stdout (instead of the "
                                          "text)")] = False,
    out: Annotated[Optional[Path], typer.Option("--out", help="also write the figures as JSON to this file")] = None,
) -> None:
    """A realistic day of hall applications: share of required materials not uploaded, the ceiling by
    来源渠道, every remaining upload's reason, by hall, department, power type and applicant kind."""
    from datetime import date

    from core.jsonout import write
    from warehouse.api.catalogue import catalogue
    from warehouse.api.index import ReadModel, ensure_snapshot
    from warehouse.api.once_only import save_latest, simulate
    from warehouse.api.service import audit

    if applications < 1:
        fail("--applications must be at least 1")
    if decline is not None and not 0.0 <= decline <= 1.0:
        fail(f"--decline must be a share between 0 and 1, not {decline}")
    s = _settings()
    try:
        day = date.fromisoformat(as_of) if as_of else s.today()
    except ValueError:
        fail(f"--as-of must be a date YYYY-MM-DD, not {as_of!r}")
        return
    model = ReadModel(ensure_snapshot(s.gold, s.index_dir, _progress))
    report = simulate(model, catalogue(), s.gold, applications, seed, day, decline)
    access = audit.Access.operator("once-only", "once_only", "statistics")
    access.detail = {"applications": applications, "seed": seed, "as_of": day.isoformat()}
    audit.record(_store(), access, 0, ["aggregate"])
    print(dumps(report.as_dict()) if as_json else report.render())
    save_latest(report, s.once_only_report)
    if out:
        write(out, report.as_dict())


def keys_create(
    name: Annotated[str, typer.Option(help="the calling system, e.g. hall-web or scjg-approval")],
    kind: Annotated[str, typer.Option(help="hall | department | identity | steward")],
    department: DepartmentOption = None,
    rate: Annotated[Optional[float], typer.Option(help="requests per second (default by kind)")] = None,
    burst: Annotated[Optional[int], typer.Option(help="burst size (default by kind)")] = None,
) -> None:
    """Create a key; it is printed once (stdout) and stored only as a hash."""
    from standards.codetables import check_department

    check_department(department)
    caller, key = _store().create_key(name, kind, department, rate, burst)
    console.print(f"created key {caller.key_id} for {caller.name} ({caller.kind}"
                  f"{', ' + caller.department if caller.department else ''}; {caller.rate:g} req/s, burst "
                  f"{caller.burst}). Store it now: it is not shown again.", highlight=False)
    print(key)


def keys_list(as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """List keys (id, caller, kind, department, limits, created, revoked) - never the secrets."""
    rows = _store().list_keys()
    if as_json:
        print(dumps(rows))
        return
    if not rows:
        console.print("no keys (create one with `masterdata keys create`)")
    for r in rows:
        state = f"revoked {r['revoked_at']}" if r["revoked_at"] else "active"
        print(f"{r['key_id']}  {r['name']:24} {r['kind']:10} {r['department'] or '-':22} "
              f"{r['rate']:>7g}/s burst {r['burst']:<6} created {r['created_at']}  {state}")


def keys_revoke(key_id: Annotated[str, typer.Argument(help="the key id (from keys list)")]) -> None:
    """Revoke a key (effective within seconds on running servers)."""
    if not _store().revoke_key(key_id):
        fail(f"no active key {key_id!r}")
    console.print(f"revoked {key_id}")


def audit_verify(
    public_key: Annotated[Optional[Path], typer.Option(help="the checkpoints' public key (PEM, from `masterdata audit "
                                                       "public-key`); default: derived from "
                                                       "MASTERDATA_AUDIT_SIGNING_KEY")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Check the chain and the anchor: names every changed, inserted, deleted entry, and a log cut short,
    emptied, rolled back, re-hashed or gone since it was anchored (exit 1 if any)."""
    from core.settings import settings
    from warehouse.api.auditcheck import check

    s = _settings()
    report = check(s.store, s.audit_key, settings().audit_anchor, public_key)
    if as_json:
        print(dumps(report.as_dict()))
    else:
        for w in report.warnings:
            console.print(f"[yellow]warning:[/] {w}", highlight=False)
        for n in report.notices:
            console.print(f"[bold yellow]RESTORED[/] {n}", highlight=False)
        for f in report.findings:
            console.print(f"[bold red]{f.problem.upper()}[/] {f.message}", highlight=False)
    if report.intact:
        anchored = f", {report.checkpoints:,} anchored checkpoint(s) agree" if report.anchored else ""
        if not as_json:
            print(f"audit log intact: {report.entries:,} entries, chain and head verified{anchored} ({s.store})")
        return
    fail(f"audit log TAMPERED: {len(report.findings)} finding(s) in {report.entries:,} entries", code=1)


def audit_anchor_setup(
    admin_url: Annotated[str, typer.Option(help="PostgreSQL URL of an administrator (creates database, table, role)")],
    database: Annotated[str, typer.Option(help="the anchor's database")] = "masterdata_audit",
    role: Annotated[str, typer.Option(help="the INSERT-only role the API logs in as")] = "masterdata_audit_writer",
    password_env: Annotated[Optional[str], typer.Option(help="name of an environment variable holding the role's "
                                                        "password (never on the command line)")] = None,
) -> None:
    """Create the audit anchor in PostgreSQL: a table only an administrator owns, guard triggers, and a
    role that may only SELECT and INSERT. Prints the URL to set as MASTERDATA_AUDIT_ANCHOR."""
    from warehouse.api.anchor import setup

    password = os.environ.get(password_env) if password_env else None
    if password_env and not password:
        fail(f"--password-env {password_env}: that variable is not set")
    url = setup(admin_url, database, role, password)
    console.print(f"audit anchor ready; the role {role} may only SELECT and INSERT. Configure the API with "
                  "(add the password if the server asks for one):", highlight=False)
    print(f"MASTERDATA_AUDIT_ANCHOR={url}")


def audit_anchor() -> None:
    """Anchor the audit log's head now (a running server does so every MASTERDATA_AUDIT_ANCHOR_EVERY s)."""
    from warehouse.api.service.state import anchor
    from warehouse.api.service.upkeep import checkpoint

    a = anchor()
    if a is None:
        fail("no audit anchor configured: set MASTERDATA_AUDIT_ANCHOR (see `masterdata audit anchor-setup`)")
    store = _store()
    rec = checkpoint(store, a)
    seq = store.head()[0]
    store.close()
    print(f"anchored entry {seq:,} (record {rec.id})" if rec else f"entry {seq:,} was already anchored")


def audit_public_key() -> None:
    """Print the public key audit checkpoints are signed with (PEM), for auditors' `audit verify --public-key`."""
    from core.settings import settings
    from warehouse.api.anchor import load_anchor_key
    from warehouse.api.sealing import key_id, public_pem

    pub = load_anchor_key(settings().audit_signing_key, create=False).public_key()
    console.print(f"key id {key_id(pub)}", highlight=False)
    print(public_pem(pub), end="")


def audit_show(last: Annotated[int, typer.Option(help="how many of the latest entries")] = 20,
               as_json: Annotated[bool, JSON_OPTION] = False) -> None:
    """Print the latest entries: one line each, or with ``--json`` one JSON list (subjects, fields and
    details decoded)."""
    rows = []
    for r in _store().audit_entries(last):
        r = {k: v for k, v in r.items() if k not in ("prev_hash",)}
        for k in ("subject", "fields", "detail"):
            r[k] = json.loads(r[k])
        rows.append(r)
    if as_json:
        print(dumps(rows))
        return
    for r in rows:
        print(" ".join(f"{k}={json.dumps(v, ensure_ascii=False) if isinstance(v, dict | list) else v}"
                       for k, v in r.items()))


def evidence_verify(
    file: Annotated[Path, typer.Argument(help="an evidence document (JSON), a list of them, or an "
                                         "/applications/{id}/evidence answer")],
    public_key: Annotated[Optional[Path], typer.Option(help="the platform's public key (PEM, from GET "
                                                       "/v1/evidence/public-key); default: derived from the "
                                                       "signing key beside the serving store")] = None,
    as_json: Annotated[bool, JSON_OPTION] = False,
) -> None:
    """Check evidence documents offline: sealed by the platform and unaltered (exit 1 if any is not)."""
    from warehouse.api.sealing import SealError, load_public_key, load_signing_key, verify

    try:
        doc = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SealError(f"{file}: not a JSON evidence document ({str(exc).splitlines()[0]})") from None
    docs = doc.get("documents") if isinstance(doc, dict) and "documents" in doc else doc
    docs = docs if isinstance(docs, list) else [docs]
    key = load_public_key(public_key) if public_key else \
        load_signing_key(_settings().evidence_key, create=False).public_key()
    bad = 0
    results = []
    for d in docs:
        v = verify(d, key)
        name = d.get("document_id") if isinstance(d, dict) else None
        results.append({"document_id": name, "valid": v.valid, "reason": v.reason, "key_id": v.key_id})
        if as_json:
            bad += not v.valid
        elif v.valid:
            print(f"{name}: valid (sealed by key {v.key_id}, unaltered)")
        else:
            bad += 1
            console.print(f"[bold red]{name}: NOT VALID[/] ({v.reason})", highlight=False)
    if as_json:
        print(dumps(results))
    if bad:
        fail(f"{bad} of {len(docs)} evidence document(s) failed verification", code=1)


def evidence_public_key() -> None:
    """Print the public key evidence documents are sealed with (PEM), for departments to verify offline."""
    from warehouse.api.sealing import key_id, load_signing_key, public_pem

    pub = load_signing_key(_settings().evidence_key).public_key()
    console.print(f"key id {key_id(pub)}", highlight=False)
    print(public_pem(pub), end="")


def backup(to: Annotated[Path, typer.Option("--to", help="a new or empty folder")]) -> None:
    """Back up the gold store, serving store (keys, applications, evidence, audit log), its keys and the
    steward decisions - consistently while the API runs; the audit log must verify against its anchor."""
    from warehouse.ops.backup import backup as run

    manifest = run(to)
    audit = manifest.get("audit")
    files = ", ".join(f"{n} ({m['bytes']:,} B)" for n, m in manifest["files"].items())
    console.print(f"backed up to {to}: {files}" + (f"; audit log of {audit['entries']:,} entries verified"
                                                  + (" against the anchor" if audit["anchored"] else "")
                                                  if audit else ""), highlight=False)


def restore(
    source: Annotated[Path, typer.Option("--from", help="a folder written by `masterdata backup`")],
    force: Annotated[bool, typer.Option(help="replace a home that already holds a gold or serving store")] = False,
) -> None:
    """Restore a backup into this home (stop the server first); the restore is recorded in the audit log
    and its anchor, and `audit verify` reports what entries it lost."""
    from warehouse.ops.backup import restore as run

    manifest = run(source, force)
    console.print(f"restored the backup of {manifest['taken_at']} ({', '.join(manifest['files'])}); "
                  "run `masterdata audit verify`", highlight=False)


def doctor(as_json: Annotated[bool, typer.Option("--json", help="the findings as JSON")] = False) -> None:
    """Check this deployment: sources, gold store, API keys, grants, audit log and anchor, lake, disk;
    each problem with a one-line fix (exit 1 if anything fails)."""
    from warehouse.ops.doctor import as_json as to_json
    from warehouse.ops.doctor import run

    checks = run()
    if as_json:
        print(json.dumps(to_json(checks), ensure_ascii=False, indent=2))
    else:
        colour = {"ok": "green", "warn": "yellow", "fail": "bold red"}
        for c in checks:
            console.print(f"[{colour[c.status]}]{c.status.upper():4}[/] {c.name}: {c.message}"
                          + (f"\n     fix: {c.fix}" if c.fix and c.status != "ok" else ""), highlight=False)
    failed = sum(c.status == "fail" for c in checks)
    if failed:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add ``serve``, ``once-only`` and the ``keys``, ``audit`` and ``evidence`` groups to ``masterdata``."""
    app.command("serve")(serve)
    app.command("once-only")(once_only)
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("doctor")(doctor)
    add_group(app, "keys", "API keys of the calling systems (hall, departments, identity platform).",
              {"create": keys_create, "list": keys_list, "revoke": keys_revoke})
    add_group(app, "audit", "The hash-chained audit log of every access.",
              {"verify": audit_verify, "show": audit_show, "anchor-setup": audit_anchor_setup,
               "anchor": audit_anchor, "public-key": audit_public_key})
    add_group(app, "evidence", "Sealed evidence documents (证明) for approving departments.",
              {"verify": evidence_verify, "public-key": evidence_public_key})
