"""The dashboard's web server: the page, its data, and pushed updates.

The page (``static/``) opens one server-sent-events stream (``/events``) and renders
every snapshot it receives. A snapshot is computed when the warehouse commits a load
(heard by `CommitListener`; bursts of commits are coalesced), and every
`REFRESH_EVERY_S` anyway (pipeline status files, Nimbus, the clock). Every client gets
the newest snapshot only: a slow client never holds the server back.

Access: served on 127.0.0.1 by default. When a token is set (required to listen on any
other address), every request needs it — an ``Authorization: Bearer`` header, or the
cookie set when the page is opened once with ``?token=…`` (then redirected to drop it
from the address bar). Uvicorn's access log is off: no URL, token or query is logged.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    JSONResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from shoot2top import codec
from shoot2top.dashboard.listen import CommitListener
from shoot2top.dashboard.panels import CommitLog, Settings, load_extensions, snapshot
from shoot2top.warehouse.database import connect

log = logging.getLogger(__name__)

STATIC = Path(__file__).parent / "static"
REFRESH_EVERY_S = 10.0
COALESCE_S = 0.15
KEEPALIVE_S = 15.0
COOKIE = "shoot2top_dashboard"


@dataclass
class Hub:
    """The newest snapshot and the clients waiting for the next one."""

    dsn: str
    settings: Settings
    commits: CommitLog = field(default_factory=CommitLog)
    current: dict[str, Any] | None = None
    version: int = 0
    changed: asyncio.Event = field(default_factory=asyncio.Event)
    dirty: asyncio.Event = field(default_factory=asyncio.Event)
    clients: set[asyncio.Queue[bytes]] = field(default_factory=set)

    def on_commit(self, notice: dict[str, Any]) -> None:
        if notice.get("component"):
            loaded, dead = notice.get("loaded", 0), notice.get("dead_lettered", 0)
            self.commits.add(str(notice["component"]), int(loaded), int(dead))
        self.dirty.set()

    async def refresher(self) -> None:
        """Recompute on a commit (coalescing bursts) or every `REFRESH_EVERY_S`."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.dirty.wait(), REFRESH_EVERY_S)
                await asyncio.sleep(COALESCE_S)  # a burst of batches: one refresh
            self.dirty.clear()
            try:
                data = await asyncio.to_thread(self.compute)
            except Exception as error:
                log.warning("dashboard: refresh failed: %s", error)
                continue
            self.publish(data)

    def compute(self) -> dict[str, Any]:
        connection = connect(self.dsn)
        try:
            return snapshot(connection, self.settings, self.commits)
        finally:
            connection.close()

    def publish(self, data: dict[str, Any]) -> None:
        self.version += 1
        data["version"] = self.version
        self.current = data
        message = _event(data)
        for queue in self.clients:
            while not queue.empty():  # only the newest matters
                queue.get_nowait()
            queue.put_nowait(message)


def _event(data: dict[str, Any]) -> bytes:
    return b"event: snapshot\ndata: " + codec.dumps(data) + b"\n\n"


class TokenGate:
    """Every request must carry the access token (header or cookie); ``/?token=…``
    sets the cookie and redirects to ``/``. Without a token set, everything passes."""

    def __init__(self, app: ASGIApp, token: str | None) -> None:
        self.app = app
        self.token = token

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or self.token is None:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        offered = request.query_params.get("token")
        if offered is not None and self._matches(offered):
            response: Response = RedirectResponse("/", status_code=303)
            response.set_cookie(COOKIE, self.token, httponly=True, samesite="strict")
        elif self._matches(_bearer(request) or request.cookies.get(COOKIE) or ""):
            await self.app(scope, receive, send)
            return
        else:
            response = PlainTextResponse(
                "This dashboard needs its access token: open it once as /?token=…", 401
            )
        await response(scope, receive, send)

    def _matches(self, offered: str) -> bool:
        assert self.token is not None
        return secrets.compare_digest(offered.encode(), self.token.encode())


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    return header[7:] if header.lower().startswith("bearer ") else None


def create_app(
    dsn: str, settings: Settings, *, token: str | None = None, listen: bool = True
) -> ASGIApp:
    """The dashboard as an ASGI app reading the warehouse at `dsn` (a read-only role)."""
    loaded = load_extensions()
    if loaded:
        log.info("dashboard: panels from %s", ", ".join(loaded))
    hub = Hub(dsn, settings)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        listener = CommitListener(dsn, hub.on_commit)
        if listen:
            listener.start()
        hub.publish(await asyncio.to_thread(hub.compute))  # the first page has data
        refresher = asyncio.get_running_loop().create_task(hub.refresher())
        try:
            yield
        finally:
            refresher.cancel()
            await asyncio.gather(refresher, return_exceptions=True)
            await listener.stop()

    async def page(_request: Request) -> Response:
        return FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-store"})

    async def data(_request: Request) -> Response:
        return JSONResponse(hub.current)

    async def events(request: Request) -> Response:
        queue: asyncio.Queue[bytes] = asyncio.Queue(maxsize=1)
        if hub.current is not None:
            queue.put_nowait(_event(hub.current))
        hub.clients.add(queue)

        async def stream() -> AsyncIterator[bytes]:
            try:
                yield b"retry: 1000\n\n"
                while not await request.is_disconnected():
                    try:
                        yield await asyncio.wait_for(queue.get(), KEEPALIVE_S)
                    except TimeoutError:
                        yield b": keep-alive\n\n"
            finally:
                hub.clients.discard(queue)

        headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
        return StreamingResponse(stream(), media_type="text/event-stream", headers=headers)

    async def health(_request: Request) -> Response:
        age = None if hub.current is None else hub.version
        return JSONResponse({"ok": hub.current is not None, "version": age, "t": time.time()})

    app = Starlette(
        routes=[
            Route("/", page),
            Route("/api/snapshot", data),
            Route("/events", events),
            Route("/healthz", health),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        lifespan=lifespan,
    )
    return TokenGate(app, token)
