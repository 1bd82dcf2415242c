"""gateway serve's transport: a sized response leaves in one write, everything else as before."""

from __future__ import annotations

import asyncio
from typing import Any

from gateway.serving import CoalescedWrites

HEAD = b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\ncontent-length: 2\r\n\r\n"
STREAM_HEAD = b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n"


class Recording(asyncio.Transport):
    """The transport under the coalescer: records each write it gets."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data: Any) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


async def test_a_sized_response_is_one_write() -> None:
    real = Recording()
    transport = CoalescedWrites(real, asyncio.get_running_loop())
    transport.write(HEAD)
    assert real.writes == []  # held back for the body
    transport.write(bytearray(b"{}"))
    assert real.writes == [HEAD + b"{}"]  # at once, not at the end of the turn
    await asyncio.sleep(0)
    assert real.writes == [HEAD + b"{}"]


async def test_a_stream_and_its_frames_are_written_at_once() -> None:
    real = Recording()
    transport = CoalescedWrites(real, asyncio.get_running_loop())
    transport.write(STREAM_HEAD)
    transport.write(b"5\r\nhello\r\n")
    assert real.writes == [STREAM_HEAD, b"5\r\nhello\r\n"]


async def test_a_head_without_a_body_leaves_by_the_end_of_the_turn_or_on_close() -> None:
    real = Recording()
    transport = CoalescedWrites(real, asyncio.get_running_loop())
    transport.write(HEAD)  # e.g. the answer to a HEAD request
    await asyncio.sleep(0)
    assert real.writes == [HEAD]

    other = Recording()
    transport = CoalescedWrites(other, asyncio.get_running_loop())
    transport.write(HEAD)
    transport.close()
    assert other.writes == [HEAD] and other.closed
    await asyncio.sleep(0)
    assert other.writes == [HEAD]  # not twice
