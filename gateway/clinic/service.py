"""Decisions about the clinic's set-up: what is valid, who belongs to which organisation."""

from __future__ import annotations

import itertools
import uuid
from typing import Any

import msgspec

from gateway.auth import Principal
from gateway.clinic import contacts, schemas
from gateway.errors import AlreadyExists, Forbidden, NotFound, ValidationFailed
from gateway.timeutil import zone
from store import clinic as repo
from store.errors import Duplicate, Missing
from store.models import AppointmentType, AvailabilityWindow, DateOverride, Doctor, Organisation
from store.types import Conn, Pool


def _check_minutes(start: int, end: int, where: str) -> None:
    if start % 5 or end % 5:
        raise ValidationFailed(f"{where}: start_minute and end_minute must be multiples of 5")
    if not 0 <= start < end <= 1440:
        raise ValidationFailed(f"{where}: need 0 <= start_minute < end_minute <= 1440, got {start}..{end}")


async def create_organisation(db: Conn, body: schemas.OrganisationIn) -> Organisation:
    try:
        return await repo.create_organisation(db, body.name, body.slug)
    except Duplicate:
        raise AlreadyExists(f"An organisation with slug {body.slug!r} exists already.") from None


def allow(condition: bool, detail: str = "This belongs to another organisation.") -> None:
    """Raise 403 unless ``condition``."""
    if not condition:
        raise Forbidden(detail)


async def create_doctor(db: Conn, who: Principal, body: schemas.DoctorIn) -> Doctor:
    allow(who.administers(body.organisation_id), "Only the organisation's admins may add doctors.")
    zone(body.timezone, "timezone")
    try:
        return await repo.create_doctor(db, body.organisation_id, body.name, body.timezone)
    except Missing:
        raise NotFound(f"Organisation {body.organisation_id} not found.") from None


async def doctor(db: Conn, doctor_id: uuid.UUID) -> Doctor:
    found = await repo.get_doctor(db, doctor_id)
    if found is None:
        raise NotFound(f"Doctor {doctor_id} not found.")
    return found


CONTACT_FIELDS = frozenset({"email", "mobile_phone"})
"""What a doctor may edit of their own profile (the rest is their admins')."""


def public_doctor(found: Doctor) -> schemas.PublicDoctor:
    """The doctor without their contact details (staff-only data)."""
    return schemas.PublicDoctor(
        id=found.id,
        organisation_id=found.organisation_id,
        name=found.name,
        timezone=found.timezone,
        created_at=found.created_at,
    )


async def update_doctor(db: Conn, who: Principal, doctor_id: uuid.UUID, patch: schemas.DoctorPatch) -> Doctor:
    """Edit a doctor: their admins any field, the doctor their own contact details.

    Raises:
        Forbidden: not the doctor's admin (or the doctor, for ``email`` / ``mobile_phone`` alone).
        InvalidEmail, InvalidPhone, InvalidTimezone: 422.
    """
    current = await doctor(db, doctor_id)
    given = schemas.changes(patch)
    if not who.administers(current.organisation_id):
        allow(
            who.manages_doctor(current.organisation_id, current.id) and given.keys() <= CONTACT_FIELDS,
            "Only the doctor's admins may do this; a doctor may change their own email and mobile_phone.",
        )
    if isinstance(given.get("timezone"), str):
        zone(str(given["timezone"]), "timezone")
    if isinstance(given.get("email"), str):
        given["email"] = contacts.email(str(given["email"]), "email")
    if isinstance(given.get("mobile_phone"), str):
        given["mobile_phone"] = contacts.phone(str(given["mobile_phone"]), "mobile_phone")
    updated = await repo.update_doctor(db, doctor_id, msgspec.structs.asdict(current) | given)
    if updated is None:
        raise NotFound(f"Doctor {doctor_id} not found.")
    return updated


def organisation_notices(
    current: Organisation, admin_emails: list[str] | None, low_rating_threshold: int | None
) -> tuple[list[str], int]:
    """The organisation's admin addresses and low-rating threshold after a PATCH (``None``: unchanged).

    Raises:
        InvalidEmail: one of ``admin_emails`` is not an address.
    """
    return (
        current.admin_emails if admin_emails is None else contacts.emails(admin_emails, "admin_emails"),
        current.low_rating_threshold if low_rating_threshold is None else low_rating_threshold,
    )


