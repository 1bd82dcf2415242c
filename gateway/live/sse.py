"""Server-Sent Events: one doctor's slot events, or several doctors' in one stream.

Each route checks its parameters and doctors (errors are problem JSON, before any stream starts)
and returns an ASGI app, :class:`EventStream`. It sends the response head and the ``retry`` frame,
hands the client's ``send`` to the hub as a :class:`~broadcast.stream.Stream` (which writes every
event, keepalive and the final chunk), and then only waits for the client to leave. (Not an
``@asgi`` handler: Litestar 2.25 cannot route path parameters to those, ``KeyError: 'GET'`` in
``parse_path_to_route``.) A ``HEAD`` request gets the head and no stream.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from litestar import HttpMethod, Request, route
from litestar.enums import ParamType
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.params import FromPath, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from broadcast import cursor
from broadcast.framing import SSE_END, SSE_RETRY, CursorSSEFraming, SSEFraming
from broadcast.stream import Framing
from broadcast.stream import Send as RawSend
from gateway import logs, metrics
from gateway.errors import ValidationFailed
from gateway.live.common import CallEnd, current_seq, parse_doctor, parse_seq, require_doctors
from gateway.ratelimit import client_network
from gateway.services import Services
from gateway.state import services_of

logger = logging.getLogger("gateway.live")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_SHARED = SSEFraming()


def _head(scope: Scope) -> list[tuple[bytes, bytes]]:
    """The stream's response headers, with its request id (gateway/logs.py)."""
    return [*HEADERS, (logs.HEADER, logs.stream_opened(scope))]


_GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]


def last_event_id(scope: Scope) -> str | None:
    """The ``Last-Event-ID`` header a reconnecting browser sends, read from the raw headers.

    Not a Litestar header parameter: that parses every header into a ``Headers`` object kept in
    the connection's state for as long as the stream lives (about 0.9 kB per idle connection,
    measured with tracemalloc at 1,000 streams). :class:`WithLastEventID` documents it instead.
    """
    for name, value in scope["headers"]:
        if name == b"last-event-id":
            return value.decode("latin-1")
    return None


@dataclass
class WithLastEventID(Operation):
    """The OpenAPI operation of an SSE route: it also takes the ``Last-Event-ID`` header."""

    def __post_init__(self) -> None:
        header = Parameter(
            name="Last-Event-ID",
            param_in=ParamType.HEADER,
            required=False,
            description="Like after; sent by reconnecting browsers (it wins over after)",
            schema=Schema(type=OpenAPIType.STRING),
        )
        self.parameters = [*(self.parameters or []), header]


@route(
    "/v1/doctors/{doctor_id:uuid}/events",
    http_method=_GET_HEAD,
    media_type="text/event-stream",
    operation_class=WithLastEventID,
)
async def doctor_events(
    request: Request[Any, Any, Any],
    doctor_id: FromPath[uuid.UUID],
    after: Annotated[str | None, QueryParameter(name="after", description="Resume after this seq")] = None,
) -> ASGIApp:
    """Server-Sent Events of one doctor's slots: ``slot.held``, ``slot.released``, ``slot.booked``,
    ``slot.freed`` and ``resync``; each ``id`` is the event's ``seq``.

    ``Last-Event-ID`` wins over ``after`` (a browser reconnects to the URL it first opened, with
    the last id it saw). Without either, the stream starts at the doctor's current ``seq``.
    """
    services = services_of(request)
    doctor = str(doctor_id)
    raw = last_event_id(request.scope) or after
    await require_doctors(services, [doctor])
    position = parse_seq(raw, "after") if raw else await current_seq(services, doctor)
    return stream_app(request, services, {doctor: position}, _SHARED)


@route("/v1/events", http_method=_GET_HEAD, media_type="text/event-stream", operation_class=WithLastEventID)
async def events(
    request: Request[Any, Any, Any],
    doctor_ids: Annotated[list[str], QueryParameter(name="doctor_id", description="Repeat for each doctor")],
    after: Annotated[str | None, QueryParameter(name="after", description="Resume at this event id")] = None,
) -> ASGIApp:
    """Several doctors' slot events in one SSE stream.

    Each ``id`` is an opaque cursor holding every doctor's position; sent back as
    ``Last-Event-ID`` (or ``after``) it resumes all of them at once.
    """
    services = services_of(request)
    doctors = list(dict.fromkeys(parse_doctor(d) for d in doctor_ids))
    limit = services.settings.live.max_doctors
    if len(doctors) > limit:
        raise ValidationFailed(f"doctor_id: one stream follows {limit} doctors at most", field="doctor_id")
    raw = last_event_id(request.scope) or after
    try:
        resume = cursor.decode(raw) if raw else {}
    except ValueError:
        raise ValidationFailed(f"after: {raw!r} is not an event id of this stream", field="after") from None
    await require_doctors(services, doctors)
    fresh = [d for d in doctors if d not in resume]
    seqs = dict(zip(fresh, await asyncio.gather(*(current_seq(services, d) for d in fresh)), strict=True))
    positions = {d: resume[d] if d in resume else seqs[d] for d in doctors}
    return stream_app(request, services, positions, CursorSSEFraming(positions))


def stream_app(
    request: Request[Any, Any, Any], services: Services, positions: dict[str, int], framing: Framing
) -> EventStream:
    """The stream for a checked request; counts it against the client's quota of open streams.

    Raises:
        RateLimited: ``too_many_streams`` when the client's address holds as many as allowed.
    """
    address = client_network(request)
    if request.method != HttpMethod.HEAD:
        services.streams.take(address)  # given back when the stream ends
    return EventStream(services, positions, framing, address)


class EventStream:
    """The ASGI app that serves one SSE client its feed until it leaves, falls too far behind,
    or the server shuts down.

    Args:
        services: the process's hub and replay log.
        positions: for each doctor, the last ``seq`` the client has.
        framing: how events become frames (the ``id`` differs per route).
        address: the client's address (or /64): its open streams are counted while this one runs.
    """

    # One of these lives as long as its stream: slots, and no closures (each idle connection's
    # bytes count, see README "Live events").
    __slots__ = ("address", "framing", "positions", "services")

    def __init__(self, services: Services, positions: dict[str, int], framing: Framing, address: str) -> None:
        self.services = services
        self.address = address
        self.positions: dict[str, int] | None = positions
        self.framing = framing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_send: RawSend = send  # Litestar types each message; the stream's are plain dicts
        if scope.get("method") == "HEAD":
            await raw_send({"type": "http.response.start", "status": 200, "headers": _head(scope)})
            await raw_send(SSE_END)
            return
        try:
            await self._serve(scope, receive, raw_send)
        finally:
            self.services.streams.give_back(self.address)  # taken by the route, see stream_app

    async def _serve(self, scope: Scope, receive: Receive, raw_send: RawSend) -> None:
        await raw_send({"type": "http.response.start", "status": 200, "headers": _head(scope)})
        await raw_send(SSE_RETRY)
        end = CallEnd()
        stream = self.services.hub.stream(raw_send, self.framing, self.services.replay, end)
        positions, self.positions = self.positions or {}, None
        for doctor_id, after in positions.items():
            stream.follow(doctor_id, after)
        del positions
        connections = metrics.LIVE_CONNECTIONS.labels("sse")
        connections.inc()
        try:
            # Everything is sent by the hub and the stream; this call only waits for the client
            # to leave, or for the stream's final chunk (after which receive() says disconnect).
            while (await receive())["type"] != "http.disconnect":
                pass
        except asyncio.CancelledError:
            if not end.absorb():
                raise
        finally:
            connections.dec()
            stream.close()
