"""The hub subscribes per doctor: only doctors followed here, caught up across the subscribe, plus resyncs.

Each process's hub SUBSCRIBEs a doctor's channel when the doctor gets its first local follower
and UNSUBSCRIBEs it when the last one leaves; the deployment-wide resync channel is always on.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as sync_redis
from redis.asyncio import Redis
from redis.asyncio.client import PubSub

from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from holds.engine import HoldEngine
from holds.keys import Keys
from tests.support import no_bookings
from tests.support_live import Recorder, eventually

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)

# What the hold scripts do for each event (seq, replay log, publish), n times in one call.
BURST = """
for i = 1, tonumber(ARGV[2]) do
  local seq = redis.call('INCR', KEYS[1])
  local payload = cjson.encode({type = 'slot.held', doctor_id = ARGV[1], seq = seq, ts = 1900000000000 + seq})
  redis.call('LPUSH', KEYS[2], payload)
  redis.call('PUBLISH', KEYS[3], payload)
end
return redis.call('GET', KEYS[1])
"""


@pytest.fixture
async def hub(redis_url: str, keys: Keys) -> AsyncIterator[Hub]:
    h = Hub(redis_url, keys, queue_size=256, retry_seconds=0.05)
    await h.start()
    assert h.connected.is_set()
    yield h
    await h.stop()


def burst_args(keys: Keys, doctor: str) -> list[str]:
    return [keys.seq(doctor), keys.log(doctor), keys.channel(doctor)]


async def publish(redis: Redis, keys: Keys, doctor: str, count: int) -> int:
    """Announce ``count`` events of the doctor at once; returns the doctor's last seq."""
    last = await redis.eval(BURST, 3, *burst_args(keys, doctor), doctor, count)
    return int(last)


async def numsub(redis: Redis, channel: str) -> int:
    ((_, count),) = await redis.pubsub_numsub(channel)
    return int(count)


def hold_back_subscribe(monkeypatch: pytest.MonkeyPatch, channel: str) -> asyncio.Event:
    """Hold every ``SUBSCRIBE`` naming ``channel`` until the returned event is set."""
    gate = asyncio.Event()
    original = PubSub.subscribe

    async def held_back(self: PubSub, *args: Any, **kwargs: Any) -> None:
        if channel in args:
            await gate.wait()
        await original(self, *args, **kwargs)

    monkeypatch.setattr(PubSub, "subscribe", held_back)
    return gate


