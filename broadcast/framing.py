"""How each kind of live stream turns events into ASGI messages (see :class:`broadcast.stream.Framing`).

A one-doctor SSE stream and a WebSocket send each event's shared message, built once per event
(:meth:`Envelope.sse_message`, :meth:`Envelope.ws_message`); a several-doctor SSE stream writes
its own cursor into each ``id``, so it renders per client.
"""

from __future__ import annotations

from collections.abc import Mapping

from sse_starlette import ServerSentEvent

from broadcast import cursor
from broadcast.events import Envelope
from broadcast.stream import OVERFLOW, SHUTDOWN, STUCK, UNAVAILABLE, Message

RETRY_MS = 1000
"""Tells browsers to reconnect after 1 s (the default is about 3 s) when a stream ends."""

SSE_RETRY: Message = {
    "type": "http.response.body",
    "body": ServerSentEvent(retry=RETRY_MS, sep="\n").encode(),
    "more_body": True,
}
"""The first frame of every SSE stream."""
SSE_KEEPALIVE: Message = {
    "type": "http.response.body",
    "body": ServerSentEvent(comment="ping", sep="\n").encode(),
    "more_body": True,
}
SSE_END: Message = {"type": "http.response.body", "body": b"", "more_body": False}
"""Ends the response cleanly (the chunked terminator): the browser reconnects and resumes."""

WS_CLOSE_CODES = {OVERFLOW: 1013, STUCK: 1013, SHUTDOWN: 1012, UNAVAILABLE: 1011}
"""1013 "try again later" (too slow: reconnect and resume), 1012 "service restart", 1011 "server error"."""


class SSEFraming:
    """One doctor's SSE stream: each event's frame is shared by every client (its id is the ``seq``)."""

    keepalive = SSE_KEEPALIVE

    def event(self, envelope: Envelope) -> Message:
        """The event's shared body message."""
        return envelope.sse_message()

    def batch(self, messages: list[Message]) -> list[Message]:
        """Frames ready together go out as one body write."""
        if len(messages) <= 1:
            return messages
        return [{"type": "http.response.body", "body": b"".join(m["body"] for m in messages), "more_body": True}]

    def end(self, reason: str) -> Message | None:
        """Every reason ends the body the same way; the browser resumes by its last id."""
        return SSE_END


class CursorSSEFraming(SSEFraming):
    """Several doctors in one SSE stream: each ``id`` is a cursor holding every doctor's position.

    Args:
        positions: the position of each doctor before the stream's first event.
    """

    def __init__(self, positions: Mapping[str, int]) -> None:
        self.sent = dict(positions)

    def event(self, envelope: Envelope) -> Message:
        """The event framed with this client's cursor (called in the order frames are sent)."""
        self.sent[envelope.doctor_id] = envelope.seq
        return {"type": "http.response.body", "body": envelope.sse(cursor.encode(self.sent)), "more_body": True}


class WebSocketFraming:
    """A WebSocket: each event is one text frame holding the event's JSON (shared)."""

    keepalive: Message = {"type": "websocket.send", "text": '{"type":"ping"}'}

    def event(self, envelope: Envelope) -> Message:
        """The event's shared text message."""
        return envelope.ws_message()

    def batch(self, messages: list[Message]) -> list[Message]:
        """One frame per message."""
        return messages

    def end(self, reason: str) -> Message | None:
        """A close frame whose code tells the client whether and when to come back."""
        code = WS_CLOSE_CODES.get(reason)
        if code is None:
            return None
        return {"type": "websocket.close", "code": code, "reason": f"live stream closed: {reason}"}
