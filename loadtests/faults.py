"""The fault suite: each fault under a swarm, on throwaway servers of its own, with a verdict.

    python -m loadtests.faults [--only redis_restart,postgres_restart,gateway_kill,slow_redis,clock_jump]
    make faults

Faults (each starts its own Postgres and Redis in a temporary directory, never the machine's):

- ``redis_restart``: Redis killed (SIGKILL) mid-swarm and started again empty. Open streams are
  told to resync; holds of slots booked before the crash are refused (the doctor's booked cells
  are warmed again from Postgres); nothing overlaps.
- ``postgres_restart``: Postgres restarted (fast shutdown) while confirms are under way. Confirms
  are answered 503 with ``Retry-After``, the hold is kept and the same confirm succeeds once
  Postgres is back; no appointment without its outbox message; nothing overlaps.
- ``gateway_kill``: two gateways on the same stores; 1,000 open streams on the first, which is
  killed with SIGKILL while holds go on through the second. Every client resumes on the second
  with ``Last-Event-ID`` and none misses an event.
- ``slow_redis``: 100 ms each way (200 ms round trip) between the gateway and Redis, and one
  chunk in twenty held back a further 200-400 ms (what a lost packet costs TCP), through a proxy
  of the suite's own. The swarm slows down; nothing breaks.

After each: the consistency check (``loadtests/consistency.py``: no overlap, every hold accounted
for, nothing alive past its deadline) plus the fault's own checks. Each fault prints its lines
and ``<fault>: OK`` or ``<fault>: FAILED``; the exit status is 1 when any failed.

- ``clock_jump``: two gateways on the same stores, the second on a wall clock of its own
  (``loadtests/skewclock.py``), jumped 10 minutes ahead, then 10 minutes behind, then back, under
  a swarm on both and a live stream of each swarm doctor on each. Holds still lapse on Redis time
  (a probe hold of each jump seen expired within 1.5 s of its deadline); every stream sees every
  event exactly once. What a skewed clock legitimately changes is printed, not failed: a session
  minted on the gateway ahead is refused by the other as ``401 token_not_yet_valid`` (and the
  other's on the one behind), and the gateway behind offers and holds slots that have already
  started by real time (its ``now`` is its own clock); only answers other than 200 or a 401
  naming the clock fail.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import signal
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import asyncpg
import httpx
import jwt
from redis.asyncio import Redis

from gateway.settings import Settings
from holds.keys import Keys
from loadtests import skewclock
from loadtests.consistency import Verdict, check
from loadtests.harness import LocalGateway, iso, make_clinic, raise_open_files, sessions, start_gateway, stop_gateway
from loadtests.swarm import Tally, slot_starts, swarm
from loadtests.throwaway import ThrowawayPostgres, free_port, stores
from store.pool import server_settings

FAULTS = ("redis_restart", "postgres_restart", "gateway_kill", "slow_redis", "clock_jump")


@dataclass
class Outcome:
    """One fault's verdict: what was measured and what is wrong."""

    name: str
    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def expect(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def take(self, verdict: Verdict) -> None:
        self.lines += verdict.lines
        self.problems += verdict.problems

    def print(self) -> None:
        for line in self.lines:
            print(f"  {line}")
        for problem in self.problems:
            print(f"  PROBLEM: {problem}")
        print(f"{self.name}: {'OK' if not self.problems else 'FAILED'}", flush=True)


# --- live stream clients that resume -----------------------------------------------------------


class Watcher:
    """One SSE client of one doctor that records every event id and type, and on a dropped
    connection resumes (``Last-Event-ID``) on the next of ``urls``."""

    def __init__(self, urls: list[str], doctor: str) -> None:
        self.urls = urls
        self.doctor = doctor
        self.ids: list[int] = []
        self.types: list[str] = []
        self.last_id: str | None = None
        self.reconnects = 0
        self.connected = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        index = 0
        while not stop.is_set():
            host, port = self.urls[index].removeprefix("http://").split(":")
            with contextlib.suppress(OSError, asyncio.IncompleteReadError, ConnectionError):
                await self._stream(host, int(port), stop)
            if stop.is_set():
                return
            self.reconnects += 1
            index = (index + 1) % len(self.urls) if len(self.urls) > 1 else index
            await asyncio.sleep(0.1 + random.random() * 0.2)

    async def _stream(self, host: str, port: int, stop: asyncio.Event) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            resume = f"Last-Event-ID: {self.last_id}\r\n" if self.last_id else ""
            writer.write(
                f"GET /v1/doctors/{self.doctor}/events HTTP/1.1\r\nHost: {host}\r\n"
                f"Accept: text/event-stream\r\n{resume}\r\n".encode()
            )
            head = await reader.readuntil(b"\r\n\r\n")
            if not head.startswith(b"HTTP/1.1 200"):
                raise ConnectionError(head[:40].decode(errors="replace"))
            self.connected.set()
            event_id: str | None = None
            kind = "message"
            buffer = b""
            while not stop.is_set():
                chunk = await reader.read(65536)
                if not chunk:
                    return
                buffer += chunk
                *lines, buffer = buffer.split(b"\n")
                for raw in lines:
                    line = raw.rstrip(b"\r").decode(errors="replace")
                    # chunked transfer encoding: size lines are hex digits alone; skip them
                    if line.startswith("id:"):
                        event_id = line[3:].strip()
                    elif line.startswith("event:"):
                        kind = line[6:].strip()
                    elif line == "" and event_id is not None:
                        self.types.append(kind)
                        if event_id.isdigit():
                            self.ids.append(int(event_id))
                        self.last_id = event_id
                        event_id, kind = None, "message"
        finally:
            writer.close()
            with contextlib.suppress(OSError, ConnectionError):
                await writer.wait_closed()


# --- a slow, lossy line between the gateway and Redis ---------------------------------------------


class SlowProxy:
    """A TCP proxy on loopback: every chunk is delivered ``delay`` seconds late, and one in
    ``1 / loss`` a further 0.2-0.4 s (as TCP would after a lost packet), in order."""

    def __init__(self, target_port: int, delay: float = 0.1, loss: float = 0.05) -> None:
        self.target_port = target_port
        self.delay = delay
        self.loss = loss
        self.port = free_port()
        self.server: asyncio.Server | None = None
        self.chunks = 0
        self.held_back = 0

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._client, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.server.wait_closed(), 2)

    async def _client(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        await asyncio.gather(self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True)

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        queue: asyncio.Queue[tuple[float, bytes]] = asyncio.Queue()
        loop = asyncio.get_running_loop()

        async def deliver() -> None:
            while True:
                at, data = await queue.get()
                if not data:
                    break
                await asyncio.sleep(max(0.0, at - loop.time()))
                writer.write(data)
                await writer.drain()
            writer.close()

        sender = asyncio.create_task(deliver())
        last = 0.0
        try:
            while data := await reader.read(65536):
                self.chunks += 1
                extra = 0.0
                if random.random() < self.loss:
                    self.held_back += 1
                    extra = 0.2 + random.random() * 0.2
                last = max(last, loop.time() + self.delay + extra)  # in order, as TCP delivers
                queue.put_nowait((last, data))
        except (OSError, ConnectionError):
            pass
        finally:
            queue.put_nowait((0.0, b""))
            with contextlib.suppress(Exception):
                await sender


# --- shared steps -------------------------------------------------------------------------------


async def _gateway(pg: ThrowawayPostgres, redis_url: str, **extra: str) -> LocalGateway:
    env = {"DATABASE_URL": pg.url, "REDIS_URL": redis_url} | extra
    log = pg.workdir / f"gateway-{len(list(pg.workdir.glob('gateway-*.log')))}.log"
    return await asyncio.to_thread(start_gateway, extra_env=env, log_path=str(log))


def _errors_logged(gw: LocalGateway, outcome: Outcome) -> None:
    """The gateway's error lines (JSON logs) become problems: a fault must not surprise it."""
    if not gw.log_path:
        return
    with open(gw.log_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if '"level":"error"' in line or '"level":"critical"' in line:
                try:
                    record = json.loads(line)
                except ValueError:
                    record = {"msg": line.strip()}
                trace = str(record.get("exc", "")).strip().splitlines()
                ours = [line.strip() for line in trace if "/gateway/" in line or "/store/" in line or "/holds/" in line]
                raised = " | ".join([*ours[-3:], trace[-1] if trace else ""])  # our frames, and what was raised
                outcome.problems.append(f"gateway logged: {record.get('msg')}: {raised}")


async def _clinic(gw: LocalGateway, doctors: int = 3, hold_ttl: int = 15) -> Any:
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        return await make_clinic(http, gw.admin_token, doctors=doctors, type_rules={"hold_ttl_seconds": hold_ttl})


async def _db(gw: LocalGateway) -> asyncpg.Connection[Any]:
    settings = Settings.from_env(gw.store_env())
    return await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))


