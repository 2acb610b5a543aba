"""How every ``masterdata`` command ends on bad input or state: one red line on stderr and an exit code.

The command groups live beside their packages (pipelines, warehouse, quality, console); they share
this one way of saying what was wrong, so a user meets the same line whichever group he called, and
never a traceback (see docs/ARCHITECTURE.md, core).  Exit code 2 means bad input, 1 a failed run, as
:attr:`core.errors.MasterdataError.exit_code` does.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, NoReturn, Optional

import typer
from rich.console import Console
from rich.markup import escape

#: Messages for the person at the terminal (progress, errors) go to stderr; results go to stdout.
console = Console(stderr=True, soft_wrap=True, emoji=False)  # ":x:" in a record id stays text


def error(message: str) -> None:
    """Print one ``error:`` line; the message is printed as it is (a record id ``a:x:b`` is no emoji
    code, ``[P0000000001]`` no markup) and nothing in it is highlighted."""
    console.print(f"[bold red]error:[/] {escape(message)}", highlight=False, emoji=False)


def fail(message: str, code: int = 2) -> NoReturn:
    """Print a one-line error and exit with ``code``."""
    error(message)
    raise typer.Exit(code)


def add_group(app: typer.Typer, name: str, help: str, commands: dict[str, Callable[..., Any]]) -> typer.Typer:
    """Add the command group ``masterdata {name}`` with its commands (name -> function), in order."""
    group = typer.Typer(help=help, no_args_is_help=True)
    app.add_typer(group, name=name)
    for command, function in commands.items():
        group.command(command)(function)
    return group


#: ``--department``: the key of the department a console user or an API key belongs to (checked by
#: ``standards.codetables.check_department``, one line naming the keys there are).
DepartmentOption = Annotated[Optional[str], typer.Option(
    help="for a department user or key: its department key (e.g. civil_affairs, market_regulation)")]
