"""Staff book for a patient at any free time of a doctor (inside the notice only when asked, and
then marked), through the same hold-then-confirm path as patients; and "meet now"."""

from __future__ import annotations

import asyncio
import json
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from redis.asyncio import Redis

from gateway.settings import Settings
from holds.engine import HoldEngine
from holds.keys import Keys
from tests.integration.desk.support_desk import PATIENT, Client, admin_key, patient_hold
from tests.support import Clinic, make_clinic, no_bookings, patient, sql

TWO_DAYS = 2 * 24 * 60


async def notice_type(client: Client, admin: dict[str, str], clinic: Clinic, **rules: Any) -> str:
    """A 30-minute type of the clinic that needs two days' notice."""
    body = {"organisation_id": clinic.organisation_id, "name": "Needs notice", "duration_minutes": 30}
    r = await client.post(
        "/v1/admin/appointment-types", json=body | {"min_notice_minutes": TWO_DAYS} | rules, headers=admin
    )
    assert r.status_code == 201, r.text
    type_id: str = r.json()["id"]
    return type_id


async def test_staff_slots_flag_the_times_inside_the_notice(
    client: Client, clinic: Clinic, admin: dict[str, str]
) -> None:
    staff = await admin_key(client, admin, clinic)
    kind = await notice_type(client, admin, clinic)
    query = {"appointment_type_id": kind, "from": clinic.at(1, 8), "to": clinic.at(4, 18)}
    public = (await client.get(f"/v1/doctors/{clinic.doctor_id}/slots", params=query)).json()["slots"]
    r = await client.get(f"/v1/admin/doctors/{clinic.doctor_id}/slots", params=query, headers=staff)
    assert r.status_code == 200, r.text
    slots = r.json()["slots"]
    inside = [s["start"] for s in slots if s["inside_notice"]]
    outside = [s["start"] for s in slots if not s["inside_notice"]]
    assert clinic.at(1, 10) in inside and clinic.at(4, 10) in outside
    assert outside == [s["start"] for s in public]  # the patients' view, exactly
    assert all(s < min(outside) for s in inside)
    # a held time is not offered to staff either
    held = await patient_hold(client, clinic, clinic.at(4, 10), kind)
    r = await client.get(f"/v1/admin/doctors/{clinic.doctor_id}/slots", params=query, headers=staff)
    assert held["start"] not in [s["start"] for s in r.json()["slots"]]

    who = await patient(client, clinic)
    assert (
        await client.get(f"/v1/admin/doctors/{clinic.doctor_id}/slots", params=query, headers=who)
    ).status_code == 403
    other = await make_clinic(client, admin)
    stranger = await admin_key(client, admin, other)
    r = await client.get(f"/v1/admin/doctors/{clinic.doctor_id}/slots", params=query, headers=stranger)
    assert r.status_code == 403
    r = await client.get(
        f"/v1/admin/doctors/{clinic.doctor_id}/slots", params=query | {"to": query["from"]}, headers=staff
    )
    assert r.status_code == 422 and r.json()["code"] == "validation_error"