async def _consistency(gw: LocalGateway, tally: Tally, outcome: Outcome, since: float = 0.0) -> None:
    holds = [(doctor, hold) for doctor, hold, at in tally.holds if at >= since]
    outcome.take(await check(Settings.from_env(gw.store_env()), holds, settle=25))
    _errors_logged(gw, outcome)


def _swarm_lines(tally: Tally, seconds: float, outcome: Outcome, label: str = "swarm") -> None:
    outcome.lines.append(
        f"{label}: {len(tally.holds)} holds, {tally.booked} booked in {seconds:.0f} s ({tally.summary()})"
    )
    outcome.expect(not tally.server_errors(), f"server errors other than 503: {tally.server_errors()}")
    outcome.expect(tally.booked > 0, "the swarm booked nothing: the fault was not tried under load")


async def _healthy(url: str, within: float = 30) -> bool:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while time.monotonic() < deadline:
            with contextlib.suppress(httpx.HTTPError):
                if (await http.get(f"{url}/healthz")).status_code == 200:
                    return True
            await asyncio.sleep(0.2)
    return False


# --- the faults -----------------------------------------------------------------------------------


async def redis_restart(outcome: Outcome, users: int) -> None:
    async with stores() as (pg, redis):
        gw = await _gateway(pg, redis.url)
        try:
            clinic = await _clinic(gw)
            patients = await sessions(gw.url, clinic.slug, users)
            watcher = Watcher([gw.url], clinic.doctor_ids[0])
            stop, watching = asyncio.Event(), asyncio.Event()
            watch = asyncio.create_task(watcher.run(watching))
            await asyncio.wait_for(watcher.connected.wait(), 10)
            began = time.monotonic()
            running = asyncio.create_task(swarm(gw.url, clinic, patients, stop))
            await asyncio.sleep(5)
            events_before = len(watcher.types)
            await asyncio.to_thread(redis.kill, signal.SIGKILL)
            crashed = time.monotonic()
            await asyncio.sleep(1)
            await asyncio.to_thread(redis.start)
            restarted = time.monotonic()
            await asyncio.sleep(8)
            stop.set()
            tally = await running
            await asyncio.sleep(1)
            watching.set()
            await watch
            _swarm_lines(tally, time.monotonic() - began, outcome)
            after = len([1 for _, _, at in tally.holds if at >= restarted])
            outcome.lines.append(f"redis down {restarted - crashed:.1f} s; {after} holds given after it came back")
            outcome.expect(after > 0, "no hold was given after Redis came back")
            resynced = "resync" in watcher.types[events_before:]
            outcome.lines.append(
                f"stream: {len(watcher.types)} events, {watcher.reconnects} reconnects,"
                f" resync after the crash: {resynced}"
            )
            outcome.expect(resynced, "the open stream was not told to resync after Redis lost everything")
            outcome.expect(await _healthy(gw.url, 5), "the gateway is not healthy after Redis came back")
            # slots booked before the crash must be refused now, though Redis forgot them
            conn = await _db(gw)
            try:
                booked = await conn.fetch(
                    "SELECT doctor_id, starts_at FROM appointments"
                    " WHERE status = 'confirmed' AND created_at < now() - $1::interval LIMIT 20",
                    timedelta(seconds=time.monotonic() - crashed),
                )
            finally:
                await conn.close()
            refused = 0
            async with httpx.AsyncClient(base_url=gw.url, timeout=10) as http:
                for row in booked:
                    body = {"doctor_id": str(row["doctor_id"]), "appointment_type_id": clinic.type_id,
                            "start": row["starts_at"].isoformat()}  # fmt: skip
                    r = await http.post("/v1/holds", json=body, headers=patients[0])
                    refused += r.status_code == 409
            outcome.lines.append(f"re-warm: {refused} of {len(booked)} slots booked before the crash refused after it")
            outcome.expect(bool(booked) and refused == len(booked), "a slot booked before the crash was held again")
            await _consistency(gw, tally, outcome, since=restarted)
        finally:
            await asyncio.to_thread(stop_gateway, gw)


