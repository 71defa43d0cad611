"""The console's web application (Starlette): the page, its stream, login and replay.

Routes (all JSON but the page and its files):

- ``GET /`` the page; ``GET /static/…`` its script and style (package data, no build);
- ``GET /api/region`` the map and the principal; ``GET /api/state`` one snapshot;
- ``GET /api/stream`` server-sent events: ``hello`` (map, 15 minutes of history), then a
  ``tick`` every second; the alert filters (kind, agency, status: no personal data) are
  query parameters, checked against their closed sets;
- ``POST /api/login`` / ``POST /api/logout`` / ``GET /api/session`` an operator's session;
- ``POST /api/dlq/replay`` replays one dead letter: 401 without a login, audited with one.

Every response forbids caching and framing, allows scripts from this origin only, and
sends no referrer; nothing the page shows is put in a URL or in the browser's storage.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from importlib.resources import files
from pathlib import Path
from typing import Any

from anyio import to_thread
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from hxbus.console.exchange_console import (
    ALERT_KINDS,
    ALERT_STATUSES,
    AlertFilter,
    ExchangeConsole,
)
from schemas.errors import ConfigError

SESSION_COOKIE = "hx_console_session"
CSRF_HEADER = "x-hx-csrf"
#: Seconds between two ticks of the stream.
TICK_S = 1.0

_SECURITY_HEADERS = {
    "Cache-Control": "no-store",
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
}


def static_dir() -> Path:
    return Path(str(files("hxbus.console") / "static"))


class _SecurityHeaders(BaseHTTPMiddleware):
    async def dispatch(
        self, request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        response = await call_next(request)
        for name, value in _SECURITY_HEADERS.items():
            response.headers.setdefault(name, value)
        return response


def console_app(console: ExchangeConsole) -> Starlette:
    """The application serving ``console``."""

    async def page(_request: Request) -> Response:
        return FileResponse(static_dir() / "index.html", media_type="text/html")

    async def region(_request: Request) -> Response:
        return JSONResponse(console.region())

    async def state(request: Request) -> Response:
        try:
            alert_filter = _alert_filter(request, console)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(await to_thread.run_sync(console.snapshot, alert_filter))

    async def stream(request: Request) -> Response:
        try:
            alert_filter = _alert_filter(request, console)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)

        async def events() -> AsyncIterator[str]:
            hello = {"region": console.region(), "history": console.history()}
            yield _event("hello", hello)
            while not await request.is_disconnected():
                snapshot = await to_thread.run_sync(console.snapshot, alert_filter)
                yield _event("tick", snapshot)
                await asyncio.sleep(TICK_S)

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"X-Accel-Buffering": "no"},
        )

    async def login(request: Request) -> Response:
        body = await _json_body(request)
        name, password = body.get("name"), body.get("password")
        if not isinstance(name, str) or not isinstance(password, str):
            return JSONResponse({"error": "name and password: both required"}, status_code=400)
        session = await to_thread.run_sync(console.operators.login, name, password)
        if session is None:
            return JSONResponse({"error": "login refused"}, status_code=401)
        response = JSONResponse({"operator": session.operator, "csrf": session.csrf})
        response.set_cookie(
            SESSION_COOKIE,
            session.token,
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/",
        )
        return response

    async def session(request: Request) -> Response:
        found = console.operators.session(request.cookies.get(SESSION_COOKIE))
        if found is None:
            return JSONResponse({"operator": None})
        return JSONResponse({"operator": found.operator, "csrf": found.csrf})

    async def logout(request: Request) -> Response:
        console.operators.logout(request.cookies.get(SESSION_COOKIE))
        response = JSONResponse({"operator": None})
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    async def replay(request: Request) -> Response:
        operator = console.operators.operator(
            request.cookies.get(SESSION_COOKIE), request.headers.get(CSRF_HEADER)
        )
        if operator is None:
            return JSONResponse(
                {"error": "replay needs an operator login"},
                status_code=401,
            )
        body = await _json_body(request)
        group, entry = body.get("group"), body.get("entry")
        if not isinstance(group, str) or not isinstance(entry, str):
            return JSONResponse({"error": "group and entry: both required"}, status_code=400)
        sources = console.sources
        if sources is None:
            return JSONResponse({"error": "the console is still starting"}, status_code=503)
        try:
            outcome = await to_thread.run_sync(sources.desk.replay, operator, group, entry)
        except ConfigError as exc:
            return JSONResponse({"error": str(exc)}, status_code=400)
        return JSONResponse(outcome)

    return Starlette(
        routes=[
            Route("/", page),
            Route("/api/region", region),
            Route("/api/state", state),
            Route("/api/stream", stream),
            Route("/api/login", login, methods=["POST"]),
            Route("/api/session", session),
            Route("/api/logout", logout, methods=["POST"]),
            Route("/api/dlq/replay", replay, methods=["POST"]),
            Mount("/static", app=StaticFiles(directory=static_dir()), name="static"),
        ],
        middleware=[Middleware(_SecurityHeaders)],
    )


def _alert_filter(request: Request, console: ExchangeConsole) -> AlertFilter:
    """The alert filters of the query; ConfigError naming one outside its closed set."""
    kind = request.query_params.get("kind") or None
    agency = request.query_params.get("agency") or None
    status = request.query_params.get("status") or None
    if kind is not None and kind not in ALERT_KINDS:
        raise ConfigError(f"kind: must be one of {', '.join(ALERT_KINDS)}")
    if status is not None and status not in ALERT_STATUSES:
        raise ConfigError(f"status: must be one of {', '.join(ALERT_STATUSES)}")
    if agency is not None and agency not in console.agreement.by_id:
        raise ConfigError("agency: must be an agency id of the agreement")
    return AlertFilter(kind, agency, status)


async def _json_body(request: Request) -> dict[str, Any]:
    try:
        body = json.loads(await request.body())
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _event(name: str, data: Any) -> str:
    return f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False, default=str)}\n\n"
