"""Who is calling. The platform operator's token guards the admin routes."""

from __future__ import annotations

import hmac
from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from gateway.errors import Forbidden, Unauthorized


def bearer(connection: ASGIConnection[Any, Any, Any, Any]) -> str | None:
    """The bearer token of a request, if any."""
    header = connection.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def require_admin(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Guard: the caller presents the platform operator's token (``GATEWAY_ADMIN_TOKEN``)."""
    token = bearer(connection)
    if token is None:
        raise Unauthorized("This route needs Authorization: Bearer <token>.")
    expected = connection.app.state.settings.admin_token
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        raise Forbidden("This token may not manage clinics.")