async def postgres_restart(outcome: Outcome, users: int) -> None:
    async with stores() as (pg, redis):
        gw = await _gateway(pg, redis.url)
        try:
            clinic = await _clinic(gw, hold_ttl=30)
            patients = await sessions(gw.url, clinic.slug, users)
            stop = asyncio.Event()
            began = time.monotonic()
            running = asyncio.create_task(swarm(gw.url, clinic, patients, stop, confirm_share=0.9))
            await asyncio.sleep(5)
            down = time.monotonic()
            await asyncio.to_thread(pg.kill, signal.SIGINT)  # fast shutdown: sessions are cut
            await asyncio.sleep(2)
            await asyncio.to_thread(pg.start)
            up = time.monotonic()
            await asyncio.sleep(8)
            stop.set()
            tally = await running
            _swarm_lines(tally, time.monotonic() - began, outcome)
            outcome.lines.append(
                f"postgres down {up - down:.1f} s: {tally.answers[('confirm', 503)]} confirms answered 503, "
                f"{tally.retried_confirms} tried again, {tally.kept_after_503} of them booked with the same hold"
            )
            outcome.expect(tally.answers[("confirm", 503)] > 0, "no confirm met the outage: the fault was not tried")
            outcome.expect(tally.retry_after_missing == 0, f"{tally.retry_after_missing} 503s without Retry-After")
            outcome.expect(tally.kept_after_503 > 0, "no hold survived its confirm's 503 to be booked afterwards")
            conn = await _db(gw)
            try:
                missing = await conn.fetchval(
                    "SELECT count(*) FROM appointments a WHERE NOT EXISTS (SELECT 1 FROM outbox o"
                    " WHERE o.appointment_id = a.id AND o.event_type = 'appointment.booked')"
                )
                total = await conn.fetchval("SELECT count(*) FROM appointments")
            finally:
                await conn.close()
            outcome.lines.append(f"outbox: {total} appointments, {missing} without their booked message")
            outcome.expect(missing == 0, f"{missing} appointments have no outbox message")
            outcome.expect(
                total >= tally.booked, f"{tally.booked} confirms answered 201 but {total} appointments exist"
            )
            await _consistency(gw, tally, outcome)
        finally:
            await asyncio.to_thread(stop_gateway, gw)


