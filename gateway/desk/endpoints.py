"""The front desk's routes: live holds (list, release without the token), staff slots, bookings
for a patient (notice override marked) and "meet now". Thin: parse, authorise, call the service."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from litestar import Router, delete, get, post
from litestar.params import FromPath, JSONBody, QueryParameter

from gateway.booking.endpoints import DEFAULT_DAYS
from gateway.booking.schemas import AppointmentOut
from gateway.booking.service import appointment_out
from gateway.deps import Caller, Svc
from gateway.desk import schemas
from gateway.desk.service import DeskService
from gateway.timeutil import instant, utcnow, zone

Tz = Annotated[str | None, QueryParameter(name="tz", description="IANA zone to show times in; default UTC")]


@get("/v1/admin/desk", tags=["desk"], security=[{"bearer": []}])
async def desk(
    svc: Svc,
    caller: Caller,
    organisation: Annotated[
        str | None, QueryParameter(description="The organisation's id or slug (the platform token needs it)")
    ] = None,
) -> schemas.DeskOut:
    """What the front desk page starts from: the organisation (by id or slug), its doctors and types."""
    return await DeskService(svc).context(caller, organisation)


@get("/v1/admin/organisations/{organisation_id:uuid}/holds", tags=["desk"], security=[{"bearer": []}])
async def list_holds(
    svc: Svc, caller: Caller, organisation_id: FromPath[uuid.UUID], tz: Tz = None
) -> schemas.LiveHoldsOut:
    """Every live hold of the organisation's doctors (never a hold's token), by start."""
    return await DeskService(svc).holds(organisation_id, caller, zone(tz) if tz else None)


@delete("/v1/admin/holds/{hold_id:uuid}", tags=["desk"], security=[{"bearer": []}])
async def release_hold(
    svc: Svc,
    caller: Caller,
    hold_id: FromPath[uuid.UUID],
    doctor_id: Annotated[uuid.UUID, QueryParameter(name="doctor_id", description="The hold's doctor")],
) -> None:
    """Let a patient's hold go without its token (the organisation's staff): 204; the slot is free
    again at once and announced as ``slot.released``; 409 ``hold_busy`` while it is being confirmed."""
    await DeskService(svc).release(hold_id, doctor_id, caller)


@get("/v1/admin/doctors/{doctor_id:uuid}/slots", tags=["desk"], security=[{"bearer": []}])
async def staff_slots(
    svc: Svc,
    caller: Caller,
    doctor_id: FromPath[uuid.UUID],
    appointment_type_id: Annotated[uuid.UUID, QueryParameter(name="appointment_type_id")],
    from_: Annotated[str | None, QueryParameter(name="from", description="ISO instant; default now")] = None,
    to: Annotated[
        str | None, QueryParameter(name="to", description=f"ISO instant; default from + {DEFAULT_DAYS} days")
    ] = None,
    tz: Tz = None,
) -> schemas.DeskSlotsOut:
    """The doctor's free slots as staff see them: those inside the type's notice too, ``inside_notice: true``."""
    start = instant(from_, "from") if from_ else utcnow()
    end = instant(to, "to") if to else start + timedelta(days=DEFAULT_DAYS)
    return await DeskService(svc).slots(doctor_id, appointment_type_id, start, end, zone(tz) if tz else None, caller)


@post("/v1/admin/bookings", tags=["desk"], security=[{"bearer": []}])
async def book_for_patient(svc: Svc, caller: Caller, data: JSONBody[schemas.DeskBookingIn]) -> AppointmentOut:
    """Staff book a free time for a patient: 201 the appointment. Inside the type's notice it needs
    ``override_notice: true`` (admins) and is marked ``notice_overridden``."""
    return appointment_out(await DeskService(svc).book(data, caller))


@post("/v1/admin/meet-now", tags=["desk"], security=[{"bearer": []}])
async def meet_now(svc: Svc, caller: Caller, data: JSONBody[schemas.DeskMeetNowIn]) -> AppointmentOut:
    """An appointment starting this minute when the doctor is free for its length: 201, and its join
    link works at once; 409 ``doctor_busy`` or ``slot_taken`` otherwise."""
    return appointment_out(await DeskService(svc).meet_now(data, caller))


router = Router(path="/", route_handlers=[desk, list_holds, release_hold, staff_slots, book_for_patient, meet_now])
