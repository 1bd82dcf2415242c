"""Who is told what, on which channel: the one table the email and the SMS channels both read.

By email:

=========================  ==========================================================
event                      recipients
=========================  ==========================================================
appointment.booked         the patient; the doctor (when they have an email address)
appointment.approved       the patient
appointment.cancelled      the patient; the doctor
appointment.rescheduled    the patient; the new doctor, and the old one when it changed
appointment.completed      the patient (thanks, and where to rate the visit)
appointment.reminder       the rule's recipient only (patient, doctor or the admins), if the rule sends email
review.low_rating          the organisation's ``admin_emails``
webhook.disabled           the organisation's ``admin_emails``
=========================  ==========================================================

By SMS: only reminders whose rule has ``send_sms``, to the patient's phone or the doctor's
``mobile_phone`` (admins have no numbers). A number that is not E.164 is skipped with a log line:
patients type their phone number freely, and the gateway has no way of guessing its country.

Every other event (``appointment.no_show``, ``review.created``) is for webhooks alone.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from gateway.clinic.contacts import is_e164
from store import appointments as appointments_repo
from store import clinic as clinic_repo
from store.models import Doctor, Organisation
from store.outbox import Message, Target
from store.types import Conn

logger = logging.getLogger("gateway.notify")

Channel = Literal["email", "sms"]

PATIENT_EMAILS = frozenset(
    {
        "appointment.booked",
        "appointment.approved",
        "appointment.cancelled",
        "appointment.rescheduled",
        "appointment.completed",
    }
)
DOCTOR_EMAILS = frozenset({"appointment.booked", "appointment.cancelled", "appointment.rescheduled"})
ADMIN_EMAILS = frozenset({"review.low_rating", "webhook.disabled"})
REMINDER = "appointment.reminder"


@dataclass(frozen=True)
class Parties:
    """The people a message may concern, as they are now."""

    organisation: Organisation | None
    doctor: Doctor | None
    previous_doctor: Doctor | None = None
    """After a reschedule to another doctor: the doctor the appointment left."""


def decide(event_type: str, data: dict[str, Any], parties: Parties, channel: Channel) -> list[Target]:
    """The deliveries one message makes on one channel (no I/O: the table above, as code)."""
    appointment: dict[str, Any] = data.get("appointment") or {}
    patient: dict[str, Any] = appointment.get("patient") or {}
    wanted: list[tuple[str, str | None]] = []  # (recipient, address)
    if event_type == REMINDER:
        rule: dict[str, Any] = data.get("reminder") or {}
        if not rule.get("send_sms" if channel == "sms" else "send_email"):
            return []
        wanted += _people(str(rule.get("recipient")), patient, parties, channel)
    elif channel == "email":
        if event_type in PATIENT_EMAILS:
            wanted += _people("patient", patient, parties, channel)
        if event_type in DOCTOR_EMAILS:
            wanted += _people("doctor", patient, parties, channel)
            if parties.previous_doctor is not None and event_type == "appointment.rescheduled":
                wanted.append(("doctor", parties.previous_doctor.email))
        if event_type in ADMIN_EMAILS:
            wanted += _people("admins", patient, parties, channel)
    targets: list[Target] = []
    seen: set[str] = set()
    for recipient, address in wanted:
        if not address:
            continue
        if channel == "sms" and not is_e164(address):
            logger.info(
                "notify: %s SMS to the %s skipped: %r is not an E.164 number", event_type, recipient, address[:40]
            )
            continue
        if address.casefold() not in seen:  # one message to one address once, whoever it is for
            seen.add(address.casefold())
            targets.append(Target(channel, recipient, address))
    return targets


def _people(
    recipient: str, patient: dict[str, Any], parties: Parties, channel: Channel
) -> list[tuple[str, str | None]]:
    doctor, organisation = parties.doctor, parties.organisation
    if recipient == "patient":
        return [("patient", patient.get("phone" if channel == "sms" else "email"))]
    if recipient == "doctor" and doctor is not None:
        return [("doctor", doctor.mobile_phone if channel == "sms" else doctor.email)]
    if recipient == "admins" and organisation is not None and channel == "email":
        return [("admins", address) for address in organisation.admin_emails]
    return []


async def parties(db: Conn, message: Message) -> Parties:
    """Read the organisation, the appointment's doctor and (after a move between doctors) the old one."""
    organisation = await clinic_repo.get_organisation(db, message.organisation_id)
    appointment: dict[str, Any] = message.data.get("appointment") or {}
    doctor = await clinic_repo.get_doctor(db, uuid.UUID(appointment["doctor_id"])) if appointment else None
    previous_doctor = None
    if message.event_type == "appointment.rescheduled" and appointment.get("previous_appointment_id"):
        previous = await appointments_repo.get(db, uuid.UUID(appointment["previous_appointment_id"]))
        if previous is not None and previous.doctor_id != uuid.UUID(appointment["doctor_id"]):
            previous_doctor = await clinic_repo.get_doctor(db, previous.doctor_id)
    return Parties(organisation, doctor, previous_doctor)


async def targets(db: Conn, message: Message, channel: Channel) -> list[Target]:
    """The deliveries ``message`` makes on ``channel``."""
    if message.event_type not in PATIENT_EMAILS | DOCTOR_EMAILS | ADMIN_EMAILS | {REMINDER}:
        return []
    if channel == "sms" and message.event_type != REMINDER:
        return []
    return decide(message.event_type, message.data, await parties(db, message), channel)