async def gateway_kill(outcome: Outcome, users: int, streams: int = 1000) -> None:
    raise_open_files(streams * 2 + 512)
    async with stores() as (pg, redis):
        first = await _gateway(pg, redis.url, GATEWAY_LIVE_STREAMS_PER_ADDRESS=str(streams + 10))
        names = ("GATEWAY_DB_SCHEMA", "GATEWAY_REDIS_PREFIX", "GATEWAY_ADMIN_TOKEN", "GATEWAY_SECRET_KEY")
        shared = {name: first.env[name] for name in names} | {"GATEWAY_LIVE_STREAMS_PER_ADDRESS": str(streams + 10)}
        second = await _gateway(pg, redis.url, **shared)
        try:
            clinic = await _clinic(first, doctors=1, hold_ttl=60)
            doctor = clinic.doctor_ids[0]
            watchers = [Watcher([first.url, second.url], doctor) for _ in range(streams)]
            watching = asyncio.Event()
            tasks = [asyncio.create_task(w.run(watching)) for w in watchers]
            await asyncio.wait_for(asyncio.gather(*(w.connected.wait() for w in watchers)), 60)
            patients = await sessions(second.url, clinic.slug, 4)
            starts = slot_starts(200)
            async with httpx.AsyncClient(base_url=second.url, timeout=15) as http:

                async def seq() -> int:
                    r = await http.get(
                        f"/v1/doctors/{doctor}/slots",
                        params={"appointment_type_id": clinic.type_id, "from": starts[0], "to": starts[-1]},
                    )
                    return int(r.json()["seq"])

                async def hold(n: int) -> None:
                    body = {"doctor_id": doctor, "appointment_type_id": clinic.type_id, "start": starts[n]}
                    r = await http.post("/v1/holds", json=body, headers=patients[n % len(patients)])
                    outcome.expect(r.status_code == 201, f"hold {n} answered {r.status_code}")

                begin = await seq()  # every stream is open: each must see every event after this one
                for n in range(30):
                    await hold(n)
                    await asyncio.sleep(0.05)
                await asyncio.sleep(1)
                first.process.send_signal(signal.SIGKILL)
                await asyncio.to_thread(first.process.wait)
                killed = time.monotonic()
                for n in range(30, 60):
                    await hold(n)
                    await asyncio.sleep(0.05)
                final = await seq()
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and any((w.ids[-1] if w.ids else 0) < final for w in watchers):  # noqa: ASYNC110 - polls other tasks' lists
                await asyncio.sleep(0.2)
            caught_up = time.monotonic() - killed
            watching.set()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            expected = list(range(begin + 1, final + 1))
            complete = sum(1 for w in watchers if w.ids == expected)
            resumed = sum(1 for w in watchers if w.reconnects > 0)
            resyncs = sum(w.types.count("resync") for w in watchers)
            outcome.lines.append(
                f"{streams} streams on the killed gateway: {resumed} resumed on the other, {complete} saw every "
                f"event {begin + 1}..{final} exactly once, {resyncs} resyncs;"
                f" all caught up {caught_up:.1f} s after the kill"
            )
            outcome.expect(resumed == streams, f"{streams - resumed} streams never resumed")
            outcome.expect(complete == streams, f"{streams - complete} streams missed or repeated an event")
        finally:
            with contextlib.suppress(Exception):
                await asyncio.to_thread(stop_gateway, second)
            with contextlib.suppress(ProcessLookupError):
                first.process.kill()


