"""SMS reminders through a Twilio-style Messages endpoint (a small HTTP server on loopback): the form
fields and credentials it receives, who gets a text, and what each answer comes to."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator
from typing import Any, ClassVar

import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.appointments.rooms import Rooms
from gateway.notify.assembly import build_worker
from gateway.notify.sms import SmsChannel
from gateway.notify.worker import Worker
from gateway.settings import Settings
from store import appointments as appointments_repo
from store import outbox
from tests.integration.notify.messaging_support import (
    SmsReceiver,
    confirm,
    deliveries,
    pool,
    settle,
    sms_receiver,
    with_notify,
)
from tests.support import Clinic, patient

Client = AsyncTestClient[Litestar]
PATIENT_PHONE = "+4915123456789"
DOCTOR_PHONE = "+4930901820"
SENDER = "+15005550006"


class QuickSms(SmsChannel):
    schedule: ClassVar[tuple[float, ...]] = (0.0, 0.0)


@pytest.fixture
def receiver() -> Iterator[SmsReceiver]:
    with sms_receiver() as found:
        yield found


@pytest.fixture
def settings(settings: Settings, receiver: SmsReceiver) -> Settings:
    return with_notify(settings, sms_url=receiver.url, sms_token="AC123:s3cret", sms_from=SENDER)


async def _booked(
    client: Client, clinic: Clinic, admin: dict[str, str], phone: str | None = PATIENT_PHONE
) -> dict[str, Any]:
    r = await client.patch(f"/v1/admin/doctors/{clinic.doctor_id}", json={"mobile_phone": DOCTOR_PHONE}, headers=admin)
    assert r.status_code == 200, r.text
    person = {"name": "Pat", "email": "pat@example.org", "phone": phone, "timezone": "Asia/Tokyo"}
    return await confirm(client, clinic, clinic.at(3, 9), await patient(client, clinic), person)


async def _remind(settings: Settings, appointment_id: str, recipient: str, *, sms: bool = True) -> None:
    async with pool(settings) as db:
        a = await appointments_repo.get(db, uuid.UUID(appointment_id))
        assert a is not None
        rule = {"rule_id": str(uuid.uuid4()), "recipient": recipient, "minutes_before": 60,
                "send_email": not sms, "send_sms": sms}  # fmt: skip
        data = {"appointment": outbox.snapshot(a), "reminder": rule}
        await outbox.enqueue(db, a.organisation_id, "appointment.reminder", data, appointment_id=a.id)


async def _deliver(settings: Settings, quick: bool = False) -> None:
    async with pool(settings) as db:
        worker = Worker(db, [QuickSms.from_settings(settings, db)]) if quick else build_worker(settings, db)
        await settle(worker, settings)


async def test_a_patients_reminder_is_posted_with_the_form_fields_and_basic_auth(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, receiver: SmsReceiver
) -> None:
    booked = await _booked(client, clinic, admin)
    await _deliver(settings)
    assert receiver.requests == []  # bookings are told by email and webhooks, never by SMS
    await _remind(settings, booked["id"], "patient")
    await _deliver(settings)

    (request,) = receiver.requests
    assert request.path == "/2010-04-01/Accounts/AC123/Messages.json"
    assert request.auth == ("AC123", "s3cret")
    assert set(request.form) == {"To", "From", "Body"}
    assert request.form["To"] == PATIENT_PHONE and request.form["From"] == SENDER
    body = request.form["Body"]
    assert len(body) <= 160
    assert body.startswith("Reminder: 30 min with Dr. Test")
    assert "Asia/Tokyo" in body and booked["id"][:8].upper() in body
    room = Rooms(settings.secret_key, settings.meeting_url_template).room(uuid.UUID(clinic.doctor_id))
    assert room not in body and "meet.jit.si" not in body
    (found,) = await deliveries(settings, "sms")
    assert (found["recipient"], found["target"], found["status"], found["attempts"], found["last_status_code"]) == (
        "patient", PATIENT_PHONE, "delivered", 1, 201,
    )  # fmt: skip
    assert await deliveries(settings, "email") == []  # no SMTP configured: no email deliveries at all


async def test_a_doctors_reminder_goes_to_their_mobile_and_a_messaging_service_replaces_from(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, receiver: SmsReceiver
) -> None:
    service = with_notify(settings, sms_from="MG0123456789abcdef0123456789abcdef")
    booked = await _booked(client, clinic, admin)
    await _remind(service, booked["id"], "doctor")
    await _remind(service, booked["id"], "patient", sms=False)  # an email-only rule: no SMS
    await _deliver(service)
    (request,) = receiver.requests
    assert request.form["To"] == DOCTOR_PHONE
    assert request.form["MessagingServiceSid"] == "MG0123456789abcdef0123456789abcdef"
    assert "From" not in request.form
    assert request.form["Body"].startswith("Reminder: Pat, 30 min")
    assert "Europe/Berlin" in request.form["Body"]  # the doctor's zone, not the patient's


async def test_a_patient_number_that_is_not_e164_is_skipped_with_a_log_line(
    client: Client,
    clinic: Clinic,
    admin: dict[str, str],
    settings: Settings,
    receiver: SmsReceiver,
    caplog: pytest.LogCaptureFixture,
) -> None:
    booked = await _booked(client, clinic, admin, phone="0151 2345678")
    await _remind(settings, booked["id"], "patient")
    with caplog.at_level(logging.INFO, logger="gateway.notify"):
        await _deliver(settings)
    assert receiver.requests == []
    assert await deliveries(settings, "sms") == []
    assert any("not an E.164 number" in r.getMessage() for r in caplog.records)


async def test_a_refusal_is_permanent_and_keeps_the_providers_error(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, receiver: SmsReceiver
) -> None:
    receiver.replies = [
        (400, {"code": 21211, "message": "The 'To' number is not a valid phone number.", "status": 400})
    ]
    booked = await _booked(client, clinic, admin)
    await _remind(settings, booked["id"], "patient")
    await _deliver(settings, quick=True)
    assert len(receiver.requests) == 1
    (found,) = await deliveries(settings, "sms")
    assert (found["status"], found["attempts"], found["last_status_code"]) == ("failed", 1, 400)
    assert "21211" in found["last_error"] and "not a valid phone number" in found["last_error"]


@pytest.mark.parametrize("status", [500, 429])
async def test_a_server_error_or_throttling_is_retried(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, receiver: SmsReceiver, status: int
) -> None:
    receiver.replies = [(status, {"code": 20500, "message": "Internal error"})]
    booked = await _booked(client, clinic, admin)
    await _remind(settings, booked["id"], "patient")
    await _deliver(settings, quick=True)
    assert [r.form["To"] for r in receiver.requests] == [PATIENT_PHONE, PATIENT_PHONE]
    (found,) = await deliveries(settings, "sms")
    assert (found["status"], found["attempts"], found["last_status_code"]) == ("delivered", 2, 201)


async def test_a_provider_that_keeps_failing_ends_failed(
    client: Client, clinic: Clinic, admin: dict[str, str], settings: Settings, receiver: SmsReceiver
) -> None:
    receiver.replies = [(503, {"message": "down"})] * 5
    booked = await _booked(client, clinic, admin)
    await _remind(settings, booked["id"], "patient")
    await _deliver(settings, quick=True)
    assert len(receiver.requests) == 3
    (found,) = await deliveries(settings, "sms")
    assert (found["status"], found["attempts"], found["last_status_code"]) == ("failed", 3, 503)
