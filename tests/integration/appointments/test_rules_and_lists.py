"""Booking rules with clear reasons, payments, staff bookings, and appointment lists."""

from __future__ import annotations

import asyncio

from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import PATIENT, book, events, hold
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


async def test_rules_give_not_bookable_with_a_reason(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin, min_notice_minutes=3 * 24 * 60, max_advance_days=10)
    me = await patient(client, clinic)
    cases = {clinic.at(1, 10): "notice", clinic.at(20, 10): "advance", clinic.at(5, 10, 10): "off_grid"}
    for start, reason in cases.items():
        r = await hold(client, clinic, start, me)
        assert r.status_code == 422 and r.json()["code"] == "not_bookable", r.text
        assert r.json()["reason"] == reason
    assert (await hold(client, clinic, clinic.at(5, 10), me)).status_code == 201
    # /slots offers only what may be booked
    slots = await client.get(
        f"/v1/doctors/{clinic.doctor_id}/slots",
        params={"appointment_type_id": clinic.type_30, "from": clinic.at(0, 0), "to": clinic.at(30, 0)},
    )
    starts = [s["start"] for s in slots.json()["slots"]]
    assert starts and min(starts) >= clinic.at(3, 0) and max(starts) <= clinic.at(11, 0)
    # an admin may override the notice for a patient; a patient may not
    r = await hold(client, clinic, clinic.at(1, 10), me, override_notice=True)
    assert r.status_code == 403
    r = await hold(client, clinic, clinic.at(1, 10), admin, override_notice=True)
    assert r.status_code == 201


def morning_zone() -> str:
    """A zone where it is between 06:00 and 14:59 now, so today still has afternoon slots."""
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    for offset in range(-11, 15):
        name = "UTC" if offset == 0 else f"Etc/GMT{'-' if offset > 0 else '+'}{abs(offset)}"  # POSIX sign flip
        if 6 <= datetime.now(UTC).astimezone(ZoneInfo(name)).hour < 15:
            return name
    raise AssertionError("some whole-hour zone always has a morning")


async def test_same_day_rules(client: Client, admin: dict[str, str]) -> None:
    zone = morning_zone()
    clinic = await make_clinic(client, admin, same_day_allowed=False, timezone=zone)
    me = await patient(client, clinic)
    r = await hold(client, clinic, clinic.at(0, 17, 30), me)
    assert r.status_code == 422 and r.json()["reason"] == "same_day", (zone, r.text)
    assert (await hold(client, clinic, clinic.at(1, 17, 30), me)).status_code == 201
    # a cutoff that has passed (00:05 local) closes today too; one later in the day does not
    for cutoff, expected in ((5, 422), (1435, 201)):
        c = await make_clinic(client, admin, same_day_cutoff_minute=cutoff, timezone=zone)
        assert (await hold(client, c, c.at(0, 17, 30), await patient(client, c))).status_code == expected, cutoff


