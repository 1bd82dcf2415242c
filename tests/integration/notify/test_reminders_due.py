"""Due reminders (invariant 9): claimed once per appointment and rule however many workers run,
with the reminder's outbox row in the claim's transaction; sent after an outage if the appointment
has not begun; never for cancelled, moved or begun appointments, nor for a removed rule."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.assembly import build_worker
from gateway.reminders.service import claim_due_reminders
from gateway.settings import Settings
from store.pool import connect_one, open_pool
from store.reminders import reminder_still_due
from tests.integration.appointments.lifecycle_support import book
from tests.support import Clinic, make_clinic, notify_settings, patient, sql

Client = AsyncTestClient[Litestar]
DAY = timedelta(days=1)


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The app's own worker off: each test claims (or runs its workers) itself."""
    return notify_settings(settings)


async def add_rule(client: Client, admin: dict[str, str], type_id: str, minutes: int, **extra: Any) -> str:
    body = {"recipient": "patient", "minutes_before": minutes} | extra
    r = await client.post(f"/v1/admin/appointment-types/{type_id}/reminder-rules", json=body, headers=admin)
    assert r.status_code == 201, r.text
    rule_id: str = r.json()["id"]
    return rule_id


async def move(client: Client, clinic: Clinic, a: dict[str, Any], who: dict[str, str], start: str) -> None:
    """Reschedule ``a`` to ``start``: it becomes ``rescheduled``, a new appointment takes its place."""
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start}
    held = (await client.post("/v1/holds", json=body, headers=who)).json()
    r = await client.post(
        f"/v1/appointments/{a['id']}/reschedule",
        json={"hold_id": held["hold_id"]},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )
    assert r.status_code == 201, r.text


async def rules_made_ago(settings: Settings, ago: timedelta) -> None:
    """Every rule was made ``ago`` (time passes: the API only makes rules now)."""
    await sql(settings, "UPDATE reminder_rules SET created_at = now() - $1::interval", ago)


async def arrange(
    settings: Settings, appointment_id: str, *, starts_in: timedelta, booked_ago: timedelta = 2 * DAY
) -> None:
    """Move an appointment to start ``starts_in`` from now (30 minutes long), booked ``booked_ago``."""
    start = datetime.now(UTC) + starts_in
    end = start + timedelta(minutes=30)
    await sql(
        settings,
        "UPDATE appointments SET starts_at = $2, ends_at = $3, blocked_until = $3,"
        " created_at = now() - $4::interval WHERE id = $1",
        uuid.UUID(appointment_id),
        start,
        end,
        booked_ago,
    )
    await sql(
        settings,
        "UPDATE appointment_events SET at = now() - $2::interval WHERE appointment_id = $1",
        uuid.UUID(appointment_id),
        booked_ago,
    )


async def claimed(settings: Settings, *, unclaimed_messages: int = 0) -> list[tuple[str, str]]:
    """``(appointment_id, rule_id)`` of every claim, checking each one's outbox row on the way, and that
    there are no other reminder messages (but ``unclaimed_messages``: those of removed rules)."""
    found = await sql(
        settings,
        "SELECT s.appointment_id, s.rule_id, o.event_type, o.appointment_id AS outbox_appointment, o.data"
        " FROM reminders_sent s LEFT JOIN outbox o ON o.id = s.outbox_id ORDER BY s.claimed_at",
    )
    for row in found:
        assert row["event_type"] == "appointment.reminder"
        assert row["outbox_appointment"] == row["appointment_id"]
        assert row["data"]["appointment"]["id"] == str(row["appointment_id"])
        assert row["data"]["reminder"]["rule_id"] == str(row["rule_id"])
    reminders = await sql(settings, "SELECT count(*) FROM outbox WHERE event_type = 'appointment.reminder'")
    assert reminders[0][0] == len(found) + unclaimed_messages, "one outbox row per claim, no more"
    return [(str(r["appointment_id"]), str(r["rule_id"])) for r in found]


