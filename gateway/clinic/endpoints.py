"""Routes for setting up a clinic. Thin: parse, authorise, call the service, answer."""

from __future__ import annotations

import uuid

from litestar import Router, delete, get, patch, post, put
from litestar.params import FromPath, JSONBody

from gateway.auth import require_platform
from gateway.clinic import public, schemas, service
from gateway.deps import Caller, Db, Svc
from store import clinic as repo
from store.models import AppointmentType, AvailabilityWindow, DateOverride, Doctor, Organisation

Id = FromPath[uuid.UUID]


@post("/v1/admin/organisations", guards=[require_platform], tags=["clinic"])
async def create_organisation(db: Db, data: JSONBody[schemas.OrganisationIn]) -> Organisation:
    """Create an organisation (platform operator)."""
    return await service.create_organisation(db, data)


@post("/v1/admin/doctors", tags=["clinic"])
async def create_doctor(db: Db, caller: Caller, data: JSONBody[schemas.DoctorIn]) -> Doctor:
    """Create a doctor in an organisation, with the IANA zone their windows are in."""
    return await service.create_doctor(db, caller, data)


@patch("/v1/admin/doctors/{doctor_id:uuid}", tags=["clinic"], security=[{"bearer": []}])
async def update_doctor(db: Db, svc: Svc, caller: Caller, doctor_id: Id, data: JSONBody[schemas.DoctorPatch]) -> Doctor:
    """Edit a doctor: ``name``, ``timezone``, and the contact details notifications use: ``email``
    (booking notices) and ``mobile_phone`` (E.164, SMS reminders); ``null`` clears one.

    The organisation's admins may change any field; the doctor may change their own ``email`` and
    ``mobile_phone``. A number that is not E.164 is 422 ``invalid_phone``, a malformed address 422
    ``invalid_email``. The answer, like the staff list of doctors, carries the contact details;
    ``GET /v1/doctors/{id}`` (public) never does.
    """
    updated = await service.update_doctor(db, caller, doctor_id, data)
    if not {"name", "timezone"}.isdisjoint(schemas.changes(data)):
        await svc.engine.resync(doctor_id)  # the zone shapes the slots; every process forgets the doctor
    return updated


@get("/v1/doctors/{doctor_id:uuid}", tags=["clinic"])
async def get_doctor(db: Db, doctor_id: Id) -> schemas.PublicDoctor:
    """A doctor's public profile (name and zone; never their contact details)."""
    return service.public_doctor(await service.doctor(db, doctor_id))


@post("/v1/admin/appointment-types", tags=["clinic"])
async def create_type(svc: Svc, caller: Caller, data: JSONBody[schemas.AppointmentTypeIn]) -> AppointmentType:
    """Create an appointment type with its booking rules (and, with ``doctor_ids``, the doctors who offer it)."""
    return await service.create_type(svc.db, caller, data)


@patch("/v1/admin/appointment-types/{type_id:uuid}", tags=["clinic"])
async def update_type(
    db: Db, svc: Svc, caller: Caller, type_id: Id, data: JSONBody[schemas.AppointmentTypePatch]
) -> AppointmentType:
    """Edit some fields of an appointment type (``doctor_ids`` too); open pages of the organisation's
    doctors refetch their slots."""
    updated = await service.update_type(svc.db, caller, type_id, data)
    # duration, buffer and notice rules shape the slots; the resync also makes every process
    # forget the type it keeps in its schedule cache
    for doctor in await repo.list_doctors(db, updated.organisation_id):
        await svc.engine.resync(doctor.id)
    return updated


