"""Steward pages: the review queue, a pair, masters, search, the decision log (and undo).

A decision is recorded by :mod:`pipelines.masters.steward_cli` - the code behind ``masterdata
steward`` - in the append-only log, with the steward's console name; the next build honours it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, Response

from console import review
from console.session import Ctx, Viewer, checked, need, redirect
from pipelines.masters import steward_cli
from pipelines.masters.config import MASTERS

router = APIRouter()
Steward = Annotated[Viewer, Depends(need("steward"))]
Csrf = Annotated[str, Form()]


@router.get("/steward/queue", response_class=HTMLResponse)
def queue_page(request: Request, console: Ctx, viewer: Steward, master: str = "", page: int = 0) -> HTMLResponse:
    m = master if master in MASTERS else None
    data = review.queue(console.gold, console.log, m, max(0, page))
    return console.page(request, viewer, "steward_queue.html", master=m, **data)


@router.get("/steward/pair", response_class=HTMLResponse)
def pair_page(request: Request, console: Ctx, viewer: Steward, master: str, a: str, b: str) -> HTMLResponse:
    data = review.pair(console.gold, console.lake, console.log, master, a, b)
    return console.page(request, viewer, "steward_pair.html", a=a, b=b, **data)  # data names the master


@router.get("/steward/explain", response_class=HTMLResponse)
def explain_page(request: Request, console: Ctx, viewer: Steward, a: str = "", b: str = "", master: str = "",
                 limit: int = 10) -> HTMLResponse:
    """Why any two records scored what they did (or a record against its neighbours): the waterfall
    of each pair's match weight."""
    data = review.explained(console.gold, a.strip(), b.strip() or None, master or None, max(1, min(limit, 50))) \
        if a.strip() else {"pairs": [], "master": master, "thresholds": None, "build_id": None}
    return console.page(request, viewer, "steward_explain.html", a=a, b=b, **data)


@router.post("/steward/decide")
def decide(console: Ctx, viewer: Steward, csrf: Csrf, master: Annotated[str, Form()], a: Annotated[str, Form()],
           b: Annotated[str, Form()], decision: Annotated[str, Form(pattern="^(match|no_match)$")],
           note: Annotated[str, Form(max_length=500)] = "", back: Annotated[str, Form()] = "/steward/queue"
           ) -> Response:
    checked(viewer, console, csrf)
    msg = steward_cli.record_pair_decision(decision, a, b, master, note, by=viewer.user.name if viewer.user else "")
    return redirect(back if back.startswith("/steward/") else "/steward/queue", msg)


@router.get("/steward/masters/{master_id}", response_class=HTMLResponse)
def master_page(request: Request, console: Ctx, viewer: Steward, master_id: str) -> HTMLResponse:
    return console.page(request, viewer, "master.html", **review.master_page(console.gold, master_id))


@router.post("/steward/split")
def split(console: Ctx, viewer: Steward, csrf: Csrf, master_id: Annotated[str, Form()],
          records: Annotated[list[str], Form()], note: Annotated[str, Form(max_length=500)] = "") -> Response:
    checked(viewer, console, csrf)
    msg = steward_cli.record_split(master_id, records, note, by=viewer.user.name if viewer.user else "")
    return redirect(f"/steward/masters/{master_id}", msg)


@router.post("/steward/merge")
def merge(console: Ctx, viewer: Steward, csrf: Csrf, master_id: Annotated[str, Form()],
          other: Annotated[str, Form(max_length=32)], note: Annotated[str, Form(max_length=500)] = "") -> Response:
    checked(viewer, console, csrf)
    msg = steward_cli.record_pair_decision("match", master_id, other.strip(), None, note,
                                           by=viewer.user.name if viewer.user else "")
    return redirect(f"/steward/masters/{master_id}", msg)


@router.get("/steward/search", response_class=HTMLResponse)
def search_page(request: Request, console: Ctx, viewer: Steward, q: str = "") -> HTMLResponse:
    return console.page(request, viewer, "steward_search.html", q=q, hits=review.search(console.gold, q))


@router.get("/steward/decisions", response_class=HTMLResponse)
def decisions_page(request: Request, console: Ctx, viewer: Steward) -> HTMLResponse:
    built = console.gold.value("SELECT max(started_at) FROM builds")
    return console.page(request, viewer, "steward_decisions.html", decisions=review.decisions(console.log),
                        built=built.isoformat() if built else "")


@router.post("/steward/undo")
def undo(console: Ctx, viewer: Steward, csrf: Csrf, decision_id: Annotated[str, Form()],
         note: Annotated[str, Form(max_length=500)] = "") -> Response:
    checked(viewer, console, csrf)
    msg = steward_cli.undo_decision(decision_id, note, by=viewer.user.name if viewer.user else "")
    return redirect("/steward/decisions", msg)