async def slow_redis(outcome: Outcome, users: int) -> None:
    async with stores() as (pg, redis):
        proxy = SlowProxy(redis.port)
        await proxy.start()
        gw = await _gateway(pg, f"redis://127.0.0.1:{proxy.port}/0")
        try:
            clinic = await _clinic(gw)
            patients = await sessions(gw.url, clinic.slug, users)
            stop = asyncio.Event()
            began = time.monotonic()
            running = asyncio.create_task(swarm(gw.url, clinic, patients, stop))
            await asyncio.sleep(15)
            stop.set()
            tally = await running
            _swarm_lines(tally, time.monotonic() - began, outcome)
            outcome.lines.append(
                f"proxy: {proxy.chunks} chunks, {proxy.held_back} held back a further 0.2-0.4 s, 100 ms each way"
            )
            outcome.expect(proxy.held_back > 0, "the proxy held nothing back: no loss was tried")
            await _consistency(gw, tally, outcome)
        finally:
            await asyncio.to_thread(stop_gateway, gw)
            await proxy.close()


# --- a wall clock that jumps on one gateway -------------------------------------------------------


async def _answer(response: httpx.Response) -> str:
    """``status`` or ``status code`` (the error's code) of an answer, for the report."""
    if response.status_code < 400:
        return str(response.status_code)
    code = ""
    with contextlib.suppress(ValueError, AttributeError):
        code = str(response.json().get("code", ""))
    return f"{response.status_code} {code}".strip()


async def _minted(http: httpx.AsyncClient, url: str, slug: str) -> tuple[str, float]:
    """A new session minted by ``url``, and its ``iat`` less real time: that gateway's clock skew."""
    r = await http.post(f"{url}/v1/sessions", json={"organisation_slug": slug})
    r.raise_for_status()
    token = str(r.json()["token"])
    issued = jwt.decode(token, options={"verify_signature": False})["iat"]
    return token, float(issued) - time.time()


