"""``focuslock hub serve``'s application: the studio's QC page, its WebSocket, the day's
list, the shots' previews and the day's report (``hub report``'s page), behind the same :class:`~focuslock.serve.app.Guard` and
token as ``focuslock serve`` (its login page too). Read-only: every route is a GET.

Everything the page shows from the hub (station, session, shot and SKU names, reasons)
is the stations' untrusted text: the page puts it in with ``textContent`` only, and its
Content-Security-Policy runs no script but its own (a nonce per page). The previews are
served as ``image/jpeg`` with ``nosniff``.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import json
import secrets
from collections.abc import AsyncIterator

import anyio.to_thread
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.types import ASGIApp
from starlette.websockets import WebSocket

from focuslock.hub.connection import HubError, describe_url
from focuslock.hub.day_report import render_day_report
from focuslock.hub.queries import day_shots, shot_previews
from focuslock.serve.app import Guard, login, login_form, send_until_gone
from focuslock.serve.auth import Access
from focuslock.serve.qc_feed import SHOWN, QcFeed
from focuslock.serve.qc_json import read_day, shot_json
from focuslock.serve.qc_openapi import qc_openapi_schema
from focuslock.session.report_html import CONTENT_SECURITY_POLICY
from focuslock.session.verdict import ShotOutcome

__all__ = ["make_qc_app", "qc_routes"]

PING_S = 15.0  # a page hears at least this often, so that it can tell a silent server from a quiet studio
_PAGE_POLICY = ("default-src 'none'; script-src 'nonce-{nonce}'; style-src 'unsafe-inline'; img-src 'self'; "
                "connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'")


def _feed(request: Request | WebSocket) -> QcFeed:
    return request.app.state.feed


def _page(nonce: str) -> str:
    from importlib import resources

    words = {v.value: v.value.upper() for v in ShotOutcome}  # the report's words for the verdicts (session/verdict.py)
    text = resources.files("focuslock.serve").joinpath("qc.html").read_text(encoding="utf-8")
    return (text.replace("/*VERDICT_WORDS*/{}", json.dumps(words)).replace("/*SHOWN*/0", str(SHOWN))
            .replace("NONCE", nonce))


async def qc_page(request: Request) -> HTMLResponse:
    nonce = secrets.token_urlsafe(16)
    return HTMLResponse(_page(nonce), headers={"Cache-Control": "no-store",
                                               "Content-Security-Policy": _PAGE_POLICY.format(nonce=nonce)})


async def openapi(request: Request) -> JSONResponse:
    return JSONResponse(qc_openapi_schema())


def _away(error: HubError) -> JSONResponse:
    return JSONResponse({"error": str(error)}, status_code=503, headers={"Cache-Control": "no-store", "Retry-After": "5"})


async def day(request: Request) -> Response:
    try:
        found = await anyio.to_thread.run_sync(lambda: _feed(request).reader.read(read_day))
    except HubError as error:
        return _away(error)
    return JSONResponse(found.to_json(), headers={"Cache-Control": "no-store"})


async def shots(request: Request) -> Response:
    try:
        cards = await anyio.to_thread.run_sync(
            lambda: _feed(request).reader.read(lambda c: day_shots(c, datetime.date.today())[-SHOWN:][::-1]))
    except HubError as error:
        return _away(error)
    return JSONResponse({"shots": [shot_json(c) for c in cards]}, headers={"Cache-Control": "no-store"})


async def report(request: Request) -> Response:
    """The studio's day as ``focuslock hub report`` writes it (``?date=YYYY-MM-DD``, default today)."""
    try:
        day = datetime.date.fromisoformat(request.query_params.get("date") or datetime.date.today().isoformat())
    except ValueError:
        return JSONResponse({"error": "A day is YYYY-MM-DD."}, status_code=400)
    feed = _feed(request)
    try:
        made = await anyio.to_thread.run_sync(
            lambda: feed.reader.read(lambda c: render_day_report(c, day, describe_url(feed.url))))
    except HubError as error:
        return _away(error)
    return HTMLResponse(made.html, headers={"Cache-Control": "no-store", "Content-Security-Policy": CONTENT_SECURITY_POLICY,
                                            "X-Content-Type-Options": "nosniff"})


def _preview(which: str):
    async def endpoint(request: Request) -> Response:
        shot_id = request.path_params["shot_id"]
        if not 0 < shot_id < 2**63:
            return JSONResponse({"error": "No shot has that number."}, status_code=404)
        try:
            thumbnail, crop = await anyio.to_thread.run_sync(
                lambda: _feed(request).reader.read(lambda c: shot_previews(c, shot_id)))
        except HubError as error:
            return _away(error)
        data = thumbnail if which == "thumbnail" else crop
        if data is None:
            return JSONResponse({"error": f"Shot {shot_id} has no {which} on the hub."}, status_code=404)
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=3600",
                                                                "X-Content-Type-Options": "nosniff"})

    endpoint.__name__ = f"{which}_jpeg"
    return endpoint


async def events(websocket: WebSocket) -> None:
    """The whole picture first, then each change: shots landed, the hub gone or back."""
    feed = _feed(websocket)
    await websocket.accept()
    mailbox = feed.subscribe()

    async def send() -> None:
        while True:
            try:
                text = await asyncio.wait_for(mailbox.get(), PING_S)
            except TimeoutError:
                text = '{"type": "ping"}'
            await websocket.send_text(text)

    try:
        await send_until_gone(websocket, send)
    finally:
        feed.unsubscribe(mailbox)


def qc_routes() -> list:
    """Every route of the QC server (the OpenAPI schema lists the same)."""
    return [
        Route("/", qc_page), Route("/login", login_form, methods=["GET"]), Route("/login", login, methods=["POST"]),
        Route("/openapi.json", openapi), Route("/api/day", day), Route("/api/shots", shots), Route("/report.html", report),
        Route("/api/shots/{shot_id:int}/thumbnail.jpg", _preview("thumbnail")),
        Route("/api/shots/{shot_id:int}/crop.jpg", _preview("crop")),
        WebSocketRoute("/api/events", events),
    ]


def make_qc_app(feed: QcFeed, access: Access) -> ASGIApp:
    """The QC application over ``feed``; the feed runs while the application does."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        feed.start(asyncio.get_running_loop())
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(feed.stop)

    app = Starlette(routes=qc_routes(), lifespan=lifespan)
    app.state.feed = feed
    app.state.access = access
    return Guard(app, access)
