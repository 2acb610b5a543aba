"""``masterdata users``: the console's accounts (stewards, analysts, department users).

A password is read from the terminal (asked twice) or, for scripts, from standard input with
``--password-stdin``; it is never an option (options end up in shell history and process lists).
"""

from __future__ import annotations

import getpass
import sys
from typing import Annotated, Optional

import typer

from core.cli import DepartmentOption, add_group, console


def _accounts():  # type: ignore[no-untyped-def]
    from console.accounts import Accounts
    from warehouse.api.settings import Settings

    return Accounts(Settings.from_env().store)


def _password(stdin: bool) -> str:
    from console.accounts import AccountError

    if stdin:
        return sys.stdin.readline().rstrip("\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise AccountError("the two passwords differ")
    return first


def users_create(
    name: Annotated[str, typer.Option(help="the login name, e.g. wang.li")],
    role: Annotated[str, typer.Option(help="steward | analyst | department")],
    department: DepartmentOption = None,
    display_name: Annotated[Optional[str], typer.Option(help="the name shown in the console (e.g. 王丽)")] = None,
    password_stdin: Annotated[bool, typer.Option(help="read the password from standard input")] = False,
) -> None:
    """Create a console user (the password is stored only as a scrypt hash)."""
    from standards.codetables import check_department

    check_department(department)
    user = _accounts().create_user(name, role, _password(password_stdin), department, display_name)
    console.print(f"created console user {user.name} ({user.role}{', ' + user.department if user.department else ''})",
                  highlight=False)


def users_list(as_json: Annotated[bool, typer.Option("--json", help="print one JSON list on stdout")] = False) -> None:
    """List console users (never their passwords)."""
    from core.jsonout import dumps

    rows = _accounts().users()
    if as_json:
        print(dumps(rows))
        return
    for r in rows:
        state = f"disabled {r['disabled_at']}" if r["disabled_at"] else "active"
        print(f"{r['name']:20} {r['role']:11} {r['department'] or '-':22} {r['display_name']:12} {state}")


def users_disable(name: Annotated[str, typer.Argument(help="the login name")]) -> None:
    """Disable a user and end his sessions."""
    from console.accounts import AccountError

    if not _accounts().disable(name):
        raise AccountError(f"no active console user {name!r}")
    console.print(f"disabled {name}")


def register(app: typer.Typer) -> None:
    """Add the ``users`` group to ``masterdata`` (entry point ``masterdata.commands``: console)."""
    add_group(app, "users", "Console users: stewards, analysts, department users.",
              {"create": users_create, "list": users_list, "disable": users_disable})
