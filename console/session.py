"""What every console page needs: the console's state, who is looking, and who may do what.

:class:`Console` holds what a server process opens once (the serving state, accounts, the gold
reader, the lake, the steward log, the templates).  :func:`need` is the one declaration of the roles
a page admits - a FastAPI dependency checked on the server for every request: no session sends a
browser to the login page (:class:`LoginRequired`), a session of another role gets a 403 page
(:class:`Forbidden`).  :func:`checked` refuses a POST whose CSRF token is not the session's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.accounts import ROLES, Accounts, User
from console.goldread import GoldReader
from console.labels import MASTER_NAMES, department
from core.errors import MasterdataError
from core.settings import settings
from pipelines.lake import Lake
from pipelines.masters.gold_file import steward_path
from pipelines.resolve.steward import StewardLog
from warehouse.api.service import access as access_
from warehouse.api.service.access import Applicant
from warehouse.api.service.state import ServingState

HERE = Path(__file__).parent
PREFIX = "/console"
USER_COOKIE, APPLICANT_COOKIE = "md_console", "md_applicant"
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; "
       "form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
#: the sections of the console and the roles that may open them (the navigation follows)
SECTIONS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("/steward/queue", "复核队列 Review queue", ("steward",)),
    ("/steward/search", "主数据查询 Masters", ("steward",)),
    ("/steward/decisions", "决定记录 Decisions", ("steward",)),
    ("/ingestion", "接入状态 Ingestion", ("steward", "analyst")),
    ("/quality", "数据质量 Quality", ("analyst", "steward")),
    ("/department/lookup", "查询 Lookup", ("department",)),
    ("/department/grants", "授权 Grants", ("department",)),
    ("/hall", "办事 Service items", ("applicant",)),
)


@dataclass
class Viewer:
    """Who is looking: a console user, or an applicant through the identity platform's session."""

    user: User | None = None
    applicant: Applicant | None = None
    cookie: str = ""

    @property
    def role(self) -> str:
        return self.user.role if self.user else "applicant"

    @property
    def name(self) -> str:
        return self.user.display_name if self.user else "申请人 applicant"


class LoginRequired(Exception):
    """No (live) session: the browser goes to the login page."""


class Forbidden(Exception):
    """A session whose role may not open the page."""


class Console:
    """Everything the pages use, opened once per server process."""

    def __init__(self, state: ServingState) -> None:
        self.state = state
        self.accounts = Accounts(state.settings.store)
        self.gold = GoldReader(state.settings.gold)
        s = settings()
        self.lake = Lake(s.lake)
        self.log = StewardLog(steward_path(state.settings.gold))
        self.airflow_url = s.airflow_url
        self.templates = Environment(loader=FileSystemLoader(HERE / "templates"),
                                     autoescape=select_autoescape(("html",)), trim_blocks=True, lstrip_blocks=True)
        self.templates.globals.update(prefix=PREFIX, masters=MASTER_NAMES, department=department, roles=ROLES)

    def page(self, request: Request, viewer: Viewer | None, template: str, status: int = 200,
             **context: Any) -> HTMLResponse:
        nav = [(PREFIX + path, title) for path, title, roles in SECTIONS if viewer and viewer.role in roles]
        csrf = self.accounts.csrf(viewer.cookie) if viewer and viewer.cookie else ""
        html = self.templates.get_template(template).render(
            request=request, viewer=viewer, nav=nav, csrf=csrf, path=request.url.path,
            flash=request.query_params.get("msg"), **context)
        return HTMLResponse(html, status_code=status)


def console_of(request: Request) -> Console:
    c: Console = request.app.state.console
    return c


Ctx = Annotated[Console, Depends(console_of)]


def viewer_of(request: Request, console: Ctx) -> Viewer | None:
    """The session's viewer (console user first, then applicant), or None."""
    cookie = request.cookies.get(USER_COOKIE)
    user = console.accounts.session(cookie)
    if user is not None and cookie:
        return Viewer(user=user, cookie=cookie)
    token = request.cookies.get(APPLICANT_COOKIE)
    if token:
        try:
            return Viewer(applicant=access_.applicant(console.state, token), cookie=token)
        except MasterdataError:
            return None
    return None


def need(*roles: str) -> Callable[..., Viewer]:
    """A dependency admitting viewers of ``roles`` only (checked on the server for every request)."""

    def dependency(request: Request, console: Ctx) -> Viewer:
        v = viewer_of(request, console)
        if v is None:
            raise LoginRequired()
        if v.role not in roles:
            raise Forbidden(f"{v.role} may not open this page")
        return v

    return dependency


def checked(viewer: Viewer, console: Console, csrf: str) -> None:
    """Refuse a POST whose CSRF token is not the session's."""
    if not console.accounts.csrf_ok(viewer.cookie, csrf):
        raise Forbidden("the form's CSRF token is missing or not this session's (reload the page)")


def redirect(path: str, message: str | None = None) -> RedirectResponse:
    url = PREFIX + path + (("&" if "?" in path else "?") + "msg=" + quote(message) if message else "")
    return RedirectResponse(url, status_code=303)
