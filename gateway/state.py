"""The process's services as the app's state holds them, typed (no import of what builds them)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from litestar.connection import ASGIConnection
from litestar.types import Scope

if TYPE_CHECKING:  # gateway.services imports the modules that call this: the type is enough here
    from gateway.services import Services


def services_of(where: ASGIConnection[Any, Any, Any, Any] | Scope) -> Services:
    """The process's services, from a connection or a raw ASGI scope (see ``gateway/deps.py``)."""
    app = where["app"] if isinstance(where, dict) else where.app
    return cast("Services", app.state.services)