@put("/v1/admin/appointment-types/{type_id:uuid}/doctors", tags=["clinic"], security=[{"bearer": []}])
async def set_type_doctors(
    db: Db, svc: Svc, caller: Caller, type_id: Id, data: JSONBody[schemas.TypeDoctorsIn]
) -> schemas.TypeDoctorsOut:
    """Choose the doctors who offer an appointment type (the organisation's admins).

    ``{"doctor_ids": []}`` makes every doctor of the organisation offer it again (the default). A
    doctor who does not offer the type has no slots for it (``/slots`` and holds: 422
    ``not_bookable``, reason ``not_offered``); a doctor of another organisation is 422
    ``doctor_not_in_organisation``.
    """
    answer = await service.set_type_doctors(svc.db, caller, type_id, data)
    current = await service.appointment_type(db, type_id)
    # open pages refetch their slots; every process forgets the type it keeps in its cache
    for doctor in await repo.list_doctors(db, current.organisation_id):
        await svc.engine.resync(doctor.id)
    return answer


@get("/v1/admin/appointment-types/{type_id:uuid}/doctors", tags=["clinic"], security=[{"bearer": []}])
async def get_type_doctors(db: Db, caller: Caller, type_id: Id) -> schemas.TypeDoctorsOut:
    """The doctors who offer an appointment type (empty: every doctor of its organisation)."""
    found = await service.type_doctors(db, caller, type_id)
    return schemas.TypeDoctorsOut(appointment_type_id=found.id, doctor_ids=found.doctor_ids)


@get("/v1/appointment-types/{type_id:uuid}", tags=["clinic"])
async def get_type(db: Db, type_id: Id) -> AppointmentType:
    """An appointment type and its rules."""
    return await service.appointment_type(db, type_id)


@post("/v1/doctors/{doctor_id:uuid}/availability-windows", tags=["availability"])
async def create_window(
    db: Db, svc: Svc, caller: Caller, doctor_id: Id, data: JSONBody[schemas.WindowIn]
) -> AvailabilityWindow:
    """Add a recurring weekly window (minutes since local midnight, ISO weekday)."""
    window = await service.create_window(db, caller, doctor_id, data)
    await svc.engine.resync(doctor_id)  # open pages refetch their slots
    return window


@get("/v1/doctors/{doctor_id:uuid}/availability-windows", tags=["availability"])
async def list_windows(db: Db, caller: Caller, doctor_id: Id) -> list[AvailabilityWindow]:
    """The doctor's windows (soft-deleted ones left out)."""
    await service.managed_doctor(db, caller, doctor_id)
    return await repo.list_windows(db, doctor_id)


@patch(
    "/v1/doctors/{doctor_id:uuid}/availability-windows/{window_id:uuid}",
    tags=["availability"],
)
async def update_window(
    db: Db, svc: Svc, caller: Caller, doctor_id: Id, window_id: Id, data: JSONBody[schemas.WindowPatch]
) -> AvailabilityWindow:
    """Edit a window, or toggle it with ``active``."""
    window = await service.update_window(db, caller, doctor_id, window_id, data)
    await svc.engine.resync(doctor_id)
    return window


@delete(
    "/v1/doctors/{doctor_id:uuid}/availability-windows/{window_id:uuid}",
    tags=["availability"],
)
async def delete_window(db: Db, svc: Svc, caller: Caller, doctor_id: Id, window_id: Id) -> None:
    """Soft-delete a window."""
    await service.delete_window(db, caller, doctor_id, window_id)
    await svc.engine.resync(doctor_id)


@post("/v1/doctors/{doctor_id:uuid}/date-overrides", tags=["availability"])
async def set_override(
    db: Db, svc: Svc, caller: Caller, doctor_id: Id, data: JSONBody[schemas.DateOverrideIn]
) -> DateOverride:
    """Set one date's override (a day off, or other windows); replaces that date's earlier override."""
    override = await service.set_override(db, caller, doctor_id, data)
    await svc.engine.resync(doctor_id)
    return override


router = Router(
    path="/",
    route_handlers=[
        create_organisation, create_doctor, update_doctor, get_doctor, create_type, update_type, get_type,
        set_type_doctors, get_type_doctors, *public.handlers,
        create_window, list_windows, update_window, delete_window, set_override,
    ],
)  # fmt: skip
