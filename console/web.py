"""The console as an ASGI application mounted at ``/console`` of the serving API.

:func:`install` is called by :func:`warehouse.api.app.create_app` (an app extension, like the CLI's
plugins) and mounts :func:`create_console` over the same :class:`ServingState`, so the console and
the API share the read model, the grants, the audit log and one port.  Being its own sub-application
it has its own error pages (HTML, not problem+json) and stays out of the API's OpenAPI document.

Who may open what is declared once, per page, with :func:`need` (a FastAPI dependency): no session
sends a browser to the login page, a session of another role gets a 403 page; every POST checks its
CSRF token (:func:`checked`).  Pages are Jinja2 templates (``templates/``, autoescaped) with the
console's own CSS and JS (``static/``): nothing is loaded from anywhere else, so the console works on
an air-gapped intranet; the Content-Security-Policy header says so to the browser as well.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape

from console.accounts import ROLES, Accounts, User
from console.goldread import GoldReader
from console.labels import MASTER_NAMES, department
from core.errors import MasterdataError
from core.settings import settings
from pipelines.lake import Lake
from pipelines.resolve.steward import StewardLog
from warehouse.api.service import access as access_
from warehouse.api.service.access import Applicant
from warehouse.api.service.state import ServingState
from warehouse.gold import steward_path

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


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path=PREFIX,
                        secure=request.url.scheme == "https")


def _auth_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def home(request: Request, console: Ctx) -> Response:
        v = viewer_of(request, console)
        if v is None:
            return redirect("/login")
        first = next((p for p, _t, roles in SECTIONS if v.role in roles), "/login")
        return redirect(first)

    @app.get("/login", response_class=HTMLResponse)
    def login_form(request: Request, console: Ctx, next: str = "") -> HTMLResponse:
        return console.page(request, None, "login.html", next=next if next.startswith(PREFIX) else "")

    @app.post("/login")
    def login(request: Request, console: Ctx, name: Annotated[str, Form(max_length=64)],
              password: Annotated[str, Form(max_length=256)], next: Annotated[str, Form()] = "") -> Response:
        got = console.accounts.login(name.strip(), password)
        if got is None:
            return console.page(request, None, "login.html", status=401, next=next,
                                error="用户名或密码不正确 Wrong name or password")
        resp = RedirectResponse(next if next.startswith(PREFIX + "/") else PREFIX + "/", status_code=303)
        _cookie(resp, request, USER_COOKIE, got[1])
        resp.delete_cookie(APPLICANT_COOKIE, path=PREFIX)
        return resp

    @app.post("/logout")
    def logout(request: Request, console: Ctx, csrf: Annotated[str, Form()] = "") -> Response:
        v = viewer_of(request, console)
        if v is not None:
            checked(v, console, csrf)
            console.accounts.logout(request.cookies.get(USER_COOKIE))
        resp = redirect("/login", "已退出 Signed out")
        resp.delete_cookie(USER_COOKIE, path=PREFIX)
        resp.delete_cookie(APPLICANT_COOKIE, path=PREFIX)
        return resp

    @app.get("/hall/enter")
    def applicant_enter(request: Request, console: Ctx, token: str = "") -> Response:
        """The identity platform sends a signed-in applicant here with his session token."""
        try:
            access_.applicant(console.state, token)
        except MasterdataError as exc:
            return console.page(request, None, "error.html", status=exc.status, title="无法进入 Cannot enter",
                                detail=exc.one_line())
        resp = redirect("/hall")
        _cookie(resp, request, APPLICANT_COOKIE, token)
        resp.delete_cookie(USER_COOKIE, path=PREFIX)
        return resp


def _handlers(app: FastAPI) -> None:
    @app.exception_handler(LoginRequired)
    def _login(request: Request, _exc: LoginRequired) -> Response:
        target = quote(request.url.path + (f"?{request.url.query}" if request.url.query else ""))
        return RedirectResponse(f"{PREFIX}/login?next={target}", status_code=303)

    @app.exception_handler(Forbidden)
    def _forbidden(request: Request, exc: Forbidden) -> Response:
        console = console_of(request)
        return console.page(request, viewer_of(request, console), "error.html", status=403,
                            title="无权访问 Not allowed", detail=str(exc))

    @app.exception_handler(MasterdataError)
    def _error(request: Request, exc: MasterdataError) -> Response:
        console = console_of(request)
        return console.page(request, viewer_of(request, console), "error.html", status=exc.status,
                            title=getattr(exc, "case", None) or exc.title, detail=exc.one_line())

    @app.middleware("http")
    async def _headers(request: Request, call_next: Callable[..., Any]) -> Response:
        resp: Response = await call_next(request)
        resp.headers["Content-Security-Policy"] = CSP
        resp.headers["Referrer-Policy"] = "no-referrer"
        resp.headers["X-Content-Type-Options"] = "nosniff"
        if resp.headers.get("content-type", "").startswith("text/html"):
            resp.headers["Cache-Control"] = "no-store"
        return resp


def create_console(state: ServingState) -> FastAPI:
    """The console application over a server process's state."""
    from console.pages import ROUTERS

    app = FastAPI(title="masterdata console", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.console = Console(state)
    app.mount("/static", StaticFiles(directory=HERE / "static"), name="static")
    _handlers(app)
    _auth_routes(app)
    for router in ROUTERS:
        app.include_router(router)
    return app


def install(app: FastAPI) -> None:
    """Mount the console at ``/console`` of the serving API (called by ``create_app``)."""
    app.mount(PREFIX, create_console(app.state.serving))

    @app.get("/", include_in_schema=False)
    def _root() -> RedirectResponse:
        return RedirectResponse(PREFIX + "/", status_code=307)
