"""A ceiling on request bodies: nothing larger than ``max_body`` bytes is read (413 problem+json).

Without it a client could make a worker parse a 10 MB JSON body (and hold it in memory) on every
request.  The limit is checked on the declared ``Content-Length`` before anything is read, and on the
bytes actually received for a body sent without one (chunked: read here up to the limit, then
handed on), so neither way gets past it.  Pure ASGI middleware: it sees the body as it streams in,
before FastAPI buffers it.
"""

from __future__ import annotations

from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from warehouse.api.errors import BodyTooLarge
from warehouse.api.problems import problem


class BodyLimit:
    def __init__(self, app: ASGIApp, max_body: int) -> None:
        self.app = app
        self.max_body = max_body

    def _refusal(self, got: str) -> Any:
        exc = BodyTooLarge(f"the request body is {got}; this service reads at most {self.max_body:,} bytes")
        return problem(exc.problem(), {"Connection": "close"})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body:
            await self._refusal(f"{int(declared):,} bytes")(scope, receive, send)
            return
        if declared is not None:  # (the server stops reading at the declared length)
            await self.app(scope, receive, send)
            return
        # no declared length (chunked): read it here, up to the limit, then hand it on as received
        held: list[Message] = []
        seen = 0
        while True:
            msg = await receive()
            held.append(msg)
            if msg["type"] != "http.request":
                break
            seen += len(msg.get("body", b""))
            if seen > self.max_body:
                await self._refusal(f"over {self.max_body:,} bytes")(scope, receive, send)
                return
            if not msg.get("more_body", False):
                break
        queue = iter(held)

        async def replay() -> Message:
            return next(queue, None) or await receive()

        await self.app(scope, replay, send)
