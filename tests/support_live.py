"""Helpers for live-event tests: an SSE client that parses the stream itself, holds over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

import httpx
from redis.asyncio import Redis

from broadcast.events import Envelope
from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from broadcast.stream import Stream
from gateway.settings import Settings
from holds.keys import Keys
from tests.support import Clinic, LiveServer, start_server

WAIT = 10.0
"""Upper bound for anything a test waits on (it fails after this long, it never sleeps it)."""


@dataclass(frozen=True)
class SSEEvent:
    """One event as it came over the wire."""

    id: str | None
    event: str
    data: dict[str, Any]

    @property
    def seq(self) -> int:
        seq: int = self.data["seq"]
        return seq


@dataclass
class _Parser:
    """The SSE line protocol (https://html.spec.whatwg.org/multipage/server-sent-events.html)."""

    fields: dict[str, list[str]] = field(default_factory=dict)

    def line(self, line: str) -> tuple[str, Any] | None:
        """Feed one line; returns ``("event", SSEEvent)``, ``("comment", text)``, ``("retry", ms)`` or None."""
        if line == "":
            fields, self.fields = self.fields, {}
            if "data" not in fields:
                return ("retry", int(fields["retry"][-1])) if "retry" in fields else None
            event_id = fields["id"][-1] if "id" in fields else None
            kind = fields.get("event", ["message"])[-1]
            return "event", SSEEvent(event_id, kind, json.loads("\n".join(fields["data"])))
        if line.startswith(":"):
            return "comment", line[1:].strip()
        name, _, value = line.partition(":")
        self.fields.setdefault(name, []).append(value.removeprefix(" "))
        return None


class LiveStream:
    """An SSE client running in the background; events queue up as they arrive.

    ``async with LiveStream(url) as stream`` returns once the server has sent the stream's first
    bytes (its ``retry:`` line), which it does only after the client is routed live.
    """

    def __init__(self, url: str, headers: dict[str, str] | None = None) -> None:
        self.url = url
        self.headers = headers or {}
        self.events: asyncio.Queue[SSEEvent] = asyncio.Queue()
        self.comments: list[str] = []
        self.commented = asyncio.Event()
        self.response_headers: httpx.Headers | None = None
        self.ended = asyncio.Event()
        self.error: BaseException | None = None
        self._ready = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=httpx.Timeout(WAIT, read=None))
        self._task: asyncio.Task[None] | None = None

    async def __aenter__(self) -> LiveStream:
        self._task = asyncio.create_task(self._run())
        ready = asyncio.create_task(self._ready.wait())
        ended = asyncio.create_task(self.ended.wait())
        await asyncio.wait({ready, ended}, timeout=WAIT, return_when=asyncio.FIRST_COMPLETED)
        ready.cancel()
        ended.cancel()
        if not self._ready.is_set():
            await self.close()
            raise AssertionError(f"stream {self.url} did not start: {self.error!r}")
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()

    async def _run(self) -> None:
        parser = _Parser()
        try:
            async with self._client.stream("GET", self.url, headers=self.headers) as response:
                self.response_headers = response.headers
                if response.status_code != 200:
                    await response.aread()
                    raise AssertionError(f"{response.status_code}: {response.text}")
                async for line in response.aiter_lines():
                    parsed = parser.line(line)
                    if parsed is None:
                        continue
                    kind, value = parsed
                    if kind == "retry":
                        self._ready.set()
                    elif kind == "comment":
                        self.comments.append(value)
                        self.commented.set()
                    else:
                        self.events.put_nowait(value)
        except (httpx.HTTPError, AssertionError) as exc:
            self.error = exc
        finally:
            self.ended.set()

    async def next(self, within: float = WAIT) -> SSEEvent:
        """The next event; fails when none comes ``within`` seconds."""
        async with asyncio.timeout(within):
            return await self.events.get()

    async def take(self, count: int, within: float = WAIT) -> list[SSEEvent]:
        """The next ``count`` events."""
        async with asyncio.timeout(within):
            return [await self.events.get() for _ in range(count)]

    async def wait_ended(self, within: float = WAIT) -> None:
        """Wait until the server ends the stream."""
        async with asyncio.timeout(within):
            await self.ended.wait()


