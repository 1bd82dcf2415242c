"""The booking path: which slots are free, taking a hold, confirming it."""

from __future__ import annotations

import hashlib
import hmac
import logging
import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg

from gateway import availability as av
from gateway.booking import schemas
from gateway.errors import (
    HoldBusy,
    HoldExpired,
    NotBookable,
    NotFound,
    ServiceUnavailable,
    SlotTaken,
    Unauthorized,
    ValidationFailed,
)
from gateway.settings import Settings
from gateway.timeutil import instant, show, utcnow, zone
from holds.engine import BookedInterval, HoldEngine, HoldState, iso
from holds.keys import token_doctor
from store import appointments as appointments_repo
from store import clinic as clinic_repo
from store.errors import Duplicate, Overlap
from store.models import Appointment, AppointmentType, Doctor
from store.types import Conn

logger = logging.getLogger("gateway.booking")


@dataclass(frozen=True, slots=True)
class Schedule:
    """What decides a doctor's slots for one appointment type."""

    doctor: Doctor
    appointment_type: AppointmentType
    tz: ZoneInfo
    windows: list[av.Window]
    overrides: dict[date, av.Override]

    def rules(self, now: datetime) -> av.Rules:
        t = self.appointment_type
        return av.Rules(
            duration_minutes=t.duration_minutes,
            buffer_minutes=t.buffer_minutes,
            earliest=now + timedelta(minutes=t.min_notice_minutes),
            latest=now + timedelta(days=t.max_advance_days),
            same_day_allowed=t.same_day_allowed,
            same_day_cutoff_minute=t.same_day_cutoff_minute,
            now=now,
        )


def appointment_out(a: Appointment, tz: ZoneInfo | None = None) -> schemas.AppointmentOut:
    """The public shape of an appointment."""
    return schemas.AppointmentOut(
        id=a.id,
        organisation_id=a.organisation_id,
        doctor_id=a.doctor_id,
        appointment_type_id=a.appointment_type_id,
        patient=schemas.PatientOut(
            name=a.patient_name,
            email=a.patient_email,
            phone=a.patient_phone,
            timezone=a.patient_timezone,
            ref=a.patient_ref,
        ),
        start=show(a.starts_at, tz),
        end=show(a.ends_at, tz),
        status=a.status,
        meeting_url=a.meeting_url,
        previous_appointment_id=a.previous_appointment_id,
        cancellation=a.cancellation,
        hold_id=a.hold_id,
        created_at=show(a.created_at, tz),
        updated_at=show(a.updated_at, tz),
    )


