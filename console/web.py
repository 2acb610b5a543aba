"""The console as an ASGI application mounted at ``/console`` of the serving API.

:func:`install` is the console's ``masterdata.serving`` entry point (``pyproject.toml``): the serving
API's ``create_app`` calls it and it mounts :func:`create_console` over the same
:class:`ServingState`, so the console and the API share the read model, the grants, the audit log
and one port.  Being its own sub-application it has its own error pages (HTML, not problem+json)
and stays out of the API's OpenAPI document.

Pages are Jinja2 templates (``templates/``, autoescaped) with the console's own CSS and JS
(``static/``): nothing is loaded from anywhere else, so the console works on an air-gapped
intranet; the Content-Security-Policy header says so to the browser as well.  Who may open a page
is declared with :func:`console.session.need` beside each handler (:mod:`console.pages`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import FastAPI, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from console.accounts import LOCK_MINUTES, LoginLocked
from console.labels import mask
from console.pages import ROUTERS
from console.session import (
    APPLICANT_COOKIE,
    CSP,
    HERE,
    PREFIX,
    SECTIONS,
    USER_COOKIE,
    Console,
    Ctx,
    Forbidden,
    LoginRequired,
    checked,
    console_of,
    redirect,
    viewer_of,
)
from core.errors import MasterdataError
from warehouse.api.service import access as access_
from warehouse.api.service.audit import Access, record
from warehouse.api.service.state import ServingState
from warehouse.api.store import Caller, iso


def _cookie(response: Response, request: Request, name: str, value: str) -> None:
    response.set_cookie(name, value, httponly=True, samesite="strict", path=PREFIX,
                        secure=request.url.scheme == "https")


def _audit_login(console: Console, name: str, client: str, status: int, detail: dict[str, Any]) -> None:
    """A login, failed login or lock in the audit log (a name that is no user is masked: it is often a
    password typed into the wrong field)."""
    who = name if console.accounts.known(name) else mask(name)
    access = Access(Caller("console", "console-login", "console", None, 0.0, 0), "console_login",
                    detail={"name": who, "client": client, **detail})
    record(console.state.store, access, status)


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
        client = request.client.host if request.client else ""
        try:
            got = console.accounts.login(name.strip(), password, client)
        except LoginLocked as exc:
            _audit_login(console, name.strip(), client, 429, {"locked": exc.kind, "until": iso(exc.until),
                                                               "new": exc.new})
            return console.page(request, None, "login.html", status=429, next=next,
                                error=f"登录失败次数过多，已锁定至 {iso(exc.until)[:16].replace('T', ' ')} UTC "
                                      f"(too many failed logins: locked for {LOCK_MINUTES} minutes)")
        if got is None:
            _audit_login(console, name.strip(), client, 401, {})
            return console.page(request, None, "login.html", status=401, next=next,
                                error="用户名或密码不正确 Wrong name or password")
        _audit_login(console, name.strip(), client, 200, {})
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
