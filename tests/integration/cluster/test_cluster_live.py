"""Live events on a real Redis Cluster: sharded pub/sub from the scripts to every gateway's streams,
one connection per primary, and a cut subscription caught up from the replay log."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from gateway.settings import Settings
from holds.engine import HoldEngine
from holds.keys import Keys
from tests.support import ADMIN_TOKEN, Clinic, no_bookings
from tests.support_live import LiveStream, Recorder, events_url, gateways, hold, patient_headers, problems_in, release

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def owner(redis: RedisCluster, key: str) -> Redis:
    """A plain client on the primary that owns ``key``'s slot (its channel's, with the same hash tag)."""
    node = redis.nodes_manager.get_node_from_slot(redis.keyslot(key))
    return Redis(host=node.host, port=int(node.port), decode_responses=True)


async def hub_connections(redis: RedisCluster, name: str) -> dict[str, list[dict[str, str]]]:
    """The connections named ``name`` on each primary, by node."""
    found = {}
    for node in redis.get_primaries():
        plain = Redis(host=node.host, port=int(node.port), decode_responses=True)
        try:
            found[node.name] = [c for c in await plain.client_list() if c.get("name") == name]
        finally:
            await plain.aclose()
    return found


async def test_events_reach_the_streams_of_two_gateways_over_sharded_pub_sub(
    settings: Settings, clinic: Clinic, redis: RedisCluster, tmp_path: Path
) -> None:
    keys = Keys(settings.redis.prefix)
    base = int(await redis.get(keys.seq(clinic.doctor_id)) or 0)
    first, second, third = (clinic.at(3, 9), clinic.at(3, 10), clinic.at(3, 11))
    with gateways(settings, str(tmp_path), count=2) as (a, b):
        async with (
            LiveStream(events_url(a, clinic)) as on_a,
            LiveStream(events_url(b, clinic)) as on_b,
            httpx.AsyncClient(base_url=a.url) as via_a,
            httpx.AsyncClient(base_url=b.url) as via_b,
        ):
            held = await hold(via_a, clinic, first)
            await release(via_b, held)
            ada = await patient_headers(via_b, clinic)
            held = await hold(via_b, clinic, second, ada)
            r = await via_a.post(
                f"/v1/holds/{held['hold_id']}/confirm",
                json={"patient": {"name": "Ada", "email": "ada@example.org"}},
                headers={"X-Hold-Token": held["hold_token"]} | ada,
            )
            assert r.status_code == 201, r.text
            # a lapse nobody touches: some gateway's sweeper announces it
            start = datetime.fromisoformat(third)
            engine = HoldEngine(redis, Keys(settings.redis.prefix, due_shards=16), no_bookings)
            lapsing = await engine.hold(
                doctor_id=uuid.UUID(clinic.doctor_id),
                appointment_type_id=uuid.UUID(clinic.type_30),
                start=start,
                end=start + timedelta(minutes=30),
                blocked_until=start + timedelta(minutes=30),
                ttl_ms=300,
            )
            assert lapsing is not None
            got_a, got_b = await on_a.take(6), await on_b.take(6)
            # a schedule edit through one gateway: every page of the doctor is told to refetch
            r = await via_b.post(
                f"/v1/doctors/{clinic.doctor_id}/availability-windows",
                json={"weekday": 1, "start_minute": 1080, "end_minute": 1140},
                headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
            )
            assert r.status_code == 201, r.text
            got_a, got_b = got_a + await on_a.take(1), got_b + await on_b.take(1)

            # each gateway's hub subscribed on the doctor's own primary with SSUBSCRIBE only
            channel_owner = redis.nodes_manager.get_node_from_slot(redis.keyslot(keys.channel(clinic.doctor_id)))
            for server in (a, b):
                name = f"{settings.redis.prefix}:hub:{server.process.pid}"
                connections = await hub_connections(redis, name)
                assert sorted(connections) == sorted(n.name for n in redis.get_primaries())
                assert all(len(found) == 1 for found in connections.values()), "one connection per primary"
                assert connections[channel_owner.name][0]["ssub"] == "1"
                assert all(c[0]["sub"] == "1" for c in connections.values()), "the resync channel, everywhere"

    kinds = ["slot.held", "slot.released", "slot.held", "slot.booked", "slot.held", "slot.released", "resync"]
    for got in (got_a, got_b):
        assert [(e.event, e.seq) for e in got] == [(kind, base + n) for n, kind in enumerate(kinds, start=1)]
        assert [e.data["start"] for e in got[:6]] == [first, first, second, second, third, third]
    assert not problems_in(a) and not problems_in(b)


@pytest.fixture
async def hub(redis_url: str, keys: Keys) -> AsyncIterator[Hub]:
    # a slow first retry, so what is published right after the cut surely falls into the outage
    h = Hub(redis_url, keys, queue_size=64, retry_seconds=0.3, cluster=True)
    await h.start()
    assert h.connected.is_set()
    yield h
    await h.stop()


async def test_a_cut_shard_connection_is_a_lost_subscription_caught_up_from_the_log(
    redis: RedisCluster, keys: Keys, hub: Hub
) -> None:
    doctors = [uuid.uuid4() for _ in range(12)]
    engine = HoldEngine(redis, keys, no_bookings, log_max=50)
    feeds = {d: Recorder(hub, ReplayLog(redis, keys)) for d in doctors}
    for doctor, feed in feeds.items():
        feed.follow(str(doctor), 0)

    async def take(doctor: uuid.UUID, n: int) -> None:
        end = START + timedelta(minutes=30 * (n + 1))
        new = await engine.hold(
            doctor_id=doctor,
            appointment_type_id=uuid.uuid4(),
            start=end - timedelta(minutes=30),
            end=end,
            blocked_until=end,
            ttl_ms=60_000,
        )
        assert new is not None

    for doctor in doctors:
        await take(doctor, 0)
    for feed in feeds.values():
        assert [e.seq for e in await feed.take(1)] == [1]

    # cut the connection to the primary of the first doctor only: the whole subscription starts over
    victim = owner(redis, keys.channel(doctors[0]))
    try:
        ids = [c["id"] for c in await victim.client_list() if c.get("name") == hub.client_name]
        assert len(ids) == 1
        await victim.client_kill_filter(_id=ids[0])
    finally:
        await victim.aclose()
    for doctor in doctors:  # published to nobody for the cut doctors: the hub is reconnecting
        await take(doctor, 1)
        await take(doctor, 2)
    for feed in feeds.values():
        got = await feed.take(2)
        assert [(e.event.type, e.seq) for e in got] == [("slot.held", 2), ("slot.held", 3)]
    assert hub.reconnects == 1
    for doctor in doctors:
        await take(doctor, 3)
    for feed in feeds.values():
        assert [e.seq for e in await feed.take(1)] == [4]  # live again, nothing repeated
