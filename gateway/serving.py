"""uvicorn's httptools protocol, with the writes of one event-loop turn sent as one.

uvicorn writes a response in two ``transport.write`` calls, the head on ``http.response.start``
and the body on ``http.response.body``, and uvloop sends each at once: two ``send`` system calls
and, on the other end, two wake-ups per answer. Under the hold benchmark (32 in flight, one worker,
py-spy) those two writes were 18.7% of the worker's CPU (12.9% the head, 5.8% the body). Both
happen in the same turn of the event loop (Litestar sends the body right after the head), so
:class:`CoalescedWrites` keeps what is written during a turn and hands it to the transport once,
at the end of that turn. A stream (SSE) loses nothing: its head still leaves in the turn it was
written, alone when no body follows.

``gateway serve`` runs uvicorn with ``http="gateway.serving:GatewayHttpProtocol"``; everything
else is uvicorn's own httptools protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class CoalescedWrites(asyncio.Transport):
    """A transport whose writes within one turn of the event loop reach the real one as one write.

    Args:
        transport: the connection's transport.
        loop: the loop the connection runs on.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: list[bytes] | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        # copied when mutable: the caller may reuse its buffer before the end of the turn
        chunk = data if isinstance(data, bytes) else bytes(data)
        if self._pending is None:
            self._pending = [chunk]
            self._loop.call_soon(self.flush)
        else:
            self._pending.append(chunk)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Hand what was written in this turn to the transport (at the end of the turn, or now)."""
        pending, self._pending = self._pending, None
        if pending and not self._transport.is_closing():
            self._transport.write(pending[0] if len(pending) == 1 else b"".join(pending))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def write_eof(self) -> None:
        self.flush()
        self._transport.write_eof()

    def abort(self) -> None:
        self._pending = None
        self._transport.abort()

    def can_write_eof(self) -> bool:
        return self._transport.can_write_eof()

    def get_write_buffer_size(self) -> int:
        return self._transport.get_write_buffer_size() + sum(map(len, self._pending or ()))

    def get_write_buffer_limits(self) -> tuple[int, int]:
        return self._transport.get_write_buffer_limits()

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        self._transport.set_write_buffer_limits(high, low)

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def is_reading(self) -> bool:
        return self._transport.is_reading()

    def pause_reading(self) -> None:
        self._transport.pause_reading()

    def resume_reading(self) -> None:
        self._transport.resume_reading()

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        self._transport.set_protocol(protocol)

    def get_protocol(self) -> asyncio.BaseProtocol:
        return self._transport.get_protocol()

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return self._transport.get_extra_info(name, default)


class GatewayHttpProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol on a :class:`CoalescedWrites` transport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(CoalescedWrites(transport, self.loop))
