"""Organisations, doctors, appointment types, weekly windows and date overrides."""

from __future__ import annotations

import uuid
from datetime import date
from typing import Any

import asyncpg

from store.errors import Duplicate, Missing
from store.models import (
    AppointmentType,
    AvailabilityWindow,
    DateOverride,
    Doctor,
    Organisation,
    from_record,
)
from store.types import Conn

LOCK_SEEDING = "SELECT pg_advisory_xact_lock(hashtext('gateway-demo-seed'))"
INSERT_ORGANISATION = "INSERT INTO organisations (name, slug) VALUES ($1, $2) RETURNING *"
GET_ORGANISATION = "SELECT * FROM organisations WHERE id = $1"
SET_PAYMENT_PAGE = "UPDATE organisations SET payment_page_url = $2 WHERE id = $1"
GET_ORGANISATION_BY_SLUG = "SELECT * FROM organisations WHERE slug = $1"

INSERT_DOCTOR = "INSERT INTO doctors (organisation_id, name, timezone) VALUES ($1, $2, $3) RETURNING *"
GET_DOCTOR = "SELECT * FROM doctors WHERE id = $1"
EXISTING_DOCTORS = "SELECT id FROM doctors WHERE id = ANY($1::uuid[])"
LIST_DOCTORS = "SELECT * FROM doctors WHERE organisation_id = $1 ORDER BY created_at, id"
UPDATE_DOCTOR = "UPDATE doctors SET name = $2, timezone = $3, email = $4, mobile_phone = $5 WHERE id = $1 RETURNING *"
# Who hears of the organisation's alerts (a low rating, a disabled webhook), and from which rating on.
UPDATE_ORGANISATION_NOTICES = (
    "UPDATE organisations SET admin_emails = $2, low_rating_threshold = $3 WHERE id = $1 RETURNING *"
)

TYPE_FIELDS = (
    "name", "duration_minutes", "hold_ttl_seconds", "buffer_minutes", "min_notice_minutes",
    "max_advance_days", "same_day_allowed", "same_day_cutoff_minute", "cancellation_notice_minutes",
    "max_reschedules", "rebooking_mode", "requires_approval", "max_active_per_patient",
    "payment_mode", "fee_cents", "token_amount_cents", "advance_percent", "currency",
)  # fmt: skip
# A type's doctors ride along with every read of the type (``doctor_ids``, empty: every doctor of
# its organisation), so the schedule cache keeps them with the type.
INSERT_TYPE = (
    "WITH t AS (INSERT INTO appointment_types (organisation_id, name, duration_minutes, hold_ttl_seconds,"
    " buffer_minutes, min_notice_minutes, max_advance_days, same_day_allowed, same_day_cutoff_minute,"
    " cancellation_notice_minutes, max_reschedules, rebooking_mode, requires_approval,"
    " max_active_per_patient, payment_mode, fee_cents, token_amount_cents, advance_percent, currency)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)"
    " RETURNING *) SELECT t.*, '{}'::uuid[] AS doctor_ids FROM t"
)
UPDATE_TYPE = (
    "WITH t AS (UPDATE appointment_types SET name = $2, duration_minutes = $3, hold_ttl_seconds = $4,"
    " buffer_minutes = $5, min_notice_minutes = $6, max_advance_days = $7, same_day_allowed = $8,"
    " same_day_cutoff_minute = $9, cancellation_notice_minutes = $10, max_reschedules = $11,"
    " rebooking_mode = $12, requires_approval = $13, max_active_per_patient = $14, payment_mode = $15,"
    " fee_cents = $16, token_amount_cents = $17, advance_percent = $18, currency = $19, updated_at = now()"
    " WHERE id = $1 RETURNING *) SELECT t.*, ARRAY(SELECT d.doctor_id FROM appointment_type_doctors d"
    " WHERE d.appointment_type_id = t.id ORDER BY d.doctor_id) AS doctor_ids FROM t"
)
GET_TYPE = (
    "SELECT t.*, ARRAY(SELECT d.doctor_id FROM appointment_type_doctors d WHERE d.appointment_type_id = t.id"
    " ORDER BY d.doctor_id) AS doctor_ids FROM appointment_types t WHERE t.id = $1"
)
LIST_TYPES = (
    "SELECT t.*, ARRAY(SELECT d.doctor_id FROM appointment_type_doctors d WHERE d.appointment_type_id = t.id"
    " ORDER BY d.doctor_id) AS doctor_ids FROM appointment_types t WHERE t.organisation_id = $1"
    " ORDER BY t.created_at, t.id"
)
# Replacing a type's doctors: lock the type row first, so two replacements run one after the other.
LOCK_TYPE = "SELECT id FROM appointment_types WHERE id = $1 FOR NO KEY UPDATE"
CLEAR_TYPE_DOCTORS = "DELETE FROM appointment_type_doctors WHERE appointment_type_id = $1"
ADD_TYPE_DOCTORS = (
    "INSERT INTO appointment_type_doctors (appointment_type_id, doctor_id, organisation_id)"
    " SELECT $1, d, $2 FROM unnest($3::uuid[]) AS d"
)
TYPE_DOCTORS = "SELECT doctor_id FROM appointment_type_doctors WHERE appointment_type_id = $1 ORDER BY doctor_id"

