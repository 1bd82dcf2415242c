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
import logging
import time
import uuid
from typing import Annotated, Any

import msgspec
from litestar import WebSocket, websocket
from litestar.exceptions import WebSocketDisconnect
from redis.exceptions import RedisError

from broadcast.framing import WebSocketFraming
from broadcast.stream import Message, Stream
from gateway import logs, metrics
from gateway.errors import RateLimited
from gateway.live.common import CallEnd, missing_doctors
from gateway.ratelimit import client_network
from gateway.services import Services
from gateway.state import services_of

logger = logging.getLogger("gateway.live")

_FRAMING = WebSocketFraming()


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
    address = client_network(socket)
    try:
        services.streams.take(address)
    except RateLimited as exc:
        # refused before the handshake completes: the client sees 403 and our reason in the log
        logger.info("refused a live WebSocket of %s: %s", address, exc.detail)
        await socket.close(code=1008, reason="too_many_streams")
        return
    try:
        # the handshake's answer carries the request id (gateway/logs.py)
        await socket.accept(headers=[(logs.HEADER, logs.stream_opened(socket.scope))])
        await _Session(socket, services).run()
    finally:
        services.streams.give_back(address)


class Bucket:
    """A token bucket: ``size`` at most, refilled at ``rate`` tokens a second (in memory, per socket)."""

    __slots__ = ("_at", "_rate", "_size", "_tokens")

    def __init__(self, size: int, rate: float) -> None:
        self._size = float(size)
        self._rate = rate
        self._tokens = float(size)
        self._at = time.monotonic()

    def take(self) -> bool:
        """Take one token; ``False`` when the bucket is empty."""
        now = time.monotonic()
        self._tokens = min(self._size, self._tokens + (now - self._at) * self._rate)
        self._at = now
        if self._tokens < 1.0:
            return False
        self._tokens -= 1.0
        return True


def _text(message: dict[str, Any]) -> Message:
    return {"type": "websocket.send", "text": _encode(message).decode()}


class _Session:
    """One socket: this coroutine reads the client's commands; the hub and the stream send.

    Replies go through the same stream as the events (:meth:`Stream.write`), so they keep their
    order: a subscription's acknowledgement leaves before any event of that doctor.
    """

    def __init__(self, socket: WebSocket[Any, Any, Any], services: Services) -> None:
        self.socket = socket
        self.services = services
        self.end = CallEnd()
        self.stream: Stream = services.hub.stream(socket.send, _FRAMING, services.replay, self.end)
        per_minute = services.settings.live.subscribes_per_minute
        self.subscribes = Bucket(per_minute, per_minute / 60.0) if services.settings.rate_limits else None

    async def run(self) -> None:
        metrics.LIVE_CONNECTIONS.labels("ws").inc()
        try:
            while self.stream.closed is None:
                try:
                    raw = await self.socket.receive_data(mode="text")
                except WebSocketDisconnect:
                    return
                await self._handle(raw)
        except asyncio.CancelledError:
            if not self.end.absorb():
                raise
        finally:
            metrics.LIVE_CONNECTIONS.labels("ws").dec()
            self.stream.close()

    def _reply(self, message: dict[str, Any]) -> None:
        self.stream.write(_text(message))

    def _error(self, code: str, detail: str) -> None:
        self._reply({"type": "error", "code": code, "detail": detail})

    async def _handle(self, raw: str | bytes) -> None:
        try:
            command = _decode_command(raw)
        except msgspec.ValidationError as exc:
            self._error("validation_error", str(exc))
            return
        except msgspec.DecodeError:
            self._error("invalid_json", "Each message must be one JSON object with an op.")
            return
        if command.op == "ping":
            self._reply({"type": "pong"})
            return
        if command.op not in ("subscribe", "unsubscribe"):
            self._error("unknown_op", f"op {command.op!r} is not subscribe, unsubscribe or ping")
            return
        if command.doctor_id is None:
            self._error("validation_error", f"{command.op} needs a doctor_id")
            return
        doctor_id = str(command.doctor_id)
        if command.op == "unsubscribe":
            if doctor_id not in self.stream.tracks:
                self._error("not_subscribed", f"Not subscribed to doctor {doctor_id}.")
                return
            self.stream.unfollow(doctor_id)
            self._reply({"type": "unsubscribed", "doctor_id": doctor_id})
            return
        await self._subscribe(doctor_id, command.after)

    async def _subscribe(self, doctor_id: str, after: int | None) -> None:
        if self.subscribes is not None and not self.subscribes.take():
            self._error("too_many_subscribes", "Too many subscribe ops on this socket; wait a moment.")
            return
        limit = self.services.settings.live.max_doctors
        if doctor_id not in self.stream.tracks and len(self.stream.tracks) >= limit:
            self._error("too_many_subscriptions", f"One socket follows {limit} doctors at most.")
            return
        if await missing_doctors(self.services, [doctor_id]):
            self._error("not_found", f"Doctor {doctor_id} not found.")
            return
        try:
            current = (await self.services.replay.read(doctor_id, None)).current
        except (RedisError, OSError):
            self._error("unavailable", "Live events are unavailable right now; retry shortly.")
            return
        # routed live before the acknowledgement leaves; what came after `after` (default: the
        # seq read just now) is replayed right behind it
        ack = {"type": "subscribed", "doctor_id": doctor_id, "seq": current}
        self.stream.follow(doctor_id, current if after is None else after, first=_text(ack))
