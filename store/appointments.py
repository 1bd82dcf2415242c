"""Appointments: the confirmed bookings. The EXCLUDE constraint is the last word on overlap.

Every change writes a row to ``appointment_events`` and its message to the outbox, in the same
transaction as the change (design invariant 9).
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg
import msgspec

from store import outbox
from store.errors import Duplicate, Overlap
from store.models import Appointment, from_record
from store.types import Conn

ACTIVE_STATUSES = ("confirmed", "pending_approval")

INSERT_APPOINTMENT = (
    "INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, hold_id, patient_name,"
    " patient_email, patient_phone, patient_timezone, patient_ref, starts_at, ends_at, blocked_until,"
    " status, meeting_url, previous_appointment_id, reschedule_count, payment, created_by,"
    " notice_overridden, notice_overridden_by)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)"
    " RETURNING *"
)
GET_APPOINTMENT = "SELECT * FROM appointments WHERE id = $1"
GET_BY_HOLD = "SELECT * FROM appointments WHERE hold_id = $1"
# Where a moved appointment went: follow previous_appointment_id forward to the newest move.
LATEST_SUCCESSOR = (
    "WITH RECURSIVE moves AS ("
    " SELECT * FROM appointments WHERE previous_appointment_id = $1"
    " UNION ALL SELECT a.* FROM appointments a JOIN moves m ON a.previous_appointment_id = m.id)"
    " SELECT * FROM moves ORDER BY reschedule_count DESC LIMIT 1"
)
# Booked intervals that still matter: those not yet over (for re-warming Redis) or in a range.
BOOKED_BETWEEN = (
    "SELECT id, starts_at, blocked_until FROM appointments"
    " WHERE doctor_id = $1 AND status = ANY($2::text[]) AND blocked_until > $3 AND starts_at < $4"
    " ORDER BY starts_at"
)
# Moving between statuses is conditional on the status read, so two racing changes can't both win.
TRANSITION = (
    "UPDATE appointments SET status = $3, cancellation = coalesce($4, cancellation),"
    " ics_sequence = ics_sequence + 1, updated_at = now()"
    " WHERE id = $1 AND status = $2 RETURNING *"
)
INSERT_EVENT = (
    "INSERT INTO appointment_events (appointment_id, actor, actor_ref, from_status, to_status, reason, detail)"
    " VALUES ($1, $2, $3, $4, $5, $6, $7)"
)
HISTORY = (
    "SELECT at, actor, actor_ref, from_status, to_status, reason, detail FROM appointment_events"
    " WHERE appointment_id = $1 ORDER BY id"
)
# Two confirms of one patient (or of one email address in one organisation) wait for each other.
LOCK_PATIENT = "SELECT pg_advisory_xact_lock(hashtext($1))"
# One patient is one reference or one email address: a fresh anonymous session per booking does
# not make a new patient. Every type of the organisation counts.
COUNT_ACTIVE_FOR_PATIENT = (
    "SELECT count(*) FROM appointments WHERE organisation_id = $1"
    " AND (patient_ref = $2 OR ($3::text IS NOT NULL AND lower(patient_email) = lower($3)))"
    " AND status = ANY($4::text[]) AND ends_at > now()"
)


class Event(msgspec.Struct, frozen=True, kw_only=True):
    """One change in an appointment's history."""

    at: datetime
    actor: str
    actor_ref: str | None
    from_status: str | None
    to_status: str
    reason: str | None
    detail: dict[str, Any] | None


class NewAppointment(msgspec.Struct, frozen=True, kw_only=True):
    """What a new appointment is made of (``insert``)."""

    organisation_id: uuid.UUID
    doctor_id: uuid.UUID
    appointment_type_id: uuid.UUID
    patient_name: str
    patient_email: str
    starts_at: datetime
    ends_at: datetime
    blocked_until: datetime
    status: str
    hold_id: uuid.UUID | None = None
    patient_phone: str | None = None
    patient_timezone: str | None = None
    patient_ref: str | None = None
    previous_appointment_id: uuid.UUID | None = None
    reschedule_count: int = 0
    payment: dict[str, Any] | None = None
    notice_overridden_by: str | None = None
    """Set when staff booked inside the type's notice or same-day rules: who (``admin``, ``platform``…)."""


