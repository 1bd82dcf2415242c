"""``create_app(settings) -> Litestar``: routes, dependencies, errors and the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from gateway.booking.endpoints import router as booking_router
from gateway.booking.service import BookingService
from gateway.clinic.endpoints import router as clinic_router
from gateway.errors import exception_handlers
from gateway.health import healthz
from gateway.services import Services
from gateway.settings import Settings


def provide_db(state: State) -> Any:
    return state.services.db


def provide_booking(state: State) -> BookingService:
    booking: BookingService = state.services.booking
    return booking


def create_app(settings: Settings | None = None) -> Litestar:
    """Build the gateway app. Postgres and Redis are opened when it starts, closed when it stops."""
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        services = await Services.open(settings)
        app.state.services = services
        services.sweeper.start()
        try:
            yield
        finally:
            await services.close()

    return Litestar(
        route_handlers=[healthz, clinic_router, booking_router],
        dependencies={
            "db": Provide(provide_db, sync_to_thread=False),
            "booking": Provide(provide_booking, sync_to_thread=False),
        },
        exception_handlers=exception_handlers,
        lifespan=[lifespan],
        state=State({"settings": settings}),
        openapi_config=OpenAPIConfig(
            title="Booking gateway",
            version="1.0.0",
            description="Live slots, atomic holds and confirmed appointments for telehealth clinics.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        debug=settings.debug,
    )
