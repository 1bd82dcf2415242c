"""Routes of the appointment lifecycle. Thin: parse, authorise, call the service, shape the answer."""

from __future__ import annotations

import uuid
from typing import Annotated

import msgspec
from litestar import Response, Router, get, post
from litestar.datastructures import CacheControlHeader
from litestar.params import FromPath, HeaderParameter, JSONBody, QueryParameter

from gateway.appointments import calendar, schemas
from gateway.booking.schemas import AppointmentOut
from gateway.booking.service import appointment_out
from gateway.deps import Appointments, Caller, Svc
from gateway.errors import NotFound
from gateway.timeutil import instant, zone
from store import clinic as clinic_repo

Id = FromPath[uuid.UUID]
Tz = Annotated[str | None, QueryParameter(name="tz", description="IANA zone to show times in; default UTC")]


class ReasonIn(schemas.CancelIn):
    """An optional note recorded in the history."""


@get("/v1/appointments", tags=["appointments"], security=[{"bearer": []}])
async def list_appointments(
    caller: Caller,
    appointments: Appointments,
    doctor_id: Annotated[uuid.UUID | None, QueryParameter(name="doctor_id")] = None,
    patient: Annotated[
        str | None,
        QueryParameter(
            name="patient",
            description=(
                "staff: the patient reference, or words found in the patient's name or email"
                " (case-insensitive; a whole email address matches)"
            ),
        ),
    ] = None,
    status: Annotated[list[str] | None, QueryParameter(name="status", description="may repeat")] = None,
    from_: Annotated[str | None, QueryParameter(name="from")] = None,
    to: Annotated[str | None, QueryParameter(name="to")] = None,
    cursor: Annotated[str | None, QueryParameter(name="cursor")] = None,
    limit: Annotated[int, QueryParameter(name="limit", description="1..50")] = 20,
    tz: Tz = None,
) -> schemas.AppointmentPage:
    """Appointments the caller may see, oldest first; default: the upcoming active ones."""
    rows, next_cursor = await appointments.page(
        caller,
        doctor_id=doctor_id,
        patient=patient,
        statuses=status or [],
        start=instant(from_, "from") if from_ else None,
        end=instant(to, "to") if to else None,
        cursor=cursor,
        limit=limit,
    )
    shown = zone(tz) if tz else None
    return schemas.AppointmentPage(items=[appointment_out(a, shown) for a in rows], next_cursor=next_cursor)


@get("/v1/appointments/{ref:str}", tags=["appointments"], security=[{"bearer": []}])
async def get_appointment(
    caller: Caller, appointments: Appointments, ref: FromPath[str], tz: Tz = None
) -> Response[AppointmentOut] | Response[bytes]:
    """One appointment; ``/v1/appointments/{id}.ics`` gives it as an iCalendar file."""
    raw, _, suffix = ref.partition(".")
    try:
        appointment_id = uuid.UUID(raw)
    except ValueError:
        raise NotFound(f"Appointment {ref} not found.") from None
    a = await appointments.get(caller, appointment_id)
    if suffix == "ics":
        doctor = await clinic_repo.get_doctor(appointments.db, a.doctor_id)
        appointment_type = await clinic_repo.get_type(appointments.db, a.appointment_type_id)
        assert doctor is not None and appointment_type is not None
        return Response(
            calendar.ics(a, doctor, appointment_type, appointments.booking.settings.public_url),
            media_type="text/calendar; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="appointment-{a.id}.ics"'},
        )
    if suffix:
        raise NotFound(f"Appointment {ref} not found.")
    return Response(appointment_out(a, zone(tz) if tz else None))


@post("/v1/appointments/{appointment_id:uuid}/cancel", status_code=200, tags=["appointments"])
async def cancel(
    caller: Caller, appointments: Appointments, appointment_id: Id, data: JSONBody[schemas.CancelIn]
) -> AppointmentOut:
    """Cancel with a reason (required). Patients only until the type's cancellation notice."""
    return appointment_out(await appointments.cancel(caller, appointment_id, data.reason))


@post(
    "/v1/appointments/{appointment_id:uuid}/reschedule",
    tags=["appointments"],
    cache_control=CacheControlHeader(no_store=True),  # manage_url is a bearer credential
)
async def reschedule(
    caller: Caller,
    appointments: Appointments,
    appointment_id: Id,
    data: JSONBody[schemas.RescheduleIn],
    svc: Svc,
    hold_token: Annotated[str | None, HeaderParameter(name="X-Hold-Token")] = None,
) -> schemas.MovedOut:
    """Move to a newly held slot; the old appointment becomes ``rescheduled``, the new one links to it.

    A patient caller also gets ``manage_url``, the new appointment's manage page: a manage link
    (``mng_…``) of the old appointment stops working once it has moved.
    """
    moved = await appointments.reschedule(caller, appointment_id, data.hold_id, hold_token, data.reason)
    manage_url = svc.links.url(moved.id, moved.ends_at) if caller.patient is not None else None
    return schemas.MovedOut(**msgspec.structs.asdict(appointment_out(moved)), manage_url=manage_url)


@get(
    "/v1/appointments/{appointment_id:uuid}/join",
    tags=["appointments"],
    cache_control=CacheControlHeader(no_store=True),
)
async def join(caller: Caller, appointments: Appointments, appointment_id: Id) -> schemas.JoinOut:
    """The meeting URL, from 10 minutes before the start until 60 minutes after the end (409 otherwise)."""
    return await appointments.join(caller, appointment_id)


@post("/v1/appointments/{appointment_id:uuid}/no-show", status_code=200, tags=["appointments"])
async def no_show(
    caller: Caller, appointments: Appointments, appointment_id: Id, data: JSONBody[ReasonIn | None] = None
) -> AppointmentOut:
    """Record that the patient did not come (staff; after the join window closed)."""
    return appointment_out(await appointments.no_show(caller, appointment_id, data.reason if data else None))


@post("/v1/appointments/{appointment_id:uuid}/complete", status_code=200, tags=["appointments"])
async def complete(
    caller: Caller, appointments: Appointments, appointment_id: Id, data: JSONBody[ReasonIn | None] = None
) -> AppointmentOut:
    """Mark as completed (staff; once it has started)."""
    return appointment_out(await appointments.complete(caller, appointment_id, data.reason if data else None))


@post("/v1/appointments/{appointment_id:uuid}/approve", status_code=200, tags=["appointments"])
async def approve(
    caller: Caller, appointments: Appointments, appointment_id: Id, data: JSONBody[ReasonIn | None] = None
) -> AppointmentOut:
    """Approve an appointment of a type that requires approval (staff)."""
    return appointment_out(await appointments.approve(caller, appointment_id, data.reason if data else None))


@get("/v1/appointments/{appointment_id:uuid}/history", tags=["appointments"])
async def history(caller: Caller, appointments: Appointments, appointment_id: Id) -> schemas.HistoryOut:
    """Every change: who, when, from, to, reason."""
    events = await appointments.history(caller, appointment_id)
    return schemas.HistoryOut(
        appointment_id=appointment_id,
        items=[
            schemas.HistoryEntry(
                at=e.at,
                actor=e.actor,
                actor_ref=e.actor_ref,
                from_status=e.from_status,
                to_status=e.to_status,
                reason=e.reason,
                detail=e.detail,
            )
            for e in events
        ],
    )


router = Router(
    path="/",
    route_handlers=[list_appointments, get_appointment, cancel, reschedule, join, no_show, complete, approve, history],
)