def _check_type(values: dict[str, Any]) -> None:
    cutoff = values.get("same_day_cutoff_minute")
    if cutoff is not None and not values["same_day_allowed"]:
        raise ValidationFailed("same_day_cutoff_minute only applies when same_day_allowed is true")
    needs = {
        "token": ("token_amount_cents",),
        "advance": ("fee_cents", "advance_percent"),
        "full": ("fee_cents",),
    }.get(values.get("payment_mode", "none"), ())
    missing = [field for field in needs if values.get(field) is None]
    if missing:
        raise ValidationFailed(f"payment_mode {values['payment_mode']!r} needs {', '.join(missing)}")


async def _check_doctors(db: Conn, organisation_id: uuid.UUID, doctor_ids: list[uuid.UUID]) -> None:
    """422 ``doctor_not_in_organisation`` unless every one of ``doctor_ids`` is a doctor of the organisation."""
    if not doctor_ids:
        return
    ours = {d.id for d in await repo.list_doctors(db, organisation_id)}
    strangers = sorted({str(d) for d in doctor_ids if d not in ours})
    if strangers:
        raise ValidationFailed(
            f"doctor_ids: not doctors of this type's organisation: {', '.join(strangers)}",
            code="doctor_not_in_organisation",
            field="doctor_ids",
        )


def _strangers_refused() -> ValidationFailed:
    # a doctor moved away between the check and the write: the foreign keys refused it
    return ValidationFailed(
        "doctor_ids: not doctors of this type's organisation", code="doctor_not_in_organisation", field="doctor_ids"
    )


async def create_type(db: Pool, who: Principal, body: schemas.AppointmentTypeIn) -> AppointmentType:
    allow(who.administers(body.organisation_id), "Only the organisation's admins may add appointment types.")
    values = msgspec.structs.asdict(body)
    _check_type(values)
    await _check_doctors(db, body.organisation_id, body.doctor_ids)
    try:
        async with db.acquire() as conn, conn.transaction():
            created = await repo.create_type(conn, body.organisation_id, values)
            if body.doctor_ids:
                doctor_ids = await repo.set_type_doctors(conn, created.id, body.organisation_id, body.doctor_ids)
                created = msgspec.structs.replace(created, doctor_ids=doctor_ids)
    except Missing as exc:
        if exc.args and "doctor" in str(exc.args[0]):
            raise _strangers_refused() from None
        raise NotFound(f"Organisation {body.organisation_id} not found.") from None
    return created


async def appointment_type(db: Conn, type_id: uuid.UUID) -> AppointmentType:
    found = await repo.get_type(db, type_id)
    if found is None:
        raise NotFound(f"Appointment type {type_id} not found.")
    return found


async def update_type(
    db: Pool, who: Principal, type_id: uuid.UUID, patch: schemas.AppointmentTypePatch
) -> AppointmentType:
    current = await appointment_type(db, type_id)
    allow(who.administers(current.organisation_id), "Only the organisation's admins may edit appointment types.")
    values = msgspec.structs.asdict(current) | schemas.changes(patch)
    _check_type(values)
    doctor_ids = None if isinstance(patch.doctor_ids, msgspec.UnsetType) else patch.doctor_ids
    if doctor_ids is not None:
        await _check_doctors(db, current.organisation_id, doctor_ids)
    try:
        async with db.acquire() as conn, conn.transaction():  # the rules and the doctors change together
            if doctor_ids is not None:
                await repo.set_type_doctors(conn, type_id, current.organisation_id, doctor_ids)
            updated = await repo.update_type(conn, type_id, values)
    except Missing:
        raise _strangers_refused() from None
    if updated is None:
        raise NotFound(f"Appointment type {type_id} not found.")
    return updated


async def type_doctors(db: Conn, who: Principal, type_id: uuid.UUID) -> AppointmentType:
    """The type, if ``who`` is staff of its organisation (its doctors read which of them offer it).

    Raises:
        NotFound: no such type, or one of an organisation ``who`` is not staff of.
    """
    found = await repo.get_type(db, type_id)
    if found is None or not who.is_staff_of(found.organisation_id):
        raise NotFound(f"Appointment type {type_id} not found.")
    return found


