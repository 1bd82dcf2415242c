"""What the repositories return: msgspec structs, never raw records."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Any, TypeVar

import msgspec


class Organisation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    slug: str
    created_at: datetime
    allowed_origins: list[str] = []
    admin_emails: list[str] = []
    """Where notices for the organisation's admins go (a failing webhook, a low rating)."""
    low_rating_threshold: int = 2
    """A review rated at or under this alerts the admins."""
    payment_page_url: str | None = None
    """The booking page's payment hook for this organisation (``None``: the deployment's, if any)."""


class Doctor(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    timezone: str
    created_at: datetime
    email: str | None = None
    mobile_phone: str | None = None
    """E.164, for SMS reminders."""


class AppointmentType(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    duration_minutes: int
    hold_ttl_seconds: int
    buffer_minutes: int
    min_notice_minutes: int
    max_advance_days: int
    same_day_allowed: bool
    same_day_cutoff_minute: int | None
    cancellation_notice_minutes: int
    max_reschedules: int | None
    rebooking_mode: str
    requires_approval: bool
    max_active_per_patient: int | None
    created_at: datetime
    updated_at: datetime
    payment_mode: str = "none"
    fee_cents: int | None = None
    token_amount_cents: int | None = None
    advance_percent: int | None = None
    currency: str = "EUR"
    doctor_ids: list[uuid.UUID] = []
    """The doctors who offer this type; empty: every doctor of its organisation."""

    def offered_by(self, doctor_id: uuid.UUID) -> bool:
        """Does ``doctor_id`` (a doctor of the type's organisation) offer this type?"""
        return not self.doctor_ids or doctor_id in self.doctor_ids


class AvailabilityWindow(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    doctor_id: uuid.UUID
    weekday: int
    start_minute: int
    end_minute: int
    buffer_minutes: int
    valid_from: date | None
    valid_until: date | None
    active: bool
    deleted_at: datetime | None
    created_at: datetime
    updated_at: datetime


class OverrideWindow(msgspec.Struct, frozen=True):
    start_minute: int
    end_minute: int


class DateOverride(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    doctor_id: uuid.UUID
    date: date
    available: bool
    windows: list[OverrideWindow]
    created_at: datetime
    updated_at: datetime


class Appointment(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    organisation_id: uuid.UUID
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    hold_id: uuid.UUID | None
    patient_name: str
    patient_email: str
    patient_phone: str | None
    patient_timezone: str | None
    patient_ref: str | None
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    status: str
    meeting_url: str | None
    previous_appointment_id: uuid.UUID | None
    cancellation: dict[str, Any] | None
    created_at: datetime
    updated_at: datetime
    reschedule_count: int = 0
    ics_sequence: int = 0
    payment: dict[str, Any] | None = None
    created_by: str = "patient"
    notice_overridden: bool = False
    """Booked by staff inside the type's notice or same-day rules (``notice_overridden_by`` says who)."""
    notice_overridden_by: str | None = None


T = TypeVar("T")


def from_record(cls: type[T], record: Any) -> T:
    """Build a struct from an asyncpg record (column names match field names)."""
    return msgspec.convert(dict(record), cls)
