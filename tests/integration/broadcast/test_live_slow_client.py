"""A client that cannot keep up is dropped; everyone else keeps getting every event."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from redis.asyncio import Redis

from broadcast.stream import END_GRACE_SECONDS as OVERFLOW_GRACE_SECONDS
from gateway.settings import Settings
from holds.keys import Keys
from tests.support import Clinic
from tests.support_live import WAIT, LiveStream, gateways, publish_synthetic

ROUND = 200
QUEUE = ROUND + 56
"""More than a round: the reading client has taken every event of the last round before the next
is published, so it never has more than a round waiting and cannot be dropped however slowly a
loaded machine lets it read (with 32 it was, once, in CI); the stuck client overflows it all the same."""
PAD = 2000  # 2 kB events: the socket buffers between server and client fill after fewer of them
MAX_ROUNDS = 100  # a client that never reads is dropped after some 3 MB have piled up in socket buffers


def never_reading_client(url: str) -> socket.socket:
    """A raw TCP client that asks for the stream and then never reads a byte."""
    parts = urlsplit(url)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    # a small receive window, so the server's socket fills after kilobytes rather than megabytes
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((parts.hostname or "127.0.0.1", parts.port or 80))
    sock.sendall(f"GET {parts.path} HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n".encode())
    return sock


def read_to_the_end(sock: socket.socket) -> bytes:
    """Everything the server sent until it ended the response or closed the connection."""
    sock.settimeout(WAIT)
    chunks = []
    try:
        while chunk := sock.recv(1 << 16):
            chunks.append(chunk)
            if b"".join(chunks[-2:]).endswith(b"\r\n0\r\n\r\n"):  # the last chunk of the response
                break
    except ConnectionResetError:
        pass
    return b"".join(chunks)


async def test_a_client_that_never_reads_is_dropped_and_the_others_get_everything(
    settings: Settings, clinic: Clinic, redis: Redis, tmp_path: Path
) -> None:
    keys = Keys(settings.redis.prefix)
    env = {"GATEWAY_CLIENT_QUEUE_SIZE": str(QUEUE)}
    with gateways(settings, str(tmp_path), extra_env=env) as (server,):
        url = f"{server.url}/v1/doctors/{clinic.doctor_id}/events"
        async with LiveStream(url) as reader:
            stuck = never_reading_client(url)
            try:
                published: list[int] = []
                for _ in range(MAX_ROUNDS):
                    # in step with the reading client: it keeps up, the stuck one falls behind
                    seqs = await publish_synthetic(redis, keys, clinic.doctor_id, ROUND, PAD)
                    published += seqs
                    got = await reader.take(ROUND)
                    assert [e.seq for e in got] == seqs
                    if "dropped a slow live client" in server.log():
                        break
                else:
                    pytest.fail(
                        f"the stuck client was never dropped after {len(published)} events" + server.log()[-3000:]
                    )
                # the reading client goes on receiving after the drop
                seqs = await publish_synthetic(redis, keys, clinic.doctor_id, ROUND, PAD)
                assert [e.seq for e in await reader.take(ROUND)] == seqs
                assert reader.events.empty() and not reader.ended.is_set()
                # stay stuck past the grace a dropped stream gets to end by itself (its send is cut)
                await asyncio.sleep(OVERFLOW_GRACE_SECONDS + 0.5)
                # the stuck client's stream was closed: reading now ends, short of the latest events
                received = await asyncio.to_thread(read_to_the_end, stuck)
            finally:
                stuck.close()
        assert received.startswith(b"HTTP/1.1 200 OK")
        assert f"id: {published[-1]}\n".encode() not in received
        assert f"id: {seqs[-1]}\n".encode() not in received