async def patient_headers(http: httpx.AsyncClient, clinic: Clinic) -> dict[str, str]:
    """Headers of a fresh anonymous patient session of the clinic's organisation."""
    r = await http.post("/v1/sessions", json={"organisation_slug": clinic.slug})
    assert r.status_code == 201, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def hold(
    http: httpx.AsyncClient, clinic: Clinic, start: str, headers: dict[str, str] | None = None
) -> dict[str, Any]:
    """Hold a 30-minute slot through a gateway's HTTP API (as a new patient unless ``headers`` say who)."""
    r = await http.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start},
        headers=headers or await patient_headers(http, clinic),
    )
    assert r.status_code == 201, r.text
    body: dict[str, Any] = r.json()
    return body


async def release(http: httpx.AsyncClient, held: dict[str, Any]) -> None:
    """Release a hold through a gateway's HTTP API."""
    r = await http.delete(f"/v1/holds/{held['hold_id']}", headers={"X-Hold-Token": held["hold_token"]})
    assert r.status_code == 204, r.text


def slot_starts(clinic: Clinic, count: int, days_ahead: int = 2) -> list[str]:
    """``count`` distinct 30-minute slot starts (08:00, 08:30, … local), over several days when needed."""
    starts = []
    for n in range(count):
        day, index = divmod(n, 20)
        starts.append(clinic.at(days_ahead + day, 8 + index // 2, 30 * (index % 2)))
    return starts


async def publish_synthetic(
    redis: Redis, keys: Keys, doctor_id: str, count: int, pad: int = 0, *, publish: bool = True
) -> list[int]:
    """Announce ``count`` made-up events the way the hold scripts do (seq, log, publish).

    For volume tests that need more events than a day has slots; returns their seqs. ``pad``
    makes each event that many bytes bigger (fewer events then fill a socket's buffers);
    ``publish=False`` only logs them (as if every PUBLISH had been lost on the way).
    """
    last = int(await redis.incrby(keys.seq(doctor_id), count))
    seqs = list(range(last - count + 1, last + 1))
    async with redis.pipeline(transaction=False) as pipe:
        for seq in seqs:
            payload = json.dumps(
                {
                    "type": "slot.held",
                    "doctor_id": doctor_id,
                    "start": "2031-01-01T09:00:00Z" + " " * pad,
                    "end": "2031-01-01T09:30:00Z",
                    "seq": seq,
                    "ts": 1_900_000_000_000 + seq,
                }
            )
            pipe.lpush(keys.log(doctor_id), payload)
            if publish:
                pipe.publish(keys.channel(doctor_id), payload)
        pipe.ltrim(keys.log(doctor_id), 0, 511)
        await pipe.execute()
    return seqs


async def eventually(check: Callable[[], Awaitable[bool]], within: float = WAIT) -> None:
    """Wait until ``check()`` holds; fails when it does not within ``within`` seconds.

    The deadline is checked by hand rather than by cancellation: redis-py may swallow a
    cancellation that lands during a read, which would leave a timeout waiting forever.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError(f"still not true after {within}s: {check}")
        await asyncio.sleep(0.05)


@contextlib.contextmanager
def gateways(
    settings: Settings, log_dir: str, count: int = 1, extra_env: dict[str, str] | None = None
) -> Iterator[list[LiveServer]]:
    """``count`` gateway processes on one Postgres schema and Redis prefix, stopped afterwards."""
    servers: list[LiveServer] = []
    try:
        for _ in range(count):
            servers.append(start_server(settings, log_dir, extra_env))
        yield servers
    finally:
        for server in servers:
            server.stop()


def problems_in(server: LiveServer) -> list[str]:
    """Lines of a gateway's log that point at a bug (tracebacks, unhandled errors, unfinished responses)."""
    markers = ("Traceback", "Exception in ASGI", "without completing response", "unhandled error")
    return [line for line in server.log().splitlines() if any(m in line for m in markers)]


async def seq_now(settings: Settings, doctor_id: str) -> int:
    """The doctor's event sequence number now (making a clinic already announces a few resyncs)."""
    redis = Redis.from_url(settings.redis.url, decode_responses=True)
    try:
        return int(await redis.get(Keys(settings.redis.prefix).seq(doctor_id)) or 0)
    finally:
        await redis.aclose()


def events_url(server: LiveServer, clinic: Clinic, query: str = "") -> str:
    """The SSE URL of the clinic's doctor on a served gateway."""
    return f"{server.url}/v1/doctors/{clinic.doctor_id}/events{query}"


class _RecordingFraming:
    """Framing of a :class:`Recorder`: each message carries the envelopes themselves."""

    keepalive: dict[str, Any] = {"type": "test.keepalive"}

    def event(self, envelope: Envelope) -> dict[str, Any]:
        return {"type": "test.events", "envelopes": [envelope]}

    def batch(self, messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return messages

    def end(self, reason: str) -> dict[str, Any] | None:
        return {"type": "test.end", "reason": reason}


class Recorder:
    """A live client of a hub inside the test's own loop: a real :class:`Stream` whose ASGI ``send``
    keeps what it is sent, so a test reads the events the hub and the stream delivered.

    Args:
        hub: the hub under test.
        replay: the replay log the stream reads when it resumes or catches up.
        suspend: every send suspends once before it completes (a server whose ``send`` always
            yields), so every event takes the stream's slow path.
        gate: when given, every send waits for it (a socket that accepts nothing until it is set).
    """

    def __init__(
        self, hub: Hub, replay: ReplayLog, *, suspend: bool = False, gate: asyncio.Event | None = None
    ) -> None:
        self.suspend = suspend
        self.gate = gate
        self.messages: list[dict[str, Any]] = []
        self.senders: list[str] = []
        """For each message, the name of the task that called ``send`` (the hub's, or the stream's worker)."""
        self.in_flight = 0
        self.most_in_flight = 0
        """The most sends that were ever under way at once (a stream never has two)."""
        self._unread: list[Envelope] = []
        self._arrived = asyncio.Event()
        self.ended = False
        self.stream: Stream = hub.stream(self._send, _RecordingFraming(), replay, self._end)

    async def _send(self, message: dict[str, Any]) -> None:
        task = asyncio.current_task()
        self.senders.append("" if task is None else task.get_name())
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            if self.suspend:
                await asyncio.sleep(0)
            if self.gate is not None:
                await self.gate.wait()
        finally:
            self.in_flight -= 1
        self.messages.append(message)
        self._unread += message.get("envelopes", [])
        self._arrived.set()

    def _end(self) -> None:
        self.ended = True

    @property
    def closed(self) -> str | None:
        return self.stream.closed

    @property
    def doctors(self) -> list[str]:
        return self.stream.doctors

    def start(self, doctor_id: str) -> int | None:
        return self.stream.start(doctor_id)

    def follow(self, doctor_id: str, after: int | None = None) -> None:
        self.stream.follow(doctor_id, after)

    def unfollow(self, doctor_id: str) -> None:
        self.stream.unfollow(doctor_id)

    def close(self, reason: str = "gone") -> None:
        self.stream.close(reason)

    async def take(self, count: int) -> list[Envelope]:
        """Exactly the next ``count`` events; fails when none comes for ``WAIT`` seconds, or more come."""
        got: list[Envelope] = []
        while len(got) < count:
            more = await self.next(WAIT)
            assert more, f"nothing more after {[e.seq for e in got]}"
            got += more
        assert len(got) == count, got
        return got

    async def seqs(self, count: int) -> list[int]:
        """The ``seq`` of each of the next ``count`` events (see :meth:`take`)."""
        return [e.seq for e in await self.take(count)]

    async def next(self, idle_seconds: float = WAIT) -> list[Envelope]:
        """The events that arrived since the last call; waits up to ``idle_seconds`` for some."""
        if not self._unread:
            self._arrived.clear()
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(idle_seconds):
                    await self._arrived.wait()
        got, self._unread = self._unread, []
        return got
