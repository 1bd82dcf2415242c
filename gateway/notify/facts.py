"""What one delivery is about, read from the store when it is sent: the doctor, the type, the link.

An outbox row carries the appointment as it was at the change (``store.outbox.snapshot``); the
names around it (doctor, appointment type, organisation) are read at sending time, as is the
appointment's current row, for its calendar file (whose ``SEQUENCE`` must be the latest).
"""

from __future__ import annotations

import dataclasses
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gateway.notify.links import LIFETIME_AFTER_END, ManageLinks
from gateway.notify.render import Facts
from store import appointments as appointments_repo
from store import clinic as clinic_repo
from store.models import Appointment, AppointmentType, Doctor
from store.outbox import Delivery
from store.types import Conn


@dataclass(frozen=True)
class Gathered:
    """A delivery's facts, and what its calendar file is made of (``None`` without an appointment)."""

    facts: Facts
    appointment: Appointment | None = None
    doctor: Doctor | None = None
    appointment_type: AppointmentType | None = None


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


async def _previous(db: Conn, snapshot: dict[str, Any], doctor: Doctor | None) -> dict[str, Any] | None:
    """The appointment a reschedule replaced: its time and its doctor (who may differ)."""
    raw = snapshot.get("previous_appointment_id")
    old = await appointments_repo.get(db, uuid.UUID(raw)) if raw else None
    if old is None:
        return None
    old_doctor = doctor if doctor is not None and doctor.id == old.doctor_id else None
    old_doctor = old_doctor or await clinic_repo.get_doctor(db, old.doctor_id)
    return {
        "start": _iso(old.starts_at),
        "end": _iso(old.ends_at),
        "doctor_id": str(old.doctor_id),
        "doctor_name": old_doctor.name if old_doctor else "another doctor",
        "doctor_email": old_doctor.email if old_doctor else None,
    }


async def gather(db: Conn, delivery: Delivery, links: ManageLinks, public_url: str) -> Gathered:
    """Read what ``delivery``'s message needs besides its own data."""
    organisation = await clinic_repo.get_organisation(db, delivery.organisation_id)
    snapshot: dict[str, Any] = delivery.data.get("appointment") or {}
    facts = Facts(
        event_type=delivery.event_type,
        recipient=delivery.recipient,
        target=delivery.target,
        data=delivery.data,
        organisation_name=organisation.name if organisation else "",
        public_url=public_url,
    )
    if not snapshot:
        return Gathered(facts)
    doctor = await clinic_repo.get_doctor(db, uuid.UUID(snapshot["doctor_id"]))
    appointment_type = await clinic_repo.get_type(db, uuid.UUID(snapshot["appointment_type_id"]))
    current = await appointments_repo.get(db, uuid.UUID(snapshot["id"]))
    manage_url = None
    ends_at = datetime.fromisoformat(snapshot["end"])
    if delivery.recipient == "patient" and ends_at + LIFETIME_AFTER_END > datetime.now(UTC):
        manage_url = links.url(uuid.UUID(snapshot["id"]), ends_at)  # a lapsed link would only disappoint
    previous = None
    if delivery.event_type == "appointment.rescheduled":
        previous = await _previous(db, snapshot, doctor)
    facts = dataclasses.replace(
        facts,
        doctor=doctor,
        type_name=appointment_type.name if appointment_type else None,
        manage_url=manage_url,
        previous=previous,
    )
    return Gathered(facts, current, doctor, appointment_type)
