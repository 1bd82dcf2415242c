"""Emails, sent through a real SMTP server (aiosmtpd) started by each test: what each event says,
to whom, in whose zone, with which links and attachments, and never the room's address."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.appointments.rooms import Rooms
from gateway.notify.assembly import build_worker
from gateway.notify.links import ManageLinks
from gateway.settings import Settings
from store import appointments as appointments_repo
from store import outbox
from tests.integration.appointments.lifecycle_support import insert_past
from tests.integration.notify.messaging_support import (
    Inbox,
    Mail,
    confirm,
    deliveries,
    pool,
    settle,
    smtp_server,
    with_notify,
)
from tests.support import Clinic, make_clinic, patient
from tests.support import sql as rows

Client = AsyncTestClient[Litestar]
DOCTOR_EMAIL = "doctor@clinic.example"
ADMINS = ["admin-one@clinic.example", "admin-two@clinic.example"]
PATIENT = {"name": "Pat <b>Ient</b> & Co", "email": "pat@example.org", "timezone": "America/New_York"}
MANAGE = re.compile(r"https://booking\.example/manage/(mng_[A-Za-z0-9_\-.]+)")


@pytest.fixture
def smtp() -> Iterator[tuple[Inbox, str]]:
    with smtp_server() as found:
        yield found


@pytest.fixture
def inbox(smtp: tuple[Inbox, str]) -> Inbox:
    return smtp[0]


@pytest.fixture
def settings(settings: Settings, smtp: tuple[Inbox, str]) -> Settings:
    return with_notify(settings, smtp_url=smtp[1], mail_from="Test Clinic <bookings@clinic.example>")


async def _contacts(client: Client, clinic: Clinic, admin: dict[str, str]) -> None:
    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json={"email": DOCTOR_EMAIL}, headers=admin)
    assert r.status_code == 200, r.text
    r = await client.patch(
        f"/v1/admin/organisations/{clinic.organisation_id}", json={"admin_emails": ADMINS}, headers=admin
    )
    assert r.status_code == 200, r.text


async def _deliver(settings: Settings) -> None:
    async with pool(settings) as db:
        await settle(build_worker(settings, db), settings)


def _local(instant: str, zone: str) -> str:
    return datetime.fromisoformat(instant.replace("Z", "+00:00")).astimezone(ZoneInfo(zone)).strftime("%H:%M")


def _no_room(settings: Settings, clinic: Clinic, mail: Mail) -> None:
    """Invariant 10: neither the room's name nor the meeting host is anywhere in the message."""
    room = Rooms(settings.secret_key, settings.meeting_url_template).room(uuid.UUID(clinic.doctor_id))
    raw = mail.raw.decode("utf-8", "replace")
    for part in mail.message.walk():
        if not part.is_multipart():
            raw += str(part.get_content())
    assert room not in raw
    assert "meet.jit.si" not in raw


def _ics(mail: Mail) -> str:
    (attachment,) = mail.attachments()
    assert attachment.get_content_type() == "text/calendar"
    assert (attachment.get_filename() or "").endswith(".ics")
    return (
        attachment.get_content().decode()
        if isinstance(attachment.get_content(), bytes)
        else str(attachment.get_content())
    )


