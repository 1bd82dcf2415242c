"""Read-side routes the staff pages need: an organisation's doctors and types, a doctor's days off.

Staff of the organisation (its admins and doctors) and the platform operator may list the
doctors and appointment types; a doctor's date overrides are for the doctor and their admins,
like the windows.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from typing import Annotated

from litestar import delete, get
from litestar.params import FromPath, QueryParameter

from gateway.auth import Principal
from gateway.clinic import service
from gateway.deps import Caller, Db, Svc
from gateway.errors import NotFound, ValidationFailed
from gateway.timeutil import utcnow
from store import clinic as repo
from store.models import AppointmentType, DateOverride, Doctor
from store.types import Conn

Id = FromPath[uuid.UUID]

OVERRIDES_DEFAULT_DAYS = 365
OVERRIDES_MAX_DAYS = 731


async def _staff_organisation(db: Conn, who: Principal, organisation_id: uuid.UUID) -> None:
    """403 unless ``who`` is staff of the organisation (or the platform); 404 when it does not exist."""
    service.allow(who.is_staff_of(organisation_id), "Only the organisation's staff may list this.")
    if await repo.get_organisation(db, organisation_id) is None:
        raise NotFound(f"Organisation {organisation_id} not found.")


@get("/v1/organisations/{organisation_id:uuid}/doctors", tags=["clinic"], security=[{"bearer": []}])
async def list_doctors(db: Db, caller: Caller, organisation_id: Id) -> list[Doctor]:
    """The organisation's doctors, by name (its admins and doctors, and the platform operator)."""
    await _staff_organisation(db, caller, organisation_id)
    return sorted(await repo.list_doctors(db, organisation_id), key=lambda d: (d.name.casefold(), str(d.id)))


@get("/v1/organisations/{organisation_id:uuid}/appointment-types", tags=["clinic"], security=[{"bearer": []}])
async def list_types(db: Db, caller: Caller, organisation_id: Id) -> list[AppointmentType]:
    """The organisation's appointment types and their rules (its admins and doctors, and the platform)."""
    await _staff_organisation(db, caller, organisation_id)
    return await repo.list_types(db, organisation_id)


def _day(raw: str | None, field: str, default: date) -> date:
    if raw is None:
        return default
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise ValidationFailed(f"{field}: {raw!r} is not a date like 2026-05-04", field=field) from None


@get("/v1/doctors/{doctor_id:uuid}/date-overrides", tags=["availability"], security=[{"bearer": []}])
async def list_overrides(
    db: Db,
    caller: Caller,
    doctor_id: Id,
    from_: Annotated[str | None, QueryParameter(name="from", description="first date; default today (UTC)")] = None,
    to: Annotated[
        str | None, QueryParameter(name="to", description=f"last date; default from + {OVERRIDES_DEFAULT_DAYS} days")
    ] = None,
) -> list[DateOverride]:
    """The doctor's date overrides (days off and changed days) between two dates, by date."""
    await service.managed_doctor(db, caller, doctor_id)
    # A doctor's "today" may still be yesterday in UTC: start a day early.
    first = _day(from_, "from", utcnow().date() - timedelta(days=1))
    last = _day(to, "to", first + timedelta(days=OVERRIDES_DEFAULT_DAYS))
    if last < first or (last - first).days > OVERRIDES_MAX_DAYS:
        raise ValidationFailed(f"to: need from <= to, at most {OVERRIDES_MAX_DAYS} days apart", field="to")
    return await repo.list_overrides(db, doctor_id, first, last)


@delete("/v1/doctors/{doctor_id:uuid}/date-overrides/{override_id:uuid}", tags=["availability"])
async def delete_override(db: Db, svc: Svc, caller: Caller, doctor_id: Id, override_id: Id) -> None:
    """Remove a date override: the date follows the weekly windows again."""
    await service.managed_doctor(db, caller, doctor_id)
    if not await repo.delete_override(db, doctor_id, override_id):
        raise NotFound(f"Date override {override_id} not found for doctor {doctor_id}.")
    await svc.engine.resync(doctor_id)  # open pages refetch their slots


handlers = [list_doctors, list_types, list_overrides, delete_override]
"""Registered on the app itself, not through a Router, and after the clinic router: a Router would
build its own ``OPTIONS`` handler for ``/v1/doctors/{id}/date-overrides``, which the clinic router
has already (for ``POST``), and Litestar refuses two ``OPTIONS`` handlers on one path."""