class BookingService:
    """Slots, holds and confirms for every doctor of the deployment."""

    def __init__(self, db: Conn, engine: HoldEngine, settings: Settings) -> None:
        self.db = db
        self.engine = engine
        self.settings = settings

    async def schedule(
        self, doctor_id: uuid.UUID, type_id: uuid.UUID, first: datetime, last: datetime
    ) -> Schedule:
        """Load the doctor, the type and the windows and overrides that may apply in ``[first, last]``.

        Raises:
            NotFound: for an unknown doctor, or a type not of the doctor's organisation.
        """
        doctor = await clinic_repo.get_doctor(self.db, doctor_id)
        if doctor is None:
            raise NotFound(f"Doctor {doctor_id} not found.")
        appointment_type = await clinic_repo.get_type(self.db, type_id)
        if appointment_type is None or appointment_type.organisation_id != doctor.organisation_id:
            raise NotFound(f"Appointment type {type_id} not found for this doctor.")
        tz = ZoneInfo(doctor.timezone)
        day_first = first.astimezone(tz).date() - timedelta(days=1)
        day_last = last.astimezone(tz).date() + timedelta(days=1)
        windows = [
            av.Window(w.weekday, w.start_minute, w.end_minute, w.buffer_minutes, w.valid_from, w.valid_until)
            for w in await clinic_repo.active_windows(self.db, doctor_id, day_first, day_last)
        ]
        overrides = {
            o.date: av.Override(o.date, o.available, tuple((w.start_minute, w.end_minute) for w in o.windows))
            for o in await clinic_repo.list_overrides(self.db, doctor_id, day_first, day_last)
        }
        return Schedule(doctor, appointment_type, tz, windows, overrides)

    async def slots(
        self, doctor_id: uuid.UUID, type_id: uuid.UUID, start: datetime, end: datetime, tz: ZoneInfo | None
    ) -> schemas.SlotsOut:
        """The free slots of ``[start, end)`` and the event sequence number they reflect."""
        if end <= start:
            raise ValidationFailed("to must be after from")
        if end - start > timedelta(days=self.settings.booking.max_slot_range_days):
            raise ValidationFailed(
                f"from..to may span {self.settings.booking.max_slot_range_days} days at most"
            )
        schedule = await self.schedule(doctor_id, type_id, start, end)
        # Redis first, then Postgres: an event that lands in between carries a higher seq than
        # the snapshot, so a client applying events after `seq` never misses a change.
        snapshot = await self.engine.snapshot(doctor_id)
        booked = await appointments_repo.booked_between(
            self.db, doctor_id, start - timedelta(days=1), end + timedelta(days=1)
        )
        busy = [av.Interval(s, b) for _, s, b in booked]
        busy += [av.Interval(h.start, h.blocked_until) for h in snapshot.held]
        now = utcnow()
        free = av.free_slots(
            tz=schedule.tz,
            windows=schedule.windows,
            overrides=schedule.overrides,
            rules=schedule.rules(now),
            range_start=max(start, now),
            range_end=end,
            busy=busy,
        )
        return schemas.SlotsOut(
            doctor_id=doctor_id,
            appointment_type_id=type_id,
            timezone=tz.key if tz else "UTC",
            seq=snapshot.seq,
            slots=[schemas.SlotOut(show(s.start, tz), show(s.end, tz)) for s in free],
        )

    async def hold(self, body: schemas.HoldIn, patient_ref: str = "") -> schemas.HoldOut:
        """Hold a slot for the type's hold TTL.

        Raises:
            NotBookable: the start is not a slot the schedule offers (now) for this type.
            SlotTaken: any part of it is held or booked.
        """
        start = instant(body.start, "start")
        now = utcnow()
        if start <= now:
            raise NotBookable("That slot has already started.")
        schedule = await self.schedule(body.doctor_id, body.appointment_type_id, start, start)
        offered = av.is_offered(
            start,
            tz=schedule.tz,
            windows=schedule.windows,
            overrides=schedule.overrides,
            rules=schedule.rules(now),
        )
        if offered is None:
            raise NotBookable(
                "No such slot: the start is off the slot grid, outside the doctor's windows, "
                "or against the appointment type's rules."
            )
        slot, blocked_until = offered
        new = await self.engine.hold(
            doctor_id=body.doctor_id,
            appointment_type_id=body.appointment_type_id,
            start=slot.start,
            end=slot.end,
            blocked_until=blocked_until,
            ttl_ms=schedule.appointment_type.hold_ttl_seconds * 1000,
            patient_ref=patient_ref,
        )
        if new is None:
            raise SlotTaken("Someone else holds or has booked (part of) this slot.")
        return schemas.HoldOut(
            hold_id=new.hold_id,
            hold_token=new.token,
            doctor_id=body.doctor_id,
            appointment_type_id=body.appointment_type_id,
            start=iso(slot.start),
            end=iso(slot.end),
            expires_at=show(new.expires_at, None),
        )

    async def _state(self, hold_id: uuid.UUID, token: str | None) -> tuple[HoldState, str]:
        if not token:
            raise Unauthorized("Send the hold's token as X-Hold-Token.")
        doctor_id = token_doctor(token)
        state = await self.engine.state(doctor_id, hold_id) if doctor_id else None
        if state is None:
            raise NotFound(f"Hold {hold_id} not found.")
        return state, token

    async def release(self, hold_id: uuid.UUID, token: str | None) -> None:
        """Let a hold go (its owner only)."""
        state, token = await self._state(hold_id, token)
        outcome = await self.engine.release(state.doctor_id, hold_id, token, state)
        if outcome == "busy":
            raise HoldBusy("This hold is being confirmed right now.")
        if outcome != "ok":
            raise NotFound(f"Hold {hold_id} not found or already gone.")

    async def confirm(self, hold_id: uuid.UUID, token: str | None, patient: schemas.PatientIn) -> Appointment:
        """Turn a hold into an appointment in Postgres; clear the hold only after the commit.

        Raises:
            HoldExpired: the hold lapsed.
            SlotTaken: Postgres refuses the interval (Redis had lost a booking).
            HoldBusy: another confirm of this hold is running.
        """
        if patient.timezone is not None:
            zone(patient.timezone, "patient.timezone")
        state, token = await self._state(hold_id, token)
        outcome, detail = await self.engine.begin_confirm(
            state, token, self.settings.booking.confirm_grace_seconds * 1000
        )
        if outcome == "booked" and detail:
            existing = await appointments_repo.get(self.db, uuid.UUID(detail))
            if existing is not None:
                return existing  # a retried confirm gets the same appointment
        if outcome == "busy":
            raise HoldBusy("This hold is being confirmed right now.")
        if outcome == "gone" and detail == "expired":
            raise HoldExpired("The hold lapsed before it was confirmed; pick the slot again.")
        if outcome != "ok":
            raise NotFound(f"Hold {hold_id} not found or already gone.")
        appointment_type = await clinic_repo.get_type(self.db, state.appointment_type_id)
        doctor = await clinic_repo.get_doctor(self.db, state.doctor_id)
        if appointment_type is None or doctor is None:  # deleted while the hold was open
            raise NotFound("The doctor or appointment type of this hold no longer exists.")
        try:
            appointment = await appointments_repo.insert(
                self.db,
                organisation_id=doctor.organisation_id,
                doctor_id=doctor.id,
                appointment_type_id=appointment_type.id,
                hold_id=hold_id,
                patient_name=patient.name,
                patient_email=patient.email,
                patient_phone=patient.phone,
                patient_timezone=patient.timezone,
                patient_ref=state.patient_ref or None,
                starts_at=state.start,
                ends_at=state.end,
                blocked_until=state.blocked_until,
                status="pending_approval" if appointment_type.requires_approval else "confirmed",
                meeting_url=self.meeting_url(doctor.id),
            )
        except Overlap:
            await self.engine.end_confirm(state, "refused")
            await self.engine.warm(doctor.id, await self.booked(doctor.id))
            raise SlotTaken("This slot was booked by someone else.") from None
        except Duplicate:
            existing = await appointments_repo.get_by_hold(self.db, hold_id)
            if existing is None:
                raise
            await self.engine.end_confirm(state, "booked", existing.id)
            return existing
        except (OSError, asyncpg.PostgresConnectionError, asyncpg.InterfaceError) as exc:
            logger.warning("confirm of hold %s could not reach Postgres: %s", hold_id, exc)
            await self.engine.end_confirm(state, "retry")
            raise ServiceUnavailable("The appointment could not be saved; try again.") from exc
        await self.engine.end_confirm(state, "booked", appointment.id)
        return appointment

    async def booked(self, doctor_id: uuid.UUID) -> list[BookedInterval]:
        """A doctor's booked intervals that still matter, for re-warming Redis."""
        now = utcnow()
        rows = await appointments_repo.booked_between(self.db, doctor_id, now, now + timedelta(days=3660))
        return [BookedInterval(i, s, b) for i, s, b in rows]

    def meeting_url(self, doctor_id: uuid.UUID) -> str:
        """The doctor's persistent meeting room: the same URL every time."""
        room = hmac.new(self.settings.secret_key.encode(), doctor_id.bytes, hashlib.sha256).hexdigest()[:20]
        return self.settings.meeting_url_template.format(room=room, doctor_id=doctor_id)
