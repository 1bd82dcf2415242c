"""Many SSE clients spread over several processes, for the fan-out benchmark.

One Python process holding thousands of sockets would become the bottleneck it is meant to
measure (and hit its descriptor limit), so :class:`SSEFleet` starts ``processes`` workers, each
with its own event loop (uvloop when present) and raised ``RLIMIT_NOFILE``, and drives them over
pipes: open N more streams, forget what was received, hand over the latencies seen.

Each client is a bare asyncio protocol: it timestamps every read and pulls ``"ts":<ms>`` out of
each complete ``data:`` line (hold -> event latency = arrival - ``ts``), and nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import re
import time
from multiprocessing.connection import Connection
from typing import Any, cast
from urllib.parse import urlsplit

from loadtests.harness import raise_open_files

TS = re.compile(rb'"ts":(\d+)')


class SSEClient(asyncio.Protocol):
    """One raw HTTP/1.1 SSE connection that records the latency of each event it receives."""

    __slots__ = ("buffer", "latencies", "lost", "ready", "request", "started", "transport")

    def __init__(self, request: bytes, latencies: list[float]) -> None:
        self.request = request
        self.latencies = latencies
        self.buffer = b""
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.lost = False
        self.started = False
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, but they write all the same
        self.transport = cast(asyncio.Transport, transport)
        self.transport.write(self.request)

    def data_received(self, data: bytes) -> None:
        now_ms = time.time() * 1000
        if not self.ready.done():
            if not self.started:
                self.started = True
                if b" 200 " not in data[:16]:
                    self.ready.set_exception(ConnectionError(data[:200].decode(errors="replace")))
                    return
            if b"retry:" in data:
                self.ready.set_result(None)
        buffer = self.buffer + data
        end = buffer.rfind(b"\n")
        if end < 0:
            self.buffer = buffer
            return
        self.buffer = buffer[end + 1 :]
        for match in TS.finditer(buffer, 0, end):
            self.latencies.append(now_ms - int(match.group(1)))

    def connection_lost(self, exc: Exception | None) -> None:
        self.lost = True
        if not self.ready.done():
            self.ready.set_exception(ConnectionError(f"stream closed before it started: {exc!r}"))


async def _serve(pipe: Connection) -> None:
    loop = asyncio.get_running_loop()
    clients: list[SSEClient] = []
    latencies: list[float] = []
    errors: list[str] = []
    while True:
        command, args = await loop.run_in_executor(None, pipe.recv)
        if command == "open":
            url, doctor, count, at_once, sources = args
            opened, failed = await _open(clients, latencies, errors, url, doctor, count, at_once, sources)
            pipe.send((opened, failed, sum(not c.lost for c in clients), errors[:3]))
            errors.clear()
        elif command == "reset":
            latencies.clear()
            pipe.send(sum(not c.lost for c in clients))
        elif command == "collect":
            pipe.send((list(latencies), sum(not c.lost for c in clients)))
        else:
            for client in clients:
                if client.transport is not None:
                    client.transport.close()
            await asyncio.sleep(0.1)
            pipe.send(None)
            return


async def _open(
    clients: list[SSEClient],
    latencies: list[float],
    errors: list[str],
    url: str,
    doctor: str,
    count: int,
    at_once: int,
    sources: list[str],
) -> tuple[int, int]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    request = (
        f"GET /v1/doctors/{doctor}/events HTTP/1.1\r\nHost: {parts.netloc}\r\nAccept: text/event-stream\r\n\r\n"
    ).encode()
    loop = asyncio.get_running_loop()
    gate = asyncio.Semaphore(at_once)
    opened = failed = 0

    async def one(n: int) -> None:
        nonlocal opened, failed
        async with gate:
            try:
                # several loopback source addresses: one (source, destination) pair has only
                # some 28,000 ephemeral ports
                source = (sources[n % len(sources)], 0)
                _, client = await loop.create_connection(
                    lambda: SSEClient(request, latencies), host, port, local_addr=source
                )
                clients.append(client)
                await asyncio.wait_for(client.ready, 30)
                opened += 1
            except (OSError, TimeoutError, ConnectionError) as exc:
                failed += 1
                if len(errors) < 3:
                    errors.append(repr(exc)[:200])

    await asyncio.gather(*(one(n) for n in range(count)))
    return opened, failed


def _worker(pipe: Connection, nofile: int) -> None:
    raise_open_files(nofile)
    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(_serve(pipe))


class SSEFleet:
    """SSE clients in ``processes`` worker processes, all on one doctor's stream."""

    def __init__(self, url: str, doctor: str, processes: int = 4, nofile: int = 65536) -> None:
        self.url = url
        self.doctor = doctor
        context = multiprocessing.get_context("spawn")
        self._pipes: list[Connection] = []
        self._procs: list[Any] = []
        for _ in range(processes):
            ours, theirs = context.Pipe()
            proc = context.Process(target=_worker, args=(theirs, nofile), daemon=True)
            proc.start()
            self._pipes.append(ours)
            self._procs.append(proc)
        self._opened = 0

    def _all(self, command: str, args: list[Any] | None = None) -> list[Any]:
        for n, pipe in enumerate(self._pipes):
            pipe.send((command, None if args is None else args[n]))
        return [pipe.recv() for pipe in self._pipes]

    def open(self, count: int, at_once: int = 64) -> tuple[int, int, int, list[str]]:
        """Open ``count`` more streams, spread over the workers.

        Returns:
            ``(opened, failed, alive, errors)``: streams opened now, attempts that failed, streams
            open in all, and a few of the failures.
        """
        share = [count // len(self._pipes) + (n < count % len(self._pipes)) for n in range(len(self._pipes))]
        first = self._opened
        args = []
        for n, part in enumerate(share):
            sources = [f"127.0.0.{2 + (first + n + k) % 50}" for k in range(0, 50, len(self._pipes))]
            args.append((self.url, self.doctor, part, at_once, sources))
        self._opened += count
        replies = self._all("open", args)
        errors = [e for r in replies for e in r[3]]
        return sum(r[0] for r in replies), sum(r[1] for r in replies), sum(r[2] for r in replies), errors

    def reset(self) -> int:
        """Forget the latencies recorded so far; returns how many streams are still open."""
        return sum(self._all("reset"))

    def collect(self) -> tuple[list[float], int]:
        """Every latency (ms) recorded since the last reset, and how many streams are still open."""
        replies = self._all("collect")
        return [x for r in replies for x in r[0]], sum(r[1] for r in replies)

    def close(self) -> None:
        """Close every stream and stop the workers."""
        with contextlib.suppress(OSError, EOFError):
            self._all("close")
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()
