"""Request and response bodies of the front desk's routes."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from msgspec import Meta

from gateway.booking.schemas import PatientIn, PaymentIn
from gateway.clinic.schemas import DirectoryDoctor, DirectoryOrganisation


class LiveHoldOut(msgspec.Struct, frozen=True, kw_only=True):
    """A live hold as staff see it: where and until when, never its token."""

    hold_id: uuid.UUID
    doctor_id: uuid.UUID
    start: str
    end: str
    expires_at: str


class LiveHoldsOut(msgspec.Struct, frozen=True, kw_only=True):
    organisation_id: uuid.UUID
    holds: list[LiveHoldOut]


class DeskSlotOut(msgspec.Struct, frozen=True, kw_only=True):
    start: str
    end: str
    inside_notice: bool
    """Free, but inside the type's notice or same-day rules: staff may book it with ``override_notice``."""


class DeskSlotsOut(msgspec.Struct, frozen=True, kw_only=True):
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    timezone: str
    seq: int
    slots: list[DeskSlotOut]


class DeskBookingIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    start: Annotated[str, Meta(description="ISO 8601 instant with offset, e.g. 2026-05-04T09:00:00Z")]
    patient: PatientIn
    override_notice: Annotated[
        bool,
        Meta(description="Book inside the type's notice or same-day rules (admins); the appointment is marked"),
    ] = False
    payment: PaymentIn | None = None


class DeskMeetNowIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    patient: PatientIn
    payment: PaymentIn | None = None


class DeskType(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    duration_minutes: int
    min_notice_minutes: int
    payment_mode: str
    doctor_ids: list[uuid.UUID] = []
    """The doctors who offer it; empty: every doctor of the organisation."""


class DeskOut(msgspec.Struct, frozen=True, kw_only=True):
    """What the desk page needs to start: the organisation (found by id or slug), its doctors and types."""

    organisation: DirectoryOrganisation  # the organisation and its doctors as the public directory shows them
    doctors: list[DirectoryDoctor]
    appointment_types: list[DeskType]
