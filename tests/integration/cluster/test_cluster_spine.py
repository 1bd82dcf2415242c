"""The booking spine on a real Redis Cluster (``GATEWAY_REDIS_CLUSTER=on``): hold, confirm,
release and expiry through the API, and the engine's scripts spread over the primaries."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta

import msgspec
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.asyncio.cluster import RedisCluster

from gateway.app import create_app
from gateway.settings import Rate, Settings
from holds.engine import HoldEngine
from holds.keys import CLUSTER_DUE_SHARDS, Keys
from tests.support import Clinic, make_clinic, no_bookings, patient
from tests.support_live import eventually

Client = AsyncTestClient[Litestar]
PATIENT = {"patient": {"name": "Pat Ient", "email": "pat@example.org"}}
START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def cluster_keys(settings: Settings) -> Keys:
    return Keys(settings.redis.prefix, due_shards=CLUSTER_DUE_SHARDS)


async def logged(redis: RedisCluster, keys: Keys, doctor_id: str) -> list[dict[str, object]]:
    raw = await redis.lrange(keys.log(doctor_id), 0, -1)
    return [json.loads(e) for e in reversed(raw)]


async def test_hold_confirm_and_release_through_the_api(
    client: Client, clinic: Clinic, redis: RedisCluster, settings: Settings
) -> None:
    keys = cluster_keys(settings)
    base = int(await redis.get(keys.seq(clinic.doctor_id)) or 0)
    headers = await patient(client, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30}
    first = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 10)}, headers=headers)
    assert first.status_code == 201, first.text
    other = await patient(client, clinic)
    again = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 10)}, headers=other)
    assert again.status_code == 409 and again.json()["code"] == "slot_taken"
    r = await client.delete(
        f"/v1/holds/{first.json()['hold_id']}", headers={"X-Hold-Token": first.json()["hold_token"]}
    )
    assert r.status_code == 204

    second = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 10)}, headers=headers)
    assert second.status_code == 201, second.text
    confirmed = await client.post(
        f"/v1/holds/{second.json()['hold_id']}/confirm",
        json=PATIENT,
        headers={"X-Hold-Token": second.json()["hold_token"]} | headers,
    )
    assert confirmed.status_code == 201, confirmed.text
    taken = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 10)}, headers=other)
    assert taken.status_code == 409

    params = {"appointment_type_id": clinic.type_30, "from": clinic.at(3, 9), "to": clinic.at(3, 12)}
    slots = await client.get(f"/v1/doctors/{clinic.doctor_id}/slots", params=params)
    assert slots.status_code == 200
    assert clinic.at(3, 10) not in [s["start"] for s in slots.json()["slots"]]
    assert clinic.at(3, 11) in [s["start"] for s in slots.json()["slots"]]

    events = [e for e in await logged(redis, keys, clinic.doctor_id) if int(str(e["seq"])) > base]
    assert [e["type"] for e in events] == ["slot.held", "slot.released", "slot.held", "slot.booked"]
    assert [e["seq"] for e in events] == [base + 1, base + 2, base + 3, base + 4]


async def test_a_lapsed_hold_is_expired_by_the_sweeper_and_its_slot_comes_back(
    client: Client, admin: dict[str, str], redis: RedisCluster, settings: Settings
) -> None:
    clinic = await make_clinic(client, admin, hold_ttl_seconds=10)
    keys = cluster_keys(settings)
    start = clinic.at(3, 10)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start}
    # A short hold taken straight from the engine (a type's TTL is 10 s at least); the app's
    # sweeper (running in the client's lifespan) announces its lapse.
    engine = HoldEngine(redis, keys, no_bookings)
    begin = datetime.fromisoformat(start)
    new = await engine.hold(
        doctor_id=uuid.UUID(clinic.doctor_id),
        appointment_type_id=uuid.UUID(clinic.type_30),
        start=begin,
        end=begin + timedelta(minutes=30),
        blocked_until=begin + timedelta(minutes=30),
        ttl_ms=300,
    )
    assert new is not None
    assert await _filed(redis, keys) == 1

    async def expired() -> bool:
        status = await redis.hget(keys.hold(clinic.doctor_id, new.hold_id), "status")
        return bool(status == "expired")

    await eventually(expired, within=10)
    await eventually(lambda: _no_entries(redis, keys), within=5)
    kinds = [e["type"] for e in await logged(redis, keys, clinic.doctor_id)]
    assert kinds[-2:] == ["slot.held", "slot.released"]
    r = await client.post("/v1/holds", json=body, headers=await patient(client, clinic))
    assert r.status_code == 201, r.text


async def _filed(redis: RedisCluster, keys: Keys) -> int:
    """Entries in every shard of the deadline index."""
    return sum([int(await redis.zcard(shard)) for shard in keys.due_keys()])


async def _no_entries(redis: RedisCluster, keys: Keys) -> bool:
    return await _filed(redis, keys) == 0


async def test_many_doctors_at_once_spread_over_every_primary(redis: RedisCluster, settings: Settings) -> None:
    keys = cluster_keys(settings)
    engine = HoldEngine(redis, keys, no_bookings, log_max=50, history_ms=60_000)
    doctors = [uuid.uuid4() for _ in range(60)]

    async def take(doctor: uuid.UUID, minutes: int = 30) -> object:
        end = START + timedelta(minutes=minutes)
        return await engine.hold(
            doctor_id=doctor, appointment_type_id=uuid.uuid4(), start=START, end=end, blocked_until=end, ttl_ms=60_000
        )

    # all in flight at once: the batcher cuts each batch by node and sends to every primary together
    made = await asyncio.gather(*(take(d) for d in doctors))
    assert all(m is not None for m in made)
    owners = {redis.nodes_manager.get_node_from_slot(redis.keyslot(keys.seq(d))).name for d in doctors}
    assert len(owners) == 3, "sixty doctors' slots land on every primary"
    # the same slots again: every script refuses, on whichever node it runs
    assert await asyncio.gather(*(take(d, 60) for d in doctors)) == [None] * len(doctors)
    snapshots = await asyncio.gather(*(engine.snapshot(d) for d in doctors))
    assert all(len(s.held) == 1 and s.seq == 1 for s in snapshots)

    # every due entry went to a shard on its doctor's own primary (a losing hold files one too,
    # dropped by the sweeper at its deadline): a hold depends on one node only
    def node_of(key: str) -> str:
        return str(redis.nodes_manager.get_node_from_slot(redis.keyslot(key)).name)

    filed: dict[str, list[str]] = {}
    for shard in keys.due_keys():
        for entry in await redis.zrange(shard, 0, -1):
            filed.setdefault(str(entry).partition("|")[0], []).append(shard)
    assert sorted(filed) == sorted(str(d) for d in doctors)
    for doctor in doctors:
        assert len(filed[str(doctor)]) == 2
        assert {node_of(shard) for shard in filed[str(doctor)]} == {node_of(keys.seq(doctor))}
    live = await engine.live_holds(doctors[:5])
    assert sorted(h.doctor_id for h in live) == sorted(doctors[:5])


async def test_rate_limits_and_live_hold_counts_work_on_a_cluster(settings: Settings, admin: dict[str, str]) -> None:
    # the budgets' counters and the patient's live holds are keys of their own slots, counted in
    # the same batches as the hold scripts
    trust = msgspec.structs.replace(settings.trust, holds_per_patient=Rate(4, 60))
    limited = msgspec.structs.replace(settings, rate_limits=True, trust=trust)
    async with AsyncTestClient(app=create_app(limited), timeout=30) as client:
        clinic = await make_clinic(client, admin)
        headers = await patient(client, clinic)
        body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30}
        held = []
        for hour in (9, 10):
            r = await client.post("/v1/holds", json=body | {"start": clinic.at(3, hour)}, headers=headers)
            assert r.status_code == 201, r.text
            held.append(r.json())
        third = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 11)}, headers=headers)
        assert third.status_code == 429 and third.json()["code"] == "too_many_holds"
        r = await client.delete(
            f"/v1/holds/{held[0]['hold_id']}", headers={"X-Hold-Token": held[0]["hold_token"]} | headers
        )
        assert r.status_code == 204
        third = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 11)}, headers=headers)
        assert third.status_code == 201, third.text
        # the fifth hold of the minute is over the patient's budget (4 here)
        fifth = await client.post("/v1/holds", json=body | {"start": clinic.at(3, 12)}, headers=headers)
        assert fifth.status_code == 429 and fifth.json()["code"] == "rate_limited", fifth.text
        assert (await client.get("/healthz")).status_code == 200
