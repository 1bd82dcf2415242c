"""Cancel, reschedule, join, no-show, complete, approve, history: the appointment's life."""

from __future__ import annotations

from datetime import timedelta

import icalendar
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from redis.exceptions import ConnectionError as RedisConnectionError

from gateway.settings import Settings
from tests.integration.appointments.lifecycle_support import book, events, hold, insert_past
from tests.support import Clinic, make_clinic, patient

Client = AsyncTestClient[Litestar]


async def test_cancel_needs_a_reason_frees_the_slot_live_and_is_recorded(
    client: Client, clinic: Clinic, settings: Settings, redis_url: str
) -> None:
    me = await patient(client, clinic)
    start = clinic.at(3, 10)
    a = await book(client, clinic, start, me)
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={}, headers=me)
    assert r.status_code == 422 and r.json()["code"] == "reason_required"
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "  "}, headers=me)
    assert r.status_code == 422
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "I feel better"}, headers=me)
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "cancelled"
    assert r.json()["cancellation"]["reason"] == "I feel better" and r.json()["cancellation"]["by"] == "patient"
    logged = await events(redis_url, settings, clinic.doctor_id)
    assert [e["type"] for e in logged] == ["resync"] * 7 + ["slot.held", "slot.booked", "slot.freed"]  # 7 windows
    assert [e["seq"] for e in logged] == list(range(1, 11))
    assert logged[-1]["start"] == start
    assert (await hold(client, clinic, start, me)).status_code == 201  # free again
    again = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "twice"}, headers=me)
    assert again.status_code == 409 and again.json()["code"] == "invalid_transition"
    history = (await client.get(f"/v1/appointments/{a['id']}/history", headers=me)).json()["items"]
    assert [(h["actor"], h["from"], h["to"], h["reason"]) for h in history] == [
        ("patient", None, "confirmed", None),
        ("patient", "confirmed", "cancelled", "I feel better"),
    ]


async def test_patients_are_bound_by_the_cancellation_notice_admins_are_not(
    client: Client, admin: dict[str, str]
) -> None:
    clinic = await make_clinic(client, admin, cancellation_notice_minutes=14 * 24 * 60)
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 9), me)
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "busy"}, headers=me)
    assert r.status_code == 409 and r.json()["code"] == "too_late_to_cancel"
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "doctor ill"}, headers=admin)
    assert r.status_code == 200 and r.json()["cancellation"]["by"] == "platform"


async def test_someone_elses_appointment_does_not_exist_for_a_patient(client: Client, clinic: Clinic) -> None:
    me, other = await patient(client, clinic), await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 11), me)
    for path in ("", "/history", "/join", ".ics"):
        r = await client.get(f"/v1/appointments/{a['id']}{path}", headers=other)
        assert r.status_code == 404, path
    r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "mine now"}, headers=other)
    assert r.status_code == 404
    assert (await client.get(f"/v1/appointments/{a['id']}", headers=me)).status_code == 200


async def test_reschedule_links_the_new_to_the_old_and_frees_the_old_slot(
    client: Client, admin: dict[str, str], settings: Settings, redis_url: str
) -> None:
    clinic = await make_clinic(client, admin, max_reschedules=1)
    me = await patient(client, clinic)
    old = await book(client, clinic, clinic.at(3, 10), me)
    new_hold = (await hold(client, clinic, clinic.at(4, 10), me)).json()
    r = await client.post(
        f"/v1/appointments/{old['id']}/reschedule",
        json={"hold_id": new_hold["hold_id"], "reason": "clash"},
        headers={"X-Hold-Token": new_hold["hold_token"], **me},
    )
    assert r.status_code == 201, r.text
    new = r.json()
    assert new["previous_appointment_id"] == old["id"] and new["start"] == clinic.at(4, 10)
    assert new["reschedule_count"] == 1
    assert (await client.get(f"/v1/appointments/{old['id']}", headers=me)).json()["status"] == "rescheduled"
    assert (await hold(client, clinic, clinic.at(3, 10), me)).status_code == 201  # the old slot is free
    assert "slot.freed" in [e["type"] for e in await events(redis_url, settings, clinic.doctor_id)]
    # a second move is over this type's limit for a patient
    another = (await hold(client, clinic, clinic.at(5, 10), me)).json()
    r = await client.post(
        f"/v1/appointments/{new['id']}/reschedule",
        json={"hold_id": another["hold_id"]},
        headers={"X-Hold-Token": another["hold_token"], **me},
    )
    assert r.status_code == 409 and r.json()["code"] == "reschedule_limit"
    history = (await client.get(f"/v1/appointments/{old['id']}/history", headers=me)).json()["items"]
    assert history[-1]["to"] == "rescheduled" and history[-1]["reason"] == "clash"


