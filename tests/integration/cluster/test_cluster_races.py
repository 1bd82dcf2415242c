"""One winner per slot on a real Redis Cluster (design invariants 1 and 2), through the HTTP API:
the racing holds' scripts, rate and patient counters go to different primaries in the same batches."""

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


async def hold(client: Client, clinic: Clinic, start: str, type_id: str | None = None) -> Any:
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": type_id or clinic.type_30, "start": start}
    return await client.post("/v1/holds", json=body, headers=await patient(client, clinic))


async def test_200_concurrent_holds_on_one_slot_have_exactly_one_winner(client: Client, clinic: Clinic) -> None:
    responses = await asyncio.gather(*(hold(client, clinic, clinic.at(3, 10)) for _ in range(200)))
    statuses = sorted(r.status_code for r in responses)
    assert statuses.count(201) == 1
    assert statuses.count(409) == 199
    assert {r.json()["code"] for r in responses if r.status_code == 409} == {"slot_taken"}


async def test_overlapping_30_and_60_minute_holds_have_one_winner(client: Client, clinic: Clinic) -> None:
    for _ in range(10):
        short, long_ = await asyncio.gather(
            hold(client, clinic, clinic.at(4, 10, 30)), hold(client, clinic, clinic.at(4, 10), clinic.type_60)
        )
        assert sorted([short.status_code, long_.status_code]) == [201, 409]
        winner = short if short.status_code == 201 else long_
        r = await client.delete(
            f"/v1/holds/{winner.json()['hold_id']}", headers={"X-Hold-Token": winner.json()["hold_token"]}
        )
        assert r.status_code == 204


async def test_racing_confirms_book_each_slot_once(client: Client, clinic: Clinic, settings: Settings) -> None:
    starts = [clinic.at(5, 9 + n // 2, 30 * (n % 2)) for n in range(8)]
    who = [await patient(client, clinic) for _ in starts]
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30}
    made = await asyncio.gather(
        *(client.post("/v1/holds", json=body | {"start": s}, headers=h) for s, h in zip(starts, who, strict=True))
    )
    assert [r.status_code for r in made] == [201] * len(starts)
    held = [r.json() | {"headers": h} for r, h in zip(made, who, strict=True)]

    async def confirm(h: dict[str, Any]) -> int:
        headers = {"X-Hold-Token": h["hold_token"]} | h["headers"]
        r = await client.post(f"/v1/holds/{h['hold_id']}/confirm", json=PATIENT, headers=headers)
        return r.status_code

    # each hold confirmed three times at once: one booking each, the others see it booked or busy
    codes = await asyncio.gather(*(confirm(h) for h in held for _ in range(3)))
    assert codes.count(201) >= len(held)
    assert set(codes) <= {200, 201, 409}
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        booked = await conn.fetchval("SELECT count(*) FROM appointments WHERE status = 'confirmed'")
    finally:
        await conn.close()
    assert booked == len(held)
    again = await asyncio.gather(*(hold(client, clinic, s) for s in starts))
    assert [r.status_code for r in again] == [409] * len(starts)