class Actor(msgspec.Struct, frozen=True):
    """Who made a change: ``patient``, ``partner``, ``doctor``, ``admin``, ``platform`` or ``system``."""

    kind: str
    ref: str | None = None


async def insert(db: Conn, actor: Actor, new: NewAppointment) -> Appointment:
    """Insert an appointment and its first history row (call inside a transaction).

    Raises:
        Overlap: the doctor already has an active appointment touching this interval.
        Duplicate: an appointment for this hold exists already.
    """
    try:
        row = await db.fetchrow(
            INSERT_APPOINTMENT,
            new.organisation_id, new.doctor_id, new.appointment_type_id, new.hold_id, new.patient_name,
            new.patient_email, new.patient_phone, new.patient_timezone, new.patient_ref, new.starts_at,
            new.ends_at, new.blocked_until, new.status, None, new.previous_appointment_id,
            new.reschedule_count, new.payment, actor.kind, new.notice_overridden_by is not None,
            new.notice_overridden_by,
        )  # fmt: skip
    except asyncpg.ExclusionViolationError as exc:
        raise Overlap(str(exc)) from exc
    except asyncpg.UniqueViolationError as exc:
        raise Duplicate(getattr(exc, "constraint_name", None)) from exc
    appointment = from_record(Appointment, row)
    detail: dict[str, Any] | None = (
        {"previous_appointment_id": str(appointment.previous_appointment_id)}
        if appointment.previous_appointment_id
        else None
    )
    if appointment.notice_overridden:
        detail = (detail or {}) | {"notice_overridden": True}
    await db.execute(INSERT_EVENT, appointment.id, actor.kind, actor.ref, None, appointment.status, None, detail)
    event_type = "appointment.rescheduled" if appointment.previous_appointment_id else "appointment.booked"
    await outbox.appointment_changed(db, appointment, event_type, from_status=None, actor=actor.kind)
    return appointment


async def transition(
    db: Conn,
    appointment: Appointment,
    to_status: str,
    actor: Actor,
    *,
    reason: str | None = None,
    cancellation: dict[str, Any] | None = None,
    detail: dict[str, Any] | None = None,
) -> Appointment | None:
    """Move an appointment from its current status to ``to_status`` and record it (inside a transaction).

    Returns:
        The updated appointment, or ``None`` when its status changed meanwhile.
    """
    row = await db.fetchrow(TRANSITION, appointment.id, appointment.status, to_status, cancellation)
    if row is None:
        return None
    await db.execute(INSERT_EVENT, appointment.id, actor.kind, actor.ref, appointment.status, to_status, reason, detail)
    changed = from_record(Appointment, row)
    event_type = (
        "appointment.approved"
        if appointment.status == "pending_approval" and to_status == "confirmed"
        else outbox.TRANSITION_EVENTS.get(to_status)
    )
    if event_type is not None:
        await outbox.appointment_changed(
            db, changed, event_type, from_status=appointment.status, actor=actor.kind, reason=reason
        )
    return changed


async def history(db: Conn, appointment_id: uuid.UUID) -> list[Event]:
    return [from_record(Event, r) for r in await db.fetch(HISTORY, appointment_id)]


async def get(db: Conn, appointment_id: uuid.UUID) -> Appointment | None:
    row = await db.fetchrow(GET_APPOINTMENT, appointment_id)
    return from_record(Appointment, row) if row else None


async def get_by_hold(db: Conn, hold_id: uuid.UUID) -> Appointment | None:
    row = await db.fetchrow(GET_BY_HOLD, hold_id)
    return from_record(Appointment, row) if row else None


async def lock_patient(db: Conn, patient_ref: str, organisation_id: uuid.UUID, email: str) -> None:
    """Serialise the rest of this transaction with every other one booking for this patient: by
    reference, and by email address within the organisation (inside a transaction)."""
    await db.execute(LOCK_PATIENT, patient_ref)
    await db.execute(LOCK_PATIENT, f"{organisation_id}:{email.lower()}")


