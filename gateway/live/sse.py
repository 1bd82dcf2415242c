"""Server-Sent Events: one doctor's slot events, or several doctors' in one stream.

Each route checks its parameters and doctors (errors are problem JSON, before any stream starts)
and returns an ASGI app, :class:`EventStream`, which awaits sse-starlette's ``EventSourceResponse``
with the raw ``scope``/``receive``/``send``: it sends keepalive comments and ends its streams when
uvicorn begins a graceful shutdown, which Litestar's own SSE response does not (an open stream
would hold SIGTERM up until uvicorn gives up). (Not an ``@asgi`` handler: Litestar 2.25 cannot
route path parameters to those, ``KeyError: 'GET'`` in ``parse_path_to_route``.)
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator, Callable
from typing import Annotated, Any, cast

import anyio
from litestar import Request, get
from litestar.params import FromPath, HeaderParameter, QueryParameter
from litestar.types import ASGIApp, Receive, Scope, Send
from redis.exceptions import RedisError
from sse_starlette import EventSourceResponse
from sse_starlette.sse import SendTimeoutError

from broadcast import cursor
from broadcast.events import Envelope
from broadcast.feed import Feed
from broadcast.subscriber import OVERFLOW, SHUTDOWN, Closed
from gateway import metrics
from gateway.errors import ValidationFailed
from gateway.live.common import current_seq, parse_doctor, parse_seq, require_doctors
from gateway.services import Services, services_of

logger = logging.getLogger("gateway.live")

SHUTDOWN_GRACE_SECONDS = 1.0
"""After SIGTERM a stream gets this long to end cleanly; uvicorn allows 4 s for the whole drain."""
OVERFLOW_GRACE_SECONDS = 1.0
"""A dropped client's stream gets this long to end by itself before its send is cancelled."""
RETRY_MS = 1000
"""Tells browsers to reconnect after 1 s (the default is about 3 s) when a stream ends."""
HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}

Render = Callable[[list[Envelope]], bytes]


@get("/v1/doctors/{doctor_id:uuid}/events", media_type="text/event-stream")
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

    def render(batch: list[Envelope]) -> bytes:
        return b"".join(envelope.sse() for envelope in batch)

    return EventStream(services, {doctor: position}, render)


@get("/v1/events", media_type="text/event-stream")
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
    positions = {d: resume[d] if d in resume else await current_seq(services, d) for d in doctors}
    sent = dict(positions)

    def render(batch: list[Envelope]) -> bytes:
        frames = []
        for envelope in batch:
            sent[envelope.doctor_id] = envelope.seq
            frames.append(envelope.sse(cursor.encode(sent)))
        return b"".join(frames)

    return EventStream(services, positions, render)


class EventStream:
    """The ASGI app that serves one SSE client its feed until it leaves, falls too far behind,
    or the server shuts down.

    Args:
        services: the process's hub and replay log.
        positions: for each doctor, the last ``seq`` the client has.
        render: turns a batch of events into SSE frames (the ``id`` differs per route).
    """

    def __init__(self, services: Services, positions: dict[str, int], render: Render) -> None:
        self.services = services
        self.positions = positions
        self.render = render

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        live = self.services.settings.live
        shutdown = anyio.Event()
        stream_scope = anyio.CancelScope()

        def on_close(reason: str) -> None:
            if reason == OVERFLOW:
                # The stream normally ends by itself (next() raises Closed). A client that reads
                # nothing leaves its send stuck on a full socket; cancel that after a grace period.
                asyncio.get_running_loop().call_later(OVERFLOW_GRACE_SECONDS, stream_scope.cancel)

        feed = Feed(self.services.hub.subscriber(on_close), self.services.replay)
        for doctor_id, after in self.positions.items():
            feed.follow(doctor_id, after)
        render = self.render

        async def frames() -> AsyncIterator[bytes]:
            closer = asyncio.create_task(_close_on(shutdown, feed))
            try:
                yield b"retry: %d\n\n" % RETRY_MS
                while True:
                    try:
                        batch = await feed.next()
                    except Closed:
                        return
                    except (RedisError, OSError) as exc:
                        # the replay log could not be read: end cleanly, the client resumes by its last id
                        logger.warning("ended a live stream, Redis failed: %s", exc)
                        return
                    yield render(batch)
            finally:
                closer.cancel()
                feed.close()

        response = EventSourceResponse(
            frames(),
            headers=HEADERS,
            ping=live.ping_seconds,
            sep="\n",
            send_timeout=live.send_timeout_seconds,
            shutdown_event=shutdown,
            shutdown_grace_period=SHUTDOWN_GRACE_SECONDS,
        )
        metrics.LIVE_CONNECTIONS.labels("sse").inc()
        try:
            with stream_scope:
                # Litestar's and Starlette's ASGI type aliases describe the same callables.
                await response(cast(Any, scope), cast(Any, receive), cast(Any, send))
        except SendTimeoutError:
            logger.info("closed a live stream whose client accepted nothing for %.0fs", live.send_timeout_seconds)
        finally:
            metrics.LIVE_CONNECTIONS.labels("sse").dec()
            feed.close()


async def _close_on(shutdown: anyio.Event, feed: Feed) -> None:
    # sse-starlette sets the event when uvicorn starts draining: end the stream cleanly (with
    # the chunked terminator), so the client reconnects elsewhere and resumes by its last id.
    await shutdown.wait()
    feed.close(SHUTDOWN)
