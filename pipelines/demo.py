"""``masterdata demo``: the whole platform end to end on a small synthetic city, on embedded defaults.

What a newcomer runs first (``make demo``).  Everything lands under one home folder (``var/`` by
default): the city's sources, the lake, a project-local Airflow (SQLite metadata) and the warehouse.
Each stage is the real thing — the Airflow DAGs run with ``dag.test()``, the same code the scheduler
runs — and the closing summary says what was built and where to look.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.errors import RunFailed
from core.settings import settings

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class DemoContext:
    home: Path
    persons: int
    seed: int
    say: Callable[[str], None]
    notes: list[tuple[str, str]] = field(default_factory=list)

    @property
    def city(self) -> Path:
        return self.home / "city"

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def airflow_home(self) -> Path:
        return self.home / "airflow"

    def env(self) -> dict[str, str]:
        """The environment every stage (and every Airflow task) runs with."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("AIRFLOW__")}
        env.update({
            "MASTERDATA_HOME": str(self.home.resolve()),
            "MASTERDATA_SOURCES": str((self.city / "sources").resolve()),
            "MASTERDATA_LAKE": str(self.lake.resolve()),
            "MASTERDATA_DB_MODE": "embedded",
            "MASTERDATA_RETRY_DELAY_S": "2",
            "AIRFLOW_HOME": str(self.airflow_home.resolve()),
            "AIRFLOW__CORE__DAGS_FOLDER": str(ROOT / "dags"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS": "pipelines.airflow_logging.LOGGING_CONFIG",
            "PYTHONUNBUFFERED": "1",
        })
        return env


class DemoError(RunFailed):
    """A stage failed; the message names it and where its log is."""


def _run(ctx: DemoContext, args: list[str], log_name: str, echo: Callable[[str], bool]) -> None:
    """Run a stage in a child process (Airflow reads its config at import), streaming chosen lines."""
    log = ctx.home / "logs" / log_name
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("w", encoding="utf-8") as fh:
        proc = subprocess.Popen(args, env=ctx.env(), cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, bufsize=1)
        assert proc.stdout
        for line in proc.stdout:
            fh.write(line)
            if echo(line):
                ctx.say("    " + line.rstrip())
        rc = proc.wait()
    if rc != 0:
        raise DemoError(f"{log_name.removesuffix('.log')} failed (exit {rc}); see {log}")


def generate(ctx: DemoContext, day2: bool) -> None:
    from pipelines.synthetic.city import generate_city

    summary = generate_city(persons=ctx.persons, seed=ctx.seed, out=ctx.city, target="embedded", day2=day2)
    ctx.say(f"    {summary.rows:,} source rows in {len(summary.tables)} tables of 32 departments "
            f"({summary.entities:,} legal entities, {summary.licences:,} licences); truth in {ctx.city / 'truth'}")


def airflow_db(ctx: DemoContext) -> None:
    if (ctx.airflow_home / "airflow.db").exists():
        ctx.say("    metadata database already there")
    _run(ctx, [sys.executable, "-m", "airflow", "db", "migrate"], "airflow-db-migrate.log", lambda _l: False)


def run_dags(ctx: DemoContext, dag_ids: list[str], log_name: str) -> None:
    _run(ctx, [sys.executable, "-m", "pipelines.airflow_run", *dag_ids], log_name,
         lambda line: line.startswith("[") or "import error" in line)


def lake_summary(ctx: DemoContext) -> str:
    from pipelines.lake import Lake

    batches = Lake(ctx.lake).committed_batches()
    e = sum(b.extracted for b in batches)
    s = sum(b.standardised for b in batches)
    q = sum(b.quarantined for b in batches)
    ok = all(b.reconciles for b in batches)
    return (f"{len(batches)} batches: extracted {e:,} = silver {s:,} + quarantine {q:,}"
            f"{'' if ok else '  (RECONCILIATION FAILED)'}")


def ingest_direct(ctx: DemoContext) -> None:
    """The same ``ingest_table`` the DAG tasks run, in this process (no Airflow start-up per DAG)."""
    from core.db import connect
    from pipelines.connections import SourceEnvironment
    from pipelines.ingest import ingest_table
    from pipelines.lake import Lake
    from pipelines.registry import registry

    env = SourceEnvironment(sources_dir=ctx.city / "sources", db_mode="embedded")
    lake = Lake(ctx.lake)
    con = connect()
    try:
        for name, spec in registry().items():
            new = [o for t in spec.tables for o in ingest_table(spec, t, env, lake, con=con) if not o.skipped]
            if new and sum(o.extracted for o in new):
                ctx.say(f"    {name:22} {sum(o.extracted for o in new):>6,} changed rows -> silver "
                        f"{sum(o.standardised for o in new):,}, quarantine {sum(o.quarantined for o in new):,}")
    finally:
        con.close()


def masterdata_cmd(ctx: DemoContext, args: list[str], log_name: str, echo: Callable[[str], bool]) -> None:
    exe = str(Path(sys.executable).with_name("masterdata"))
    _run(ctx, [exe, *args], log_name, echo)


def build_direct(ctx: DemoContext) -> None:
    masterdata_cmd(ctx, ["build"], "build-day2.log", lambda line: bool(line.strip()))


def evaluate(ctx: DemoContext) -> None:
    # the per-master summary on screen; the per-defect tables are in the log
    shown = iter(range(6))
    masterdata_cmd(ctx, ["evaluate", "--truth", str(ctx.city / "truth")], "evaluate.log",
                   lambda line: bool(line.strip()) and next(shown, None) is not None)


def _key(ctx: DemoContext, name: str, kind: str, department: str | None = None) -> str:
    exe = str(Path(sys.executable).with_name("masterdata"))
    extra = ["--department", department] if department else []
    res = subprocess.run([exe, "keys", "create", "--name", name, "--kind", kind, *extra], env=ctx.env(), cwd=ROOT,
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise DemoError(f"could not create the {kind} API key: {res.stderr.strip().splitlines()[-1:]}")
    return res.stdout.strip().splitlines()[-1]


def _console_steward(ctx: DemoContext) -> str:
    """A steward account for the console (``masterdata users create``): how to sign in."""
    import secrets

    password = secrets.token_urlsafe(9)
    exe = str(Path(sys.executable).with_name("masterdata"))
    res = subprocess.run([exe, "users", "create", "--name", "demo-steward", "--role", "steward", "--display-name",
                          "演示管理员", "--password-stdin"], env=ctx.env(), cwd=ROOT, input=password + "\n",
                         capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        return "sign in as demo-steward (its password was shown when the demo first created it)"
    return f"sign in as demo-steward / {password} (shown once)"


def _free_port(preferred: int = 8000) -> int:
    """8000 (what the README's curl lines use) when it is free, else any free port."""
    import socket

    for port in (preferred, 0):
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return int(s.getsockname()[1])
    raise DemoError("no free port for the API server")


def once_only(ctx: DemoContext) -> None:
    """The once-only headline over a simulated day (before the quality DAG, whose report shows it all)."""
    headline = ("once-only:", "required materials", "ceiling", "government-held", "form fields", "still to upload")
    masterdata_cmd(ctx, ["once-only", "--applications", "1000"], "once-only.log",
                   lambda line: line.strip().startswith(headline))


SAMPLE_ITEM = "S0016"  # 新生儿出生登记（入户）: the parent's ID card and household book, 结婚证, the child's 出生医学证明


def _sample_applicant(ctx: DemoContext) -> tuple[str, str]:
    """A married parent of the youngest child the population library records (a birth registration)."""
    import duckdb

    gold = duckdb.connect(str(ctx.home / "warehouse" / "gold.duckdb"), read_only=True)
    try:
        row = gold.execute(
            "SELECT p.id_number, p.name FROM person_master AS c JOIN person_master AS p ON p.id_number = "
            "c.guardian_id_number JOIN licence_master AS m ON m.holder_master_id = p.master_id AND m.type_code = '009' "
            "WHERE p.death_date IS NULL AND p.name IS NOT NULL "
            "ORDER BY c.birth_date DESC, p.master_id LIMIT 1").fetchone()
    finally:
        gold.close()
    if row is None:
        raise DemoError("no parent of a child born in the past year in the population library")
    return str(row[0]), str(row[1])


def serve(ctx: DemoContext) -> None:
    """Start the API in the background, then make the hall's and the department's calls for one
    applicant, as a sample: auto-fill, consent, sealed evidence and its verification."""
    import httpx

    identity_key = _key(ctx, "demo-identity-platform", "identity")
    hall_key = _key(ctx, "demo-hall-web", "hall")
    dept_key = _key(ctx, "demo-public-security", "department", "public_security")
    port = settings().demo_port or _free_port()
    log = (ctx.home / "logs" / "serve.log").open("w", encoding="utf-8")
    exe = str(Path(sys.executable).with_name("masterdata"))
    proc = subprocess.Popen([exe, "serve", "--port", str(port), "--workers", "1"], env=ctx.env(), cwd=ROOT,
                            stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    (ctx.home / "serve.pid").write_text(str(proc.pid))
    base = f"http://127.0.0.1:{port}"
    for _ in range(120):
        try:
            if httpx.get(f"{base}/health", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            raise DemoError(f"the API server stopped; see {ctx.home / 'logs' / 'serve.log'}")
        time.sleep(0.5)
    id_number, name = _sample_applicant(ctx)
    session = httpx.post(f"{base}/v1/identity/sessions", json={"id_number": id_number, "name": name},
                         headers={"Authorization": f"Bearer {identity_key}"}, timeout=30).json()
    hall = {"Authorization": f"Bearer {hall_key}", "X-Applicant-Token": session["token"]}
    body = httpx.post(f"{base}/v1/hall/autofill", json={"service_item": SAMPLE_ITEM}, headers=hall, timeout=30).json()
    ctx.say(f"    POST {base}/v1/hall/autofill  service item {SAMPLE_ITEM} for applicant {name[:1]}** "
            f"({id_number[:6]}********{id_number[-4:]})")
    _say_autofill(ctx, body)
    _say_evidence(ctx, base, hall, dept_key, body["application_id"])
    ctx.notes.append(("HTTP API (OpenAPI docs)", f"{base}/docs   — running in the background, pid {proc.pid}; "
                      f"stop it with: kill {proc.pid}"))
    ctx.notes.append(("web console", f"{base}/console/   — {_console_steward(ctx)}"))


def _say_evidence(ctx: DemoContext, base: str, hall: dict[str, str], dept_key: str, app_id: str) -> None:
    """The applicant consents; the approving department receives the sealed evidence and verifies it."""
    import httpx

    r = httpx.post(f"{base}/v1/hall/applications/{app_id}/consent", json={"agree": True}, headers=hall, timeout=30)
    dept = {"Authorization": f"Bearer {dept_key}"}
    docs = httpx.get(f"{base}/v1/applications/{app_id}/evidence", params={"purpose": "household_registration"},
                     headers=dept, timeout=30).json().get("documents", [])
    valid = sum(bool(httpx.post(f"{base}/v1/evidence/verify", json=d, headers=dept, timeout=30).json().get("valid"))
                for d in docs)
    ctx.say(f"    consent: {r.json().get('status')}; the approving department (public security) received "
            f"{len(docs)} sealed evidence document(s), {valid} verified unaltered (Ed25519)")


def _masked(element: str, value: Any) -> str:
    """A personal value as the screen shows it: names and ID numbers masked."""
    text = str(value)
    if element.endswith("id_number") and len(text) == 18:
        return f"{text[:6]}********{text[-4:]}"
    if element.endswith("name"):
        return text[:1] + "*" * (len(text) - 1)
    return text


def _say_autofill(ctx: DemoContext, body: dict[str, Any]) -> None:
    if "fields" not in body:
        raise DemoError(f"the auto-fill call failed: {body.get('title')}: {body.get('detail')}")
    fields = body["fields"]
    filled = [f for f in fields if f.get("prefilled")]
    ctx.say(f"    {body['service_item'].get('name', '')}: {len(filled)} of {len(fields)} form fields pre-filled")
    for f in filled[:3]:
        src = f.get("source") or {}
        ctx.say(f"      {f['label']}: {_masked(f['element'], f.get('display') or f.get('value'))}  (from "
                f"{src.get('department_name')}, updated {src.get('updated_at')})")
    for m in body.get("materials") or []:
        lic, ev = m.get("licence") or {}, m.get("evidence") or {}
        if m["status"] == "held":
            how = (f"HELD — licence {lic.get('type_name')} {lic.get('identifier')}, valid "
                   f"{'to ' + lic['valid_to'] if lic.get('valid_to') else 'without end date'}")
        elif m["status"] == "evidence":
            how = f"HELD — {ev.get('title')} attested by {ev.get('department_name')} from its records"
        elif m["status"] == "form":
            how = "replaced by this pre-filled online form"
        else:
            how = f"{m['status'].replace('_', ' ')} ({m.get('reason') or m.get('note')})"
        about = "" if m.get("about") == "applicant" else f" (about the applicant's {m.get('about')})"
        ctx.say(f"      material {m['material']}{about}: {how}")


def ingest_dag_ids() -> list[str]:
    from pipelines.assets import source_names

    return [f"ingest_{s}" for s in source_names()]


def run_demo(home: Path, persons: int, seed: int, say: Callable[[str], None]) -> list[tuple[str, str]]:
    """Run every stage; returns (what, where) pairs for the closing summary."""
    ctx = DemoContext(home=home, persons=persons, seed=seed, say=say)
    home.mkdir(parents=True, exist_ok=True)
    stages: list[tuple[str, Callable[[], None]]] = [
        (f"generate a city of {persons:,} persons (day 1)", lambda: generate(ctx, day2=False)),
        ("prepare Airflow (SQLite metadata, project-local)", lambda: airflow_db(ctx)),
        ("run the 32 ingestion DAGs (day 1)", lambda: run_dags(ctx, ingest_dag_ids(), "dags-day1.log")),
        ("run the master-build DAG: population, legal-entity and licence libraries",
         lambda: run_dags(ctx, ["build_masters"], "dag-build-day1.log")),
        ("the day-2 delta arrives in the sources", lambda: generate(ctx, day2=True)),
        ("incremental ingest of the delta (the DAGs' code, called directly)", lambda: ingest_direct(ctx)),
        ("incremental master build (masterdata build)", lambda: build_direct(ctx)),
        ("evaluate the masters against the ground truth", lambda: evaluate(ctx)),
        ("a day at the halls: 1,000 realistic applications, the once-only figure", lambda: once_only(ctx)),
        ("run the quality DAG: scorecards, GX Data Docs, analysts' report (with the once-only section)",
         lambda: run_dags(ctx, ["quality"], "dag-quality.log")),
        ("serve the masters: start the API, one applicant's auto-fill, consent and sealed evidence",
         lambda: serve(ctx)),
    ]
    for n, (title, fn) in enumerate(stages, 1):
        t = time.perf_counter()
        say(f"[bold]{n}/{len(stages)} {title}[/]")
        fn()
        say(f"    done in {time.perf_counter() - t:.1f}s")
    report = ctx.home / "reports" / "quality" / "index.html"
    ctx.notes += [
        ("analysts' quality report (open in a browser)", str(report if report.exists() else ctx.home / "warehouse")),
        ("gold store (masters, cross-references, history)", str(ctx.home / "warehouse" / "gold.duckdb")),
        ("departmental sources", str(ctx.city / "sources")),
        ("ground truth (evaluation only)", str(ctx.city / "truth")),
        ("lake: bronze / silver / quarantine", f"{ctx.lake}  ({lake_summary(ctx)})"),
        ("stage logs (per-defect evaluation in evaluate.log)", str(ctx.home / "logs")),
        ("Airflow UI for stewards", "make airflow-ui   (then http://localhost:8080)" if ctx.home == Path("var") else
         f"AIRFLOW_HOME={ctx.airflow_home.resolve()} AIRFLOW__CORE__DAGS_FOLDER={ROOT / 'dags'} "
         f"AIRFLOW__LOGGING__LOGGING_CONFIG_CLASS=pipelines.airflow_logging.LOGGING_CONFIG "
         f"MASTERDATA_HOME={ctx.home.resolve()} uv run airflow standalone   (then http://localhost:8080)"),
    ]
    return ctx.notes