async def latest_successor(db: Conn, appointment_id: uuid.UUID) -> Appointment | None:
    """The appointment that replaced this one, after every later move; ``None`` when it never moved."""
    row = await db.fetchrow(LATEST_SUCCESSOR, appointment_id)
    return from_record(Appointment, row) if row else None


async def count_active_for_patient(
    db: Conn, organisation_id: uuid.UUID, patient_ref: str, email: str | None = None
) -> int:
    """Upcoming active appointments in the organisation of the patient ``patient_ref`` or ``email``."""
    count: int = await db.fetchval(COUNT_ACTIVE_FOR_PATIENT, organisation_id, patient_ref, email, list(ACTIVE_STATUSES))
    return count


async def booked_between(
    db: Conn, doctor_id: uuid.UUID, start: datetime, end: datetime
) -> list[tuple[uuid.UUID, datetime, datetime]]:
    """Active appointments ``(id, starts_at, blocked_until)`` whose blocked interval meets ``[start, end)``."""
    rows = await db.fetch(BOOKED_BETWEEN, doctor_id, list(ACTIVE_STATUSES), start, end)
    return [(r["id"], r["starts_at"], r["blocked_until"]) for r in rows]


class PatientSearch(msgspec.Struct, frozen=True, kw_only=True):
    """A staff member's patient filter: the patient reference exactly, or every word somewhere in
    the patient's name or email address (case-insensitive; an exact email matches itself)."""

    ref: str
    words: Sequence[str]


def like_pattern(word: str) -> str:
    """``%word%`` for ILIKE, with LIKE's own characters (``%``, ``_``, ``\\``) taken literally."""
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Filter(msgspec.Struct, frozen=True, kw_only=True):
    """What ``GET /v1/appointments`` asks for; every query is scoped by organisation."""

    organisation_id: uuid.UUID | None  # None only for the platform operator
    doctor_id: uuid.UUID | None = None
    patient_ref: str | None = None
    patient_email: str | None = None
    patient_search: PatientSearch | None = None
    statuses: Sequence[str] = ACTIVE_STATUSES
    start: datetime | None = None  # appointments ending after this
    end: datetime | None = None  # appointments starting before this
    after: tuple[datetime, uuid.UUID] | None = None  # keyset cursor: (starts_at, id) of the last row seen
    limit: int = 20


async def page(db: Conn, f: Filter) -> list[Appointment]:
    """One page ordered by ``(starts_at, id)``: stable while rows are added, since it is keyset-paged.

    Fetches ``limit + 1`` rows so the caller can tell whether another page follows.
    """
    # Conditions are fixed SQL fragments with numbered parameters; no value is ever glued in.
    conditions = ["status = ANY($1::text[])"]
    params: list[Any] = [list(f.statuses)]

    def where(fragment: str, *values: Any) -> None:
        numbered = fragment
        for value in values:
            params.append(value)
            numbered = numbered.replace("?", f"${len(params)}", 1)
        conditions.append(numbered)

    if f.organisation_id is not None:
        where("organisation_id = ?", f.organisation_id)
    if f.doctor_id is not None:
        where("doctor_id = ?", f.doctor_id)
    if f.patient_ref is not None:
        where("patient_ref = ?", f.patient_ref)
    if f.patient_email is not None:
        where("lower(patient_email) = lower(?)", f.patient_email)
    if f.patient_search is not None:
        # one fixed fragment per word (served by the trigram indexes of migration 013)
        words = " AND ".join(["(patient_name ILIKE ? OR patient_email ILIKE ?)"] * len(f.patient_search.words))
        patterns = [like_pattern(w) for w in f.patient_search.words for _ in range(2)]
        where(f"(patient_ref = ? OR ({words or 'false'}))", f.patient_search.ref, *patterns)
    if f.start is not None:
        where("ends_at > ?", f.start)
    if f.end is not None:
        where("starts_at < ?", f.end)
    if f.after is not None:
        where("(starts_at, id) > (?, ?)", *f.after)
    params.append(f.limit + 1)
    sql = f"SELECT * FROM appointments WHERE {' AND '.join(conditions)} ORDER BY starts_at, id LIMIT ${len(params)}"  # noqa: S608 - fixed fragments, numbered parameters
    return [from_record(Appointment, r) for r in await db.fetch(sql, *params)]
