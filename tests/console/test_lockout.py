"""Failed console logins lock the account name and the client address, through the real server, and
every failure and lock is in the audit log.

Requests come from their own loopback addresses (127.0.0.2, 127.0.0.3: Linux routes all of 127/8 to
the loopback interface), so the locks they cause do not touch the browser tests' 127.0.0.1.
"""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import httpx

from console.accounts import LOCK_AFTER
from tests.console.conftest import PASSWORDS, Site
from tests.serving.conftest import REPO, run_cli


def client_from(site: Site, address: str) -> httpx.Client:
    return httpx.Client(base_url=site.url, transport=httpx.HTTPTransport(local_address=address),
                        follow_redirects=False, timeout=30)


def login(c: httpx.Client, name: str, password: str) -> httpx.Response:
    return c.post("/console/login", data={"name": name, "password": password, "next": ""})


def audit_logins(site: Site) -> list[dict[str, Any]]:
    rows = json.loads(run_cli("audit", "show", "--last", "200", "--json", env=site.env).stdout)
    return [r for r in rows if r["action"] == "console_login"]


def test_an_account_is_locked_after_failed_logins(site: Site) -> None:
    out = subprocess.run([sys.executable, "-m", "pipelines.cli", "users", "create", "--name", "locked.out", "--role",
                          "analyst", "--password-stdin"], cwd=REPO, env=site.env, text=True,
                         input="locked-out-secret-1\n", capture_output=True, timeout=60)
    assert out.returncode == 0, out.stderr
    with client_from(site, "127.0.0.2") as c:
        for _ in range(LOCK_AFTER["account"] - 1):
            assert login(c, "locked.out", "not-the-password").status_code == 401
        r = login(c, "locked.out", "not-the-password")
        assert r.status_code == 429 and "已锁定" in r.text
        r = login(c, "locked.out", "locked-out-secret-1")  # the right password no longer helps
        assert r.status_code == 429 and "md_console" not in r.headers.get("set-cookie", "")
        assert login(c, "analyst", PASSWORDS["analyst"]).status_code == 303  # other accounts are not locked
    entries = [e for e in audit_logins(site) if e["detail"]["name"] == "locked.out"]
    assert [e["status"] for e in entries][-(LOCK_AFTER["account"] + 1):] == \
        [401] * (LOCK_AFTER["account"] - 1) + [429, 429]
    lock = entries[-2]["detail"]
    assert lock["locked"] == "account" and lock["new"] is True and lock["client"] == "127.0.0.2"
    assert subprocess.run([sys.executable, "-m", "pipelines.cli", "audit", "verify"], cwd=REPO, env=site.env,
                          capture_output=True, timeout=60).returncode == 0


def test_a_client_guessing_names_is_locked(site: Site) -> None:
    with client_from(site, "127.0.0.3") as c:
        for i in range(LOCK_AFTER["client"] - 1):
            assert login(c, f"guess-{i}", "not-the-password").status_code == 401
        assert login(c, "guess-last", "not-the-password").status_code == 429
        assert login(c, "steward", PASSWORDS["steward"]).status_code == 429  # nobody signs in from there
    with client_from(site, "127.0.0.4") as c:
        assert login(c, "steward", PASSWORDS["steward"]).status_code == 303
    entries = audit_logins(site)
    assert any(e["detail"].get("locked") == "client" and e["detail"]["client"] == "127.0.0.3"
               for e in entries)
    # names that are no account are masked in the log (often a password typed into the name field)
    guessed = [e["detail"]["name"] for e in entries if e["detail"]["client"] == "127.0.0.3"]
    assert guessed and not any(str(g).startswith("guess-") and "*" not in str(g) for g in guessed)
