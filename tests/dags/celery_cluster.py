"""A real distributed Airflow for tests: PostgreSQL metadata, Redis broker, and the API server, DAG
processor, scheduler and a Celery worker each as its own process (as docs/DEPLOYMENT.md deploys it).

Every process starts in its own process group, so :meth:`CeleryCluster.stop` can end the group
(the API server's uvicorn workers, Celery's pool children, the task processes they fork) and nothing
outlives the test.  The metadata database is a throwaway one, created here and dropped on stop; the
Celery queue is named per cluster so two clusters sharing one Redis never take each other's tasks.
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from tests.airflow_env import AIRFLOW, ROOT, airflow_env
from tests.serving.server import free_port

PG = "postgresql://postgres@127.0.0.1:5432"
REDIS = "redis://127.0.0.1:6379/0"
USER = "steward"


def redis_up(host: str = "127.0.0.1", port: int = 6379) -> bool:
    """A Redis PING over a plain socket (no client library needed to ask)."""
    try:
        with socket.create_connection((host, port), timeout=2) as s:
            s.sendall(b"PING\r\n")
            return s.recv(16).startswith(b"+PONG")
    except OSError:
        return False


@dataclass
class CeleryCluster:
    home: Path
    database: str
    extra_env: dict[str, str] = field(default_factory=dict)
    concurrency: int = 2
    port: int = field(default_factory=free_port)
    queue: str = field(default_factory=lambda: f"masterdata_{secrets.token_hex(4)}")
    password: str = field(default_factory=lambda: secrets.token_urlsafe(12))
    #: shared by every process: the API server checks the tokens the scheduler signs for the workers
    jwt_secret: str = field(default_factory=lambda: secrets.token_hex(32))
    secret_key: str = field(default_factory=lambda: secrets.token_hex(16))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    _token: str | None = None

    # -- configuration -------------------------------------------------------------------------
    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        """Every process gets the same AIRFLOW__* configuration (the list docs/DEPLOYMENT.md gives)."""
        sql = f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.database}"
        passwords = self.home / "passwords.json"
        return airflow_env(self.home, **{
            "AIRFLOW__CORE__EXECUTOR": "CeleryExecutor",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": sql,
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN_ASYNC": sql,
            "AIRFLOW__CELERY__BROKER_URL": REDIS,
            "AIRFLOW__CELERY__RESULT_BACKEND": f"db+{sql}",
            "AIRFLOW__CELERY__WORKER_CONCURRENCY": str(self.concurrency),
            "AIRFLOW__CELERY__CELERY_CONFIG_OPTIONS": "pipelines.celery_config.CELERY_CONFIG",
            "AIRFLOW__OPERATORS__DEFAULT_QUEUE": self.queue,
            "AIRFLOW__CORE__EXECUTION_API_SERVER_URL": f"{self.base}/execution/",
            "AIRFLOW__API__BASE_URL": self.base,
            "AIRFLOW__API__PORT": str(self.port),
            "AIRFLOW__API__SECRET_KEY": self.secret_key,
            "AIRFLOW__API_AUTH__JWT_SECRET": self.jwt_secret,
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS": f"{USER}:admin",
            "AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE": str(passwords),
            "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True",
            "AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL": "5",
            "AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK": "False",
            "AIRFLOW__LOGGING__BASE_LOG_FOLDER": str(self.home / "logs"),
            **self.extra_env,
        })

    # -- lifecycle -----------------------------------------------------------------------------
    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        (self.home / "passwords.json").write_text(json.dumps({USER: self.password}))
        self._drop_database()
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'CREATE DATABASE "{self.database}"')
        env = self.env()
        res = subprocess.run([AIRFLOW, "db", "migrate"], env=env, capture_output=True, text=True, timeout=300)
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        self._spawn("api-server", [AIRFLOW, "api-server", "--host", "127.0.0.1", "--port", str(self.port),
                                   "--workers", "1"])
        self._spawn("dag-processor", [AIRFLOW, "dag-processor"])
        self._spawn("scheduler", [AIRFLOW, "scheduler"])
        self._spawn("worker", [AIRFLOW, "celery", "worker", "--queues", self.queue, "--concurrency",
                               str(self.concurrency), "--celery-hostname", f"{self.queue}@%h",
                               "--without-mingle", "--without-gossip", "--skip-serve-logs"])
        self._wait(lambda: self._health(), 120, "the API server to answer")

    def _spawn(self, name: str, argv: list[str]) -> None:
        # the child keeps its own copy of the log's file descriptor; ours closes with the block
        with open(self.home / f"{name}.log", "wb") as log:
            self.procs[name] = subprocess.Popen(argv, env=self.env(), cwd=ROOT, stdout=log,
                                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                                start_new_session=True)

    def stop(self) -> None:
        """End every process group (TERM, then KILL after a grace period), then drop the database."""
        for p in self.procs.values():
            _signal_group(p, signal.SIGTERM)
        deadline = time.monotonic() + 20
        for p in self.procs.values():
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
            _signal_group(p, signal.SIGKILL)
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        self._drop_database()

    def _drop_database(self) -> None:
        with psycopg.connect(f"{PG}/postgres", autocommit=True) as c:
            c.execute(f'DROP DATABASE IF EXISTS "{self.database}" WITH (FORCE)')

    def __enter__(self) -> CeleryCluster:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- the REST API --------------------------------------------------------------------------
    def _health(self) -> bool:
        self.check_alive()
        try:
            with urllib.request.urlopen(f"{self.base}/api/v2/monitor/health", timeout=5) as r:
                return bool(r.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def token(self) -> str:
        if self._token is None:
            body = json.dumps({"username": USER, "password": self.password}).encode()
            req = urllib.request.Request(f"{self.base}/auth/token", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
            with urllib.request.urlopen(req, timeout=30) as r:
                self._token = str(json.load(r)["access_token"])
        return self._token

    def api(self, method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(f"{self.base}/api/v2{path}", data=data, method=method, headers={
            "Authorization": f"Bearer {self.token()}", "Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=60) as r:
                return json.load(r)
        except urllib.error.HTTPError as e:
            raise AssertionError(f"{method} {path}: HTTP {e.code} {e.read().decode()[:500]}") from None

    def wait_for_dags(self, dag_ids: set[str], timeout: float) -> None:
        def parsed() -> bool:
            self.check_alive()
            got = self.api("GET", "/dags?limit=500")
            return dag_ids <= {d["dag_id"] for d in got["dags"]}

        self._wait(parsed, timeout, f"the DAG processor to parse {len(dag_ids)} DAGs")

    def runs(self, dag_id: str) -> list[dict[str, Any]]:
        return list(self.api("GET", f"/dags/{dag_id}/dagRuns?limit=100")["dag_runs"])

    def wait_for_runs(self, dag_ids: list[str], timeout: float) -> dict[str, list[dict[str, Any]]]:
        """Poll until every DAG has a run and none is still queued or running; a failed run fails fast."""
        done: dict[str, list[dict[str, Any]]] = {}

        def finished() -> bool:
            self.check_alive()
            for d in dag_ids:
                if d in done:
                    continue
                runs = self.runs(d)
                failed = [r for r in runs if r["state"] == "failed"]
                assert not failed, f"{d}: run {failed[0]['dag_run_id']} failed\n{self.task_logs(d)}"
                if runs and all(r["state"] == "success" for r in runs):
                    done[d] = runs
            return len(done) == len(dag_ids)

        self._wait(finished, timeout, f"{len(dag_ids)} DAGs to finish (waiting on "
                                      f"{sorted(set(dag_ids) - set(done))[:5]})")
        return done

    def task_logs(self, dag_id: str) -> str:
        logs = sorted((self.home / "logs").glob(f"dag_id={dag_id}/**/*.log"))
        return "\n".join(f"--- {p}\n{p.read_text(errors='replace')[-3000:]}" for p in logs[-3:])

    # -- diagnostics ---------------------------------------------------------------------------
    def check_alive(self) -> None:
        for name, p in self.procs.items():
            if p.poll() is not None:
                raise AssertionError(f"airflow {name} exited with {p.returncode}:\n{self.log_tail(name)}")

    def log_tail(self, name: str, chars: int = 4000) -> str:
        path = self.home / f"{name}.log"
        return path.read_text(errors="replace")[-chars:] if path.exists() else ""

    def _wait(self, ok: Any, timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if ok():
                return
            time.sleep(2)
        tails = "\n".join(f"=== {n}\n{self.log_tail(n, 2500)}" for n in self.procs)
        raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}\n{tails}")


def _signal_group(p: subprocess.Popen[bytes], sig: int) -> None:
    try:
        os.killpg(p.pid, sig)
    except (ProcessLookupError, PermissionError):
        pass
