"""/slots reads only the holds near the range it answers (the interval index), and still every one
that matters: holds inside it and holds crossing its edges hide their slots; holds elsewhere,
however many, change nothing; a released or booked hold shows as it should."""

from __future__ import annotations

from litestar import Litestar
from litestar.testing import AsyncTestClient

from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


async def hold(client: Client, clinic: Clinic, type_id: str, start: str) -> dict[str, str]:
    r = await client.post(
        "/v1/holds", json={"doctor_id": clinic.doctor_id, "appointment_type_id": type_id, "start": start}
    )
    assert r.status_code == 201, r.text
    held: dict[str, str] = r.json()
    return held


async def test_slots_see_holds_inside_and_across_the_edges_only(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin)
    client.headers.update(await patient(client, clinic))
    # 30-minute slots starting in [10:10, 12:10): 10:30, 11:00, 11:30, 12:00
    params = {"appointment_type_id": clinic.type_30, "from": clinic.at(3, 10, 10), "to": clinic.at(3, 12, 10)}

    async def offered() -> list[str]:
        r = await client.get(f"/v1/doctors/{clinic.doctor_id}/slots", params=params)
        assert r.status_code == 200, r.text
        return [s["start"] for s in r.json()["slots"]]

    assert await offered() == [clinic.at(3, 10, 30), clinic.at(3, 11), clinic.at(3, 11, 30), clinic.at(3, 12)]
    # crowd the doctor outside the range: the hour before and after, other days (and the day after next)
    for days, hour, minute in [(3, 9, 30), (3, 12, 30), (3, 13, 0), (2, 10, 30), (4, 10, 30), (5, 11, 0)]:
        await hold(client, clinic, clinic.type_30, clinic.at(days, hour, minute))
    assert await offered() == [clinic.at(3, 10, 30), clinic.at(3, 11), clinic.at(3, 11, 30), clinic.at(3, 12)]

    across_start = await hold(client, clinic, clinic.type_60, clinic.at(3, 10))  # [10:00, 11:00) meets 10:30
    across_end = await hold(client, clinic, clinic.type_30, clinic.at(3, 12))  # [12:00, 12:30) crosses 12:10
    inside = await hold(client, clinic, clinic.type_30, clinic.at(3, 11, 30))
    assert await offered() == [clinic.at(3, 11)]

    r = await client.delete(
        f"/v1/holds/{across_start['hold_id']}", headers={"X-Hold-Token": across_start["hold_token"]}
    )
    assert r.status_code == 204
    assert await offered() == [clinic.at(3, 10, 30), clinic.at(3, 11)]

    r = await client.delete(f"/v1/holds/{inside['hold_id']}", headers={"X-Hold-Token": inside["hold_token"]})
    assert r.status_code == 204
    r = await client.post(
        f"/v1/holds/{across_end['hold_id']}/confirm",
        json={"patient": {"name": "Ada", "email": "ada@example.org"}},
        headers={"X-Hold-Token": across_end["hold_token"]},
    )
    assert r.status_code == 201, r.text
    # booked now: out of the hold index, and still not offered (Postgres has it)
    assert await offered() == [clinic.at(3, 10, 30), clinic.at(3, 11), clinic.at(3, 11, 30)]
