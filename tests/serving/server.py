"""The real ``masterdata serve`` as a child process, for the serving and console tests and for the
serving and console benchmarks alike.

One way to start it (a free loopback port, its own process group so that its workers stop with it,
stderr to a log file) and to know it is up (``/health`` answers 200), and one way to stop it: SIGINT
to the group (uvicorn's graceful shutdown), SIGKILL if it does not end in time.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


class ServerDidNotStart(Exception):
    """The server exited or did not answer ``/health`` in time; the message ends with its log."""


def free_port() -> int:
    """A loopback port nothing listens on now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as r:
            return bool(r.status == 200)
    except OSError:
        return False


def launch(env: dict[str, str], log: Path, *, workers: int = 1, port: int | None = None,
           timeout: float = 120.0) -> tuple[subprocess.Popen[bytes], str]:
    """Start ``masterdata serve`` with ``env`` and wait until it answers: (the process, its base URL).

    Building the read model of a large gold store is part of starting, so a benchmark passes a
    longer ``timeout``.  A server that fails is stopped and its log's tail raised.
    """
    port = port or free_port()
    with open(log, "w") as err:
        proc = subprocess.Popen([sys.executable, "-m", "pipelines.cli", "serve", "--port", str(port),
                                 "--workers", str(workers)], cwd=REPO, env=env, stdout=subprocess.DEVNULL,
                                stderr=err, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        if proc.poll() is not None:
            raise ServerDidNotStart(f"server exited ({proc.returncode}):\n{log.read_text()[-3000:]}")
        if _healthy(url):
            return proc, url
        time.sleep(0.2)
    stop(proc)
    raise ServerDidNotStart(f"server did not answer /health in {timeout:.0f} s:\n{log.read_text()[-3000:]}")


def stop(proc: subprocess.Popen[bytes] | None, grace: float = 15.0) -> None:
    """Stop a server :func:`launch` started (and every worker of it); nothing if it has ended."""
    if proc is None or proc.poll() is not None:
        return
    os.killpg(proc.pid, signal.SIGINT)
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(5)
