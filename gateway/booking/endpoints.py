"""Routes of the booking path. Thin: parse, authorise, call the service, shape the answer."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Annotated, Any

from litestar import Request, Router, delete, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from gateway.abuse import check_anonymous_confirm
from gateway.auth import Principal, require_principal
from gateway.booking import schemas
from gateway.booking.service import OriginCheck, appointment_out
from gateway.deps import Booking, Caller, Svc
from gateway.ratelimit import client_address
from gateway.services import Services
from gateway.state import services_of
from gateway.timeutil import instant, utcnow, zone

DEFAULT_DAYS = 14
NO_STORE = CacheControlHeader(no_store=True)
"""Answers carrying a hold token or a manage link: no cache may keep a copy."""
HoldToken = Annotated[str | None, HeaderParameter(name="X-Hold-Token")]


def origin_check(svc: Services, request: Request[Any, Any, Any]) -> OriginCheck:
    async def check(organisation_id: uuid.UUID) -> None:
        await svc.origins.check(request.scope, organisation_id)

    return check


async def rate_limit(svc: Services, request: Request[Any, Any, Any], caller: Principal, action: str) -> None:
    """Holds and confirms count per patient token and per client address, across every process."""
    trust = svc.settings.trust
    per_patient, per_address = (
        (trust.holds_per_patient, trust.holds_per_address)
        if action == "holds"
        else (trust.confirms_per_patient, trust.confirms_per_address)
    )
    checks = [(f"{action}:address", client_address(request), per_address)]
    if caller.patient_ref is not None:
        checks.insert(0, (f"{action}:patient", f"{caller.organisation_id}:{caller.patient_ref}", per_patient))
    await svc.limiter.check_all(checks)  # one round trip for both


@get("/v1/doctors/{doctor_id:uuid}/slots", tags=["booking"])
async def list_slots(
    booking: Booking,
    doctor_id: FromPath[uuid.UUID],
    appointment_type_id: Annotated[uuid.UUID, QueryParameter(name="appointment_type_id")],
    from_: Annotated[str | None, QueryParameter(name="from", description="ISO instant; default now")] = None,
    to: Annotated[
        str | None, QueryParameter(name="to", description=f"ISO instant; default from + {DEFAULT_DAYS} days")
    ] = None,
    tz: Annotated[str | None, QueryParameter(name="tz", description="IANA zone to show times in; default UTC")] = None,
) -> schemas.SlotsOut:
    """The doctor's free slots for one appointment type, and the event ``seq`` they reflect."""
    start = instant(from_, "from") if from_ else utcnow()
    end = instant(to, "to") if to else start + timedelta(days=DEFAULT_DAYS)
    return await booking.slots(doctor_id, appointment_type_id, start, end, zone(tz) if tz else None)


@post("/v1/holds", tags=["booking"], security=[{"bearer": []}], cache_control=NO_STORE)
async def create_hold(request: Request[Any, Any, Any], data: JSONBody[schemas.HoldIn]) -> schemas.HoldOut:
    """Hold a slot at once (all of it or nothing). Confirm before ``expires_at``.

    Needs a patient token (a session from ``POST /v1/sessions`` or a partner's booking token) or
    a staff token of the doctor's organisation.
    """
    # No dependencies: the services come from the app's state and the caller is resolved here.
    # Litestar resolves a handler's dependencies through its kwargs model (several of them in
    # an anyio task group), which cost the hot path a few percent of its CPU per dependency.
    svc = services_of(request)
    caller = await require_principal(request)
    await rate_limit(svc, request, caller, "holds")
    # the reservation lives 30 s at most should this process die before settling it
    reservation = await svc.live_holds.reserve(caller, 30_000)
    try:
        held = await svc.booking.hold(data, caller, origin_check(svc, request))
    except BaseException:
        await svc.live_holds.settle(caller, reservation, None, 0)
        raise
    deadline = datetime.fromisoformat(held.expires_at.replace("Z", "+00:00"))
    await svc.live_holds.settle(caller, reservation, held.hold_id, int(deadline.timestamp() * 1000))
    return held


@delete("/v1/holds/{hold_id:uuid}", tags=["booking"])
async def release_hold(booking: Booking, svc: Svc, hold_id: FromPath[uuid.UUID], hold_token: HoldToken = None) -> None:
    """Let a hold go; the slot is free again at once. The hold token is the proof of ownership."""
    state, _ = await booking.hold_state(hold_id, hold_token)
    await booking.release(hold_id, hold_token)
    doctor = await booking.cache.doctor(state.doctor_id)
    if doctor is not None:  # it no longer counts against its patient's live holds
        await svc.live_holds.forget(doctor.organisation_id, state.patient_ref, hold_id)


@get("/v1/holds/{hold_id:uuid}", tags=["booking"], cache_control=NO_STORE)
async def get_hold(booking: Booking, hold_id: FromPath[uuid.UUID], hold_token: HoldToken = None) -> schemas.HoldOut:
    """A hold as its holder sees it (status ``held``, ``confirming``, ``booked``, ``released`` or ``expired``)."""
    return await booking.hold_status(hold_id, hold_token)


@post("/v1/doctors/{doctor_id:uuid}/meet-now", tags=["booking"], security=[{"bearer": []}], cache_control=NO_STORE)
async def meet_now(
    booking: Booking, caller: Caller, doctor_id: FromPath[uuid.UUID], data: JSONBody[schemas.MeetNowIn]
) -> schemas.HoldOut:
    """Staff: hold the doctor's next free start now (notice rules aside); confirm it for the patient."""
    return await booking.meet_now(doctor_id, data.appointment_type_id, caller)


@post("/v1/holds/{hold_id:uuid}/confirm", tags=["booking"], security=[{"bearer": []}], cache_control=NO_STORE)
async def confirm_hold(
    request: Request[Any, Any, Any],
    hold_id: FromPath[uuid.UUID],
    data: JSONBody[schemas.ConfirmIn],
    hold_token: HoldToken = None,
) -> schemas.ConfirmOut:
    """Confirm a hold: the appointment is written to Postgres, the slot becomes booked.

    Needs the hold's token (``X-Hold-Token``) and the same patient (or the organisation's staff).
    A patient caller also gets ``manage_url``: the appointment's "manage my booking" page.
    """
    svc = services_of(request)  # no dependencies: see create_hold
    caller = await require_principal(request)
    await rate_limit(svc, request, caller, "confirms")
    await check_anonymous_confirm(svc.limiter, svc.settings, request, caller)
    appointment = await svc.booking.confirm(hold_id, hold_token, data, caller, origin_check(svc, request))
    if appointment.patient_ref:  # booked: no longer a live hold of its patient
        await svc.live_holds.forget(appointment.organisation_id, appointment.patient_ref, hold_id)
    manage_url = svc.links.url(appointment.id, appointment.ends_at) if caller.patient is not None else None
    return schemas.ConfirmOut(appointment_out(appointment), manage_url)


router = Router(path="/", route_handlers=[list_slots, create_hold, release_hold, get_hold, meet_now, confirm_hold])
