"""Ingestion status per source (stewards and analysts), with a link to the source's Airflow DAG."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse

from console import lakestatus
from console.session import Ctx, Viewer, need
from core.errors import NotFoundError

router = APIRouter()
Reader = Annotated[Viewer, Depends(need("steward", "analyst"))]


@router.get("/ingestion", response_class=HTMLResponse)
def sources_page(request: Request, console: Ctx, viewer: Reader) -> HTMLResponse:
    return console.page(request, viewer, "ingestion.html", rows=lakestatus.sources(console.lake),
                        airflow=console.airflow_url)


@router.get("/ingestion/{source}", response_class=HTMLResponse)
def source_page(request: Request, console: Ctx, viewer: Reader, source: str) -> HTMLResponse:
    data = lakestatus.source(console.lake, source)
    if data["summary"] is None:
        raise NotFoundError(f"no committed batch of source {source!r} in the lake {console.lake.root}")
    return console.page(request, viewer, "ingestion_source.html", airflow=console.airflow_url, **data)