async def set_type_doctors(
    db: Pool, who: Principal, type_id: uuid.UUID, body: schemas.TypeDoctorsIn
) -> schemas.TypeDoctorsOut:
    """Limit a type to some of its organisation's doctors (``[]``: all of them again).

    Raises:
        NotFound: no such type (for ``who``).
        Forbidden: not an admin of the type's organisation.
        ValidationFailed: ``doctor_not_in_organisation``, a doctor that is unknown or of another
            organisation.
    """
    current = await type_doctors(db, who, type_id)
    allow(who.administers(current.organisation_id), "Only the organisation's admins may choose a type's doctors.")
    await _check_doctors(db, current.organisation_id, body.doctor_ids)
    try:
        async with db.acquire() as conn, conn.transaction():
            doctor_ids = await repo.set_type_doctors(conn, type_id, current.organisation_id, body.doctor_ids)
    except Missing:
        raise _strangers_refused() from None
    return schemas.TypeDoctorsOut(appointment_type_id=type_id, doctor_ids=doctor_ids)


def _check_window(values: dict[str, Any]) -> None:
    _check_minutes(values["start_minute"], values["end_minute"], "window")
    first, last = values.get("valid_from"), values.get("valid_until")
    if first is not None and last is not None and first > last:
        raise ValidationFailed("valid_from must not be after valid_until")


async def managed_doctor(db: Conn, who: Principal, doctor_id: uuid.UUID) -> Doctor:
    """The doctor, if ``who`` may manage their availability (their admins, or the doctor)."""
    found = await doctor(db, doctor_id)
    allow(who.manages_doctor(found.organisation_id, found.id), "Only the doctor and their admins may do this.")
    return found


async def create_window(db: Conn, who: Principal, doctor_id: uuid.UUID, body: schemas.WindowIn) -> AvailabilityWindow:
    await managed_doctor(db, who, doctor_id)
    values = msgspec.structs.asdict(body)
    _check_window(values)
    return await repo.create_window(db, doctor_id, values)


async def update_window(
    db: Conn, who: Principal, doctor_id: uuid.UUID, window_id: uuid.UUID, patch: schemas.WindowPatch
) -> AvailabilityWindow:
    await managed_doctor(db, who, doctor_id)
    current = await repo.get_window(db, doctor_id, window_id)
    if current is None:
        raise NotFound(f"Window {window_id} not found for doctor {doctor_id}.")
    values = msgspec.structs.asdict(current) | schemas.changes(patch)
    _check_window(values)
    updated = await repo.update_window(db, doctor_id, window_id, values)
    if updated is None:
        raise NotFound(f"Window {window_id} not found for doctor {doctor_id}.")
    return updated


async def delete_window(db: Conn, who: Principal, doctor_id: uuid.UUID, window_id: uuid.UUID) -> None:
    await managed_doctor(db, who, doctor_id)
    if await repo.delete_window(db, doctor_id, window_id) is None:
        raise NotFound(f"Window {window_id} not found for doctor {doctor_id}.")


async def set_override(db: Conn, who: Principal, doctor_id: uuid.UUID, body: schemas.DateOverrideIn) -> DateOverride:
    await managed_doctor(db, who, doctor_id)
    if isinstance(body.available, msgspec.UnsetType) and isinstance(body.windows, msgspec.UnsetType):
        raise ValidationFailed("Say available: false for a day off, or give the day's windows.")
    windows = [] if isinstance(body.windows, msgspec.UnsetType) else body.windows
    available = bool(windows) if isinstance(body.available, msgspec.UnsetType) else body.available
    if not available and windows:
        raise ValidationFailed("A day off (available: false) has no windows.")
    if available and not windows:
        raise ValidationFailed("Give the day's windows, or available: false for a day off.")
    ordered = sorted(windows, key=lambda w: w.start_minute)
    for w in ordered:
        _check_minutes(w.start_minute, w.end_minute, "windows")
    for a, b in itertools.pairwise(ordered):
        if b.start_minute < a.end_minute:
            raise ValidationFailed("An override's windows must not overlap.")
    plain = [{"start_minute": w.start_minute, "end_minute": w.end_minute} for w in ordered]
    return await repo.upsert_override(db, doctor_id, body.date, available, plain)
