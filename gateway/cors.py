"""CORS per organisation: each lists the origins allowed to embed its booking.

Preflights and response headers are answered for the union of every organisation's origins
(a preflight cannot say which organisation a request is for); the booking routes then check
the request's ``Origin`` against the organisation it touches (``origin_not_allowed``). A read
(``GET``/``HEAD`` of ``/v1/…``) from an origin in no organisation's list is refused before any
route runs, with a refusal that origin can read (``origin_not_allowed``), so an embedded widget
can tell its visitor why it shows nothing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Awaitable
from typing import Any, cast

from litestar.enums import ScopeType
from litestar.types import ASGIApp, HTTPResponseBodyEvent, HTTPResponseStartEvent, Message, Receive, Scope, Send

from gateway.errors import Forbidden
from gateway.state import services_of
from store import trust as repo
from store.types import Conn

ALLOW_HEADERS = "Authorization, Content-Type, X-Hold-Token, Last-Event-ID"
ALLOW_METHODS = "GET, POST, PATCH, DELETE, OPTIONS"
EXPOSE_HEADERS = "Retry-After"


class OriginPolicy:
    """The allowed origins, read from Postgres and kept for a few seconds."""

    def __init__(self, db: Conn, refresh_seconds: float = 5.0) -> None:
        self.db = db
        self.refresh_seconds = refresh_seconds
        self._union: set[str] = set()
        self._per_org: dict[uuid.UUID, tuple[float, set[str]]] = {}
        self._loaded = 0.0

    async def union(self) -> set[str]:
        if time.monotonic() - self._loaded > self.refresh_seconds:
            self._union = await repo.all_origins(self.db)
            self._loaded = time.monotonic()
        return self._union

    async def allowed(self, organisation_id: uuid.UUID, origin: str) -> bool:
        cached = self._per_org.get(organisation_id)
        if cached is None or time.monotonic() - cached[0] > self.refresh_seconds:
            cached = (time.monotonic(), set(await repo.origins(self.db, organisation_id)))
            self._per_org[organisation_id] = cached
        return origin in cached[1]

    async def changed(self) -> None:
        """Forget what is cached (this process sees a change at once, others within seconds)."""
        self._loaded = 0.0
        self._per_org.clear()

    async def check(self, scope: Scope, organisation_id: uuid.UUID) -> None:
        """Refuse a cross-origin request the organisation has not allowed.

        Raises:
            Forbidden: ``origin_not_allowed``.
        """
        origin = _header(scope, b"origin")
        if origin is None or origin == _own_origin(scope):
            return
        if not await self.allowed(organisation_id, origin):
            raise Forbidden(
                f"{origin} may not use this organisation's booking; its admins can allow it.",
                code="origin_not_allowed",
            )


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return str(value.decode("latin-1"))
    return None


def _own_origin(scope: Scope) -> str | None:
    host = _header(scope, b"host")
    if host is None:
        return None
    return f"{scope.get('scheme', 'http')}://{host}"


async def refuse_unknown_origin(send: Send, origin: str, *, with_body: bool = True) -> None:
    """403 ``origin_not_allowed`` to a read from an origin no organisation allowed, readable there.

    Without a CORS header the browser hides any answer, and the page (the widget on a partner
    site that is not set up yet) could only say "check your connection". ``*`` (never the origin's
    name, never credentials) lets it read this refusal and nothing else: the route does not run.
    """
    body = json.dumps(
        {
            "status": 403,
            "code": "origin_not_allowed",
            "title": "Forbidden",
            "detail": f"{origin} may not use this gateway's booking API; a clinic's admins can allow it.",
        }
    ).encode()
    start: HTTPResponseStartEvent = {
        "type": "http.response.start",
        "status": 403,
        "headers": [
            (b"content-type", b"application/problem+json"),
            (b"content-length", str(len(body)).encode()),
            (b"access-control-allow-origin", b"*"),
            (b"vary", b"Origin"),
            (b"cache-control", b"no-store"),
        ],
    }
    await send(start)
    end: HTTPResponseBodyEvent = {"type": "http.response.body", "body": body if with_body else b"", "more_body": False}
    await send(end)


def cors_middleware(app: ASGIApp) -> ASGIApp:
    """ASGI middleware answering preflights and adding CORS headers for allowed origins."""

    def middleware(scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        # Same-origin and origin-less requests are handed on without a frame of this middleware
        # on their stack (a plain function returning the inner app's awaitable): a live stream
        # keeps its whole call stack for as long as it is open.
        if scope["type"] != ScopeType.HTTP:
            return app(scope, receive, send)
        origin = _header(scope, b"origin")
        if origin is None or origin == _own_origin(scope):
            return app(scope, receive, send)
        return cross_origin(scope, receive, send, origin)

    async def cross_origin(scope: Scope, receive: Receive, send: Send, origin: str) -> None:
        allowed = origin in await services_of(scope).origins.union()
        if scope.get("method") == "OPTIONS" and _header(scope, b"access-control-request-method"):
            headers: list[tuple[bytes, bytes]] = [(b"vary", b"Origin"), (b"content-length", b"0")]
            if allowed:
                headers += [
                    (b"access-control-allow-origin", origin.encode()),
                    (b"access-control-allow-methods", ALLOW_METHODS.encode()),
                    (b"access-control-allow-headers", ALLOW_HEADERS.encode()),
                    (b"access-control-max-age", b"600"),
                ]
            start: HTTPResponseStartEvent = {
                "type": "http.response.start",
                "status": 204 if allowed else 403,
                "headers": headers,
            }
            await send(start)
            body: HTTPResponseBodyEvent = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(body)
            return

        if not allowed and scope.get("method") in ("GET", "HEAD") and scope.get("path", "").startswith("/v1/"):
            await refuse_unknown_origin(send, origin, with_body=scope.get("method") == "GET")
            return

        async def send_with_cors(message: Message) -> None:
            if message["type"] == "http.response.start" and allowed:
                extra: list[Any] = [
                    (b"access-control-allow-origin", origin.encode()),
                    (b"access-control-expose-headers", EXPOSE_HEADERS.encode()),
                    (b"vary", b"Origin"),
                ]
                message = cast("Message", {**message, "headers": [*message.get("headers", []), *extra]})
            await send(message)

        await app(scope, receive, send_with_cors)

    return middleware