WINDOW_FIELDS = (
    "weekday",
    "start_minute",
    "end_minute",
    "buffer_minutes",
    "valid_from",
    "valid_until",
    "active",
)
INSERT_WINDOW = (
    "INSERT INTO availability_windows (doctor_id, weekday, start_minute, end_minute, buffer_minutes,"
    " valid_from, valid_until, active) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) RETURNING *"
)
UPDATE_WINDOW = (
    "UPDATE availability_windows SET weekday = $3, start_minute = $4, end_minute = $5,"
    " buffer_minutes = $6, valid_from = $7, valid_until = $8, active = $9, updated_at = now()"
    " WHERE id = $1 AND doctor_id = $2 AND deleted_at IS NULL RETURNING *"
)
DELETE_WINDOW = (
    "UPDATE availability_windows SET deleted_at = now(), active = false, updated_at = now()"
    " WHERE id = $1 AND doctor_id = $2 AND deleted_at IS NULL RETURNING *"
)
GET_WINDOW = "SELECT * FROM availability_windows WHERE id = $1 AND doctor_id = $2 AND deleted_at IS NULL"
LIST_WINDOWS = (
    "SELECT * FROM availability_windows WHERE doctor_id = $1 AND deleted_at IS NULL ORDER BY weekday, start_minute, id"
)
ACTIVE_WINDOWS = (
    "SELECT * FROM availability_windows WHERE doctor_id = $1 AND deleted_at IS NULL AND active"
    " AND (valid_until IS NULL OR valid_until >= $2) AND (valid_from IS NULL OR valid_from <= $3)"
)

UPSERT_OVERRIDE = (
    "INSERT INTO date_overrides (doctor_id, date, available, windows) VALUES ($1, $2, $3, $4)"
    " ON CONFLICT (doctor_id, date) DO UPDATE SET available = EXCLUDED.available,"
    " windows = EXCLUDED.windows, updated_at = now() RETURNING *"
)
LIST_OVERRIDES = "SELECT * FROM date_overrides WHERE doctor_id = $1 AND date BETWEEN $2 AND $3 ORDER BY date"
DELETE_OVERRIDE = "DELETE FROM date_overrides WHERE doctor_id = $1 AND id = $2 RETURNING *"


def _unique(exc: asyncpg.UniqueViolationError) -> Duplicate:
    return Duplicate(getattr(exc, "constraint_name", None))


async def create_organisation(db: Conn, name: str, slug: str) -> Organisation:
    try:
        return from_record(Organisation, await db.fetchrow(INSERT_ORGANISATION, name, slug))
    except asyncpg.UniqueViolationError as exc:
        raise _unique(exc) from exc


async def get_organisation(db: Conn, organisation_id: uuid.UUID) -> Organisation | None:
    row = await db.fetchrow(GET_ORGANISATION, organisation_id)
    return from_record(Organisation, row) if row else None


async def get_organisation_by_slug(db: Conn, slug: str) -> Organisation | None:
    row = await db.fetchrow(GET_ORGANISATION_BY_SLUG, slug)
    return from_record(Organisation, row) if row else None


async def create_doctor(db: Conn, organisation_id: uuid.UUID, name: str, timezone: str) -> Doctor:
    try:
        return from_record(Doctor, await db.fetchrow(INSERT_DOCTOR, organisation_id, name, timezone))
    except asyncpg.ForeignKeyViolationError as exc:
        raise Missing(getattr(exc, "constraint_name", None)) from exc


async def update_doctor(db: Conn, doctor_id: uuid.UUID, values: dict[str, Any]) -> Doctor | None:
    """Write a doctor's name, zone and contact fields (``email``, ``mobile_phone``: ``None`` clears)."""
    row = await db.fetchrow(
        UPDATE_DOCTOR, doctor_id, values["name"], values["timezone"], values["email"], values["mobile_phone"]
    )
    return from_record(Doctor, row) if row else None


async def set_organisation_notices(
    db: Conn, organisation_id: uuid.UUID, admin_emails: list[str], low_rating_threshold: int
) -> Organisation | None:
    """Write where the organisation's admin notices go and the rating that alerts them."""
    row = await db.fetchrow(UPDATE_ORGANISATION_NOTICES, organisation_id, admin_emails, low_rating_threshold)
    return from_record(Organisation, row) if row else None


async def set_payment_page(db: Conn, organisation_id: uuid.UUID, url: str | None) -> None:
    """Write the organisation's own payment page (``None``: the deployment's)."""
    await db.execute(SET_PAYMENT_PAGE, organisation_id, url)


async def get_doctor(db: Conn, doctor_id: uuid.UUID) -> Doctor | None:
    row = await db.fetchrow(GET_DOCTOR, doctor_id)
    return from_record(Doctor, row) if row else None


async def existing_doctors(db: Conn, doctor_ids: list[uuid.UUID]) -> set[uuid.UUID]:
    """Which of ``doctor_ids`` name a doctor (one query, however many ids)."""
    return {r["id"] for r in await db.fetch(EXISTING_DOCTORS, doctor_ids)}


