"""The fan-out's two paths against a real hub and Redis: the hub sends to caught-up clients itself;
a send that does not finish at once, a socket that takes nothing, a stuck client go through the
stream's one worker, and never hold up anyone else."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator

import pytest
from redis.asyncio import Redis

from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from broadcast.stream import END_GRACE_SECONDS, OVERFLOW, SHUTDOWN, STUCK, Missed
from holds.batch import Batcher
from holds.keys import Keys
from tests.support_live import Recorder, eventually, publish_synthetic

QUEUE = 8


@pytest.fixture
async def hub(redis_url: str, keys: Keys) -> AsyncIterator[Hub]:
    h = Hub(redis_url, keys, queue_size=QUEUE, ping_seconds=0.3, send_timeout_seconds=0.5)
    await h.start()
    assert h.connected.is_set()
    yield h
    await h.stop()


async def caught_up(hub: Hub, recorder: Recorder, doctor: str) -> None:
    """Wait until the recorder is resolved for ``doctor`` and the hub hears the doctor live."""

    async def ready() -> bool:
        return recorder.start(doctor) is not None and hub.listening(doctor)

    await eventually(ready)


async def test_a_caught_up_client_is_sent_each_event_by_the_hub_itself(redis: Redis, keys: Keys, hub: Hub) -> None:
    doctor = str(uuid.uuid4())
    replay = ReplayLog(redis, keys)
    clients = [Recorder(hub, replay) for _ in range(3)]
    for client in clients:
        client.follow(doctor)
        await caught_up(hub, client, doctor)
    tasks_before = len(asyncio.all_tasks())
    seqs = await publish_synthetic(redis, keys, doctor, 20)
    for client in clients:
        assert await client.seqs(20) == seqs
        # every live event went out from the hub's own task: no per-client task was woken or made
        live = [name for name, m in zip(client.senders, client.messages, strict=True) if "envelopes" in m]
        assert live == ["broadcast-hub"] * 20
        assert client.most_in_flight == 1
    assert len(asyncio.all_tasks()) <= tasks_before


async def test_a_send_that_always_suspends_still_delivers_everything_once_in_order(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    replay = ReplayLog(redis, keys)
    slow = Recorder(hub, replay, suspend=True)
    plain = Recorder(hub, replay)
    for client in (slow, plain):
        client.follow(doctor)
        await caught_up(hub, client, doctor)
    seqs: list[int] = []
    for _ in range(5):  # bursts smaller than the queue: the worker keeps up between them
        seqs += await publish_synthetic(redis, keys, doctor, QUEUE - 2)
    assert await slow.seqs(len(seqs)) == seqs
    assert await plain.seqs(len(seqs)) == seqs
    assert slow.closed is None
    assert slow.most_in_flight == 1  # one outstanding send per client, never two
    assert "broadcast-hub" in slow.senders  # the hub started each send; the worker finished it
    assert any(name != "broadcast-hub" for name in slow.senders)


async def test_a_client_whose_socket_takes_nothing_is_dropped_without_delaying_the_others(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    replay = ReplayLog(redis, keys)
    never = asyncio.Event()
    stuck = Recorder(hub, replay, gate=never)
    reader = Recorder(hub, replay)
    for client in (stuck, reader):
        client.follow(doctor)
    await caught_up(hub, reader, doctor)
    await caught_up(hub, stuck, doctor)
    seqs = await publish_synthetic(redis, keys, doctor, QUEUE * 3)
    assert await reader.seqs(len(seqs)) == seqs
    await eventually(lambda: _is(stuck.closed, OVERFLOW))
    assert hub.dropped == 1
    assert stuck.messages == []  # nothing got through its socket
    assert stuck.most_in_flight == 1
    # its closing message could not go out either: after the grace the route is told to end it
    await asyncio.sleep(END_GRACE_SECONDS + 0.3)
    assert stuck.ended
    more = await publish_synthetic(redis, keys, doctor, 5)
    assert await reader.seqs(5) == more


async def test_a_send_that_never_finishes_closes_the_stream_after_the_send_timeout(
    redis: Redis, keys: Keys, hub: Hub
) -> None:
    doctor = str(uuid.uuid4())
    replay = ReplayLog(redis, keys)
    stuck = Recorder(hub, replay, gate=asyncio.Event())
    stuck.follow(doctor)
    await caught_up(hub, stuck, doctor)
    await publish_synthetic(redis, keys, doctor, 1)  # one event: far from the queue limit
    await eventually(lambda: _is(stuck.closed, STUCK))
    assert hub.streams == 0
    assert hub.dropped == 1


async def test_keepalives_come_from_one_clock_and_only_to_quiet_streams(redis: Redis, keys: Keys, hub: Hub) -> None:
    replay = ReplayLog(redis, keys)
    tasks_before = len(asyncio.all_tasks())
    idle = [Recorder(hub, replay) for _ in range(50)]
    assert len(asyncio.all_tasks()) == tasks_before  # no task per idle stream
    await asyncio.sleep(1.0)  # about three ticks of 0.3 s
    for client in idle:
        kinds = [m["type"] for m in client.messages]
        assert 2 <= kinds.count("test.keepalive") <= 4, kinds
        assert set(client.senders) == {"broadcast-clock"}
    # a stream that keeps sending needs no keepalive
    doctor = str(uuid.uuid4())
    busy = Recorder(hub, replay)
    busy.follow(doctor)
    await caught_up(hub, busy, doctor)
    before = len(busy.messages)
    for _ in range(8):
        await publish_synthetic(redis, keys, doctor, 1)
        await asyncio.sleep(0.1)
    assert all(m["type"] != "test.keepalive" for m in busy.messages[before:])


async def test_stopping_the_hub_ends_every_stream_with_its_closing_message(redis: Redis, keys: Keys, hub: Hub) -> None:
    replay = ReplayLog(redis, keys)
    doctor = str(uuid.uuid4())
    following, idle = Recorder(hub, replay), Recorder(hub, replay)
    following.follow(doctor)
    await caught_up(hub, following, doctor)
    await hub.stop()
    for client in (following, idle):
        assert client.closed == SHUTDOWN
        assert client.messages[-1] == {"type": "test.end", "reason": SHUTDOWN}
    assert hub.streams == 0 and hub.clients == 0


async def _is(value: object, expected: object) -> bool:
    return value == expected


async def test_many_streams_catching_up_at_once_share_a_few_redis_connections(
    redis_url: str, keys: Keys, hub: Hub
) -> None:
    """When the hub's subscription comes back it tells every stream it may have missed events, and
    every stream reads the log at once: batched, those reads share pipelines. (Without the batcher
    each takes a pooled connection of its own: redis-py's pool then refuses with "Too many
    connections" and those streams end.)"""
    logs = Redis.from_url(redis_url, decode_responses=True)
    try:
        replay = ReplayLog(logs, keys, Batcher(logs))
        doctor = str(uuid.uuid4())
        clients = [Recorder(hub, replay) for _ in range(300)]
        for client in clients:
            client.follow(doctor, 0)
        await eventually(lambda: _all_resolved(clients, doctor))
        # events the hub never heard (their PUBLISH lost), then what the hub says on reconnecting
        seqs = await publish_synthetic(logs, keys, doctor, 5, publish=False)
        for client in clients:
            assert client.stream.notify(Missed())
        for client in clients:
            assert await client.seqs(5) == seqs
        pool = logs.connection_pool
        opened = len(pool._available_connections) + len(pool._in_use_connections)
        assert opened <= 5, opened
        assert all(c.closed is None for c in clients)
    finally:
        await logs.aclose()


async def _all_resolved(clients: list[Recorder], doctor: str) -> bool:
    return all(c.start(doctor) is not None for c in clients)
