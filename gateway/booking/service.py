"""The booking path: which slots are free, taking a hold, confirming it."""

from __future__ import annotations

import hmac
import logging
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from gateway import availability as av
from gateway import metrics
from gateway.auth import Principal
from gateway.booking import schemas
from gateway.booking.cache import ScheduleCache
from gateway.booking.rules import offered_or_raise
from gateway.booking.truth import booked_intervals
from gateway.errors import (
    POSTGRES_AWAY,
    Conflict,
    Forbidden,
    GatewayError,
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
from gateway.trust.tokens import public_ref
from holds.engine import HoldEngine, HoldState, iso
from holds.keys import token_doctor, token_hash
from store import appointments as appointments_repo
from store.appointments import Actor, NewAppointment
from store.errors import Duplicate, Overlap
from store.models import Appointment, AppointmentType, Doctor
from store.types import Conn, Pool

POSTGRES_LOST: tuple[type[Exception], ...] = (OSError, *POSTGRES_AWAY)
"""A confirm that met one of these could not reach Postgres: 503, the hold given back."""

logger = logging.getLogger("gateway.booking")

OriginCheck = Callable[[uuid.UUID], Awaitable[None]]
"""Checks the request's Origin against an organisation's allowed origins."""


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
    ref, issuer = public_ref(a.patient_ref)
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
            ref=ref,
            issuer=issuer,
        ),
        start=show(a.starts_at, tz),
        end=show(a.ends_at, tz),
        status=a.status,
        join_url=f"/v1/appointments/{a.id}/join",
        previous_appointment_id=a.previous_appointment_id,
        cancellation=a.cancellation,
        hold_id=a.hold_id,
        reschedule_count=a.reschedule_count,
        payment=a.payment,
        created_by=a.created_by,
        created_at=show(a.created_at, tz),
        updated_at=show(a.updated_at, tz),
        notice_overridden=a.notice_overridden,
        notice_overridden_by=a.notice_overridden_by,
        reference=booking_reference(a.id),
    )


def booking_reference(appointment_id: uuid.UUID) -> str:
    """The appointment's short human reference: ``BK-`` and the id's first 8 hex digits, upper case.

    Args:
        appointment_id: The appointment's id.

    Returns:
        ``BK-7F3A9C01``: stable (the id never changes), easy to read out on the phone.
    """
    return f"BK-{appointment_id.hex[:8].upper()}"


