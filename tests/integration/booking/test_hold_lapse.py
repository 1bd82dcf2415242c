"""A hold that is not confirmed in time lapses: the slot comes back, a late confirm gets 410."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


async def test_lapsed_hold_frees_its_slot_and_confirm_gets_410(client: Client, admin: dict[str, str]) -> None:
    clinic: Clinic = await make_clinic(client, admin, hold_ttl_seconds=10)
    client.headers.update(await patient(client, clinic))
    start = clinic.at(3, 10)
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start},
    )
    assert r.status_code == 201
    held = r.json()
    expires = datetime.fromisoformat(held["expires_at"])
    assert 8 <= (expires - datetime.now(UTC)).total_seconds() <= 10.5  # the type's hold TTL

    params = {"appointment_type_id": clinic.type_30, "from": clinic.at(3, 9), "to": clinic.at(3, 12)}
    slots = await client.get(f"/v1/doctors/{clinic.doctor_id}/slots", params=params)
    assert start not in [s["start"] for s in slots.json()["slots"]]

    await asyncio.sleep(10.5)
    slots = await client.get(f"/v1/doctors/{clinic.doctor_id}/slots", params=params)
    assert start in [s["start"] for s in slots.json()["slots"]]
    late = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": {"name": "Late", "email": "late@example.org"}},
        headers={"X-Hold-Token": held["hold_token"]},
    )
    assert late.status_code == 410
    assert late.json()["code"] == "hold_expired"
    # someone else can hold it now
    again = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start},
    )
    assert again.status_code == 201
