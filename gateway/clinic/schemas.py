"""Request bodies of the clinic set-up routes. Responses are the store's structs."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Literal

import msgspec
from msgspec import UNSET, Meta, UnsetType

Name = Annotated[str, Meta(min_length=1, max_length=200)]
Slug = Annotated[str, Meta(pattern=r"^[a-z0-9][a-z0-9-]{0,62}$", description="lowercase letters, digits, -")]
Minute = Annotated[int, Meta(ge=0, le=1440, description="minutes since local midnight, multiple of 5")]
Weekday = Annotated[int, Meta(ge=1, le=7, description="ISO weekday: 1 = Monday … 7 = Sunday")]
Buffer = Annotated[int, Meta(ge=0, le=240, multiple_of=5)]
Duration = Annotated[int, Meta(ge=5, le=720, multiple_of=5)]
HoldTtl = Annotated[int, Meta(ge=10, le=7200)]
NonNegative = Annotated[int, Meta(ge=0, le=525_600)]
AdvanceDays = Annotated[int, Meta(ge=1, le=730)]
RebookingMode = Literal["same_doctor", "any_doctor"]
PaymentMode = Literal["none", "token", "advance", "full"]
Cents = Annotated[int, Meta(ge=0, le=100_000_000)]
Percent = Annotated[int, Meta(ge=1, le=100)]
Currency = Annotated[str, Meta(pattern=r"^[A-Z]{3}$")]
DoctorIds = Annotated[
    list[uuid.UUID],
    Meta(max_length=500, description="the doctors who offer the type; empty: every doctor of the organisation"),
]


class OrganisationIn(msgspec.Struct, forbid_unknown_fields=True):
    name: Name
    slug: Slug


class DoctorIn(msgspec.Struct, forbid_unknown_fields=True):
    organisation_id: uuid.UUID
    name: Name
    timezone: Annotated[str, Meta(description="IANA zone, e.g. Europe/Berlin")]


ContactEmail = Annotated[str, Meta(max_length=254, description="an email address; null clears")]
MobilePhone = Annotated[str, Meta(max_length=40, description="E.164, e.g. +4915123456789; null clears")]


class DoctorPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """Edit a doctor: admins any field; the doctor their own ``email`` and ``mobile_phone``."""

    name: Name | UnsetType = UNSET
    timezone: Annotated[str, Meta(description="IANA zone, e.g. Europe/Berlin")] | UnsetType = UNSET
    email: ContactEmail | UnsetType | None = UNSET
    mobile_phone: MobilePhone | UnsetType | None = UNSET


class PublicDoctor(msgspec.Struct, frozen=True, kw_only=True):
    """A doctor as anyone may see them: no contact details (those are for the organisation's staff)."""

    id: uuid.UUID
    organisation_id: uuid.UUID
    name: str
    timezone: str
    created_at: datetime


AdminEmail = Annotated[str, Meta(max_length=254)]
LowRatingThreshold = Annotated[
    int, Meta(ge=0, le=5, description="a review rated at or under this alerts the admins (0: never)")
]
AdminEmails = Annotated[
    list[AdminEmail], Meta(max_length=20, description="where admin notices go (low ratings, a disabled webhook)")
]


class AppointmentTypeIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    organisation_id: uuid.UUID
    name: Name
    duration_minutes: Duration
    hold_ttl_seconds: HoldTtl = 900
    buffer_minutes: Buffer = 0
    min_notice_minutes: NonNegative = 0
    max_advance_days: AdvanceDays = 60
    same_day_allowed: bool = True
    same_day_cutoff_minute: Minute | None = None
    cancellation_notice_minutes: NonNegative = 0
    max_reschedules: Annotated[int, Meta(ge=0, le=100)] | None = None
    rebooking_mode: RebookingMode = "same_doctor"
    requires_approval: bool = False
    max_active_per_patient: Annotated[int, Meta(ge=1, le=1000)] | None = None
    payment_mode: PaymentMode = "none"
    fee_cents: Cents | None = None
    token_amount_cents: Cents | None = None
    advance_percent: Percent | None = None
    currency: Currency = "EUR"
    doctor_ids: DoctorIds = []


class AppointmentTypePatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    name: Name | UnsetType = UNSET
    duration_minutes: Duration | UnsetType = UNSET
    hold_ttl_seconds: HoldTtl | UnsetType = UNSET
    buffer_minutes: Buffer | UnsetType = UNSET
    min_notice_minutes: NonNegative | UnsetType = UNSET
    max_advance_days: AdvanceDays | UnsetType = UNSET
    same_day_allowed: bool | UnsetType = UNSET
    same_day_cutoff_minute: Minute | UnsetType | None = UNSET
    cancellation_notice_minutes: NonNegative | UnsetType = UNSET
    max_reschedules: Annotated[int, Meta(ge=0, le=100)] | UnsetType | None = UNSET
    rebooking_mode: RebookingMode | UnsetType = UNSET
    requires_approval: bool | UnsetType = UNSET
    max_active_per_patient: Annotated[int, Meta(ge=1, le=1000)] | UnsetType | None = UNSET
    payment_mode: PaymentMode | UnsetType = UNSET
    fee_cents: Cents | UnsetType | None = UNSET
    token_amount_cents: Cents | UnsetType | None = UNSET
    advance_percent: Percent | UnsetType | None = UNSET
    currency: Currency | UnsetType = UNSET
    doctor_ids: DoctorIds | UnsetType = UNSET


class TypeDoctorsIn(msgspec.Struct, forbid_unknown_fields=True):
    """The doctors who offer an appointment type; ``[]``: every doctor of its organisation."""

    doctor_ids: DoctorIds


class TypeDoctorsOut(msgspec.Struct, frozen=True, kw_only=True):
    appointment_type_id: uuid.UUID
    doctor_ids: list[uuid.UUID]
    """Empty: every doctor of the organisation offers the type."""


class DirectoryOrganisation(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    slug: str


class DirectoryService(msgspec.Struct, frozen=True, kw_only=True):
    """An appointment type as a patient choosing one sees it: what it is, what it costs, who offers it."""

    id: uuid.UUID
    name: str
    duration_minutes: int
    requires_approval: bool
    payment_mode: str
    fee_cents: int | None
    token_amount_cents: int | None
    advance_percent: int | None
    currency: str
    doctor_ids: list[uuid.UUID]
    """The doctors who offer it (every doctor of the organisation when the type names none)."""


class DirectoryDoctor(msgspec.Struct, frozen=True, kw_only=True):
    id: uuid.UUID
    name: str
    timezone: str


class ClinicDirectory(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/clinics/{slug}``: what a public clinic page needs to let a patient choose."""

    organisation: DirectoryOrganisation
    services: list[DirectoryService]
    doctors: list[DirectoryDoctor]


class WindowIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    weekday: Weekday
    start_minute: Minute
    end_minute: Minute
    buffer_minutes: Buffer = 0
    valid_from: date | None = None
    valid_until: date | None = None
    active: bool = True


class WindowPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    weekday: Weekday | UnsetType = UNSET
    start_minute: Minute | UnsetType = UNSET
    end_minute: Minute | UnsetType = UNSET
    buffer_minutes: Buffer | UnsetType = UNSET
    valid_from: date | UnsetType | None = UNSET
    valid_until: date | UnsetType | None = UNSET
    active: bool | UnsetType = UNSET


class OverrideWindowIn(msgspec.Struct, forbid_unknown_fields=True):
    start_minute: Minute
    end_minute: Minute


class DateOverrideIn(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    date: date
    available: bool | UnsetType = UNSET
    windows: Annotated[list[OverrideWindowIn], Meta(max_length=24)] | UnsetType = UNSET


def changes(patch: msgspec.Struct) -> dict[str, object]:
    """The fields a PATCH body sets."""
    return {f: v for f in patch.__struct_fields__ if (v := getattr(patch, f)) is not UNSET}
