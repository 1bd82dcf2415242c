"""Routes of the booking path. Thin: parse, call the service, shape the answer."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated

from litestar import Router, delete, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from gateway.booking import schemas
from gateway.booking.service import BookingService, appointment_out
from gateway.timeutil import instant, utcnow, zone

DEFAULT_DAYS = 14
Booking = NamedDependency[BookingService]


@get("/v1/doctors/{doctor_id:uuid}/slots", tags=["booking"])
async def list_slots(
    booking: Booking,
    doctor_id: FromPath[uuid.UUID],
    appointment_type_id: Annotated[uuid.UUID, QueryParameter(name="appointment_type_id")],
    from_: Annotated[str | None, QueryParameter(name="from", description="ISO instant; default now")] = None,
    to: Annotated[
        str | None, QueryParameter(name="to", description=f"ISO instant; default from + {DEFAULT_DAYS} days")
    ] = None,
    tz: Annotated[
        str | None, QueryParameter(name="tz", description="IANA zone to show times in; default UTC")
    ] = None,
) -> schemas.SlotsOut:
    """The doctor's free slots for one appointment type, and the event ``seq`` they reflect."""
    start = instant(from_, "from") if from_ else utcnow()
    end = instant(to, "to") if to else start + timedelta(days=DEFAULT_DAYS)
    return await booking.slots(doctor_id, appointment_type_id, start, end, zone(tz) if tz else None)


@post("/v1/holds", tags=["booking"])
async def create_hold(booking: Booking, data: JSONBody[schemas.HoldIn]) -> schemas.HoldOut:
    """Hold a slot at once (all of it or nothing). Confirm before ``expires_at``."""
    return await booking.hold(data)


@delete("/v1/holds/{hold_id:uuid}", tags=["booking"])
async def release_hold(
    booking: Booking,
    hold_id: FromPath[uuid.UUID],
    hold_token: Annotated[str | None, HeaderParameter(name="X-Hold-Token")] = None,
) -> None:
    """Let a hold go; the slot is free again at once."""
    await booking.release(hold_id, hold_token)


@post("/v1/holds/{hold_id:uuid}/confirm", tags=["booking"])
async def confirm_hold(
    booking: Booking,
    hold_id: FromPath[uuid.UUID],
    data: JSONBody[schemas.ConfirmIn],
    hold_token: Annotated[str | None, HeaderParameter(name="X-Hold-Token")] = None,
) -> schemas.ConfirmOut:
    """Confirm a hold: the appointment is written to Postgres, the slot becomes booked."""
    appointment = await booking.confirm(hold_id, hold_token, data.patient)
    return schemas.ConfirmOut(appointment_out(appointment))


router = Router(path="/", route_handlers=[list_slots, create_hold, release_hold, confirm_hold])
