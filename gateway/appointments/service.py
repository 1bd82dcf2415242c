"""Decisions about existing appointments: who sees them, and which changes are allowed when."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import msgspec

from gateway import cursors
from gateway.appointments import schemas
from gateway.appointments.rooms import Rooms, RoomUser
from gateway.auth import Principal
from gateway.booking.schemas import ConfirmIn, PatientIn
from gateway.booking.service import BookingService
from gateway.errors import Conflict, Forbidden, NotFound, ValidationFailed
from gateway.timeutil import show, utcnow
from gateway.trust.tokens import stored_ref
from store import appointments as repo
from store import clinic as clinic_repo
from store.appointments import Actor, Filter, PatientSearch
from store.models import Appointment, AppointmentType
from store.types import Pool

STATUSES = ("confirmed", "pending_approval", "cancelled", "completed", "no_show", "rescheduled")
JOIN_OPENS = timedelta(minutes=10)
JOIN_CLOSES = timedelta(minutes=60)
PATIENT_QUERY_MAX = 200
PATIENT_QUERY_WORDS = 8


def patient_search(query: str) -> PatientSearch:
    """What a staff member's ``patient=`` asks for: the patient reference exactly (as before), or
    every word of it within the patient's name or email address, case-insensitive (so a whole
    email address still finds its patient, and so do "grace", "hopp" or "example.org").

    Raises:
        ValidationFailed: longer than 200 characters or more than 8 words.
    """
    text = query.strip()
    words = text.split()
    if len(text) > PATIENT_QUERY_MAX or len(words) > PATIENT_QUERY_WORDS:
        raise ValidationFailed(
            f"patient: at most {PATIENT_QUERY_MAX} characters and {PATIENT_QUERY_WORDS} words", field="patient"
        )
    return PatientSearch(ref=stored_ref(text), words=tuple(words))


def actor_of(who: Principal) -> Actor:
    return Actor(who.actor, who.patient_ref or (str(who.doctor_id) if who.doctor_id else None))


def visible(who: Principal, a: Appointment) -> bool:
    """Platform and the organisation's admins see all of it; a doctor their own; a patient theirs;
    a manage link its one appointment."""
    if who.appointment_id is not None:
        return a.id == who.appointment_id
    if who.administers(a.organisation_id):
        return True
    if who.role == "doctor":
        return who.doctor_id == a.doctor_id
    return who.patient is not None and who.organisation_id == a.organisation_id and who.patient_ref == a.patient_ref


class AppointmentService:
    """Reads and changes of appointments; every change is one transaction with its history row."""

    def __init__(self, db: Pool, booking: BookingService, rooms: Rooms) -> None:
        self.db = db
        self.booking = booking
        self.rooms = rooms

    async def get(self, who: Principal, appointment_id: uuid.UUID) -> Appointment:
        """An appointment the caller may see (404 otherwise: existence does not leak)."""
        found = await repo.get(self.db, appointment_id)
        if found is None or not visible(who, found):
            raise NotFound(f"Appointment {appointment_id} not found.")
        return found

    async def page(
        self,
        who: Principal,
        *,
        doctor_id: uuid.UUID | None,
        patient: str | None,
        statuses: Sequence[str],
        start: datetime | None,
        end: datetime | None,
        cursor: str | None,
        limit: int,
    ) -> tuple[list[Appointment], str | None]:
        """A page of appointments the caller may see; default: upcoming active ones.

        Raises:
            Forbidden: ``manage_link_scope`` for a manage link, which opens one appointment only.
        """
        if who.appointment_id is not None:
            raise Forbidden(
                f"A manage link opens one appointment: GET /v1/appointments/{who.appointment_id}.",
                code="manage_link_scope",
            )
        unknown = sorted(set(statuses) - set(STATUSES))
        if unknown:
            raise ValidationFailed(f"status: unknown {', '.join(unknown)}; one of {', '.join(STATUSES)}")
        if not 1 <= limit <= 50:
            raise ValidationFailed("limit: between 1 and 50")
        if start is not None and end is not None and end <= start:
            raise ValidationFailed("to must be after from")
        f = Filter(
            organisation_id=who.organisation_id,
            doctor_id=doctor_id,
            statuses=tuple(statuses) or repo.ACTIVE_STATUSES,
            start=start if start is not None else (utcnow() if not statuses and end is None else None),
            end=end,
            after=cursors.decode_uuid(cursor) if cursor else None,
            limit=limit,
        )
        if who.role == "patient":
            f = msgspec.structs.replace(f, patient_ref=who.patient_ref)  # a patient sees only their own
        else:
            if who.role == "doctor":
                if doctor_id is not None and doctor_id != who.doctor_id:
                    raise Forbidden("A doctor lists their own appointments.")
                f = msgspec.structs.replace(f, doctor_id=who.doctor_id)
            if patient is not None and patient.strip():
                f = msgspec.structs.replace(f, patient_search=patient_search(patient))
        rows = await repo.page(self.db, f)
        more = len(rows) > limit
        rows = rows[:limit]
        return rows, cursors.encode(rows[-1].starts_at, rows[-1].id) if more and rows else None

    async def _type(self, a: Appointment) -> AppointmentType:
        found = await clinic_repo.get_type(self.db, a.appointment_type_id)
        if found is None:
            raise NotFound("The appointment's type no longer exists.")
        return found

    async def _change(
        self,
        who: Principal,
        a: Appointment,
        to_status: str,
        *,
        reason: str | None = None,
        cancellation: dict[str, object] | None = None,
    ) -> Appointment:
        async with self.db.acquire() as conn, conn.transaction():
            changed = await repo.transition(conn, a, to_status, actor_of(who), reason=reason, cancellation=cancellation)
        if changed is None:
            raise Conflict("The appointment changed meanwhile; fetch it again.", code="invalid_transition")
        return changed

    def _staff(self, who: Principal, a: Appointment) -> None:
        if who.role == "patient":
            raise Forbidden("Only the clinic's staff may do this.")

    def _status(self, a: Appointment, *allowed: str) -> None:
        if a.status not in allowed:
            raise Conflict(
                f"An appointment that is {a.status} cannot do this (needs {' or '.join(allowed)}).",
                code="invalid_transition",
                current_status=a.status,
            )

    async def cancel(self, who: Principal, appointment_id: uuid.UUID, reason: str | None) -> Appointment:
        """Cancel with a reason; patients only until the type's cancellation notice. Frees the slot live."""
        if reason is None or not reason.strip():
            raise ValidationFailed("A cancellation needs a reason.", code="reason_required")
        a = await self.get(who, appointment_id)
        self._status(a, "confirmed", "pending_approval")
        if who.role == "patient":
            notice = timedelta(minutes=(await self._type(a)).cancellation_notice_minutes)
            if utcnow() > a.starts_at - notice:
                raise Conflict(
                    f"Patients may cancel until {show(a.starts_at - notice, None)}; please contact the clinic.",
                    code="too_late_to_cancel",
                )
        cancellation: dict[str, object] = {"reason": reason.strip(), "by": who.actor, "at": show(utcnow(), None)}
        changed = await self._change(who, a, "cancelled", reason=reason.strip(), cancellation=cancellation)
        await self.booking.engine.free(a.doctor_id, a.id, a.starts_at, a.ends_at, a.blocked_until)
        return changed

    async def reschedule(
        self, who: Principal, appointment_id: uuid.UUID, hold_id: uuid.UUID, token: str | None, reason: str | None
    ) -> Appointment:
        """Move an appointment to a newly held slot: the old becomes ``rescheduled``, the new links to it.

        The swap is one transaction: never both, never neither.
        """
        old = await self.get(who, appointment_id)
        self._status(old, "confirmed", "pending_approval")
        appointment_type = await self._type(old)
        state, token = await self.booking.hold_state(hold_id, token)
        if state.appointment_type_id != old.appointment_type_id:
            raise ValidationFailed("The new hold must be for the same appointment type.", code="type_mismatch")
        new_doctor = await clinic_repo.get_doctor(self.db, state.doctor_id)
        if new_doctor is None or new_doctor.organisation_id != old.organisation_id:
            raise Forbidden("The new hold is with another organisation.")
        if appointment_type.rebooking_mode == "same_doctor" and state.doctor_id != old.doctor_id:
            raise ValidationFailed(
                "This appointment type is rebooked with the same doctor only.", code="rebooking_mode"
            )
        self.booking.authorise_hold(who, state, new_doctor)
        if who.role == "patient":
            limit = appointment_type.max_reschedules
            if limit is not None and old.reschedule_count >= limit:
                raise Conflict(f"This appointment may be moved {limit} time(s) at most.", code="reschedule_limit")
            notice = timedelta(minutes=appointment_type.cancellation_notice_minutes)
            if utcnow() > old.starts_at - notice:
                raise Conflict(
                    "It is too late to move this appointment; please contact the clinic.", code="too_late_to_reschedule"
                )
        body = ConfirmIn(
            patient=PatientIn(
                name=old.patient_name, email=old.patient_email, phone=old.patient_phone, timezone=old.patient_timezone
            )
        )
        return await self.booking.book(
            state, token, who, body, new_doctor, appointment_type, replaces=old, reason=reason
        )

    async def join(self, who: Principal, appointment_id: uuid.UUID) -> schemas.JoinOut:
        """The room's address, from 10 minutes before the start until 60 minutes after the end, to the
        appointment's patient, its doctor and its organisation's admins (``get`` hides it from others)."""
        a = await self.get(who, appointment_id)
        self._status(a, "confirmed")
        opens, closes = a.starts_at - JOIN_OPENS, a.ends_at + JOIN_CLOSES
        if not opens <= utcnow() <= closes:
            raise Conflict(
                f"The meeting can be joined from {show(opens, None)} until {show(closes, None)}.",
                code="outside_join_window",
                opens_at=show(opens, None),
                closes_at=show(closes, None),
            )
        user = await self._room_user(who, a)
        return schemas.JoinOut(
            meeting_url=self.rooms.address(a.doctor_id, user, closes),
            expires_at=show(closes, None),
            opens_at=show(opens, None),
            closes_at=show(closes, None),
        )

    async def _room_user(self, who: Principal, a: Appointment) -> RoomUser:
        """How the room token names the caller: the doctor moderates, everyone else takes part."""
        if who.role == "doctor":
            doctor = await clinic_repo.get_doctor(self.db, a.doctor_id)
            return RoomUser(f"doctor:{a.doctor_id}", doctor.name if doctor else "Doctor", moderator=True)
        if who.role == "patient":
            return RoomUser(f"patient:{a.id}", a.patient_name or "Patient", moderator=False)
        return RoomUser(f"{who.role}:{who.organisation_id or 'platform'}", "Clinic staff", moderator=False)

    async def no_show(self, who: Principal, appointment_id: uuid.UUID, reason: str | None) -> Appointment:
        """Mark a no-show, only once the join window has closed."""
        a = await self.get(who, appointment_id)
        self._staff(who, a)
        self._status(a, "confirmed")
        closes = a.ends_at + JOIN_CLOSES
        if utcnow() <= closes:
            raise Conflict(
                f"A no-show can be recorded once the join window closes at {show(closes, None)}.",
                code="join_window_open",
                closes_at=show(closes, None),
            )
        return await self._change(who, a, "no_show", reason=reason)

    async def complete(self, who: Principal, appointment_id: uuid.UUID, reason: str | None) -> Appointment:
        """Mark an appointment that has started as completed."""
        a = await self.get(who, appointment_id)
        self._staff(who, a)
        self._status(a, "confirmed")
        if utcnow() < a.starts_at:
            raise Conflict("An appointment can be completed once it has started.", code="not_started")
        return await self._change(who, a, "completed", reason=reason)

    async def approve(self, who: Principal, appointment_id: uuid.UUID, reason: str | None) -> Appointment:
        """Approve an appointment of a type that requires approval."""
        a = await self.get(who, appointment_id)
        self._staff(who, a)
        self._status(a, "pending_approval")
        return await self._change(who, a, "confirmed", reason=reason)

    async def history(self, who: Principal, appointment_id: uuid.UUID) -> list[repo.Event]:
        a = await self.get(who, appointment_id)
        return await repo.history(self.db, a.id)
