"""The front desk's decisions: whose holds staff may see and release, staff slots, booking for a
patient (inside the notice only when asked, and then marked), and "meet now".

Staff bookings take the same path as a patient's: a hold in Redis (the fast gate every patient
hold also passes), then the confirm that writes the appointment under Postgres' EXCLUDE
constraint. So a desk booking can never take a slot a patient holds, nor the other way round.
"""

from __future__ import annotations

import logging
import uuid
from dataclasses import replace
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from gateway import availability as av
from gateway.auth import Principal
from gateway.booking.rules import offered_or_raise
from gateway.booking.schemas import ConfirmIn
from gateway.booking.service import BookingService, Schedule
from gateway.clinic.schemas import DirectoryDoctor, DirectoryOrganisation
from gateway.desk import schemas
from gateway.errors import Conflict, Forbidden, HoldBusy, NotBookable, NotFound, SlotTaken, ValidationFailed
from gateway.services import Services
from gateway.timeutil import instant, show, utcnow
from holds.engine import LiveHold
from store import appointments as appointments_repo
from store import clinic as clinic_repo
from store.models import Appointment, Doctor, Organisation

logger = logging.getLogger("gateway.desk")

NOTICE_REASONS = ("notice", "same_day")
"""What ``override_notice`` lifts: the type's minimum notice and its same-day rules (not its
windows, its grid or how far ahead it may be booked)."""


def relaxed(rules: av.Rules, now: datetime) -> av.Rules:
    """The type's rules without its notice and same-day limits (the desk's override)."""
    return replace(rules, earliest=now, same_day_allowed=True, same_day_cutoff_minute=None)


def hold_out(hold: LiveHold, tz: ZoneInfo | None) -> schemas.LiveHoldOut:
    return schemas.LiveHoldOut(
        hold_id=hold.hold_id,
        doctor_id=hold.doctor_id,
        start=show(hold.start, tz),
        end=show(hold.end, tz),
        expires_at=show(hold.expires_at, tz),
    )