async def test_a_hub_hears_no_event_of_a_doctor_nobody_follows_here_but_every_resync(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    forgotten: list[str | None] = []
    hub.on_resync.append(forgotten.append)
    doctor = uuid.uuid4()
    engine = HoldEngine(redis, keys, no_bookings)
    for n in range(3):
        start = START + timedelta(minutes=30 * n)
        held = await engine.hold(
            doctor_id=doctor,
            appointment_type_id=uuid.uuid4(),
            start=start,
            end=start + timedelta(minutes=30),
            blocked_until=start + timedelta(minutes=30),
            ttl_ms=60_000,
        )
        assert held is not None
    await engine.resync(doctor)

    async def heard() -> bool:
        return forgotten == [str(doctor)]

    await eventually(heard)
    # the resync channel's message came after the holds' events: had they been sent here, they
    # would have been received first
    assert hub.received == 0
    assert hub.delivered == 0

    # a followed doctor's resync reaches its followers as an event, and the cache has forgotten
    # the doctor by then (on the doctor's channel), and again on the resync channel
    followed = uuid.uuid4()
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(str(followed), 0)
    await eventually(lambda: _true(hub.listening(str(followed))))
    await engine.resync(followed)
    (event,) = await feed.take(1)
    assert (event.event.type, event.seq) == ("resync", 1)
    assert forgotten[:2] == [str(doctor), str(followed)]
    await eventually(lambda: _true(forgotten == [str(doctor), str(followed), str(followed)]))
    await asyncio.sleep(0.05)
    assert forgotten == [str(doctor), str(followed), str(followed)]
    assert hub.received == 1


async def test_a_burst_right_after_attaching_reaches_the_follower_whole_once_and_in_order(
    redis: Redis, redis_url: str, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(doctor, 0)
    # A blocking client: the event loop (and so the hub's SUBSCRIBE) waits until the burst is out.
    blocking = sync_redis.Redis.from_url(redis_url, decode_responses=True)
    try:
        blocking.eval(BURST, 3, *burst_args(keys, doctor), doctor, 30)
    finally:
        blocking.close()
    assert hub.received == 0
    got = await feed.take(30)
    assert [e.seq for e in got] == list(range(1, 31))
    await eventually(lambda: _true(hub.listening(doctor)))
    await publish(redis, keys, doctor, 5)
    assert [e.seq for e in await feed.take(5)] == list(range(31, 36))
    assert await feed.next(0.1) == []


async def test_a_follower_resolved_before_the_subscription_is_confirmed_misses_nothing(
    redis: Redis, keys: Keys, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    doctor = str(uuid.uuid4())
    await publish(redis, keys, doctor, 2)  # history before anyone follows
    gate = hold_back_subscribe(monkeypatch, keys.channel(doctor))
    resolved = Recorder(hub, ReplayLog(redis, keys))
    resolved.follow(doctor, 0)
    live = Recorder(hub, ReplayLog(redis, keys))
    live.follow(doctor)  # live from where it stands when resolved
    assert [e.seq for e in await resolved.take(2)] == [1, 2]  # resolved from the log
    assert await live.next(0.05) == []
    assert live.start(doctor) == 2
    # published after both resolved, before Redis confirms the SUBSCRIBE: nobody here hears it
    await publish(redis, keys, doctor, 20)
    assert not hub.listening(doctor)
    gate.set()
    # the confirmation brings Missed, and both catch up from the log with no further event
    assert [e.seq for e in await resolved.take(20)] == list(range(3, 23))
    assert [e.seq for e in await live.take(20)] == list(range(3, 23))
    assert hub.received == 0
    await publish(redis, keys, doctor, 3)
    assert [e.seq for e in await resolved.take(3)] == [23, 24, 25]
    assert [e.seq for e in await live.take(3)] == [23, 24, 25]
    assert await resolved.next(0.1) == []
    assert await live.next(0.01) == []


async def test_a_follower_not_yet_resolved_when_the_subscription_is_confirmed_misses_nothing(
    redis: Redis, keys: Keys, hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    doctor = str(uuid.uuid4())
    gate = hold_back_subscribe(monkeypatch, keys.channel(doctor))
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(doctor, 0)
    await publish(redis, keys, doctor, 10)  # before the subscription
    gate.set()
    await eventually(lambda: _true(hub.listening(doctor)))  # Missed is queued; the track is unresolved
    await publish(redis, keys, doctor, 10)  # live, queued behind the Missed
    await eventually(lambda: _true(hub.delivered == 10))
    got = await feed.take(20)
    assert [e.seq for e in got] == list(range(1, 21))
    assert await feed.next(0.1) == []


async def test_detach_then_reattach_follows_again_also_racing_the_unsubscribe(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    channel = keys.channel(doctor)
    feed = Recorder(hub, ReplayLog(redis, keys))
    feed.follow(doctor, 0)
    last = await publish(redis, keys, doctor, 1)
    assert [e.seq for e in await feed.take(1)] == [last]

    # leave for good: unsubscribed; what comes meanwhile is resumed from the log on the way back
    feed.unfollow(doctor)
    await eventually(lambda: _zero(redis, channel))
    await publish(redis, keys, doctor, 2)
    feed.follow(doctor, last)
    assert [e.seq for e in await feed.take(2)] == [last + 1, last + 2]
    last += 2

    # leave and come back at every point of the UNSUBSCRIBE's way: before it is sent, after it is
    # sent and before Redis answers, after the answer
    for turns in [0, 1, 2, 3, 5, 8, 13, 50, 200]:
        feed.unfollow(doctor)
        for _ in range(turns):
            await asyncio.sleep(0)
        feed.follow(doctor, last)
        last = await publish(redis, keys, doctor, 3)
        assert [e.seq for e in await feed.take(3)] == [last - 2, last - 1, last], turns
    await eventually(lambda: _true(hub.listening(doctor)))
    assert await numsub(redis, channel) == 1
    last = await publish(redis, keys, doctor, 1)
    assert [e.seq for e in await feed.take(1)] == [last]
    assert await feed.next(0.1) == []


async def test_the_doctor_channel_is_subscribed_exactly_while_someone_here_follows(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    channel = keys.channel(doctor)
    assert await numsub(redis, channel) == 0
    assert await redis.pubsub_channels(f"{keys.prefix}:*") == [keys.resync_channel()]
    first, second = Recorder(hub, ReplayLog(redis, keys)), Recorder(hub, ReplayLog(redis, keys))
    first.follow(doctor)
    second.follow(doctor)
    await eventually(lambda: _true(hub.listening(doctor)))
    assert await numsub(redis, channel) == 1  # one subscription for every follower of the process
    assert sorted(await redis.pubsub_channels(f"{keys.prefix}:*")) == sorted([channel, keys.resync_channel()])

    # a cut connection comes back with the doctor's channel
    ids = [c["id"] for c in await redis.client_list() if c.get("name") == hub.client_name]
    await redis.client_kill_filter(_id=ids[0])
    await eventually(lambda: _true(hub.reconnects == 1 and hub.listening(doctor)))
    assert await numsub(redis, channel) == 1

    first.unfollow(doctor)
    await asyncio.sleep(0.05)
    assert await numsub(redis, channel) == 1  # the second one still follows
    second.close("gone")
    await eventually(lambda: _zero(redis, channel))
    assert not hub.listening(doctor)
    assert await redis.pubsub_channels(f"{keys.prefix}:*") == [keys.resync_channel()]


async def _true(value: bool) -> bool:
    return value


async def _zero(redis: Redis, channel: str) -> bool:
    return await numsub(redis, channel) == 0
