"""Console accounts: scrypt hashes, sessions, CSRF tokens, roles - on a real SQLite store."""

from __future__ import annotations

from pathlib import Path

import pytest

from console.accounts import AccountError, Accounts, check_password, hash_password
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