async def test_booking_inside_the_notice_needs_the_override_and_is_marked(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    staff = await admin_key(client, admin, clinic)
    kind = await notice_type(client, admin, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": kind, "start": clinic.at(1, 10), "patient": PATIENT}
    r = await client.post("/v1/admin/bookings", json=body, headers=staff)
    assert r.status_code == 422 and r.json()["code"] == "notice_override_required", r.text
    assert (await sql(settings, "SELECT count(*) AS n FROM appointments"))[0]["n"] == 0

    r = await client.post("/v1/admin/bookings", json=body | {"override_notice": True}, headers=staff)
    assert r.status_code == 201, r.text
    appointment = r.json()
    assert appointment["notice_overridden"] is True and appointment["notice_overridden_by"] == "admin"
    assert appointment["start"] == clinic.at(1, 10) and appointment["status"] == "confirmed"
    assert appointment["patient"]["email"] == PATIENT["email"] and appointment["created_by"] == "admin"
    r = await client.get(f"/v1/appointments/{appointment['id']}", headers=staff)
    assert r.json()["notice_overridden"] is True
    rows = await sql(
        settings, "SELECT event_type, data FROM outbox WHERE appointment_id = $1", uuid.UUID(appointment["id"])
    )
    assert [row["event_type"] for row in rows] == ["appointment.booked"]
    told = json.loads(rows[0]["data"]) if isinstance(rows[0]["data"], str) else rows[0]["data"]
    assert told["appointment"]["notice_overridden"] is True and told["appointment"]["notice_overridden_by"] == "admin"
    r = await client.get(f"/v1/appointments/{appointment['id']}/history", headers=staff)
    assert r.status_code == 200 and "notice_overridden" in r.text

    # outside the notice, the override marks nothing
    r = await client.post(
        "/v1/admin/bookings", json=body | {"start": clinic.at(4, 10), "override_notice": True}, headers=staff
    )
    assert r.status_code == 201, r.text
    assert r.json()["notice_overridden"] is False and r.json()["notice_overridden_by"] is None
    # a booked time is taken; off the grid is not bookable; a stranger may not book
    r = await client.post("/v1/admin/bookings", json=body | {"start": clinic.at(4, 10)}, headers=staff)
    assert r.status_code == 409 and r.json()["code"] == "slot_taken"
    r = await client.post("/v1/admin/bookings", json=body | {"start": clinic.at(4, 10, 7)}, headers=staff)
    assert r.status_code == 422 and r.json()["code"] == "not_bookable"
    other = await make_clinic(client, admin)
    r = await client.post(
        "/v1/admin/bookings", json=body | {"start": clinic.at(4, 11)}, headers=await admin_key(client, admin, other)
    )
    assert r.status_code == 403
    r = await client.post(
        "/v1/admin/bookings", json=body | {"start": clinic.at(4, 11), "patient": {"name": "x"}}, headers=staff
    )
    assert r.status_code == 400 or r.status_code == 422
    assert (await sql(settings, "SELECT count(*) AS n FROM appointments"))[0]["n"] == 2


async def test_a_desk_booking_never_takes_a_patients_hold(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    staff = await admin_key(client, admin, clinic)
    held = await patient_hold(client, clinic, clinic.at(3, 10, 30))
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "patient": PATIENT}
    r = await client.post("/v1/admin/bookings", json=body | {"start": held["start"]}, headers=staff)
    assert r.status_code == 409 and r.json()["code"] == "slot_taken", r.text
    # a 60-minute desk booking that reaches into the held half hour is refused too
    r = await client.post(
        "/v1/admin/bookings",
        json=body | {"appointment_type_id": clinic.type_60, "start": clinic.at(3, 10)},
        headers=staff,
    )
    assert r.status_code == 409 and r.json()["code"] == "slot_taken", r.text
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": PATIENT},
        headers={"X-Hold-Token": held["hold_token"]} | held["headers"],
    )
    assert r.status_code == 201, r.text

    # racing: patients hold-and-confirm and the desk books the same times at once; one winner each
    for hour in (11, 12, 13, 14):
        start = clinic.at(3, hour)

        async def as_patient(start: str = start) -> int:
            who = await patient(client, clinic)
            r = await client.post(
                "/v1/holds",
                json={"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start},
                headers=who,
            )
            if r.status_code != 201:
                return r.status_code
            h = r.json()
            r = await client.post(
                f"/v1/holds/{h['hold_id']}/confirm",
                json={"patient": PATIENT},
                headers={"X-Hold-Token": h["hold_token"]} | who,
            )
            return r.status_code

        async def as_desk(start: str = start) -> int:
            return (await client.post("/v1/admin/bookings", json=body | {"start": start}, headers=staff)).status_code

        results = await asyncio.gather(as_patient(), as_desk(), as_patient())
        assert sorted(results).count(201) == 1, results
        assert all(code in (201, 409) for code in results), results
    rows = await sql(settings, "SELECT starts_at FROM appointments WHERE status = 'confirmed' ORDER BY starts_at")
    assert len(rows) == 5 and len({row["starts_at"] for row in rows}) == 5


async def test_meet_now_starts_this_minute_and_can_be_joined_at_once(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, redis: Redis
) -> None:
    staff = await admin_key(client, admin, clinic)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "patient": PATIENT}
    before = datetime.now(UTC).replace(second=0, microsecond=0)
    r = await client.post("/v1/admin/meet-now", json=body, headers=staff)
    assert r.status_code == 201, r.text
    appointment = r.json()
    start = datetime.fromisoformat(appointment["start"])
    assert before <= start <= datetime.now(UTC) and start.second == 0
    assert datetime.fromisoformat(appointment["end"]) - start == timedelta(minutes=30)
    r = await client.get(f"/v1/appointments/{appointment['id']}/join", headers=staff)
    assert r.status_code == 200 and r.json()["meeting_url"], r.text

    # the doctor is busy now; another doctor held by a patient (or anyone) now is taken
    r = await client.post("/v1/admin/meet-now", json=body, headers=staff)
    assert r.status_code == 409 and r.json()["code"] == "doctor_busy", r.text
    r = await client.post(
        "/v1/admin/doctors",
        json={"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": "UTC"},
        headers=admin,
    )
    second = r.json()["id"]
    now = datetime.now(UTC)
    engine = HoldEngine(redis, Keys(settings.redis.prefix), no_bookings)  # a hold of someone else, now
    later = now + timedelta(minutes=40)
    new = await engine.hold(
        doctor_id=uuid.UUID(second), appointment_type_id=uuid.UUID(clinic.type_30),
        start=now + timedelta(minutes=10), end=later, blocked_until=later, ttl_ms=60_000,
    )  # fmt: skip
    assert new is not None
    r = await client.post("/v1/admin/meet-now", json=body | {"doctor_id": second}, headers=staff)
    assert r.status_code == 409 and r.json()["code"] == "slot_taken", r.text
    assert (
        await client.post("/v1/admin/meet-now", json=body, headers=await patient(client, clinic))
    ).status_code == 403
    approval = await notice_type(client, admin, clinic, min_notice_minutes=0, requires_approval=True)
    meet_approval = body | {"doctor_id": second, "appointment_type_id": approval}
    r = await client.post("/v1/admin/meet-now", json=meet_approval, headers=staff)
    assert r.status_code == 422 and r.json()["reason"] == "requires_approval", r.text
    rows = await sql(settings, "SELECT count(*) AS n FROM appointments")
    assert rows[0]["n"] == 1
