"""The hub and a client's feed against real Redis: lost messages, a cut subscription, a Redis that forgot."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from holds.engine import HoldEngine
from holds.keys import Keys
from tests.support import no_bookings
from tests.support_live import Recorder, eventually

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


@pytest.fixture
async def hub(redis_url: str, keys: Keys) -> AsyncIterator[Hub]:
    # a slow first retry, so what is published right after the cut surely falls into the outage
    h = Hub(redis_url, keys, queue_size=64, retry_seconds=0.3)
    await h.start()
    assert h.connected.is_set()
    yield h
    await h.stop()


class Doctor:
    """One doctor's holds, taken through the hold engine (each one announced by its Lua script)."""

    def __init__(self, redis: Redis, keys: Keys, log_max: int = 50) -> None:
        self.id = uuid.uuid4()
        self.engine = HoldEngine(redis, keys, no_bookings, log_max=log_max)
        self.taken = 0

    async def hold(self) -> None:
        start = START + timedelta(minutes=30 * self.taken)
        self.taken += 1
        end = start + timedelta(minutes=30)
        new = await self.engine.hold(
            doctor_id=self.id,
            appointment_type_id=uuid.uuid4(),
            start=start,
            end=end,
            blocked_until=end,
            ttl_ms=60_000,
        )
        assert new is not None


async def cut(redis: Redis, hub: Hub) -> None:
    """Kill the hub's pub/sub connection the way a Redis restart or a network blip would."""
    ids = [c["id"] for c in await redis.client_list() if c.get("name") == hub.client_name]
    assert len(ids) == 1
    await redis.client_kill_filter(_id=ids[0])


async def test_events_published_while_the_subscription_was_down_are_caught_up_from_the_log(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = Doctor(redis, keys)
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(str(doctor.id), 0)
    await doctor.hold()
    assert [e.seq for e in await feed.take(1)] == [1]

    await cut(redis, hub)
    await doctor.hold()  # published to nobody: the hub is reconnecting
    await doctor.hold()
    got = await feed.take(2)
    assert [(e.event.type, e.seq) for e in got] == [("slot.held", 2), ("slot.held", 3)]
    assert hub.reconnects == 1
    await doctor.hold()
    assert [e.seq for e in await feed.take(1)] == [4]  # live again, nothing repeated


async def test_what_the_log_no_longer_holds_after_an_outage_becomes_one_resync(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = Doctor(redis, keys, log_max=1)
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(str(doctor.id), 0)
    await cut(redis, hub)
    for _ in range(3):
        await doctor.hold()
    (resync,) = await feed.take(1)
    assert (resync.event.type, resync.seq, resync.doctor_id) == ("resync", 3, str(doctor.id))
    await doctor.hold()
    assert [e.seq for e in await feed.take(1)] == [4]


async def test_a_jump_in_the_live_sequence_is_filled_from_the_log(redis: Redis, keys: Keys, hub: Hub) -> None:
    doctor = str(uuid.uuid4())
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(doctor, 0)
    # seq 1 is logged but its message is lost on the way; seq 2 arrives
    for seq, publish in ((1, False), (2, True)):
        payload = json.dumps({"type": "slot.held", "doctor_id": doctor, "seq": seq, "ts": 1_900_000_000_000 + seq})
        await redis.incr(keys.seq(doctor))
        await redis.lpush(keys.log(doctor), payload)
        if publish:
            await redis.publish(keys.channel(doctor), payload)
    assert [e.seq for e in await feed.take(2)] == [1, 2]


async def test_a_sequence_that_starts_again_means_redis_forgot_and_clients_resync(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = Doctor(redis, keys)
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(str(doctor.id), 0)
    await doctor.hold()
    await doctor.hold()
    assert [e.seq for e in await feed.take(2)] == [1, 2]
    # Redis loses the doctor's keys (a flush, a failover to an empty replica)
    found = [k async for k in redis.scan_iter(match=f"{keys.base(doctor.id)}*")]
    await redis.delete(*found)
    await doctor.hold()  # seq 1 again
    (resync,) = await feed.take(1)
    assert (resync.event.type, resync.seq) == ("resync", 1)
    await doctor.hold()
    assert [e.seq for e in await feed.take(1)] == [2]


async def test_clients_are_routed_only_while_they_follow(redis: Redis, keys: Keys, hub: Hub) -> None:
    doctor = Doctor(redis, keys)
    feeds = [Recorder(hub, ReplayLog(redis, keys)) for _ in range(3)]
    for feed in feeds:
        feed.follow(str(doctor.id), 0)
    assert hub.clients == 3
    feeds[0].close()
    feeds[1].unfollow(str(doctor.id))
    assert hub.clients == 1
    await doctor.hold()
    assert [e.seq for e in await feeds[2].take(1)] == [1]
    assert await feeds[1].next(0.05) == []
    await hub.stop()
    await eventually(lambda: _closed(feeds[2]))


async def _closed(feed: Recorder) -> bool:
    return feed.closed == "shutdown"