async def _redis_ms(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def _lapse(redis: Redis, key: str, within: float = 10.0) -> float | None:
    """Seconds (Redis time) between a hold's deadline and the moment it was seen expired; ``None``
    when it was still held ``within`` seconds after its deadline (polled every 0.1 s, so the
    answer is late by that at most)."""
    while True:
        status, deadline = cast("list[str | None]", await redis.hmget(key, ["status", "deadline"]))
        now = await _redis_ms(redis)
        if deadline is None:
            return None
        if status == "expired":
            return (now - int(deadline)) / 1000
        if status not in ("held", "confirming"):
            return None
        if now > int(deadline) + within * 1000:
            return None
        await asyncio.sleep(0.1)


async def _doctor_seq(http: httpx.AsyncClient, url: str, doctor: str, type_id: str) -> int:
    starts = slot_starts(2)
    r = await http.get(
        f"{url}/v1/doctors/{doctor}/slots", params={"appointment_type_id": type_id, "from": starts[0], "to": starts[1]}
    )
    r.raise_for_status()
    return int(r.json()["seq"])


async def clock_jump(outcome: Outcome, users: int, jump_seconds: float = 600) -> None:
    """Two gateways on one Postgres and Redis; the second's wall clock jumps forward, then back,
    under a swarm on both (see loadtests/skewclock.py)."""
    async with stores() as (pg, redis_server):
        offset = pg.workdir / "clock-offset"
        skewclock.jump(offset, 0)
        steady = await _gateway(pg, redis_server.url)
        names = ("GATEWAY_DB_SCHEMA", "GATEWAY_REDIS_PREFIX", "GATEWAY_ADMIN_TOKEN", "GATEWAY_SECRET_KEY")
        shared = {name: steady.env[name] for name in names}
        skewed = await _gateway(pg, redis_server.url, **shared, **skewclock.environment(offset, base={}))
        redis = Redis.from_url(redis_server.url, decode_responses=True)
        keys = Keys(steady.env["GATEWAY_REDIS_PREFIX"])
        watchers: list[tuple[str, Watcher]] = []
        watch_tasks: list[asyncio.Task[None]] = []
        watching = asyncio.Event()
        try:
            # four doctors: the swarm's three, and one for the probes alone (no swarm hold meets them)
            clinic = await _clinic(steady, doctors=4)
            crowd = replace(clinic, doctor_ids=clinic.doctor_ids[:3])
            probe_doctor = clinic.doctor_ids[3]
            async with httpx.AsyncClient(base_url=steady.url, timeout=30) as http:
                admin = {"Authorization": f"Bearer {steady.admin_token}"}
                r = await http.post(
                    "/v1/admin/appointment-types",
                    json={"organisation_id": clinic.organisation_id, "name": "5 min", "duration_minutes": 5,
                          "hold_ttl_seconds": 15, "max_advance_days": 365},
                    headers=admin,
                )  # fmt: skip
                r.raise_for_status()
                short_type = str(r.json()["id"])
            half = max(1, users // 2)
            on_steady = await sessions(steady.url, clinic.slug, half)
            on_skewed = await sessions(skewed.url, clinic.slug, half)
            for url in (steady.url, skewed.url):
                for doctor in crowd.doctor_ids:
                    watcher = Watcher([url], doctor)
                    watchers.append((url, watcher))
                    watch_tasks.append(asyncio.create_task(watcher.run(watching)))
            await asyncio.wait_for(asyncio.gather(*(w.connected.wait() for _, w in watchers)), 20)
            async with httpx.AsyncClient(timeout=15) as http:
                begin = {d: await _doctor_seq(http, steady.url, d, clinic.type_id) for d in crowd.doctor_ids}
                stop = asyncio.Event()
                began = time.monotonic()
                swarms = (
                    asyncio.create_task(swarm(steady.url, crowd, on_steady, stop)),
                    asyncio.create_task(swarm(skewed.url, crowd, on_skewed, stop)),
                )
                lapses: list[tuple[float, asyncio.Task[float | None]]] = []
                phases: list[tuple[str, float]] = [("real", time.monotonic())]
                await asyncio.sleep(4)
                for n, skew in enumerate((jump_seconds, -jump_seconds)):
                    skewclock.jump(offset, skew)
                    phases.append((f"{skew:+.0f} s", time.monotonic()))
                    phase_end = time.monotonic() + 8
                    await asyncio.sleep(0.3)  # the skewed process looks at the offset every 50 ms
                    await _clock_probes(
                        outcome, http, steady.url, skewed.url, clinic.slug, skew, probe_doctor,
                        clinic.type_id, short_type, slot_starts(4)[n], redis, keys, lapses,
                    )  # fmt: skip
                    await asyncio.sleep(max(0.0, phase_end - time.monotonic()))
                skewclock.jump(offset, 0)
                phases.append(("real again", time.monotonic()))
                await asyncio.sleep(4)
                stop.set()
                tallies = await asyncio.gather(*swarms)
                seconds = time.monotonic() - began
                for label, tally in zip(("steady", "skewed"), tallies, strict=True):
                    _swarm_lines(tally, seconds, outcome, label=f"swarm on the {label} gateway")
                    counts = []
                    for (name, since), (_, until) in zip(phases, [*phases[1:], ("", float("inf"))], strict=True):
                        given = sum(1 for _, _, at in tally.holds if since <= at < until)
                        counts.append(f"{name} {given}")
                        outcome.expect(given > 0, f"the {label} gateway gave no hold while its clock was {name}")
                    outcome.lines.append(f"  holds given while the skewed clock was: {', '.join(counts)}")
                for skew, task in lapses:
                    late = await task
                    outcome.lines.append(
                        f"lapse: a hold made on the skewed gateway at {skew:+.0f} s "
                        + (f"expired {late:.2f} s after its deadline (Redis time)" if late is not None
                           else "was still held 10 s after its deadline")
                    )  # fmt: skip
                    outcome.expect(
                        late is not None and late <= 1.5,
                        f"a hold made at {skew:+.0f} s did not lapse within 1.5 s of its deadline",
                    )
                holds = [(doctor, hold) for tally in tallies for doctor, hold, _ in tally.holds]
                outcome.take(await check(Settings.from_env(steady.store_env()), holds, settle=25))
                await asyncio.sleep(1.5)  # the last lapses are announced within a second
                final = {d: await _doctor_seq(http, steady.url, d, clinic.type_id) for d in crowd.doctor_ids}
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline and any(  # noqa: ASYNC110 - polls other tasks' lists
                (w.ids[-1] if w.ids else 0) < final[w.doctor] for _, w in watchers
            ):
                await asyncio.sleep(0.2)
            for label, url in (("steady", steady.url), ("skewed", skewed.url)):
                mine = [w for u, w in watchers if u == url]
                complete = sum(
                    1
                    for w in mine
                    if [i for i in w.ids if i <= final[w.doctor]]
                    == list(range(begin[w.doctor] + 1, final[w.doctor] + 1))
                )
                events = sum(final[w.doctor] - begin[w.doctor] for w in mine)
                resyncs = sum(w.types.count("resync") for w in mine)
                reconnects = sum(w.reconnects for w in mine)
                outcome.lines.append(
                    f"streams on the {label} gateway: {complete} of {len(mine)} saw every one of {events} events"
                    f" exactly once, {resyncs} resyncs, {reconnects} reconnects"
                )
                outcome.expect(
                    complete == len(mine),
                    f"{len(mine) - complete} streams on the {label} gateway missed or repeated an event",
                )
            _errors_logged(steady, outcome)
            _errors_logged(skewed, outcome)
        finally:
            watching.set()
            for task in watch_tasks:
                task.cancel()
            await asyncio.gather(*watch_tasks, return_exceptions=True)
            await redis.aclose()
            with contextlib.suppress(Exception):
                await asyncio.to_thread(stop_gateway, skewed)
            await asyncio.to_thread(stop_gateway, steady)


async def _clock_probes(
    outcome: Outcome,
    http: httpx.AsyncClient,
    steady: str,
    skewed: str,
    slug: str,
    skew: float,
    doctor: str,
    type_id: str,
    short_type: str,
    lapse_start: str,
    redis: Redis,
    keys: Keys,
    lapses: list[tuple[float, asyncio.Task[float | None]]],
) -> None:
    """What the jump does, asked of both gateways right after it (the swarm still running)."""
    # its sessions carry its clock: iat tells what the skewed gateway thinks the time is
    skewed_token, measured = await _minted(http, skewed, slug)
    steady_token, _ = await _minted(http, steady, slug)
    outcome.lines.append(
        f"clock jumped {skew:+.0f} s on the skewed gateway (its new session's iat says {measured:+.1f} s)"
    )
    outcome.expect(abs(measured - skew) < 3, f"the skewed gateway's clock reads {measured:+.1f} s, not {skew:+.0f} s")
    # sessions across gateways: the one behind sees the other's iat in the future, beyond the leeway
    answers = {
        "its session on the steady gateway": await http.get(
            f"{steady}/v1/me", headers={"Authorization": f"Bearer {skewed_token}"}
        ),
        "a steady session on it": await http.get(
            f"{skewed}/v1/me", headers={"Authorization": f"Bearer {steady_token}"}
        ),
    }
    said = {what: await _answer(r) for what, r in answers.items()}
    outcome.lines.append("  tokens: " + "; ".join(f"{what}: {answer}" for what, answer in said.items()))
    for what, answer in said.items():
        outcome.expect(
            answer in ("200", "401 token_not_yet_valid", "401 token_expired"),
            f"{what} at {skew:+.0f} s answered {answer}, not 200 or a 401 naming the clock",
        )
    # a hold on the skewed gateway must still lapse by Redis time, whatever the gateway's clock says
    session = {"Authorization": f"Bearer {skewed_token}"}
    r = await http.post(
        f"{skewed}/v1/holds", json={"doctor_id": doctor, "appointment_type_id": type_id, "start": lapse_start},
        headers=session,
    )  # fmt: skip
    if r.status_code == 201:
        key = keys.hold(doctor, r.json()["hold_id"])
        lapses.append((skew, asyncio.create_task(_lapse(redis, key))))
    else:
        outcome.problems.append(f"the lapse probe's hold at {skew:+.0f} s answered {await _answer(r)}")
    # which slots each offers around real now: "now" decides what has started (design: the gateway's clock)
    real_now = datetime.now(UTC)
    window = {"appointment_type_id": short_type, "from": iso(real_now - timedelta(minutes=15)),
              "to": iso(real_now + timedelta(minutes=15))}  # fmt: skip
    first: dict[str, datetime] = {}
    for label, url in (("steady", steady), ("skewed", skewed)):
        r = await http.get(f"{url}/v1/doctors/{doctor}/slots", params=window)
        r.raise_for_status()
        starts = [datetime.fromisoformat(s["start"].replace("Z", "+00:00")) for s in r.json()["slots"]]
        if starts:
            first[label] = starts[0]
    shown = ", ".join(f"{label} {(at - real_now).total_seconds() / 60:+.1f} min" for label, at in first.items())
    outcome.lines.append(f"  first 5-minute slot offered, from real now: {shown}")
    started = first.get("skewed")
    if started is not None and started < real_now:
        # the skewed gateway offers a slot that has started: does it let it be held, and the steady one?
        body = {"doctor_id": doctor, "appointment_type_id": short_type, "start": iso(started)}
        on_steady = await http.post(
            f"{steady}/v1/holds", json=body, headers={"Authorization": f"Bearer {steady_token}"}
        )
        on_skewed = await http.post(f"{skewed}/v1/holds", json=body, headers=session)
        outcome.lines.append(
            f"  a slot that started {(real_now - started).total_seconds() / 60:.1f} min ago (real time): held on"
            f" the steady gateway {await _answer(on_steady)}, on the skewed {await _answer(on_skewed)}"
        )
        if on_skewed.status_code == 201:
            hold = on_skewed.json()
            await http.delete(
                f"{skewed}/v1/holds/{hold['hold_id']}", headers=session | {"X-Hold-Token": hold["hold_token"]}
            )


RUNNERS: dict[str, Callable[[Outcome, int], Awaitable[None]]] = {
    "redis_restart": redis_restart,
    "postgres_restart": postgres_restart,
    "gateway_kill": gateway_kill,
    "slow_redis": slow_redis,
    "clock_jump": clock_jump,
}


async def run(names: list[str], users: int, streams: int = 1000) -> list[Outcome]:
    outcomes = []
    for name in names:
        print(f"{name}: running", flush=True)
        outcome = Outcome(name)
        try:
            if name == "gateway_kill":
                await gateway_kill(outcome, users, streams)
            else:
                await RUNNERS[name](outcome, users)
        except Exception as exc:  # a fault that could not even be set up is a failed fault
            outcome.problems.append(f"{type(exc).__name__}: {exc}")
        outcome.print()
        outcomes.append(outcome)
    return outcomes


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", help=f"comma-separated faults: {','.join(FAULTS)}")
    parser.add_argument("--users", type=int, default=24, help="swarm patients (one request at a time each)")
    parser.add_argument("--streams", type=int, default=1000, help="open streams on the gateway that gateway_kill kills")
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(FAULTS)
    unknown = [n for n in names if n not in RUNNERS]
    if unknown:
        parser.error(f"unknown fault(s): {', '.join(unknown)}")
    outcomes = asyncio.run(run(names, args.users, args.streams))
    failed = [o.name for o in outcomes if o.problems]
    print(
        f"faults: {len(outcomes) - len(failed)} of {len(outcomes)} OK"
        + (f" (FAILED: {', '.join(failed)})" if failed else "")
    )
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
