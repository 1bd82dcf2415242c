"""Routes of the live events: SSE for one or several doctors, and a WebSocket."""

from __future__ import annotations

from litestar import Router

from gateway.live.sse import doctor_events, events
from gateway.live.ws import live_socket

router = Router(path="/", route_handlers=[doctor_events, events, live_socket], tags=["live"])