async def test_a_booking_emails_the_patient_in_their_zone_with_the_ics_and_the_manage_link(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    await _contacts(client, clinic, admin)
    booked = await confirm(client, clinic, clinic.at(3, 10), await patient(client, clinic), PATIENT)
    await _deliver(settings)

    (mail,) = inbox.to(PATIENT["email"])
    message = mail.message
    assert message["Subject"].startswith("Booked: 30 min with Dr. Test")
    assert message["From"] == "Test Clinic <bookings@clinic.example>"
    assert mail.sender == "bookings@clinic.example"
    assert message.get_content_type() == "multipart/mixed"
    alternative = next(p for p in message.iter_parts() if p.get_content_type() == "multipart/alternative")
    assert [p.get_content_type() for p in alternative.iter_parts()] == ["text/plain", "text/html"]
    # the patient's zone, named, in both parts
    local = _local(booked["start"], "America/New_York")
    berlin = _local(booked["start"], "Europe/Berlin")
    assert local != berlin
    for body in (mail.text, mail.html):
        assert local in body and "America/New_York" in body
        assert berlin not in body
        assert booked["id"][:8].upper() in body  # the booking reference
        assert "30 min with Dr. Test" in body
    # HTML escaped, the text as typed
    assert "Pat <b>Ient</b> & Co" in mail.text
    assert "Pat &lt;b&gt;Ient&lt;/b&gt; &amp; Co" in mail.html and "<b>Ient" not in mail.html
    # the signed manage link opens this appointment, in both parts
    (token,) = set(MANAGE.findall(mail.text))
    assert MANAGE.search(mail.html) is not None
    assert ManageLinks(settings.secret_key, settings.public_url).check(token) == uuid.UUID(booked["id"])
    ics = _ics(mail)
    assert f"UID:{booked['id']}@booking-gateway" in ics
    assert f"https://booking.example/v1/appointments/{booked['id']}/join" in ics.replace("\r\n ", "")
    _no_room(settings, clinic, mail)
    (found,) = await rows(settings, "SELECT message_id FROM outbox WHERE event_type = 'appointment.booked'")
    assert str(message["Message-ID"]).strip().startswith(f"<{found['message_id']}.")

    (to_doctor,) = inbox.to(DOCTOR_EMAIL)
    assert to_doctor.message["Subject"].startswith("New booking: Pat <b>Ient</b> & Co")
    assert _local(booked["start"], "Europe/Berlin") in to_doctor.text and "Europe/Berlin" in to_doctor.text
    assert "/manage/" not in to_doctor.raw.decode()  # the manage link can cancel: the patient's alone
    assert f"UID:{booked['id']}@booking-gateway" in _ics(to_doctor)
    _no_room(settings, clinic, to_doctor)
    assert inbox.to(ADMINS[0]) == []  # admins are not told of bookings
    assert [
        (d["recipient"], d["status"], d["attempts"], d["last_status_code"]) for d in await deliveries(settings, "email")
    ] == [
        ("doctor", "delivered", 1, 250),
        ("patient", "delivered", 1, 250),
    ]


async def test_a_cancellation_says_why_in_the_doctors_zone_when_the_patient_has_none(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    await _contacts(client, clinic, admin)
    who = await patient(client, clinic)
    booked = await confirm(client, clinic, clinic.at(3, 11), who, {"name": "Pat", "email": "pat@example.org"})
    r = await client.post(f"/v1/appointments/{booked['id']}/cancel", json={"reason": "Feeling <better>"}, headers=who)
    assert r.status_code == 200, r.text
    await _deliver(settings)

    cancelled = [m for m in inbox.to("pat@example.org") if m.message["Subject"].startswith("Cancelled")]
    (mail,) = cancelled
    assert "Feeling <better>" in mail.text and "Feeling &lt;better&gt;" in mail.html
    assert "cancelled by you" in mail.text
    assert _local(booked["start"], "Europe/Berlin") in mail.text and "Europe/Berlin" in mail.text
    assert "STATUS:CANCELLED" in _ics(mail)
    assert MANAGE.search(mail.text) is not None
    _no_room(settings, clinic, mail)
    (to_doctor,) = [m for m in inbox.to(DOCTOR_EMAIL) if m.message["Subject"].startswith("Cancelled")]
    assert "Feeling <better>" in to_doctor.text and "cancelled by the patient" in to_doctor.text


async def test_a_reschedule_tells_the_new_time_and_the_old_with_the_new_ics(
    client: Client, clinic: Clinic, settings: Settings, inbox: Inbox
) -> None:
    who = await patient(client, clinic)
    first = await confirm(client, clinic, clinic.at(3, 9), who, PATIENT)
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": clinic.at(4, 14)}
    held = (await client.post("/v1/holds", json=body, headers=who)).json()
    r = await client.post(
        f"/v1/appointments/{first['id']}/reschedule",
        json={"hold_id": held["hold_id"]},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )
    assert r.status_code == 201, r.text
    moved = r.json()
    await _deliver(settings)

    (mail,) = [m for m in inbox.to(PATIENT["email"]) if m.message["Subject"].startswith("Moved")]
    new_time, old_time = _local(moved["start"], "America/New_York"), _local(first["start"], "America/New_York")
    assert re.search(rf"New time:\s+.*{new_time}", mail.text) and re.search(rf"Was:\s+.*{old_time}", mail.text)
    assert moved["id"][:8].upper() in mail.text
    assert f"UID:{moved['id']}@booking-gateway" in _ics(mail)
    (token,) = set(MANAGE.findall(mail.text))
    assert ManageLinks(settings.secret_key, settings.public_url).check(token) == uuid.UUID(moved["id"])
    _no_room(settings, clinic, mail)


async def test_approval_emails_first_the_request_then_the_approval(
    client: Client, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    clinic = await make_clinic(client, admin, requires_approval=True)
    booked = await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    assert booked["status"] == "pending_approval"
    await _deliver(settings)
    r = await client.post(f"/v1/appointments/{booked['id']}/approve", json={}, headers=admin)
    assert r.status_code == 200, r.text
    await _deliver(settings)

    request, approval = inbox.to(PATIENT["email"])
    assert request.message["Subject"].startswith("Request received")
    assert "still has to approve" in request.text
    assert "STATUS:TENTATIVE" in _ics(request)
    assert approval.message["Subject"].startswith("Approved")
    assert "STATUS:CONFIRMED" in _ics(approval)
    assert MANAGE.search(approval.text) is not None


async def test_reminders_go_only_to_the_rules_recipient_by_the_rules_channels(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    await _contacts(client, clinic, admin)
    booked = await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    await _deliver(settings)
    inbox.mails.clear()
    async with pool(settings) as db:
        a = await appointments_repo.get(db, uuid.UUID(booked["id"]))
        assert a is not None
        rules: list[dict[str, Any]] = [
            {"recipient": "doctor", "minutes_before": 60, "send_email": True, "send_sms": False},
            {"recipient": "patient", "minutes_before": 1440, "send_email": False, "send_sms": True},
        ]
        for rule in rules:
            data = {"appointment": outbox.snapshot(a), "reminder": {"rule_id": str(uuid.uuid4()), **rule}}
            await outbox.enqueue(db, a.organisation_id, "appointment.reminder", data, appointment_id=a.id)
    await _deliver(settings)
    (mail,) = inbox.mails  # the doctor's rule: the doctor alone; the SMS-only rule: no email
    assert mail.recipients == [DOCTOR_EMAIL]
    assert mail.message["Subject"].startswith("Reminder: Pat <b>Ient</b> & Co")

    inbox.mails.clear()
    async with pool(settings) as db:
        for recipient in ("patient", "admins"):
            rule = {"recipient": recipient, "minutes_before": 30, "send_email": True, "send_sms": False}
            data = {"appointment": outbox.snapshot(a), "reminder": {"rule_id": str(uuid.uuid4()), **rule}}
            await outbox.enqueue(db, a.organisation_id, "appointment.reminder", data, appointment_id=a.id)
    await _deliver(settings)
    assert sorted(r for m in inbox.mails for r in m.recipients) == sorted([PATIENT["email"], *ADMINS])
    (to_patient,) = inbox.to(PATIENT["email"])
    assert to_patient.message["Subject"].startswith("Reminder: 30 min with Dr. Test")
    assert _local(booked["start"], "America/New_York") in to_patient.text
    assert MANAGE.search(to_patient.text) is not None
    assert all("/manage/" not in m.raw.decode() for m in inbox.mails if m is not to_patient)
    for m in inbox.mails:
        _no_room(settings, clinic, m)
        assert m.attachments() == []  # a reminder changes nothing in the calendar


async def test_low_ratings_and_disabled_webhooks_go_to_the_admins(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    await _contacts(client, clinic, admin)
    booked = await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    await _deliver(settings)
    inbox.mails.clear()
    async with pool(settings) as db:
        a = await appointments_repo.get(db, uuid.UUID(booked["id"]))
        assert a is not None
        review = {"appointment_id": booked["id"], "doctor_id": clinic.doctor_id, "rating": 1,
                  "comment": "Waited <20> minutes", "created_at": booked["created_at"]}  # fmt: skip
        data = {"review": review, "appointment": outbox.snapshot(a)}
        await outbox.enqueue(db, a.organisation_id, "review.low_rating", data, appointment_id=a.id)
        hook = {"id": str(uuid.uuid4()), "url": "https://partner.example/hook?a=1&b=2", "description": "CRM",
                "disabled_reason": "failing since 2026-01-01"}  # fmt: skip
        await db.execute(  # an internal event the webhooks part adds to the event types
            "INSERT INTO outbox (organisation_id, event_type, data) VALUES ($1, 'webhook.disabled', $2)",
            a.organisation_id,
            {"webhook": hook},
        )
    await _deliver(settings)
    assert sorted(r for m in inbox.mails for r in m.recipients) == sorted(ADMINS * 2)
    low = [m for m in inbox.to(ADMINS[0]) if m.message["Subject"].startswith("Low rating: 1/5")]
    (mail,) = low
    assert "Waited <20> minutes" in mail.text and "Waited &lt;20&gt; minutes" in mail.html
    assert "/manage/" not in mail.raw.decode()
    (disabled,) = [m for m in inbox.to(ADMINS[1]) if m.message["Subject"].startswith("Webhook disabled")]
    assert "https://partner.example/hook?a=1&b=2" in disabled.text
    assert 'href="https://booking.example/admin"' in disabled.html
    assert "https://partner.example/hook?a=1&amp;b=2" in disabled.html
    assert "failing since 2026-01-01" in disabled.text


async def test_a_completed_visit_thanks_the_patient(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    past = await insert_past(settings, clinic, timedelta(minutes=5))
    r = await client.post(f"/v1/appointments/{past}/complete", json={}, headers=admin)
    assert r.status_code == 200, r.text
    await _deliver(settings)
    (mail,) = inbox.to("past@example.org")
    assert mail.message["Subject"].startswith("Thank you for your visit")
    assert "rate it" in mail.text
    (token,) = set(MANAGE.findall(mail.text))
    assert ManageLinks(settings.secret_key, settings.public_url).check(token) == uuid.UUID(past)


async def test_a_repeated_message_keeps_its_message_id(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, inbox: Inbox
) -> None:
    await _contacts(client, clinic, admin)
    await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), PATIENT)
    await _deliver(settings)
    # as after a lapsed lease: the same deliveries are sent again
    await rows(settings, "UPDATE deliveries SET status = 'pending', next_attempt_at = now()")
    await _deliver(settings)
    first, again = inbox.to(PATIENT["email"])
    assert first.message["Message-ID"] == again.message["Message-ID"]
    assert first.message["Date"] == again.message["Date"]
    (doctor_first, _) = inbox.to(DOCTOR_EMAIL)
    assert doctor_first.message["Message-ID"] != first.message["Message-ID"]  # one id per recipient