async def test_reschedule_that_postgres_refuses_leaves_the_old_appointment_alone(
    client: Client, clinic: Clinic, settings: Settings
) -> None:
    import asyncpg

    from store.pool import server_settings

    me = await patient(client, clinic)
    old = await book(client, clinic, clinic.at(3, 10), me)
    target = (await hold(client, clinic, clinic.at(4, 10), me)).json()
    # Meanwhile the database got a booking over the target slot that Redis never saw.
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        await conn.execute(
            "INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, patient_name, patient_email,"
            " starts_at, ends_at, blocked_until, status) SELECT organisation_id, doctor_id, appointment_type_id,"
            " 'Other', 'o@example.org', $2::timestamptz, $2::timestamptz + interval '30 minutes',"
            " $2::timestamptz + interval '30 minutes', 'confirmed' FROM appointments WHERE id = $1",
            __import__("uuid").UUID(old["id"]),
            __import__("datetime").datetime.fromisoformat(clinic.at(4, 10)),
        )
    finally:
        await conn.close()
    r = await client.post(
        f"/v1/appointments/{old['id']}/reschedule",
        json={"hold_id": target["hold_id"]},
        headers={"X-Hold-Token": target["hold_token"], **me},
    )
    assert r.status_code == 409 and r.json()["code"] == "slot_taken"
    kept = (await client.get(f"/v1/appointments/{old['id']}", headers=me)).json()
    assert kept["status"] == "confirmed"  # never neither
    assert (await hold(client, clinic, clinic.at(3, 10), me)).status_code == 409  # still booked


async def test_rebooking_mode_decides_whether_another_doctor_may_take_it(client: Client, admin: dict[str, str]) -> None:
    for mode, expected in (("same_doctor", 422), ("any_doctor", 201)):
        clinic = await make_clinic(client, admin, rebooking_mode=mode)
        r = await client.post(
            "/v1/admin/doctors",
            json={"organisation_id": clinic.organisation_id, "name": "Dr. Two", "timezone": clinic.timezone},
            headers=admin,
        )
        second = r.json()["id"]
        for weekday in range(1, 8):
            await client.post(
                f"/v1/doctors/{second}/availability-windows",
                json={"weekday": weekday, "start_minute": 480, "end_minute": 1080},
                headers=admin,
            )
        me = await patient(client, clinic)
        old = await book(client, clinic, clinic.at(3, 10), me)
        r = await client.post(
            "/v1/holds",
            json={"doctor_id": second, "appointment_type_id": clinic.type_30, "start": clinic.at(3, 11)},
            headers=me,
        )
        target = r.json()
        r = await client.post(
            f"/v1/appointments/{old['id']}/reschedule",
            json={"hold_id": target["hold_id"]},
            headers={"X-Hold-Token": target["hold_token"], **me},
        )
        assert r.status_code == expected, (mode, r.text)
        if expected == 201:
            assert r.json()["doctor_id"] == second
        else:
            assert r.json()["code"] == "rebooking_mode"