class DeskService:
    """The front desk of every organisation, on the process's services."""

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self.booking: BookingService = svc.booking

    async def organisation(self, who: Principal, named: str | None) -> Organisation:
        """The organisation the desk runs: an admin's own, or the one the platform names by id or slug.

        Raises:
            ValidationFailed: the platform named none.
            NotFound: no organisation has this id or slug.
            Forbidden: the caller is not staff of it.
        """
        db = self.svc.db
        if not named:
            if who.organisation_id is None:
                raise ValidationFailed("Name the organisation (its id or slug).", code="organisation_required")
            found = await clinic_repo.get_organisation(db, who.organisation_id)
        else:
            try:
                found = await clinic_repo.get_organisation(db, uuid.UUID(named))
            except ValueError:
                found = await clinic_repo.get_organisation_by_slug(db, named)
        if found is None:
            raise NotFound("No organisation has this id or slug.")
        if not who.is_staff_of(found.id):
            raise Forbidden("Only the organisation's staff may run its front desk.")
        return found

    async def staff_doctor(self, doctor_id: uuid.UUID, who: Principal) -> Doctor:
        """The doctor, when ``who`` is staff of the doctor's organisation (404 unknown, 403 not staff)."""
        doctor = await self.booking.cache.doctor(doctor_id)
        if doctor is None:
            raise NotFound(f"Doctor {doctor_id} not found.")
        if not who.is_staff_of(doctor.organisation_id):
            raise Forbidden("Only the organisation's staff may do this.")
        return doctor

    async def holds(self, organisation_id: uuid.UUID, who: Principal, tz: ZoneInfo | None) -> schemas.LiveHoldsOut:
        """Every live hold of the organisation's doctors, by start, read from Redis."""
        if not who.is_staff_of(organisation_id):
            raise Forbidden("Only the organisation's staff may see its holds.")
        if await clinic_repo.get_organisation(self.svc.db, organisation_id) is None:
            raise NotFound(f"Organisation {organisation_id} not found.")
        doctors = await clinic_repo.list_doctors(self.svc.db, organisation_id)
        live = await self.booking.engine.live_holds([d.id for d in doctors])
        return schemas.LiveHoldsOut(organisation_id=organisation_id, holds=[hold_out(h, tz) for h in live])

    async def release(self, hold_id: uuid.UUID, doctor_id: uuid.UUID, who: Principal) -> None:
        """Let a hold go for the organisation's staff, without its token; announced like any release.

        Raises:
            HoldBusy: the hold is being confirmed right now.
            NotFound: no such live hold of this doctor.
        """
        doctor = await self.staff_doctor(doctor_id, who)
        state = await self.booking.engine.state(doctor_id, hold_id)
        if state is None:
            raise NotFound(f"Hold {hold_id} not found.")
        outcome = await self.booking.engine.staff_release(state)
        if outcome == "busy":
            raise HoldBusy("This hold is being confirmed right now.")
        if outcome != "ok":
            raise NotFound(f"Hold {hold_id} not found or already gone.")
        # it no longer counts against its patient's live holds
        await self.svc.live_holds.forget(doctor.organisation_id, state.patient_ref, hold_id)

    async def slots(
        self, doctor_id: uuid.UUID, type_id: uuid.UUID, start: datetime, end: datetime, tz: ZoneInfo | None,
        who: Principal,
    ) -> schemas.DeskSlotsOut:  # fmt: skip
        """The free slots as staff see them: also those inside the type's notice, flagged."""
        limit = self.svc.settings.booking.max_slot_range_days
        if end <= start:
            raise ValidationFailed("to must be after from")
        if end - start > timedelta(days=limit):
            raise ValidationFailed(f"from..to may span {limit} days at most")
        await self.staff_doctor(doctor_id, who)
        schedule = await self.booking.schedule(doctor_id, type_id, start, end)
        seq, busy = await self.booking.taken(doctor_id, start, end)
        now = utcnow()

        def free(rules: av.Rules) -> list[av.Slot]:
            return av.free_slots(
                tz=schedule.tz, windows=schedule.windows, overrides=schedule.overrides, rules=rules,
                range_start=max(start, now), range_end=end, busy=busy,
            )  # fmt: skip

        usual = set(free(schedule.rules(now)))
        return schemas.DeskSlotsOut(
            doctor_id=doctor_id,
            appointment_type_id=type_id,
            timezone=tz.key if tz else "UTC",
            seq=seq,
            slots=[
                schemas.DeskSlotOut(start=show(s.start, tz), end=show(s.end, tz), inside_notice=s not in usual)
                for s in free(relaxed(schedule.rules(now), now))
            ],
        )

    def _offered(self, schedule: Schedule, start: datetime, now: datetime, override: bool, who: Principal) -> tuple[
        av.Slot, datetime, bool
    ]:  # fmt: skip
        """The slot at ``start`` with its blocked-until, and whether only the override allows it."""

        def offered(rules: av.Rules) -> tuple[av.Slot, datetime]:
            return offered_or_raise(
                start, tz=schedule.tz, windows=schedule.windows, overrides=schedule.overrides, rules=rules
            )

        try:
            slot, blocked_until = offered(schedule.rules(now))
        except NotBookable as refused:
            if refused.extra.get("reason") not in NOTICE_REASONS:
                raise
            if not override:
                raise NotBookable(
                    f"{refused.detail} Staff may book it anyway with override_notice: true.",
                    code="notice_override_required",
                    reason=refused.extra.get("reason"),
                ) from None
            if not who.administers(schedule.doctor.organisation_id):
                raise Forbidden("Only the organisation's admins may book inside the notice.") from None
            slot, blocked_until = offered(relaxed(schedule.rules(now), now))
            return slot, blocked_until, True
        return slot, blocked_until, False

    async def book(self, body: schemas.DeskBookingIn, who: Principal) -> Appointment:
        """Book a free time of any of the organisation's doctors for a patient (hold, then confirm).

        Raises:
            NotBookable: not a slot of the doctor (``not_bookable``), or inside the notice without
                ``override_notice`` (``notice_override_required``).
            SlotTaken: a patient holds or has booked (part of) it.
        """
        start = instant(body.start, "start")
        now = utcnow()
        if start <= now:
            raise NotBookable("That slot has already started.", reason="past")
        await self.staff_doctor(body.doctor_id, who)
        schedule = await self.booking.schedule(body.doctor_id, body.appointment_type_id, start, start)
        slot, blocked_until, overridden = self._offered(schedule, start, now, body.override_notice, who)
        return await self._hold_and_confirm(
            schedule, slot, blocked_until, ConfirmIn(patient=body.patient, payment=body.payment), who,
            who.actor if overridden else None,
        )  # fmt: skip

    async def meet_now(self, body: schemas.DeskMeetNowIn, who: Principal) -> Appointment:
        """An appointment starting now (this minute) when the doctor is free for its whole length.

        Working hours are not asked: the desk has the doctor's word. Nothing booked or held may
        touch ``[now, now + duration + buffer)``.

        Raises:
            NotBookable: the type needs an approval (``reason: requires_approval``).
            Conflict: ``doctor_busy`` when an appointment is under way or starts too soon.
            SlotTaken: a patient holds (part of) that time.
        """
        await self.staff_doctor(body.doctor_id, who)
        start = utcnow().replace(second=0, microsecond=0)
        schedule = await self.booking.schedule(body.doctor_id, body.appointment_type_id, start, start)
        kind = schedule.appointment_type
        if kind.requires_approval:  # it would wait for an approval, and its room with it
            raise NotBookable(
                "This appointment type needs an approval first; meet now with a type that does not.",
                reason="requires_approval",
            )
        end = start + timedelta(minutes=kind.duration_minutes)
        blocked_until = end + timedelta(minutes=kind.buffer_minutes)
        if await appointments_repo.booked_between(self.svc.db, body.doctor_id, start, blocked_until):
            raise Conflict("The doctor has an appointment now or too soon for this one.", code="doctor_busy")
        return await self._hold_and_confirm(
            schedule, av.Slot(start, end), blocked_until, ConfirmIn(patient=body.patient, payment=body.payment), who,
            None,
        )  # fmt: skip

    async def _hold_and_confirm(
        self, schedule: Schedule, slot: av.Slot, blocked_until: datetime, confirm: ConfirmIn, who: Principal,
        notice_overridden_by: str | None,
    ) -> Appointment:  # fmt: skip
        """The patient path, done at once: a hold (refused when anyone holds or booked part of it),
        then its confirm; a confirm that fails gives the hold back at once."""
        doctor, kind = schedule.doctor, schedule.appointment_type
        self.booking.payment(kind, confirm.payment)  # refuse a missing payment before holding anything
        engine = self.booking.engine
        new = await engine.hold(
            doctor_id=doctor.id, appointment_type_id=kind.id, start=slot.start, end=slot.end,
            blocked_until=blocked_until, ttl_ms=kind.hold_ttl_seconds * 1000,
        )  # fmt: skip
        if new is None:
            raise SlotTaken("Someone else holds or has booked (part of) this time.")
        state = await engine.state(doctor.id, new.hold_id)
        if state is None:  # forgotten between two calls: Redis was flushed
            raise SlotTaken("The hold for this time was lost; please try again.")
        try:
            return await self.booking.book(
                state, new.token, who, confirm, doctor, kind, notice_overridden_by=notice_overridden_by
            )
        except BaseException:
            try:
                await engine.release(doctor.id, new.hold_id, new.token, state)
            except Exception:  # the hold lapses on its own; the caller's error matters more
                logger.warning("could not give back hold %s after a failed desk booking", new.hold_id)
            raise

    async def context(self, who: Principal, named: str | None) -> schemas.DeskOut:
        """The organisation, its doctors and its types, for the desk page."""
        organisation = await self.organisation(who, named)
        doctors = await clinic_repo.list_doctors(self.svc.db, organisation.id)
        types = await clinic_repo.list_types(self.svc.db, organisation.id)
        return schemas.DeskOut(
            organisation=DirectoryOrganisation(id=organisation.id, name=organisation.name, slug=organisation.slug),
            doctors=[
                DirectoryDoctor(id=d.id, name=d.name, timezone=d.timezone)
                for d in sorted(doctors, key=lambda d: (d.name.casefold(), str(d.id)))
            ],
            appointment_types=[
                schemas.DeskType(
                    id=t.id,
                    name=t.name,
                    duration_minutes=t.duration_minutes,
                    min_notice_minutes=t.min_notice_minutes,
                    payment_mode=t.payment_mode,
                    doctor_ids=t.doctor_ids,
                )
                for t in types
            ],
        )
