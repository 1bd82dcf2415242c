"""A slot that changed hands under the gateway: the batcher's first send is answered ``MOVED`` (the
command did not run), the topology is read again and the command goes to the slot's new owner."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster

from holds.engine import HoldEngine
from holds.keys import Keys
from tests.support import no_bookings

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


async def test_a_hold_on_a_slot_that_moved_is_resent_to_its_new_owner(redis: RedisCluster, keys: Keys) -> None:
    engine = HoldEngine(redis, keys, no_bookings, log_max=50, history_ms=60_000)
    doctor = uuid.uuid4()
    end = START + timedelta(minutes=30)
    # the engine's client learns the slot map (any doctor's hold will do)
    made = await engine.hold(
        doctor_id=uuid.uuid4(), appointment_type_id=uuid.uuid4(), start=START, end=end, blocked_until=end, ttl_ms=60_000
    )
    assert made is not None
    slot = redis.keyslot(keys.seq(doctor))  # nothing of this doctor exists yet: the slot moves empty
    source = redis.nodes_manager.get_node_from_slot(slot)
    target = next(node for node in redis.get_primaries() if node.name != source.name)
    plain = {node.name: Redis(host=node.host, port=int(node.port)) for node in redis.get_primaries()}
    try:
        target_id = await plain[target.name].execute_command("CLUSTER", "MYID")  # type: ignore[no-untyped-call]
        # the new owner first, then the old one: from here the old owner answers MOVED
        for name in (target.name, source.name):
            await plain[name].execute_command("CLUSTER", "SETSLOT", slot, "NODE", target_id)  # type: ignore[no-untyped-call]
    finally:
        for client in plain.values():
            await client.aclose()
    assert engine.batcher.cluster is not None
    assert engine.batcher.cluster.nodes_manager.get_node_from_slot(slot).name == source.name, "the map is stale"

    new = await engine.hold(
        doctor_id=doctor, appointment_type_id=uuid.uuid4(), start=START, end=end, blocked_until=end, ttl_ms=60_000
    )
    assert new is not None
    assert engine.batcher.cluster.nodes_manager.get_node_from_slot(slot).name == target.name
    snapshot = await engine.snapshot(doctor)
    assert snapshot.seq == 1 and len(snapshot.held) == 1
