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
from typing import Annotated, Any

from litestar import HttpMethod, Request, route
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send

from broadcast import cursor
from broadcast.framing import SSE_END, SSE_RETRY, CursorSSEFraming, SSEFraming
from broadcast.stream import Framing
from broadcast.stream import Send as RawSend
from gateway import metrics
from gateway.errors import ValidationFailed
from gateway.live.common import current_seq, parse_doctor, parse_seq, require_doctors
from gateway.services import Services, services_of

logger = logging.getLogger("gateway.live")

HEADERS = [
    (b"content-type", b"text/event-stream; charset=utf-8"),
    (b"cache-control", b"no-cache"),
    (b"x-accel-buffering", b"no"),
]
_SHARED = SSEFraming()
_GET_HEAD = [HttpMethod.GET, HttpMethod.HEAD]


@route(
    "/v1/doctors/{doctor_id:uuid}/events", http_method=[HttpMethod.GET, HttpMethod.HEAD], media_type="text/event-stream"
)
async def doctor_events(
    request: Request[Any, Any, Any],
    doctor_id: FromPath[uuid.UUID],
    after: Annotated[str | None, QueryParameter(name="after", description="Resume after this seq")] = None,
    last_event_id: Annotated[
        str | None, HeaderParameter(name="Last-Event-ID", description="Like after; sent by reconnecting browsers")
    ] = None,
) -> ASGIApp:
    """Server-Sent Events of one doctor's slots: ``slot.held``, ``slot.released``, ``slot.booked``,
    ``slot.freed`` and ``resync``; each ``id`` is the event's ``seq``.

    ``Last-Event-ID`` wins over ``after`` (a browser reconnects to the URL it first opened, with
    the last id it saw). Without either, the stream starts at the doctor's current ``seq``.
    """
    services = services_of(request)
    doctor = str(doctor_id)
    raw = last_event_id or after
    await require_doctors(services, [doctor])
    position = parse_seq(raw, "after") if raw else await current_seq(services, doctor)
    return EventStream(services, {doctor: position}, _SHARED)


@route("/v1/events", http_method=_GET_HEAD, media_type="text/event-stream")
async def events(
    request: Request[Any, Any, Any],
    doctor_ids: Annotated[list[str], QueryParameter(name="doctor_id", description="Repeat for each doctor")],
    after: Annotated[str | None, QueryParameter(name="after", description="Resume at this event id")] = None,
    last_event_id: Annotated[
        str | None, HeaderParameter(name="Last-Event-ID", description="Like after; sent by reconnecting browsers")
    ] = None,
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
    raw = last_event_id or after
    try:
        resume = cursor.decode(raw) if raw else {}
    except ValueError:
        raise ValidationFailed(f"after: {raw!r} is not an event id of this stream", field="after") from None
    await require_doctors(services, doctors)
    fresh = [d for d in doctors if d not in resume]
    seqs = dict(zip(fresh, await asyncio.gather(*(current_seq(services, d) for d in fresh)), strict=True))
    positions = {d: resume[d] if d in resume else seqs[d] for d in doctors}
    return EventStream(services, positions, CursorSSEFraming(positions))


class EventStream:
    """The ASGI app that serves one SSE client its feed until it leaves, falls too far behind,
    or the server shuts down.

    Args:
        services: the process's hub and replay log.
        positions: for each doctor, the last ``seq`` the client has.
        framing: how events become frames (the ``id`` differs per route).
    """

    def __init__(self, services: Services, positions: dict[str, int], framing: Framing) -> None:
        self.services = services
        self.positions = positions
        self.framing = framing

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw_send: RawSend = send  # Litestar types each message; the stream's are plain dicts
        await raw_send({"type": "http.response.start", "status": 200, "headers": HEADERS})
        if scope.get("method") == "HEAD":
            await raw_send(SSE_END)
            return
        await raw_send(SSE_RETRY)
        task = asyncio.current_task()
        ended = False

        def end() -> None:
            # the closing chunk could not go out (a client that reads nothing): end the call, and
            # uvicorn closes the connection of a response left unfinished
            nonlocal ended
            ended = True
            if task is not None:
                task.cancel()

        stream = self.services.hub.stream(raw_send, self.framing, self.services.replay, end)
        for doctor_id, after in self.positions.items():
            stream.follow(doctor_id, after)
        metrics.LIVE_CONNECTIONS.labels("sse").inc()
        try:
            # Everything is sent by the hub and the stream; this call only waits for the client
            # to leave, or for the stream's final chunk (after which receive() says disconnect).
            while (await receive())["type"] != "http.disconnect":
                pass
        except asyncio.CancelledError:
            if not ended or task is None:
                raise
            task.uncancel()
        finally:
            metrics.LIVE_CONNECTIONS.labels("sse").dec()
            stream.close()
