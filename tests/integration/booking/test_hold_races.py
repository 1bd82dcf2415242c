"""One winner per hold, no overlap ever (design invariants 1 and 2), through the HTTP API."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from store.pool import server_settings
from tests.support import Clinic, patient

Client = AsyncTestClient[Litestar]
PATIENT = {"patient": {"name": "Pat Ient", "email": "pat@example.org"}}


async def hold(
    client: Client, clinic: Clinic, start: str, type_id: str | None = None, headers: dict[str, str] | None = None
) -> Any:
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": type_id or clinic.type_30, "start": start}
    return await client.post("/v1/holds", json=body, headers=headers or await patient(client, clinic))


async def count_appointments(settings: Settings) -> int:
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        n: int = await conn.fetchval("SELECT count(*) FROM appointments")
        return n
    finally:
        await conn.close()


async def test_200_concurrent_holds_on_one_slot_have_exactly_one_winner(client: Client, clinic: Clinic) -> None:
    start = clinic.at(3, 10)
    responses = await asyncio.gather(*(hold(client, clinic, start) for _ in range(200)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert statuses.count(409) == 199
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_taken"}


async def test_overlapping_30_and_60_minute_holds_have_one_winner(client: Client, clinic: Clinic) -> None:
    # 10:30-11:00 (30 min) and 10:00-11:00 (60 min) overlap in 10:30-11:00.
    for _ in range(20):
        short, long_ = await asyncio.gather(
            hold(client, clinic, clinic.at(4, 10, 30)), hold(client, clinic, clinic.at(4, 10), clinic.type_60)
        )
        assert sorted([short.status_code, long_.status_code]) == [201, 409]
        winner = short if short.status_code == 201 else long_
        r = await client.request(
            "DELETE",
            f"/v1/holds/{winner.json()['hold_id']}",
            headers={"X-Hold-Token": winner.json()["hold_token"]},
        )
        assert r.status_code == 204


async def test_60_minute_hold_blocks_both_30_minute_halves(client: Client, clinic: Clinic) -> None:
    r = await hold(client, clinic, clinic.at(5, 14), clinic.type_60)
    assert r.status_code == 201
    for minute in (0, 30):
        r = await hold(client, clinic, clinic.at(5, 14, minute))
        assert r.status_code == 409, minute
    # the slots right before and right after are still free
    assert (await hold(client, clinic, clinic.at(5, 13, 30))).status_code == 201
    assert (await hold(client, clinic, clinic.at(5, 15))).status_code == 201


async def test_two_confirms_racing_on_one_hold_make_one_appointment(
    client: Client, clinic: Clinic, settings: Settings
) -> None:
    me = await patient(client, clinic)
    r = await hold(client, clinic, clinic.at(3, 11), headers=me)
    assert r.status_code == 201
    hold_id, token = r.json()["hold_id"], r.json()["hold_token"]
    confirms = await asyncio.gather(
        *(
            client.post(f"/v1/holds/{hold_id}/confirm", json=PATIENT, headers={"X-Hold-Token": token, **me})
            for _ in range(10)
        )
    )
    created = [c for c in confirms if c.status_code == 201]
    assert created, [c.text for c in confirms]
    # every success names the same appointment; the rest were told a confirm was running
    assert len({c.json()["appointment"]["id"] for c in created}) == 1
    assert all(c.json()["code"] == "hold_busy" for c in confirms if c.status_code != 201)
    assert await count_appointments(settings) == 1


async def test_confirm_is_idempotent_for_the_holder(client: Client, clinic: Clinic) -> None:
    me = await patient(client, clinic)
    r = await hold(client, clinic, clinic.at(3, 12), headers=me)
    hold_id, token = r.json()["hold_id"], r.json()["hold_token"]
    first = await client.post(f"/v1/holds/{hold_id}/confirm", json=PATIENT, headers={"X-Hold-Token": token, **me})
    again = await client.post(f"/v1/holds/{hold_id}/confirm", json=PATIENT, headers={"X-Hold-Token": token, **me})
    assert first.status_code == again.status_code == 201
    assert first.json()["appointment"]["id"] == again.json()["appointment"]["id"]
    appointment = first.json()["appointment"]
    assert appointment["status"] == "confirmed"
    assert appointment["start"] == clinic.at(3, 12)
    assert appointment["patient"]["email"] == "pat@example.org"
    assert appointment["join_url"] == f"/v1/appointments/{appointment['id']}/join"


async def test_booked_slot_is_refused_to_new_holds_and_not_offered(client: Client, clinic: Clinic) -> None:
    me = await patient(client, clinic)
    start = clinic.at(3, 13)
    r = await hold(client, clinic, start, headers=me)
    confirm = await client.post(
        f"/v1/holds/{r.json()['hold_id']}/confirm",
        json=PATIENT,
        headers={"X-Hold-Token": r.json()["hold_token"], **me},
    )
    assert confirm.status_code == 201
    again = await hold(client, clinic, start, headers=me)
    assert again.status_code == 409
    assert again.json()["code"] == "slot_taken"
    slots = await client.get(
        f"/v1/doctors/{clinic.doctor_id}/slots",
        params={"appointment_type_id": clinic.type_30, "from": clinic.at(3, 8), "to": clinic.at(3, 18)},
    )
    starts = [s["start"] for s in slots.json()["slots"]]
    assert start not in starts
    assert clinic.at(3, 12, 30) in starts and clinic.at(3, 13, 30) in starts


async def test_redis_losing_everything_after_a_booking_still_refuses_that_slot(
    client: Client, clinic: Clinic, settings: Settings, redis_url: str
) -> None:
    me = await patient(client, clinic)
    from redis.asyncio import Redis

    start = clinic.at(3, 15)
    r = await hold(client, clinic, start, headers=me)
    confirm = await client.post(
        f"/v1/holds/{r.json()['hold_id']}/confirm",
        json=PATIENT,
        headers={"X-Hold-Token": r.json()["hold_token"], **me},
    )
    assert confirm.status_code == 201
    # A flush (or a failover to an empty replica) of this deployment's keys.
    redis = Redis.from_url(redis_url)
    try:
        keys = [k async for k in redis.scan_iter(match=f"{settings.redis.prefix}:*")]
        assert keys
        await redis.delete(*keys)
    finally:
        await redis.aclose()
    again = await hold(client, clinic, start, headers=me)
    assert again.status_code == 409
    # an overlapping 60-minute hold is refused too, a free neighbour is not
    assert (await hold(client, clinic, clinic.at(3, 15), clinic.type_60, headers=me)).status_code == 409
    assert (await hold(client, clinic, clinic.at(3, 16), headers=me)).status_code == 201
    assert await count_appointments(settings) == 1


async def test_postgres_refuses_when_redis_lost_a_booking_mid_hold(
    client: Client, clinic: Clinic, settings: Settings, redis_url: str
) -> None:
    """A hold taken while Redis had forgotten a booking still cannot be confirmed over it."""
    me = await patient(client, clinic)
    from redis.asyncio import Redis

    start = clinic.at(3, 9)
    r = await hold(client, clinic, start, headers=me)
    await client.post(
        f"/v1/holds/{r.json()['hold_id']}/confirm",
        json=PATIENT,
        headers={"X-Hold-Token": r.json()["hold_token"], **me},
    )
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        # Forget only the booked cells (as a failover might), keeping the doctor marked warm.
        cells = [k async for k in redis.scan_iter(match=f"{settings.redis.prefix}:*cell:*")]
        await redis.delete(*cells)
        second = await hold(client, clinic, start, headers=me)
        assert second.status_code == 201  # the fast gate was fooled ...
        refused = await client.post(
            f"/v1/holds/{second.json()['hold_id']}/confirm",
            json=PATIENT,
            headers={"X-Hold-Token": second.json()["hold_token"], **me},
        )
        assert refused.status_code == 409  # ... the database was not
        assert refused.json()["code"] == "slot_taken"
        # and the fast gate has been re-warmed from Postgres
        assert (await hold(client, clinic, start, headers=me)).status_code == 409
    finally:
        await redis.aclose()
    assert await count_appointments(settings) == 1