async def test_join_window_no_show_and_complete(client: Client, admin: dict[str, str], settings: Settings) -> None:
    clinic = await make_clinic(client, admin)
    me = await patient(client, clinic)
    upcoming = await book(client, clinic, clinic.at(3, 10), me)
    r = await client.get(f"/v1/appointments/{upcoming['id']}/join", headers=me)
    assert r.status_code == 409 and r.json()["code"] == "outside_join_window"
    assert r.json()["opens_at"] < r.json()["closes_at"]
    r = await client.post(f"/v1/appointments/{upcoming['id']}/no-show", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "join_window_open"
    r = await client.post(f"/v1/appointments/{upcoming['id']}/complete", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "not_started"

    # inside the window: ended 30 minutes ago (the window closes 60 minutes after the end)
    recent = await insert_past(settings, clinic, timedelta(minutes=30), patient_ref=None)
    r = await client.get(f"/v1/appointments/{recent}/join", headers=admin)
    assert r.status_code == 200 and r.json()["meeting_url"].startswith("https://")
    r = await client.post(f"/v1/appointments/{recent}/no-show", headers=admin)
    assert r.status_code == 409
    r = await client.post(f"/v1/appointments/{recent}/complete", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "completed"

    # the window has closed: a no-show can be recorded, and only once
    gone = await insert_past(settings, clinic, timedelta(hours=2))
    r = await client.get(f"/v1/appointments/{gone}/join", headers=admin)
    assert r.status_code == 409
    r = await client.post(f"/v1/appointments/{gone}/no-show", json={"reason": "did not appear"}, headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "no_show"
    r = await client.post(f"/v1/appointments/{gone}/no-show", headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "invalid_transition"
    # patients may not record outcomes
    mine = await insert_past(settings, clinic, timedelta(hours=3), patient_ref=None)
    r = await client.post(f"/v1/appointments/{mine}/complete", headers=me)
    assert r.status_code == 404  # not theirs: it does not exist for them


async def test_approval_flow(client: Client, admin: dict[str, str]) -> None:
    clinic = await make_clinic(client, admin, requires_approval=True)
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    assert a["status"] == "pending_approval"
    assert (await hold(client, clinic, clinic.at(3, 10), me)).status_code == 409  # pending still blocks
    r = await client.post(f"/v1/appointments/{a['id']}/approve", headers=me)
    assert r.status_code == 403
    r = await client.post(f"/v1/appointments/{a['id']}/approve", headers=admin)
    assert r.status_code == 200 and r.json()["status"] == "confirmed"
    r = await client.post(f"/v1/appointments/{a['id']}/approve", headers=admin)
    assert r.status_code == 409


async def test_ics_is_valid_with_a_stable_uid_and_a_rising_sequence(client: Client, clinic: Clinic) -> None:
    me = await patient(client, clinic)
    a = await book(client, clinic, clinic.at(3, 10), me)
    first = await client.get(f"/v1/appointments/{a['id']}.ics", headers=me)
    assert first.status_code == 200 and first.headers["content-type"].startswith("text/calendar")
    event = icalendar.Calendar.from_ical(first.content).walk("VEVENT")[0]
    assert str(event["UID"]) == f"{a['id']}@booking-gateway"
    assert int(str(event["SEQUENCE"])) == 0 and str(event["STATUS"]) == "CONFIRMED"
    assert event.decoded("DTSTART").isoformat().replace("+00:00", "Z") == a["start"]
    await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "x"}, headers=me)
    second = icalendar.Calendar.from_ical((await client.get(f"/v1/appointments/{a['id']}.ics", headers=me)).content)
    changed = second.walk("VEVENT")[0]
    assert str(changed["UID"]) == str(event["UID"])
    assert int(str(changed["SEQUENCE"])) == 1 and str(changed["STATUS"]) == "CANCELLED"


async def test_a_cancel_whose_redis_step_failed_does_not_leave_the_slot_unholdable(
    client: Client, clinic: Clinic, settings: Settings, redis_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    me = await patient(client, clinic)
    start = clinic.at(3, 11)
    a = await book(client, clinic, start, me)
    engine = client.app.state.services.engine

    async def unreachable(*args: object, **kwargs: object) -> int:
        raise RedisConnectionError("Redis went away between the commit and the free")

    with monkeypatch.context() as patched:
        patched.setattr(engine, "free", unreachable)
        r = await client.post(f"/v1/appointments/{a['id']}/cancel", json={"reason": "Better"}, headers=me)
    assert r.status_code == 503  # the cancel committed; Redis did not hear of it
    assert (await client.get(f"/v1/appointments/{a['id']}", headers=me)).json()["status"] == "cancelled"
    # /slots (Postgres) offers the slot again, and the hold that meets the stale cells frees them
    r = await hold(client, clinic, start, me)
    assert r.status_code == 201, r.text
    logged = await events(redis_url, settings, clinic.doctor_id)
    assert [e["type"] for e in logged][-3:] == ["slot.booked", "slot.freed", "slot.held"]