async def list_doctors(db: Conn, organisation_id: uuid.UUID) -> list[Doctor]:
    return [from_record(Doctor, r) for r in await db.fetch(LIST_DOCTORS, organisation_id)]


async def create_type(db: Conn, organisation_id: uuid.UUID, values: dict[str, Any]) -> AppointmentType:
    try:
        row = await db.fetchrow(INSERT_TYPE, organisation_id, *(values[f] for f in TYPE_FIELDS))
    except asyncpg.ForeignKeyViolationError as exc:
        raise Missing(getattr(exc, "constraint_name", None)) from exc
    return from_record(AppointmentType, row)


async def update_type(db: Conn, type_id: uuid.UUID, values: dict[str, Any]) -> AppointmentType | None:
    row = await db.fetchrow(UPDATE_TYPE, type_id, *(values[f] for f in TYPE_FIELDS))
    return from_record(AppointmentType, row) if row else None


async def get_type(db: Conn, type_id: uuid.UUID) -> AppointmentType | None:
    row = await db.fetchrow(GET_TYPE, type_id)
    return from_record(AppointmentType, row) if row else None


async def list_types(db: Conn, organisation_id: uuid.UUID) -> list[AppointmentType]:
    return [from_record(AppointmentType, r) for r in await db.fetch(LIST_TYPES, organisation_id)]


async def set_type_doctors(
    db: Conn, type_id: uuid.UUID, organisation_id: uuid.UUID, doctor_ids: list[uuid.UUID]
) -> list[uuid.UUID]:
    """Replace the doctors who offer a type (``[]``: every doctor of its organisation again).

    Call it inside a transaction: the old list goes and the new one comes in one step.

    Raises:
        Missing: a doctor that does not exist or is of another organisation (the foreign keys).
    """
    await db.execute(LOCK_TYPE, type_id)
    await db.execute(CLEAR_TYPE_DOCTORS, type_id)
    try:
        await db.execute(ADD_TYPE_DOCTORS, type_id, organisation_id, sorted(set(doctor_ids)))
    except asyncpg.ForeignKeyViolationError as exc:
        raise Missing(getattr(exc, "constraint_name", None)) from exc
    return [r["doctor_id"] for r in await db.fetch(TYPE_DOCTORS, type_id)]


async def create_window(db: Conn, doctor_id: uuid.UUID, values: dict[str, Any]) -> AvailabilityWindow:
    row = await db.fetchrow(INSERT_WINDOW, doctor_id, *(values[f] for f in WINDOW_FIELDS))
    return from_record(AvailabilityWindow, row)


async def get_window(db: Conn, doctor_id: uuid.UUID, window_id: uuid.UUID) -> AvailabilityWindow | None:
    row = await db.fetchrow(GET_WINDOW, window_id, doctor_id)
    return from_record(AvailabilityWindow, row) if row else None


async def update_window(
    db: Conn, doctor_id: uuid.UUID, window_id: uuid.UUID, values: dict[str, Any]
) -> AvailabilityWindow | None:
    row = await db.fetchrow(UPDATE_WINDOW, window_id, doctor_id, *(values[f] for f in WINDOW_FIELDS))
    return from_record(AvailabilityWindow, row) if row else None


async def delete_window(db: Conn, doctor_id: uuid.UUID, window_id: uuid.UUID) -> AvailabilityWindow | None:
    row = await db.fetchrow(DELETE_WINDOW, window_id, doctor_id)
    return from_record(AvailabilityWindow, row) if row else None


async def list_windows(db: Conn, doctor_id: uuid.UUID) -> list[AvailabilityWindow]:
    return [from_record(AvailabilityWindow, r) for r in await db.fetch(LIST_WINDOWS, doctor_id)]


async def active_windows(db: Conn, doctor_id: uuid.UUID, first: date, last: date) -> list[AvailabilityWindow]:
    """The windows that may open between ``first`` and ``last`` (local dates)."""
    return [from_record(AvailabilityWindow, r) for r in await db.fetch(ACTIVE_WINDOWS, doctor_id, first, last)]


async def upsert_override(
    db: Conn, doctor_id: uuid.UUID, day: date, available: bool, windows: list[dict[str, int]]
) -> DateOverride:
    row = await db.fetchrow(UPSERT_OVERRIDE, doctor_id, day, available, windows)
    return from_record(DateOverride, row)


async def list_overrides(db: Conn, doctor_id: uuid.UUID, first: date, last: date) -> list[DateOverride]:
    return [from_record(DateOverride, r) for r in await db.fetch(LIST_OVERRIDES, doctor_id, first, last)]


async def delete_override(db: Conn, doctor_id: uuid.UUID, override_id: uuid.UUID) -> bool:
    return await db.fetchrow(DELETE_OVERRIDE, doctor_id, override_id) is not None


async def lock_seeding(db: Conn) -> None:
    """Serialise demo seeders (two ``make run`` at once) for the rest of the transaction."""
    await db.execute(LOCK_SEEDING)
