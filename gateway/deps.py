"""How a route reaches the process's services: declared once, here.

Routes name what they need by these aliases (``db: Db``, ``svc: Svc``, ``caller: Caller`` …) and
Litestar provides them from :data:`DEPENDENCIES`, which ``create_app`` registers. Code that is not
a route parameter list (middleware, guards, the auth provider, ASGI apps) and the few hot routes
that take no dependency at all (hold and confirm, the live streams: Litestar resolves each
dependency through its kwargs model, a measurable share of a hold's CPU) call
:func:`services_of`. Both read the one ``Services`` the lifespan put in the app's state.
"""

from __future__ import annotations

from typing import Any, cast

from litestar import Request
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide

from gateway.appointments.service import AppointmentService
from gateway.auth import Principal, principal_of, require_principal
from gateway.booking.service import BookingService
from gateway.services import Services
from gateway.state import services_of as services_of
from store.types import Conn


def provide_db(state: State) -> Conn:
    return cast("Services", state.services).db


def provide_services(state: State) -> Services:
    return cast("Services", state.services)


def provide_booking(state: State) -> BookingService:
    return cast("Services", state.services).booking


def provide_appointments(state: State) -> AppointmentService:
    return cast("Services", state.services).appointments


async def provide_caller(request: Request[Any, Any, Any]) -> Principal:
    """The authenticated caller; 401 when the request has no (valid) bearer token."""
    return await require_principal(request)


async def provide_maybe_caller(request: Request[Any, Any, Any]) -> Principal | None:
    """The caller when the request carries a bearer token (which must then be valid)."""
    return await principal_of(request)


DEPENDENCIES = {
    "db": Provide(provide_db, sync_to_thread=False),
    "svc": Provide(provide_services, sync_to_thread=False),
    "booking": Provide(provide_booking, sync_to_thread=False),
    "appointments": Provide(provide_appointments, sync_to_thread=False),
    "caller": Provide(provide_caller),
    "maybe_caller": Provide(provide_maybe_caller),
}
"""Every dependency a route may name, registered once by ``create_app``."""

Db = NamedDependency[Conn]
"""The asyncpg pool."""
Svc = NamedDependency[Services]
"""All of the process's services."""
Booking = NamedDependency[BookingService]
Appointments = NamedDependency[AppointmentService]
Caller = NamedDependency[Principal]
"""The authenticated caller (401 without a valid token)."""
MaybeCaller = NamedDependency[Principal | None]
"""The caller when a token was sent, else ``None``."""
