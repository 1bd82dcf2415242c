"""Request and response bodies of the booking routes."""

from __future__ import annotations

import uuid
from typing import Annotated, Any

import msgspec
from msgspec import Meta


class SlotOut(msgspec.Struct, frozen=True):
    start: str
    end: str


class SlotsOut(msgspec.Struct, frozen=True, kw_only=True):
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    timezone: str
    seq: int
    slots: list[SlotOut]


class HoldIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: Annotated[str, Meta(description="ISO 8601 instant with offset, e.g. 2026-05-04T09:00:00Z")]
    override_notice: Annotated[
        bool, Meta(description="Organisation admins only: ignore the type's notice and same-day rules")
    ] = False


class MeetNowIn(msgspec.Struct, forbid_unknown_fields=True):
    appointment_type_id: uuid.UUID


class HoldOut(msgspec.Struct, frozen=True, kw_only=True):
    hold_id: uuid.UUID
    hold_token: str
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: str
    end: str
    expires_at: str
    status: str = "held"
    appointment_id: uuid.UUID | None = None


Email = Annotated[str, Meta(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)]


class PatientIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Annotated[str, Meta(min_length=1, max_length=200)]
    email: Email
    phone: Annotated[str, Meta(max_length=40)] | None = None
    timezone: str | None = None


class PaymentIn(msgspec.Struct, forbid_unknown_fields=True):
    reference: Annotated[str, Meta(min_length=1, max_length=200, description="The caller's payment reference")]


class ConfirmIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    patient: PatientIn
    payment: PaymentIn | None = None


class PatientOut(msgspec.Struct, frozen=True, kw_only=True):
    name: str
    email: str
    phone: str | None
    timezone: str | None
    ref: str | None
    issuer: str | None = None
    """Who issued ``ref``: ``partner`` (a partner's patient reference) or ``session`` (the public page)."""


class AppointmentOut(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    patient: PatientOut
    start: str
    end: str
    status: str
    join_url: str
    """The gateway's own join link (``GET`` it with the caller's bearer token inside the join window);
    the room's address itself is never part of an appointment."""
    previous_appointment_id: uuid.UUID | None
    cancellation: dict[str, Any] | None
    hold_id: uuid.UUID | None
    reschedule_count: int
    payment: dict[str, Any] | None
    created_by: str
    created_at: str
    updated_at: str
    notice_overridden: bool = False
    """Staff booked it inside the type's notice or same-day rules (the front desk's override)."""
    notice_overridden_by: str | None = None
    reference: str = ""
    """A short human booking reference (``BK-7F3A9C01``), derived from the id: the same for the
    appointment's whole life, for the patient to quote to the clinic."""


class ConfirmOut(msgspec.Struct, frozen=True):
    appointment: AppointmentOut
    manage_url: str | None = None
    """For patient callers: the appointment's "manage my booking" page (see the message of every
    email); ``None`` for staff."""