class BookingService:
    """Slots, holds and confirms for every doctor of the deployment."""

    def __init__(self, db: Pool, engine: HoldEngine, settings: Settings) -> None:
        self.db = db
        self.engine = engine
        self.settings = settings
        self.cache = ScheduleCache(db, settings.booking.schedule_cache_seconds)
        """Doctors, types, windows and overrides, kept per process for a few seconds (see cache.py)."""

    async def schedule(self, doctor_id: uuid.UUID, type_id: uuid.UUID, first: datetime, last: datetime) -> Schedule:
        """Load the doctor, the type and the windows and overrides that may apply in ``[first, last]``.

        Raises:
            NotFound: for an unknown doctor, or a type not of the doctor's organisation.
            NotBookable: (reason ``not_offered``) the type is limited to other doctors.
        """
        doctor = await self.cache.doctor(doctor_id)
        if doctor is None:
            raise NotFound(f"Doctor {doctor_id} not found.")
        appointment_type = await self.cache.appointment_type(type_id)
        if appointment_type is None or appointment_type.organisation_id != doctor.organisation_id:
            raise NotFound(f"Appointment type {type_id} not found for this doctor.")
        if not appointment_type.offered_by(doctor_id):
            # the type is limited to some of the organisation's doctors (cached with the type)
            raise NotBookable(f"{doctor.name} does not offer this appointment type.", reason="not_offered")
        tz = ZoneInfo(doctor.timezone)
        day_first = first.astimezone(tz).date() - timedelta(days=1)
        day_last = last.astimezone(tz).date() + timedelta(days=1)
        # windows outside the range and overrides of other dates never touch it (days never interact)
        calendar = await self.cache.calendar(doctor_id, day_first, day_last)
        return Schedule(doctor, appointment_type, tz, calendar.windows, calendar.overrides)

    async def taken(self, doctor_id: uuid.UUID, start: datetime, end: datetime) -> tuple[int, list[av.Interval]]:
        """The doctor's event ``seq`` and every held or booked interval near ``[start, end)``."""
        # Redis first, then Postgres: an event that lands in between carries a higher seq than
        # the snapshot, so a client applying events after `seq` never misses a change.
        # A day either side: a slot starting in the range may reach past its end, and what blocks
        # it may have started before its start (a slot and its buffer are shorter than a day).
        near_start, near_end = start - timedelta(days=1), end + timedelta(days=1)
        snapshot = await self.engine.snapshot(doctor_id, near_start, near_end)
        booked = await appointments_repo.booked_between(self.db, doctor_id, near_start, near_end)
        busy = [av.Interval(s, b) for _, s, b in booked]
        busy += [av.Interval(h.start, h.blocked_until) for h in snapshot.held]
        return snapshot.seq, busy

    async def slots(
        self, doctor_id: uuid.UUID, type_id: uuid.UUID, start: datetime, end: datetime, tz: ZoneInfo | None
    ) -> schemas.SlotsOut:
        """The free slots of ``[start, end)`` and the event sequence number they reflect."""
        if end <= start:
            raise ValidationFailed("to must be after from")
        if end - start > timedelta(days=self.settings.booking.max_slot_range_days):
            raise ValidationFailed(f"from..to may span {self.settings.booking.max_slot_range_days} days at most")
        schedule = await self.schedule(doctor_id, type_id, start, end)
        seq, busy = await self.taken(doctor_id, start, end)
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
            seq=seq,
            slots=[schemas.SlotOut(show(s.start, tz), show(s.end, tz)) for s in free],
        )

    def authorise_booking(self, who: Principal, doctor: Doctor, type_id: uuid.UUID) -> None:
        """May ``who`` book this doctor and type? Patients of the organisation (within their token's
        narrowing) and the organisation's staff may.

        Raises:
            Forbidden: otherwise.
        """
        if who.is_staff_of(doctor.organisation_id):
            return
        claims = who.patient
        if claims is None or who.organisation_id != doctor.organisation_id:
            raise Forbidden("This token may not book with this organisation.")
        if claims.doctor_ids is not None and doctor.id not in claims.doctor_ids:
            raise Forbidden("This booking token may not book this doctor.")
        if claims.appointment_type_ids is not None and type_id not in claims.appointment_type_ids:
            raise Forbidden("This booking token may not book this appointment type.")

    async def check_active_limit(
        self, patient_ref: str | None, appointment_type: AppointmentType, db: Conn | None = None,
        email: str | None = None,
    ) -> None:  # fmt: skip
        """A patient (one reference, or one email address across sessions) may have at most the type's
        ``max_active_per_patient`` upcoming appointments in the organisation.

        Raises:
            Conflict: ``too_many_active``.
        """
        limit = appointment_type.max_active_per_patient
        if limit is None or not patient_ref:
            return
        active = await appointments_repo.count_active_for_patient(
            db or self.db, appointment_type.organisation_id, patient_ref, email
        )
        if active >= limit:
            raise Conflict(
                f"You already have {active} upcoming appointment(s) here; at most {limit} at a time for this type.",
                code="too_many_active",
            )

    @metrics.counted(metrics.HOLDS, "held", "hold")
    async def hold(
        self, body: schemas.HoldIn, who: Principal, origin_check: OriginCheck | None = None
    ) -> schemas.HoldOut:
        """Hold a slot for the type's hold TTL.

        Raises:
            NotBookable: the start is not a slot the schedule offers (now) for this type.
            SlotTaken: any part of it is held or booked.
            Forbidden: the caller may not book this doctor or type.
        """
        start = instant(body.start, "start")
        now = utcnow()
        if start <= now:
            raise NotBookable("That slot has already started.", reason="past")
        schedule = await self.schedule(body.doctor_id, body.appointment_type_id, start, start)
        self.authorise_booking(who, schedule.doctor, body.appointment_type_id)
        if origin_check is not None:
            await origin_check(schedule.doctor.organisation_id)
        rules = schedule.rules(now)
        if body.override_notice:
            if not who.administers(schedule.doctor.organisation_id):
                raise Forbidden("Only the organisation's admins may override the notice rules.")
            rules = replace(rules, earliest=now, same_day_allowed=True, same_day_cutoff_minute=None)
        slot, blocked_until = offered_or_raise(
            start, tz=schedule.tz, windows=schedule.windows, overrides=schedule.overrides, rules=rules
        )
        await self.check_active_limit(who.patient_ref, schedule.appointment_type)
        new = await self.engine.hold(
            doctor_id=body.doctor_id,
            appointment_type_id=body.appointment_type_id,
            start=slot.start,
            end=slot.end,
            blocked_until=blocked_until,
            ttl_ms=schedule.appointment_type.hold_ttl_seconds * 1000,
            patient_ref=who.patient_ref or "",
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

    async def meet_now(self, doctor_id: uuid.UUID, type_id: uuid.UUID, who: Principal) -> schemas.HoldOut:
        """Staff book "meet now": hold the doctor's next free start, notice rules aside.

        Raises:
            Forbidden: the caller is not staff of the doctor's organisation.
            Conflict: ``no_free_slot`` when nothing is free in the next 24 hours.
        """
        now = utcnow()
        schedule = await self.schedule(doctor_id, type_id, now, now + timedelta(days=1))
        if not who.is_staff_of(schedule.doctor.organisation_id):
            raise Forbidden("Only the organisation's staff may start a meeting now.")
        rules = replace(schedule.rules(now), earliest=now, same_day_allowed=True, same_day_cutoff_minute=None)
        _, busy = await self.taken(doctor_id, now, now + timedelta(days=1))
        free = av.free_slots(
            tz=schedule.tz, windows=schedule.windows, overrides=schedule.overrides, rules=rules,
            range_start=now, range_end=now + timedelta(days=1), busy=busy,
        )  # fmt: skip
        grid = dict(av.grid(tz=schedule.tz, windows=schedule.windows, overrides=schedule.overrides, rules=rules,
                            range_start=now, range_end=now + timedelta(days=1)))  # fmt: skip
        for slot in free[:5]:  # someone may take the first one between our read and our hold
            new = await self.engine.hold(
                doctor_id=doctor_id, appointment_type_id=type_id, start=slot.start, end=slot.end,
                blocked_until=grid[slot], ttl_ms=schedule.appointment_type.hold_ttl_seconds * 1000,
            )  # fmt: skip
            if new is not None:
                return schemas.HoldOut(
                    hold_id=new.hold_id, hold_token=new.token, doctor_id=doctor_id, appointment_type_id=type_id,
                    start=iso(slot.start), end=iso(slot.end), expires_at=show(new.expires_at, None),
                )  # fmt: skip
        raise Conflict("The doctor has no free slot in the next 24 hours.", code="no_free_slot")

    async def hold_status(self, hold_id: uuid.UUID, token: str | None) -> schemas.HoldOut:
        """A hold as its holder sees it: ``held``, ``confirming``, ``booked``, ``released`` or ``expired``."""
        state, token = await self.hold_state(hold_id, token)
        status = state.status
        if status in ("held", "confirming") and state.deadline < utcnow():
            status = "expired"  # lapsed; the sweeper announces it within a second
        return schemas.HoldOut(
            hold_id=hold_id,
            hold_token=token,
            doctor_id=state.doctor_id,
            appointment_type_id=state.appointment_type_id,
            start=iso(state.start),
            end=iso(state.end),
            expires_at=show(state.deadline, None),
            status=status,
            appointment_id=state.appointment_id,
        )

    async def hold_state(self, hold_id: uuid.UUID, token: str | None) -> tuple[HoldState, str]:
        """The hold a token belongs to (404 when the token does not fit)."""
        if not token:
            raise Unauthorized("Send the hold's token as X-Hold-Token.", code="hold_token_required")
        doctor_id = token_doctor(token)
        state = await self.engine.state(doctor_id, hold_id) if doctor_id else None
        # The token names the doctor only: another hold's token of the same doctor must not
        # read (or act on) this hold, so it must be this hold's own.
        if state is None or not hmac.compare_digest(state.token_hash, token_hash(token)):
            raise NotFound(f"Hold {hold_id} not found.")
        return state, token

    async def release(self, hold_id: uuid.UUID, token: str | None) -> None:
        """Let a hold go (whoever holds its token)."""
        state, token = await self.hold_state(hold_id, token)
        outcome = await self.engine.release(state.doctor_id, hold_id, token, state)
        if outcome == "busy":
            raise HoldBusy("This hold is being confirmed right now.")
        if outcome != "ok":
            raise NotFound(f"Hold {hold_id} not found or already gone.")

    def authorise_hold(self, who: Principal, state: HoldState, doctor: Doctor) -> None:
        """The patient who took a hold, or the organisation's staff, may finish it."""
        if who.is_staff_of(doctor.organisation_id):
            return
        if state.patient_ref and who.organisation_id == doctor.organisation_id and who.patient_ref == state.patient_ref:
            return
        raise Forbidden("This hold was taken by someone else.")

    @metrics.counted(metrics.CONFIRMS, "booked", "confirm")
    async def confirm(
        self, hold_id: uuid.UUID, token: str | None, body: schemas.ConfirmIn, who: Principal,
        origin_check: OriginCheck | None = None,
    ) -> Appointment:  # fmt: skip
        """Turn a hold into an appointment in Postgres; clear the hold only after the commit.

        Raises:
            HoldExpired: the hold lapsed.
            SlotTaken: Postgres refuses the interval (Redis had lost a booking).
            HoldBusy: another confirm of this hold is running.
            Forbidden: the caller may not finish this hold, or is a manage link (``manage_link_scope``).
        """
        if who.appointment_id is not None:
            raise Forbidden(
                "A manage link moves its own appointment (POST /v1/appointments/{id}/reschedule); it books no new one.",
                code="manage_link_scope",
            )
        state, token = await self.hold_state(hold_id, token)
        doctor = await self.cache.doctor(state.doctor_id)
        appointment_type = await self.cache.appointment_type(state.appointment_type_id)
        if appointment_type is None or doctor is None:  # deleted while the hold was open
            raise NotFound("The doctor or appointment type of this hold no longer exists.")
        self.authorise_hold(who, state, doctor)
        if origin_check is not None:
            await origin_check(doctor.organisation_id)
        return await self.book(state, token, who, body, doctor, appointment_type)

    async def book(
        self,
        state: HoldState,
        token: str,
        who: Principal,
        body: schemas.ConfirmIn,
        doctor: Doctor,
        appointment_type: AppointmentType,
        replaces: Appointment | None = None,
        reason: str | None = None,
        notice_overridden_by: str | None = None,
    ) -> Appointment:
        """Write the appointment of a hold (and, for a reschedule, retire the one it replaces) atomically.

        ``notice_overridden_by`` marks an appointment staff booked inside the type's notice (the front desk).
        """
        patient = body.patient
        if patient.timezone is not None:
            zone(patient.timezone, "patient.timezone")
        payment = self.payment(appointment_type, body.payment)
        if who.patient is not None and appointment_type.min_notice_minutes:
            earliest = utcnow() + timedelta(minutes=appointment_type.min_notice_minutes)
            if state.start < earliest:
                raise NotBookable("This slot now starts too soon for this appointment type's notice.", reason="notice")
        if not appointment_type.offered_by(doctor.id):
            # the type was limited to other doctors while the hold was open: the hold stays, to be let go
            raise NotBookable(f"{doctor.name} no longer offers this appointment type.", reason="not_offered")
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
            raise NotFound(f"Hold {state.hold_id} not found or already gone.")
        actor = Actor(who.actor, who.patient_ref or (str(who.doctor_id) if who.doctor_id else None))
        try:
            async with self.db.acquire() as conn, conn.transaction():
                if replaces is not None:
                    retired = await appointments_repo.transition(
                        conn, replaces, "rescheduled", actor, reason=reason, detail={"hold_id": str(state.hold_id)}
                    )
                    if retired is None:
                        raise Conflict("The appointment changed while it was being moved.", code="invalid_transition")
                if state.patient_ref and appointment_type.max_active_per_patient is not None:
                    # Two confirms of one patient (or two sessions giving one email address) must
                    # not both slip under the limit.
                    await appointments_repo.lock_patient(conn, state.patient_ref, doctor.organisation_id, patient.email)
                    await self.check_active_limit(state.patient_ref, appointment_type, conn, patient.email)
                appointment = await appointments_repo.insert(
                    conn,
                    actor,
                    NewAppointment(
                        organisation_id=doctor.organisation_id,
                        doctor_id=doctor.id,
                        appointment_type_id=appointment_type.id,
                        hold_id=state.hold_id,
                        patient_name=patient.name,
                        patient_email=patient.email,
                        patient_phone=patient.phone,
                        patient_timezone=patient.timezone,
                        # a moved appointment stays its patient's, whoever held the new slot (staff, a manage link)
                        patient_ref=replaces.patient_ref if replaces else state.patient_ref or None,
                        starts_at=state.start,
                        ends_at=state.end,
                        blocked_until=state.blocked_until,
                        status="pending_approval" if appointment_type.requires_approval else "confirmed",
                        previous_appointment_id=replaces.id if replaces else None,
                        reschedule_count=replaces.reschedule_count + 1 if replaces else 0,
                        payment=payment,
                        notice_overridden_by=notice_overridden_by,
                    ),
                )
        except Overlap:
            await self.engine.end_confirm(state, "refused")
            await self.engine.warm(doctor.id, await booked_intervals(self.db, doctor.id))
            raise SlotTaken("This slot was booked by someone else.") from None
        except Duplicate:
            existing = await appointments_repo.get_by_hold(self.db, state.hold_id)
            if existing is None:
                raise
            await self.engine.end_confirm(state, "booked", existing.id)
            return existing
        except POSTGRES_LOST as exc:
            logger.warning("confirm of hold %s could not reach Postgres: %s", state.hold_id, exc)
            await self.engine.end_confirm(state, "retry")
            raise ServiceUnavailable("The appointment could not be saved; try again.", dependency="postgres") from exc
        except GatewayError:
            await self.engine.end_confirm(state, "retry")
            raise
        except Exception:
            # Whatever else failed (a bug, a constraint we did not map), the transaction rolled
            # back: give the hold back to its holder rather than leave it "confirming" until it lapses.
            logger.exception("confirm of hold %s failed; the hold is given back", state.hold_id)
            await self.engine.end_confirm(state, "retry")
            raise
        await self.engine.end_confirm(state, "booked", appointment.id)
        if replaces is not None:
            await self.engine.free(
                replaces.doctor_id, replaces.id, replaces.starts_at, replaces.ends_at, replaces.blocked_until
            )
        return appointment

    @staticmethod
    def payment(appointment_type: AppointmentType, given: schemas.PaymentIn | None) -> dict[str, object] | None:
        """What the confirm records of the payment the type asks for (no processor is called)."""
        mode = appointment_type.payment_mode
        if mode == "none":
            return None
        if given is None:
            raise ValidationFailed(
                f"This appointment type asks for a payment ({mode}); send payment.reference.", code="payment_required"
            )
        fee = appointment_type.fee_cents or 0
        amount = {
            "token": appointment_type.token_amount_cents or 0,
            "advance": fee * (appointment_type.advance_percent or 100) // 100,
            "full": fee,
        }[mode]
        return {
            "mode": mode,
            "amount_cents": amount,
            "currency": appointment_type.currency,
            "reference": given.reference,
        }