async def test_payment_is_required_and_recorded(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(
        client, admin, payment_mode="advance", fee_cents=8000, advance_percent=25, currency="CHF"
    )
    me = await patient(client, clinic)
    r = await hold(client, clinic, clinic.at(3, 10), me)
    held = r.json()
    headers = {"X-Hold-Token": held["hold_token"], **me}
    r = await client.post(f"/v1/holds/{held['hold_id']}/confirm", json={"patient": PATIENT}, headers=headers)
    assert r.status_code == 422 and r.json()["code"] == "payment_required"
    a = await book(client, clinic, clinic.at(3, 11), me, payment={"reference": "psp_123"})
    assert a["payment"] == {"mode": "advance", "amount_cents": 2000, "currency": "CHF", "reference": "psp_123"}
    r = await client.post(
        "/v1/admin/appointment-types",
        json={"organisation_id": clinic.organisation_id, "name": "x", "duration_minutes": 30, "payment_mode": "full"},
        headers=admin,
    )
    assert r.status_code == 422  # a full payment needs a fee


async def test_max_active_per_patient(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin, max_active_per_patient=1)
    me, other = await patient(client, clinic), await patient(client, clinic)
    await book(client, clinic, clinic.at(3, 10), me)
    r = await hold(client, clinic, clinic.at(3, 11), me)
    assert r.status_code == 409 and r.json()["code"] == "too_many_active"
    assert (await hold(client, clinic, clinic.at(3, 11), other)).status_code == 201


async def test_two_holds_of_one_patient_cannot_both_be_confirmed_over_the_limit(
    client: Client, admin: dict[str, str]
) -> None:
    clinic = await make_clinic(client, admin, max_active_per_patient=1)
    me = await patient(client, clinic)
    first, second = [(await hold(client, clinic, clinic.at(3, h), me)).json() for h in (9, 10)]
    results = await asyncio.gather(
        *(
            client.post(
                f"/v1/holds/{h['hold_id']}/confirm",
                json={"patient": PATIENT},
                headers={"X-Hold-Token": h["hold_token"], **me},
            )
            for h in (first, second)
        )
    )
    assert sorted(r.status_code for r in results) == [201, 409]


async def test_staff_book_for_a_patient_and_meet_now(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin, timezone="UTC")
    # open around the clock so "now" always has a next free start
    for weekday in range(1, 8):
        await client.post(
            f"/v1/doctors/{clinic.doctor_id}/availability-windows",
            json={"weekday": weekday, "start_minute": 0, "end_minute": 480},
            headers=admin,
        )
        await client.post(
            f"/v1/doctors/{clinic.doctor_id}/availability-windows",
            json={"weekday": weekday, "start_minute": 1080, "end_minute": 1440},
            headers=admin,
        )
    r = await client.post(f"/v1/admin/doctors/{clinic.doctor_id}/credentials", headers=admin)
    doctor = {"Authorization": f"Bearer {r.json()['token']}"}
    r = await client.post(
        f"/v1/doctors/{clinic.doctor_id}/meet-now", json={"appointment_type_id": clinic.type_30}, headers=doctor
    )
    assert r.status_code == 201, r.text
    now_hold = r.json()
    r = await client.post(
        f"/v1/holds/{now_hold['hold_id']}/confirm",
        json={"patient": PATIENT},
        headers={"X-Hold-Token": now_hold["hold_token"], **doctor},
    )
    assert r.status_code == 201 and r.json()["appointment"]["created_by"] == "doctor"
    r = await client.post(
        f"/v1/doctors/{clinic.doctor_id}/meet-now",
        json={"appointment_type_id": clinic.type_30},
        headers=await patient(client, clinic),
    )
    assert r.status_code == 403


async def test_hold_status_shows_held_then_expired_history(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin, hold_ttl_seconds=10)
    me = await patient(client, clinic)
    held = (await hold(client, clinic, clinic.at(3, 10), me)).json()
    r = await client.get(f"/v1/holds/{held['hold_id']}", headers={"X-Hold-Token": held["hold_token"]})
    assert r.json()["status"] == "held"
    await asyncio.sleep(11)
    r = await client.get(f"/v1/holds/{held['hold_id']}", headers={"X-Hold-Token": held["hold_token"]})
    assert r.status_code == 200 and r.json()["status"] == "expired"


async def test_availability_changes_tell_open_pages_to_refetch(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, redis_url: str
) -> None:
    before = len(await events(redis_url, settings, clinic.doctor_id))
    await client.post(
        f"/v1/doctors/{clinic.doctor_id}/date-overrides", json={"date": "2031-02-03", "available": False}, headers=admin
    )
    logged = await events(redis_url, settings, clinic.doctor_id)
    assert len(logged) == before + 1 and logged[-1]["type"] == "resync" and logged[-1]["seq"] == before + 1


async def test_lists_filter_page_and_stay_stable_while_rows_are_added(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    me, other = await patient(client, clinic), await patient(client, clinic)
    mine = [await book(client, clinic, clinic.at(3, 8 + i), me) for i in range(5)]
    theirs = await book(client, clinic, clinic.at(4, 8), other)
    # patients see only their own
    r = await client.get("/v1/appointments", headers=me)
    assert [a["id"] for a in r.json()["items"]] == [a["id"] for a in mine]
    # pages of two, while a new appointment lands before the cursor: nothing is repeated or skipped
    seen, cursor = [], None
    for page_number in range(10):
        params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
        page = (await client.get("/v1/appointments", params=params, headers=admin)).json()
        seen += [a["id"] for a in page["items"]]
        if page_number == 0:
            await book(client, clinic, clinic.at(2, 8), other)  # earlier than everything seen
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == [a["id"] for a in mine] + [theirs["id"]]
    # filters
    await client.post(f"/v1/appointments/{mine[0]['id']}/cancel", json={"reason": "x"}, headers=me)
    r = await client.get("/v1/appointments", params={"status": ["cancelled"]}, headers=admin)
    assert [a["id"] for a in r.json()["items"]] == [mine[0]["id"]]
    r = await client.get("/v1/appointments", params=[("status", "cancelled"), ("status", "confirmed")], headers=admin)
    assert len(r.json()["items"]) == 7
    r = await client.get(
        "/v1/appointments", params={"patient": "pat@example.org", "from": clinic.at(4, 0)}, headers=admin
    )
    assert [a["id"] for a in r.json()["items"]] == [theirs["id"]]
    for bad in ({"limit": 51}, {"limit": 0}, {"status": "lost"}, {"cursor": "garbage!"}):
        r = await client.get("/v1/appointments", params=bad, headers=admin)
        assert r.status_code == 422, bad
    assert (await client.get("/v1/appointments")).status_code == 401


async def test_another_organisation_sees_nothing(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    other = await make_clinic(client, admin)
    r = await client.post(f"/v1/admin/organisations/{other.organisation_id}/api-keys", headers=admin)
    their_admin = {"Authorization": f"Bearer {r.json()['key']}"}
    assert (await client.get(f"/v1/appointments/{a['id']}", headers=their_admin)).status_code == 404
    assert (await client.get("/v1/appointments", headers=their_admin)).json()["items"] == []
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "x"}, headers=their_admin)
    assert r.status_code == 404
