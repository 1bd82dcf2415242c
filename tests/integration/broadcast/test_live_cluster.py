"""Several gateway processes on one Redis: fan-out to all, expiry announced once, SIGTERM and resume."""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from datetime import datetime, timedelta
from pathlib import Path

import httpx
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio import Redis

from gateway.settings import Settings
from holds.engine import HoldEngine, NewHold, to_ms
from holds.keys import Keys
from tests.support import Clinic, make_clinic, no_bookings
from tests.support_live import LiveStream, events_url, eventually, gateways, hold, problems_in, seq_now, slot_starts


async def short_holds(
    settings: Settings, redis: Redis, clinic: Clinic, starts: list[str], ttl_ms: int
) -> list[NewHold]:
    """Holds taken the way the API takes them, with a TTL shorter than a type allows (10 s at least)."""
    engine = HoldEngine(redis, Keys(settings.redis.prefix), no_bookings, log_max=settings.booking.replay_log_size)
    made = []
    for start in starts:
        begin = datetime.fromisoformat(start)
        new = await engine.hold(
            doctor_id=uuid.UUID(clinic.doctor_id),
            appointment_type_id=uuid.UUID(clinic.type_30),
            start=begin,
            end=begin + timedelta(minutes=30),
            blocked_until=begin + timedelta(minutes=30),
            ttl_ms=ttl_ms,
        )
        assert new is not None
        made.append(new)
    return made


async def no_entries(redis: Redis, key: str) -> bool:
    return await redis.zcard(key) == 0


async def logged(redis: Redis, settings: Settings, clinic: Clinic) -> list[dict[str, object]]:
    raw = await redis.lrange(Keys(settings.redis.prefix).log(clinic.doctor_id), 0, -1)
    return [json.loads(e) for e in reversed(raw)]


async def test_a_hold_made_through_one_process_reaches_clients_of_both(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    base = await seq_now(settings, clinic.doctor_id)
    with gateways(settings, str(tmp_path), count=2) as (a, b):
        async with (
            LiveStream(events_url(a, clinic)) as on_a,
            LiveStream(events_url(b, clinic)) as on_b,
            httpx.AsyncClient(base_url=a.url) as http,
        ):
            start = slot_starts(clinic, 1)[0]
            await hold(http, clinic, start)
            seen_a, seen_b = await on_a.next(), await on_b.next()
        assert (seen_a.event, seen_a.seq, seen_a.data["start"]) == ("slot.held", base + 1, start)
        assert seen_b == seen_a


async def test_lapsed_holds_are_announced_within_a_second_and_once_with_two_processes(
    settings: Settings, clinic: Clinic, redis: Redis, tmp_path: Path
) -> None:
    with gateways(settings, str(tmp_path), count=2) as (a, b):
        async with LiveStream(events_url(a, clinic)) as on_a, LiveStream(events_url(b, clinic)) as on_b:
            starts = slot_starts(clinic, 8)
            # different TTLs, so sweeps of both processes race on every one of them
            made = [(await short_holds(settings, redis, clinic, [s], 400 + 90 * i))[0] for i, s in enumerate(starts)]
            got_a = await on_a.take(16)
            got_b = await on_b.take(16)
            # both sweepers are done with every deadline once the index is empty
            due = Keys(settings.redis.prefix).due
            await eventually(lambda: no_entries(redis, due))
    assert [e.data for e in got_a] == [e.data for e in got_b]
    released = [e for e in got_a if e.event == "slot.released"]
    assert sorted(e.data["start"] for e in released) == sorted(starts)
    for new, start in zip(made, starts, strict=True):
        (event,) = [e for e in released if e.data["start"] == start]
        late_ms = event.data["ts"] - to_ms(new.expires_at)
        assert 0 <= late_ms < 1500, (start, late_ms)  # the 1 s, with tolerance for a loaded box
    history = [e for e in await logged(redis, settings, clinic) if e["type"] != "resync"]
    assert [e["type"] for e in history].count("slot.released") == len(starts)  # exactly once each
    assert [e["seq"] for e in history] == [e.seq for e in got_a]
    assert [e.seq for e in got_a] == list(range(got_a[0].seq, got_a[0].seq + 16))  # no gap, no repeat


async def test_holds_that_lapsed_while_no_gateway_ran_are_announced_at_start(
    settings: Settings, app: Litestar, admin: dict[str, str], redis: Redis, tmp_path: Path
) -> None:
    async with AsyncTestClient(app=app) as client:  # its lifespan (and sweeper) ends with this block
        clinic = await make_clinic(client, admin)
    made = await short_holds(settings, redis, clinic, slot_starts(clinic, 3), ttl_ms=200)
    held = await seq_now(settings, clinic.doctor_id)
    await asyncio.sleep(0.5)  # every deadline passes while no gateway runs
    assert [e["type"] for e in await logged(redis, settings, clinic)][-3:] == ["slot.held"] * 3
    began = time.time()
    with gateways(settings, str(tmp_path)) as (server,):
        async with LiveStream(events_url(server, clinic, f"?after={held}")) as stream:
            released = await stream.take(3)
    assert [e.event for e in released] == ["slot.released"] * 3
    assert [e.seq for e in released] == [held + 1, held + 2, held + 3]
    assert {e.data["start"] for e in released} == set(slot_starts(clinic, 3))
    assert all(e.data["ts"] >= began * 1000 - 50 for e in released)  # announced by the new process
    assert all(e.data["ts"] > to_ms(new.expires_at) for new in made for e in released)


async def test_sigterm_closes_streams_fast_and_clients_resume_on_another_process(
    settings: Settings, clinic: Clinic, tmp_path: Path
) -> None:
    base = await seq_now(settings, clinic.doctor_id)
    with gateways(settings, str(tmp_path), count=2) as (a, b):
        starts = iter(slot_starts(clinic, 10))
        async with httpx.AsyncClient(base_url=b.url) as http:
            streams = [LiveStream(events_url(a, clinic)) for _ in range(3)]
            for stream in streams:
                await stream.__aenter__()
            try:
                for _ in range(2):
                    await hold(http, clinic, next(starts))
                last_ids = [(await stream.take(2))[-1].id for stream in streams]
                assert last_ids == [str(base + 2)] * 3
                took = await asyncio.to_thread(a.stop)
                assert took < 5
                for stream in streams:
                    await stream.wait_ended()
                # changes while the clients are away ...
                for _ in range(3):
                    await hold(http, clinic, next(starts))
            finally:
                for stream in streams:
                    await stream.close()
            # ... are all replayed when they reconnect elsewhere with their Last-Event-ID
            for last_id in last_ids:
                assert last_id is not None
                async with LiveStream(events_url(b, clinic), {"Last-Event-ID": last_id}) as again:
                    assert [e.seq for e in await again.take(3)] == [base + 3, base + 4, base + 5]
        assert a.process.returncode in (0, -15)  # uvicorn re-raises SIGTERM once drained
        assert not problems_in(a), problems_in(a)
