"""uvicorn's httptools protocol, with a response's head and body sent in one write.

uvicorn writes a response in two ``transport.write`` calls, the head on ``http.response.start``
and the body on ``http.response.body``, and uvloop sends each at once: two ``send`` system calls
and, on the other end, two wake-ups per answer. Under the hold benchmark (32 in flight, one worker,
py-spy) those two writes took 18.7% of the worker's samples (12.9% the head, 5.8% the body; the
samples include time the kernel spends delivering on loopback). :class:`CoalescedWrites` holds
back the head of a response that has a ``content-length`` and sends it with the body, which
Litestar writes right after it. Everything else (a streamed response's head, SSE and WebSocket
frames) is written at once, as before: a head held back only waits for its body, or at most until
the end of the event loop's turn (a ``HEAD`` answer has no body).

What it saves is one ``send`` per response on the server and one wake-up of the client. The
gateway's CPU per hold (``/proc``, ``gateway serve --workers 1``, hold phase at 32 in flight,
alternating five rounds with the code before this change and the batcher's, on a quiet moment of
the shared machine: Redis ceiling 85k-101k SET NX/s) went from 264-270 µs to 233-265 µs (means
266 -> 248), system time 28 -> 23 µs. Series taken while the machine was busy varied by a third
from run to run and showed nothing either way.

``gateway serve`` runs uvicorn with ``http="gateway.serving:GatewayHttpProtocol"``; everything
else is uvicorn's own httptools protocol.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

_SIZED = b"\r\ncontent-length: "
"""How a head whose body follows at once looks: uvicorn writes header names in lower case."""


class CoalescedWrites(asyncio.Transport):
    """A transport that sends a sized response's head together with its body.

    Args:
        transport: the connection's transport.
        loop: the loop the connection runs on.
    """

    __slots__ = ("_loop", "_pending", "_transport")

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        super().__init__()
        self._transport = transport
        self._loop = loop
        self._pending: bytes | None = None

    def write(self, data: bytes | bytearray | memoryview) -> None:
        chunk = data if isinstance(data, bytes) else bytes(data)
        if self._pending is not None:  # the body (or whatever follows) of a held-back head
            pending, self._pending = self._pending, None
            self._transport.write(pending + chunk)
        elif chunk.startswith(b"HTTP/1.1 ") and _SIZED in chunk:
            self._pending = chunk
            self._loop.call_soon(self.flush)  # in case no body follows in this turn
        else:
            self._transport.write(chunk)

    def writelines(self, list_of_data: Iterable[bytes | bytearray | memoryview]) -> None:
        for data in list_of_data:
            self.write(data)

    def flush(self) -> None:
        """Send a head still held back (no body followed it in its turn)."""
        pending, self._pending = self._pending, None
        if pending is not None and not self._transport.is_closing():
            self._transport.write(pending)

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
        return self._transport.get_write_buffer_size() + len(self._pending or b"")

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
