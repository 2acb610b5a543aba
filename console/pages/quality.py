"""The analysts' quality dashboard (stewards may read it too)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console import dashboard
from console.session import Ctx, Viewer, need
from core.settings import settings
from quality.store import QualityStore

router = APIRouter()
Analyst = Annotated[Viewer, Depends(need("analyst", "steward"))]


@router.get("/quality", response_class=HTMLResponse)
def quality_page(request: Request, console: Ctx, viewer: Analyst) -> HTMLResponse:
    data = dashboard.dashboard(QualityStore(settings().quality_store), console.state)
    return console.page(request, viewer, "quality.html", **data)


@router.get("/quality/once-only", response_class=HTMLResponse)
def once_only_page(request: Request, console: Ctx, viewer: Analyst) -> HTMLResponse:
    return console.page(request, viewer, "once_only.html", figure=dashboard.once_only(console.state),
                        applications=dashboard.ONCE_ONLY_APPLICATIONS)
