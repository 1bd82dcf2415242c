"""Appointments: the confirmed bookings. The EXCLUDE constraint is the last word on overlap."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

import asyncpg

from store.errors import Duplicate, Overlap
from store.models import Appointment, from_record
from store.types import Conn

ACTIVE_STATUSES = ("confirmed", "pending_approval")

INSERT_APPOINTMENT = (
    "INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, hold_id, patient_name,"
    " patient_email, patient_phone, patient_timezone, patient_ref, starts_at, ends_at, blocked_until,"
    " status, meeting_url, previous_appointment_id)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15) RETURNING *"
)
GET_APPOINTMENT = "SELECT * FROM appointments WHERE id = $1"
GET_BY_HOLD = "SELECT * FROM appointments WHERE hold_id = $1"
# Booked intervals that still matter: those not yet over (for re-warming Redis) or in a range.
BOOKED_BETWEEN = (
    "SELECT id, starts_at, blocked_until FROM appointments"
    " WHERE doctor_id = $1 AND status = ANY($2::text[]) AND blocked_until > $3 AND starts_at < $4"
    " ORDER BY starts_at"
)


async def insert(db: Conn, **values: Any) -> Appointment:
    """Insert an appointment.

    Raises:
        Overlap: the doctor already has an active appointment touching this interval.
        Duplicate: an appointment for this hold exists already.
    """
    try:
        row = await db.fetchrow(
            INSERT_APPOINTMENT,
            values["organisation_id"], values["doctor_id"], values["appointment_type_id"],
            values.get("hold_id"), values["patient_name"], values["patient_email"],
            values.get("patient_phone"), values.get("patient_timezone"), values.get("patient_ref"),
            values["starts_at"], values["ends_at"], values["blocked_until"], values["status"],
            values.get("meeting_url"), values.get("previous_appointment_id"),
        )  # fmt: skip
    except asyncpg.ExclusionViolationError as exc:
        raise Overlap(str(exc)) from exc
    except asyncpg.UniqueViolationError as exc:
        raise Duplicate(getattr(exc, "constraint_name", None)) from exc
    return from_record(Appointment, row)


async def get(db: Conn, appointment_id: uuid.UUID) -> Appointment | None:
    row = await db.fetchrow(GET_APPOINTMENT, appointment_id)
    return from_record(Appointment, row) if row else None


async def get_by_hold(db: Conn, hold_id: uuid.UUID) -> Appointment | None:
    row = await db.fetchrow(GET_BY_HOLD, hold_id)
    return from_record(Appointment, row) if row else None


async def booked_between(
    db: Conn, doctor_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[uuid.UUID, datetime, datetime]]:
    """Active appointments ``(id, starts_at, blocked_until)`` whose blocked interval meets ``[start, end)``."""
    rows = await db.fetch(BOOKED_BETWEEN, doctor_id, list(ACTIVE_STATUSES), start, end)
    return [(r["id"], r["starts_at"], r["blocked_until"]) for r in rows]
