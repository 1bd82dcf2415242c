"""``GET /v1/ws``: slot events over a WebSocket, for clients that follow doctors as they go.

The client sends ``{"op": "subscribe", "doctor_id": …, "after": SEQ}`` (``after`` optional),
``{"op": "unsubscribe", "doctor_id": …}`` or ``{"op": "ping"}``; the server answers
``{"type": "subscribed", "doctor_id": …, "seq": …}``, ``{"type": "unsubscribed", …}``,
``{"type": "pong"}``, and sends every event as one text frame holding the same JSON object as an
SSE ``data`` line. A bad op gets ``{"type": "error", "code": …, "detail": …}``; the socket stays
open. An idle socket gets ``{"type": "ping"}`` every ``GATEWAY_SSE_PING_SECONDS``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from typing import Annotated, Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from redis.exceptions import RedisError

from broadcast.feed import Feed
from broadcast.subscriber import OVERFLOW, SHUTDOWN, Closed
from gateway import metrics
from gateway.live.common import missing_doctors
from gateway.services import Services, services_of

logger = logging.getLogger("gateway.live")

CLOSE_TIMEOUT_SECONDS = 1.0
"""How long a close frame may wait for a socket that accepts nothing."""
OVERFLOW_GRACE_SECONDS = 1.0
"""A dropped client's writer gets this long to notice by itself before it is cancelled."""
UNAVAILABLE = "unavailable"
CLOSE_CODES = {OVERFLOW: 1013, SHUTDOWN: 1012, UNAVAILABLE: 1011}
"""1013 "try again later" (too slow: reconnect and resume), 1012 "service restart", 1011 "server error"."""


class Command(msgspec.Struct, kw_only=True):
    """One message from the client."""

    op: str
    doctor_id: uuid.UUID | None = None
    after: Annotated[int, msgspec.Meta(ge=0)] | None = None


_decode_command = msgspec.json.Decoder(Command).decode
_encode = msgspec.json.Encoder().encode


@websocket("/v1/ws")
async def live_socket(socket: WebSocket[Any, Any, Any]) -> None:
    """Follow any number of doctors (up to ``GATEWAY_LIVE_MAX_DOCTORS``) over one WebSocket."""
    services = services_of(socket)
    await socket.accept()
    await _Session(socket, services).run()


class _Session:
    def __init__(self, socket: WebSocket[Any, Any, Any], services: Services) -> None:
        self.socket = socket
        self.services = services
        self.feed = Feed(services.hub.subscriber(self._on_close), services.replay)
        # Replies (reader) and events (writer) share the socket; a subscribe holds the lock from
        # routing the doctor to sending its acknowledgement, so that comes before its events.
        self.lock = asyncio.Lock()
        self.writer: asyncio.Task[str] | None = None

    async def run(self) -> None:
        reader = asyncio.create_task(self._read())
        self.writer = writer = asyncio.create_task(self._write())
        metrics.LIVE_CONNECTIONS.labels("ws").inc()
        try:
            await asyncio.wait({reader, writer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            metrics.LIVE_CONNECTIONS.labels("ws").dec()
            for task in (reader, writer):
                task.cancel()
            results = await asyncio.gather(reader, writer, return_exceptions=True)
            self.feed.close()
        reason = self.feed.subscriber.closed  # the first reason wins: overflow, shutdown or gone
        if reason in CLOSE_CODES:
            # best effort: a client too slow to read events may not read the close frame either
            with contextlib.suppress(Exception):
                async with asyncio.timeout(CLOSE_TIMEOUT_SECONDS):
                    await self.socket.close(code=CLOSE_CODES[reason], reason=f"live stream closed: {reason}")
        for result in results:
            if isinstance(result, BaseException) and not isinstance(
                result, asyncio.CancelledError | WebSocketDisconnect
            ):
                logger.warning("live WebSocket ended with an error: %r", result)

    def _on_close(self, reason: str) -> None:
        if reason == OVERFLOW and self.writer is not None:
            asyncio.get_running_loop().call_later(OVERFLOW_GRACE_SECONDS, self.writer.cancel)

    async def _write(self) -> str:
        ping = _encode({"type": "ping"}).decode()
        while True:
            try:
                batch = await self.feed.next(self.services.settings.live.ping_seconds)
            except Closed as closed:
                return closed.reason
            except (RedisError, OSError) as exc:
                # the replay log could not be read: close, the client resubscribes after its last seq
                logger.warning("closed a live WebSocket, Redis failed: %s", exc)
                self.feed.close(UNAVAILABLE)
                return UNAVAILABLE
            async with self.lock:
                if not batch:
                    await self.socket.send_text(ping)
                for envelope in batch:
                    await self.socket.send_text(envelope.data.decode())

    async def _read(self) -> None:
        while True:
            try:
                raw = await self.socket.receive_data(mode="text")
            except WebSocketDisconnect:
                return
            await self._handle(raw)

    async def _reply(self, message: dict[str, Any]) -> None:
        async with self.lock:
            await self.socket.send_text(_encode(message).decode())

    async def _error(self, code: str, detail: str) -> None:
        await self._reply({"type": "error", "code": code, "detail": detail})

    async def _handle(self, raw: str | bytes) -> None:
        try:
            command = _decode_command(raw)
        except msgspec.ValidationError as exc:
            await self._error("validation_error", str(exc))
            return
        except msgspec.DecodeError:
            await self._error("invalid_json", "Each message must be one JSON object with an op.")
            return
        if command.op == "ping":
            await self._reply({"type": "pong"})
            return
        if command.op not in ("subscribe", "unsubscribe"):
            await self._error("unknown_op", f"op {command.op!r} is not subscribe, unsubscribe or ping")
            return
        if command.doctor_id is None:
            await self._error("validation_error", f"{command.op} needs a doctor_id")
            return
        doctor_id = str(command.doctor_id)
        if command.op == "unsubscribe":
            if doctor_id not in self.feed.doctors:
                await self._error("not_subscribed", f"Not subscribed to doctor {doctor_id}.")
                return
            self.feed.unfollow(doctor_id)
            await self._reply({"type": "unsubscribed", "doctor_id": doctor_id})
            return
        await self._subscribe(doctor_id, command.after)

    async def _subscribe(self, doctor_id: str, after: int | None) -> None:
        limit = self.services.settings.live.max_doctors
        if doctor_id not in self.feed.doctors and len(self.feed.doctors) >= limit:
            await self._error("too_many_subscriptions", f"One socket follows {limit} doctors at most.")
            return
        if await missing_doctors(self.services, [doctor_id]):
            await self._error("not_found", f"Doctor {doctor_id} not found.")
            return
        try:
            current = (await self.services.replay.read(doctor_id, None)).current
        except (RedisError, OSError):
            await self._error("unavailable", "Live events are unavailable right now; retry shortly.")
            return
        async with self.lock:
            # routed live before the acknowledgement leaves; what came after `after` (default:
            # the seq read just now) is replayed right behind it
            self.feed.follow(doctor_id, current if after is None else after)
            ack = {"type": "subscribed", "doctor_id": doctor_id, "seq": current}
            await self.socket.send_text(_encode(ack).decode())