async def test_three_workers_claim_each_due_reminder_once(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    booked = [await book(client, clinic, clinic.at(3, 9 + i), me) for i in range(5)]
    early = await add_rule(client, admin, clinic.type_30, 600)
    late = await add_rule(client, admin, clinic.type_30, 300, recipient="doctor", send_sms=True)
    await add_rule(client, admin, clinic.type_60, 600)  # another type's rule reminds nobody here
    await rules_made_ago(settings, 2 * DAY)
    for i, a in enumerate(booked):
        await arrange(settings, a["id"], starts_in=timedelta(minutes=30 + 40 * i))
    # three processes, each with its own pool, claiming in small batches at once
    pools = [await open_pool(settings.database) for _ in range(3)]
    try:
        counts = await asyncio.gather(*(claim_due_reminders(db, batch=2) for db in pools))
        assert sum(counts) == 10
        assert await asyncio.gather(*(claim_due_reminders(db) for db in pools)) == [0, 0, 0]
    finally:
        for db in pools:
            await db.close()
    pairs = await claimed(settings)
    assert sorted(pairs) == sorted((a["id"], rule) for a in booked for rule in (early, late))
    message = (await sql(settings, "SELECT data FROM outbox WHERE data->'reminder'->>'rule_id' = $1", late))[0]
    assert message["data"]["reminder"] == {
        "rule_id": late,
        "recipient": "doctor",
        "minutes_before": 300,
        "send_email": True,
        "send_sms": True,
    }
    assert message["data"]["appointment"]["status"] == "confirmed"
    assert "meeting_url" not in message["data"]["appointment"]


async def test_a_reminder_not_yet_due_waits(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    a = await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
    await add_rule(client, admin, clinic.type_30, 60)
    await rules_made_ago(settings, 2 * DAY)
    await arrange(settings, a["id"], starts_in=timedelta(minutes=62))
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 0
        await arrange(settings, a["id"], starts_in=timedelta(minutes=59))  # a minute passes, or three
        assert await claim_due_reminders(db) == 1
    finally:
        await db.close()


async def test_a_reminder_that_fell_due_while_down_goes_at_the_next_start(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    a = await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
    rule = await add_rule(client, admin, clinic.type_30, 24 * 60)
    await rules_made_ago(settings, 3 * DAY)
    # booked two days ago; every process stopped; it fell due 23.5 hours ago and starts in 30 minutes
    await arrange(settings, a["id"], starts_in=timedelta(minutes=30), booked_ago=2 * DAY)
    # a worker whose next tick is an hour away: only the pass at its start can claim it
    started = msgspec.structs.replace(
        settings, notify=msgspec.structs.replace(settings.notify, reminder_seconds=3600, poll_seconds=60)
    )
    db = await open_pool(settings.database)
    worker = build_worker(started, db)
    worker.start()
    try:
        deadline = asyncio.get_running_loop().time() + 15
        while not (await sql(settings, "SELECT count(*) FROM reminders_sent"))[0][0]:
            assert asyncio.get_running_loop().time() < deadline, "nothing was claimed at the start"
            await asyncio.sleep(0.02)
    finally:
        await worker.stop()
        await db.close()
    assert await claimed(settings) == [(a["id"], rule)]


async def test_cancelled_moved_and_begun_appointments_get_no_reminder(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    cancelled = await book(client, clinic, clinic.at(3, 9), me)
    moved = await book(client, clinic, clinic.at(3, 10), me)
    begun = await book(client, clinic, clinic.at(3, 11), me)
    control = await book(client, clinic, clinic.at(3, 12), me)
    r = await client.post(f"/v1/appointments/{cancelled['id']}/cancel", json={"reason": "better"}, headers=me)
    assert r.status_code == 200, r.text
    await move(client, clinic, moved, me, clinic.at(5, 9))
    rule = await add_rule(client, admin, clinic.type_30, 120)
    await rules_made_ago(settings, 2 * DAY)
    await arrange(settings, cancelled["id"], starts_in=timedelta(minutes=20))
    await arrange(settings, moved["id"], starts_in=timedelta(minutes=20))  # inactive: no overlap
    await arrange(settings, begun["id"], starts_in=timedelta(minutes=-5))
    await arrange(settings, control["id"], starts_in=timedelta(minutes=40))
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 1
    finally:
        await db.close()
    assert await claimed(settings) == [(control["id"], rule)]


async def test_a_cancel_committing_during_the_claim_is_seen_by_it(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    a = await book(client, clinic, clinic.at(3, 9), await patient(client, clinic))
    await add_rule(client, admin, clinic.type_30, 60)
    await rules_made_ago(settings, 2 * DAY)
    await arrange(settings, a["id"], starts_in=timedelta(minutes=30))
    cancel = await connect_one(settings.database)
    db = await open_pool(settings.database)
    try:
        async with cancel.transaction():
            await cancel.execute("UPDATE appointments SET status = 'cancelled' WHERE id = $1", uuid.UUID(a["id"]))
            claim = asyncio.create_task(claim_due_reminders(db))
            waiting = "SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))"
            deadline = asyncio.get_running_loop().time() + 15
            while not (await sql(settings, waiting, cancel.get_server_pid()))[0][0]:
                assert asyncio.get_running_loop().time() < deadline, "the claim never waited for the cancel"
                await asyncio.sleep(0.02)
            assert not claim.done(), "the claim waits for the appointment's row"
        assert await claim == 0  # and then sees it cancelled
    finally:
        await cancel.close()
        await db.close()
    assert await claimed(settings) == []


async def test_a_reminder_already_past_when_booked_or_when_the_rule_was_made_is_not_sent(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    late_booking = await book(client, clinic, clinic.at(3, 9), me)
    early_booking = await book(client, clinic, clinic.at(3, 10), me)
    old_rule = await add_rule(client, admin, clinic.type_30, 24 * 60)
    await rules_made_ago(settings, 3 * DAY)
    await add_rule(client, admin, clinic.type_30, 24 * 60, recipient="doctor")  # made now
    # a 24-hour reminder of an appointment booked 2 hours ahead: its time had passed at the booking
    await arrange(settings, late_booking["id"], starts_in=timedelta(hours=2), booked_ago=timedelta(0))
    await arrange(settings, early_booking["id"], starts_in=timedelta(hours=3), booked_ago=2 * DAY)
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 1
    finally:
        await db.close()
    # the new rule's time for the early booking had passed before the rule existed
    assert await claimed(settings) == [(early_booking["id"], old_rule)]


async def test_an_appointment_approved_after_the_reminders_time_is_not_reminded(
    client: Client, admin: dict[str, str], settings: Settings
) -> None:
    clinic = await make_clinic(client, admin, requires_approval=True)
    me = await patient(client, clinic)
    approved_late = await book(client, clinic, clinic.at(3, 9), me)
    approved_early = await book(client, clinic, clinic.at(3, 10), me)
    assert approved_late["status"] == "pending_approval"
    rule = await add_rule(client, admin, clinic.type_30, 24 * 60)
    await rules_made_ago(settings, 3 * DAY)
    await arrange(settings, approved_early["id"], starts_in=timedelta(hours=3), booked_ago=2 * DAY)
    for a in (approved_late, approved_early):
        r = await client.post(f"/v1/appointments/{a['id']}/approve", json={}, headers=admin)
        assert r.status_code == 200, r.text
    # approved_early's approval happened two days ago too; approved_late's just now, 2 hours ahead
    await arrange(settings, approved_early["id"], starts_in=timedelta(hours=3), booked_ago=2 * DAY)
    await arrange(settings, approved_late["id"], starts_in=timedelta(hours=2), booked_ago=2 * DAY)
    await sql(
        settings,
        "UPDATE appointment_events SET at = now() WHERE appointment_id = $1 AND to_status = 'confirmed'",
        uuid.UUID(approved_late["id"]),
    )
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 1
    finally:
        await db.close()
    assert await claimed(settings) == [(approved_early["id"], rule)]


async def test_a_removed_rule_claims_nothing_more(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    first = await book(client, clinic, clinic.at(3, 9), me)
    second = await book(client, clinic, clinic.at(3, 10), me)
    kept = await add_rule(client, admin, clinic.type_30, 120)
    removed = await add_rule(client, admin, clinic.type_30, 180, recipient="admins")
    await rules_made_ago(settings, 2 * DAY)
    await arrange(settings, first["id"], starts_in=timedelta(minutes=30))
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 2
        r = await client.delete(f"/v1/admin/appointment-types/{clinic.type_30}/reminder-rules/{removed}", headers=admin)
        assert r.status_code == 204
        await arrange(settings, second["id"], starts_in=timedelta(minutes=90))
        assert await claim_due_reminders(db) == 1
    finally:
        await db.close()
    # the removed rule's message, claimed before, stays in the outbox; its claim went with the rule
    told = await sql(settings, "SELECT count(*) FROM outbox WHERE data->'reminder'->>'rule_id' = $1", removed)
    assert told[0][0] == 1
    assert sorted(await claimed(settings, unclaimed_messages=1)) == sorted([(first["id"], kept), (second["id"], kept)])


async def test_the_delivery_side_asks_whether_a_claimed_reminder_is_still_due(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings
) -> None:
    me = await patient(client, clinic)
    kept, cancelled, moved = [await book(client, clinic, clinic.at(3, 9 + i), me) for i in range(3)]
    await add_rule(client, admin, clinic.type_30, 240)
    await rules_made_ago(settings, 2 * DAY)
    for i, a in enumerate((kept, cancelled, moved)):
        await arrange(settings, a["id"], starts_in=timedelta(minutes=30 + 40 * i))
    db = await open_pool(settings.database)
    try:
        assert await claim_due_reminders(db) == 3
        # after the claim: one is cancelled, one moved to another day
        r = await client.post(f"/v1/appointments/{cancelled['id']}/cancel", json={"reason": "better"}, headers=me)
        assert r.status_code == 200, r.text
        await move(client, clinic, moved, me, clinic.at(5, 9))
        messages = await sql(
            settings, "SELECT appointment_id, data FROM outbox WHERE event_type = 'appointment.reminder'"
        )
        start = {str(m["appointment_id"]): datetime.fromisoformat(m["data"]["appointment"]["start"]) for m in messages}
        assert await reminder_still_due(db, uuid.UUID(kept["id"]), start[kept["id"]])
        assert not await reminder_still_due(db, uuid.UUID(cancelled["id"]), start[cancelled["id"]])
        assert not await reminder_still_due(db, uuid.UUID(moved["id"]), start[moved["id"]])
        # the time the message told is no longer the appointment's
        assert not await reminder_still_due(db, uuid.UUID(kept["id"]), start[kept["id"]] + timedelta(minutes=5))
        await arrange(settings, kept["id"], starts_in=timedelta(minutes=-1))  # it began before the send
        begun = (await sql(settings, "SELECT starts_at FROM appointments WHERE id = $1", uuid.UUID(kept["id"])))[0][0]
        assert not await reminder_still_due(db, uuid.UUID(kept["id"]), begun)
    finally:
        await db.close()
