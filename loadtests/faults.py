"""The fault suite: each fault under a swarm, on throwaway servers of its own, with a verdict.

    python -m loadtests.faults [--only redis_restart,postgres_restart,gateway_kill,slow_redis]
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

Not covered: clock jumps on one gateway (faking one process's clock needs libfaketime or a test
hook in the gateway; neither is here).
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
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import asyncpg
import httpx

from gateway.settings import Settings
from loadtests.consistency import Verdict, check
from loadtests.harness import LocalGateway, make_clinic, raise_open_files, sessions, start_gateway, stop_gateway
from loadtests.swarm import Tally, slot_starts, swarm
from loadtests.throwaway import ThrowawayPostgres, free_port, stores
from store.pool import server_settings

FAULTS = ("redis_restart", "postgres_restart", "gateway_kill", "slow_redis")


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


def _swarm_lines(tally: Tally, seconds: float, outcome: Outcome) -> None:
    outcome.lines.append(
        f"swarm: {len(tally.holds)} holds, {tally.booked} booked in {seconds:.0f} s ({tally.summary()})"
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


RUNNERS: dict[str, Callable[[Outcome, int], Awaitable[None]]] = {
    "redis_restart": redis_restart,
    "postgres_restart": postgres_restart,
    "gateway_kill": gateway_kill,
    "slow_redis": slow_redis,
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
