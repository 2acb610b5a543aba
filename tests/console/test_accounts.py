"""Console accounts: scrypt hashes, sessions, CSRF tokens, roles - on a real SQLite store."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from console.accounts import (
    LOCK_AFTER,
    LOCK_MINUTES,
    AccountError,
    Accounts,
    LoginLocked,
    check_password,
    hash_password,
)
from console.labels import department, mask


def test_passwords_are_scrypt_hashes(tmp_path: Path) -> None:
    h = hash_password("correct horse battery")
    assert h.startswith("scrypt$16384$8$1$") and "correct" not in h
    assert check_password("correct horse battery", h) and not check_password("correct horse batterY", h)
    assert hash_password("same password") != hash_password("same password")  # salted
    acc = Accounts(tmp_path / "serving.sqlite")
    acc.create_user("wang.li", "steward", "a-long-password")
    stored = acc.con.execute("SELECT password FROM console_users").fetchone()[0]
    assert "a-long-password" not in stored and check_password("a-long-password", stored)


def test_sessions_and_csrf(tmp_path: Path) -> None:
    acc = Accounts(tmp_path / "serving.sqlite")
    acc.create_user("civil1", "department", "civil-password-1", department="civil_affairs", display_name="李")
    assert acc.login("civil1", "wrong-password") is None and acc.login("nobody", "civil-password-1") is None
    got = acc.login("civil1", "civil-password-1")
    assert got is not None
    user, token = got
    assert (user.role, user.department, user.display_name) == ("department", "civil_affairs", "李")
    assert acc.session(token) == user and acc.session(token + "x") is None and acc.session(None) is None
    csrf = acc.csrf(token)
    other = csrf[:-1] + ("1" if csrf[-1] == "0" else "0")
    assert acc.csrf_ok(token, csrf) and not acc.csrf_ok(token, other) and not acc.csrf_ok(None, csrf)
    assert acc.csrf(token) != acc.csrf(acc.login("civil1", "civil-password-1")[1])  # type: ignore[index]
    # the secret survives a restart (another process computes the same token), a logout ends the session
    assert Accounts(tmp_path / "serving.sqlite").csrf(token) == csrf
    acc.logout(token)
    assert acc.session(token) is None
    assert acc.disable("civil1") and acc.login("civil1", "civil-password-1") is None


@pytest.mark.parametrize("kw,msg", [
    ({"role": "admin"}, "--role"), ({"role": "department"}, "--department"),
    ({"role": "steward", "department": "civil_affairs"}, "only a department user"),
    ({"password": "short"}, "at least"), ({"name": "bad name;"}, "letters"),
])
def test_bad_accounts_are_one_line(tmp_path: Path, kw: dict[str, str], msg: str) -> None:
    args = {"name": "u1", "role": "steward", "password": "long-enough-pw", **kw}
    with pytest.raises(AccountError, match=msg):
        Accounts(tmp_path / "s.sqlite").create_user(args.pop("name"), args.pop("role"), args.pop("password"), **args)


def test_labels_and_masks() -> None:
    assert department("civil_affairs") == "亳州市民政局" and department("nowhere") == "nowhere"
    assert mask("341602197903130057") == "34**************57" and mask("张三") == "张*" and mask(None) == ""


def test_failed_logins_lock_the_account_for_a_while(tmp_path: Path) -> None:
    acc = Accounts(tmp_path / "serving.sqlite")
    acc.create_user("wang.li", "steward", "the-right-password")
    start = acc.clock()
    acc.clock = lambda: start
    for _ in range(LOCK_AFTER["account"] - 1):
        assert acc.login("wang.li", "wrong-password", "10.0.0.1") is None
    with pytest.raises(LoginLocked) as locked:  # the failure that reaches the limit locks
        acc.login("wang.li", "wrong-password", "10.0.0.1")
    assert locked.value.kind == "account" and locked.value.new
    assert locked.value.until == start + timedelta(minutes=LOCK_MINUTES)
    with pytest.raises(LoginLocked) as again:  # the right password from another address: still locked
        acc.login("wang.li", "the-right-password", "10.0.0.2")
    assert not again.value.new and "locked until" in again.value.one_line()
    acc.clock = lambda: start + timedelta(minutes=LOCK_MINUTES, seconds=1)
    assert acc.login("wang.li", "the-right-password", "10.0.0.1") is not None  # over: the count starts afresh
    assert acc.login("wang.li", "wrong-password", "10.0.0.1") is None


def test_a_success_resets_the_account_count_and_old_failures_age_out(tmp_path: Path) -> None:
    acc = Accounts(tmp_path / "serving.sqlite")
    acc.create_user("zhao", "analyst", "the-right-password")
    t = acc.clock()
    acc.clock = lambda: t
    for _ in range(LOCK_AFTER["account"] - 1):
        assert acc.login("zhao", "wrong-password") is None
    assert acc.login("zhao", "the-right-password") is not None
    for _ in range(LOCK_AFTER["account"] - 1):
        assert acc.login("zhao", "wrong-password") is None
    acc.clock = lambda: t + timedelta(minutes=LOCK_MINUTES + 1)  # the failures above have aged out
    for _ in range(LOCK_AFTER["account"] - 1):
        assert acc.login("zhao", "wrong-password") is None
    assert acc.login("zhao", "the-right-password") is not None


def test_one_client_guessing_many_names_is_locked(tmp_path: Path) -> None:
    acc = Accounts(tmp_path / "serving.sqlite")
    acc.create_user("zhou", "analyst", "the-right-password")
    for i in range(LOCK_AFTER["client"] - 1):
        assert acc.login(f"guess{i}", "wrong-password", "10.9.9.9") is None  # no name reaches its limit
    with pytest.raises(LoginLocked) as locked:
        acc.login("another", "wrong-password", "10.9.9.9")
    assert locked.value.kind == "client" and locked.value.who == "10.9.9.9"
    with pytest.raises(LoginLocked):  # a right password from that client is refused too
        acc.login("zhou", "the-right-password", "10.9.9.9")
    assert acc.login("zhou", "the-right-password", "10.1.1.1") is not None  # from elsewhere it works
