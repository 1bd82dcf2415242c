"""The slot events every open page receives (published from the hold scripts in Lua)."""

from __future__ import annotations

import time
from typing import Any, Literal

import msgspec
from sse_starlette import ServerSentEvent

EventType = Literal["slot.held", "slot.released", "slot.booked", "slot.freed", "resync"]


class SlotEvent(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One change of one slot. ``seq`` grows by one per doctor; ``ts`` is the publish time (epoch ms).

    A ``resync`` event has no ``start``/``end``: it tells the client to fetch the slots again,
    and its ``seq`` is the doctor's sequence number at that moment.
    """

    type: EventType
    doctor_id: str
    start: str | None = None
    end: str | None = None
    seq: int
    ts: int


decode = msgspec.json.Decoder(SlotEvent).decode
_encode = msgspec.json.Encoder().encode


def now_ms() -> int:
    """The wall clock in epoch milliseconds (the unit of ``ts``)."""
    return time.time_ns() // 1_000_000


class Envelope:
    """One event as it travels to clients: decoded once, encoded once, shared by every client.

    The JSON ``data`` is re-encoded from the struct rather than passed through from Lua, so every
    client sees the fields in the documented order whichever path (live, replay) it came by.
    """

    __slots__ = ("_frame", "_sse_message", "_ws_message", "data", "event")

    def __init__(self, event: SlotEvent) -> None:
        self.event = event
        self.data: bytes = _encode(event)
        self._frame: bytes | None = None
        self._sse_message: dict[str, Any] | None = None
        self._ws_message: dict[str, Any] | None = None

    @classmethod
    def parse(cls, raw: str | bytes) -> Envelope:
        """An envelope from the JSON a hold script published or logged.

        Raises:
            msgspec.DecodeError: for anything that is not a slot event.
        """
        return cls(decode(raw))

    @classmethod
    def resync(cls, doctor_id: str, seq: int) -> Envelope:
        """The event that tells a client to refetch: what it missed can no longer be replayed."""
        return cls(SlotEvent(type="resync", doctor_id=doctor_id, seq=seq, ts=now_ms()))

    @property
    def doctor_id(self) -> str:
        """The doctor whose slot changed."""
        return self.event.doctor_id

    @property
    def seq(self) -> int:
        """The event's place in the doctor's sequence."""
        return self.event.seq

    def sse(self, event_id: str | None = None) -> bytes:
        """The Server-Sent Events frame: ``id``, ``event`` and ``data`` lines and a blank line.

        Args:
            event_id: the ``id`` line; default the event's ``seq`` (a one-doctor stream). The
                frame with the default id is built once and shared by every client.
        """
        if event_id is None:
            if self._frame is None:
                self._frame = _frame(str(self.event.seq), self.event.type, self.data)
            return self._frame
        return _frame(event_id, self.event.type, self.data)

    def sse_message(self) -> dict[str, Any]:
        """The ASGI body message of :meth:`sse` (default id), built once and shared by every client."""
        message = self._sse_message
        if message is None:
            message = self._sse_message = {"type": "http.response.body", "body": self.sse(), "more_body": True}
        return message

    def ws_message(self) -> dict[str, Any]:
        """The ASGI WebSocket text message carrying :attr:`data`, built once and shared."""
        message = self._ws_message
        if message is None:
            message = self._ws_message = {"type": "websocket.send", "text": self.data.decode()}
        return message

    def __repr__(self) -> str:
        return f"Envelope({self.event.type} {self.event.doctor_id} #{self.event.seq})"


def _frame(event_id: str, kind: str, data: bytes) -> bytes:
    # sse-starlette's encoder keeps the wire format to the spec for any data (line breaks become
    # several data lines); it runs once per event and stream kind, never per client.
    return ServerSentEvent(data.decode(), event=kind, id=event_id, sep="\n").encode()
