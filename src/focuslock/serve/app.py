"""The Starlette application: the API's routes, the event WebSocket, the monitor page
and its picture stream, behind the access check.

Every route is listed in :func:`routes` (and in the OpenAPI schema,
:mod:`focuslock.serve.openapi`). :class:`Guard` runs before any of them: the token
(:mod:`focuslock.serve.auth`), the Host header on a loopback server (a page of another
site renamed to 127.0.0.1 by DNS rebinding must not reach it), and the Origin of a
state-changing request or a WebSocket (no other site may drive the camera from a
browser). No CORS middleware: no other origin is ever allowed.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Callable, Coroutine
from http.cookies import SimpleCookie
from importlib import resources
from urllib.parse import parse_qs, urlsplit

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response, StreamingResponse
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp, Receive, Scope, Send
from starlette.websockets import WebSocket, WebSocketDisconnect

from focuslock.overlay.readouts import STATE_WORDS
from focuslock.serve import api
from focuslock.serve.auth import COOKIE, LOOPBACK_HOSTS, Access
from focuslock.serve.marks_api import mark_go, stack
from focuslock.serve.openapi import openapi_schema
from focuslock.serve.requests import ApiError

__all__ = ["Guard", "make_app", "routes", "send_until_gone"]

logger = logging.getLogger(__name__)

_BOUNDARY = "focuslockframe"
_MAX_LOGIN_BYTES = 1024
# The stream sends at most this many pictures a second (a tablet needs no more).
_STREAM_MAX_FPS = 30.0


def _page(name: str) -> str:
    return resources.files("focuslock.serve").joinpath(name).read_text(encoding="utf-8")


def _monitor_page() -> str:
    """The focus monitor, its states in the photographer's words the window uses
    (overlay/readouts.STATE_WORDS: one table; the API keeps its machine words)."""
    words = {state: said.upper() for state, said in STATE_WORDS.items()} | {"unlocked": "NOT LOCKED"}
    return _page("monitor.html").replace("/*STATE_WORDS*/{}", json.dumps(words, ensure_ascii=False))


async def monitor(request: Request) -> HTMLResponse:
    return HTMLResponse(_monitor_page(), headers={"Cache-Control": "no-store"})


async def login_form(request: Request) -> HTMLResponse:
    return HTMLResponse(_page("login.html"), headers={"Cache-Control": "no-store"})


async def login(request: Request) -> Response:
    """The token from the login form; the cookie for the page once it matches."""
    access: Access = request.app.state.access
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_LOGIN_BYTES:
            return JSONResponse({"error": "The login form is larger than it can be."}, status_code=413)
    given = parse_qs(body.decode("utf-8", errors="replace")).get("token", [""])[0].strip()
    if not access.required:
        return RedirectResponse("/", status_code=303)
    if not access.token_matches(given):
        logger.warning("a login with a wrong token from %s", request.client.host if request.client else "?")
        return HTMLResponse(_page("login.html").replace("<!--message-->", "<p class=bad>That is not the token.</p>"),
                            status_code=401)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, access.cookie_value, httponly=True, samesite="strict", path="/")
    return response


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(openapi_schema())


async def frame_jpeg(request: Request) -> Response:
    host = api.context(request).host
    published = host.latest()
    if published is None:
        return JSONResponse({"error": "No frame has arrived from the camera yet."}, status_code=409)
    data = await anyio.to_thread.run_sync(host.jpeg, published)
    return Response(data, media_type="image/jpeg", headers={"Cache-Control": "no-store"})


async def stream(request: Request) -> StreamingResponse:
    """Live view with the overlay as ``multipart/x-mixed-replace``: the newest frame each
    time the client has taken the one before (a slow client gets fewer, never older)."""
    host = api.context(request).host
    subscriber = host.subscribers.add(asyncio.get_running_loop())

    async def parts():
        try:
            sent_at = 0.0
            while True:
                _, published = await subscriber.next(1.0)
                if published is None:
                    continue
                data = await anyio.to_thread.run_sync(host.jpeg, published)
                yield (f"--{_BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n").encode() + data + b"\r\n"
                wait = 1.0 / _STREAM_MAX_FPS - (asyncio.get_running_loop().time() - sent_at)
                if wait > 0:
                    await asyncio.sleep(wait)
                sent_at = asyncio.get_running_loop().time()
        finally:
            host.subscribers.remove(subscriber)

    return StreamingResponse(parts(), media_type=f"multipart/x-mixed-replace; boundary={_BOUNDARY}",
                             headers={"Cache-Control": "no-store"})


async def events(websocket: WebSocket) -> None:
    """One ``focus`` message per processed frame the client keeps up with, and every
    event (the last 64 kept while it does not read)."""
    host = api.context(websocket).host
    await websocket.accept()
    subscriber = host.subscribers.add(asyncio.get_running_loop())

    async def send() -> None:
        while True:
            news, published = await subscriber.next()
            for text in news:
                await websocket.send_text(text)
            if published is not None:
                await websocket.send_text(published.text)

    try:
        await send_until_gone(websocket, send)
    finally:
        host.subscribers.remove(subscriber)


async def send_until_gone(websocket: WebSocket, send: Callable[[], Coroutine[None, None, None]]) -> None:
    """Run ``send`` (the server's messages) until it ends or the client leaves, noticed by
    reading what it says (clients say nothing); both stopped whichever ends first. The
    live server's events and the QC page's share it."""

    async def listen() -> None:
        with contextlib.suppress(WebSocketDisconnect):
            while True:
                await websocket.receive_text()

    sender, listener = asyncio.create_task(send()), asyncio.create_task(listen())
    try:
        await asyncio.wait((sender, listener), return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in (sender, listener):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, WebSocketDisconnect, RuntimeError, OSError):
            await asyncio.gather(sender, listener, return_exceptions=True)


def _guarded(handler):
    async def endpoint(request: Request) -> Response:
        try:
            return await handler(request)
        except ApiError as error:
            return api.error_response(error)

    endpoint.__name__ = handler.__name__
    return endpoint


def routes() -> list:
    """Every route of the server (the OpenAPI schema lists the same)."""
    return [
        Route("/", monitor), Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/openapi.json", openapi), Route("/api/status", _guarded(api.status)),
        Route("/api/frame.jpg", frame_jpeg), Route("/api/stream.mjpg", stream), WebSocketRoute("/api/events", events),
        Route("/api/lock", _guarded(api.lock), methods=["POST"]), Route("/api/unlock", _guarded(api.unlock), methods=["POST"]),
        Route("/api/wait-sharp", _guarded(api.wait_sharp), methods=["POST"]),
        Route("/api/drive", _guarded(api.drive), methods=["POST"]),
        Route("/api/capture", _guarded(api.capture), methods=["POST"]),
        Route("/api/sku", _guarded(api.set_sku), methods=["POST"]),
        Route("/api/marks/{name}/go", _guarded(mark_go), methods=["POST"]),
        Route("/api/stack", _guarded(stack), methods=["POST"]),
    ]


def make_app(context: api.ServeContext, access: Access) -> ASGIApp:
    """The application for ``context`` (the live host, captures, the studio session)."""
    app = Starlette(routes=routes())
    app.state.serve = context
    app.state.access = access
    return Guard(app, access)


class Guard:
    """The checks every request passes before a route sees it (pure ASGI: it also
    guards the WebSocket and the stream)."""

    def __init__(self, app: Starlette, access: Access) -> None:
        self.app = app
        self.access = access

    @property
    def state(self):
        return self.app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        problem = self._refusal(scope, headers)
        if problem is None:
            await self.app(scope, receive, send)
            return
        status, message = problem
        logger.info("refused %s %s: %s", scope.get("method", "WS"), scope.get("path"), message)
        if scope["type"] == "websocket":
            if "websocket.http.response" in scope.get("extensions", {}):
                # The handshake answered with the same status and sentence as any request
                # (401 without the token), where the server lets an ASGI app do that.
                denial = JSONResponse({"error": message}, status_code=status,
                                      headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)
                await WebSocket(scope, receive, send).send_denial_response(denial)
            else:
                await send({"type": "websocket.close", "code": 1008, "reason": message[:120]})
            return
        if status == 401 and scope.get("method") == "GET" and scope.get("path") == "/":
            response: Response = RedirectResponse("/login", status_code=303)
        else:
            response = JSONResponse({"error": message}, status_code=status,
                                    headers={"WWW-Authenticate": "Bearer"} if status == 401 else None)
        await response(scope, receive, send)

    def _refusal(self, scope: Scope, headers: dict[str, str]) -> tuple[int, str] | None:
        host = urlsplit("//" + headers.get("host", "")).hostname or ""
        if not self.access.required and host not in LOOPBACK_HOSTS:
            return 400, "This server answers only to its loopback name (127.0.0.1, localhost or ::1)."
        origin = headers.get("origin")
        changing = scope["type"] == "websocket" or scope.get("method") not in ("GET", "HEAD")
        if origin is not None and changing and urlsplit(origin).netloc != headers.get("host", ""):
            return 403, "Requests from pages of another site are refused."
        if scope.get("path") == "/login":
            return None
        cookies = {}
        if "cookie" in headers:
            parsed = SimpleCookie()
            with contextlib.suppress(Exception):
                parsed.load(headers["cookie"])
            cookies = {key: morsel.value for key, morsel in parsed.items()}
        if not self.access.allows(headers.get("authorization"), cookies):
            return 401, "This server needs its token: send Authorization: Bearer TOKEN (the token file's content)."
        return None
