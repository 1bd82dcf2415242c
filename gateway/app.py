"""``create_app(settings) -> Litestar``: routes, dependencies, errors and the lifespan."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from litestar import Litestar
from litestar.datastructures import State
from litestar.logging.config import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme

from gateway.appointments.endpoints import router as appointments_router
from gateway.bodies import GatewayRequest
from gateway.booking.endpoints import router as booking_router
from gateway.clinic.directory import handlers as directory_handlers
from gateway.clinic.endpoints import router as clinic_router
from gateway.cors import cors_middleware
from gateway.deps import DEPENDENCIES
from gateway.desk.endpoints import router as desk_router
from gateway.errors import exception_handlers
from gateway.health import healthz
from gateway.live.endpoints import router as live_router
from gateway.me import router as me_router
from gateway.metrics import metrics_endpoint, metrics_middleware, retire, watch
from gateway.pages import router as pages_router
from gateway.reminders.endpoints import router as reminders_router
from gateway.reviews.endpoints import router as reviews_router
from gateway.runtime import tune_gc
from gateway.services import Services
from gateway.settings import INSECURE_DEV_KEY, Settings
from gateway.trust.endpoints import router as trust_router
from gateway.webhooks.endpoints import router as webhooks_router

logger = logging.getLogger("gateway")


def create_served_app() -> Litestar:
    """The app ``gateway serve`` runs (each worker process): ``create_app`` plus process tuning.

    Raises:
        RuntimeError: the secret key must not serve (``gateway serve`` checks first; this is for
            anyone running the factory with uvicorn directly).
    """
    settings = Settings.from_env()
    if problem := settings.secret_key_problem():
        raise RuntimeError(f"refusing to serve: {problem}")
    return create_app(settings, tune_process=True)


def create_app(settings: Settings | None = None, *, tune_process: bool = False) -> Litestar:
    """Build the gateway app. Postgres and Redis are opened when it starts, closed when it stops.

    Args:
        settings: default: read from the environment.
        tune_process: freeze start-up objects and raise the GC thresholds once started (a
            served process; see ``gateway/runtime.py``), never in apps built by tests.
    """
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        if settings.secret_key_problem() is None and settings.secret_key == INSECURE_DEV_KEY:
            logger.warning("GATEWAY_DEV=on and GATEWAY_SECRET_KEY is not set: using the insecure development key")
        services = await Services.open(settings)
        app.state.services = services
        services.sweeper.start()
        if services.worker is not None:
            services.worker.start()
        await services.hub.start()
        watch(services.hub)
        if tune_process:
            tune_gc()
        try:
            yield
        finally:
            await services.close()
            retire(services.hub)

    return Litestar(
        route_handlers=[
            healthz,
            metrics_endpoint,
            clinic_router,
            booking_router,
            trust_router,
            appointments_router,
            pages_router,
            live_router,
            me_router,
            webhooks_router,
            reminders_router,
            reviews_router,
            desk_router,
            *directory_handlers,  # after clinic_router: see gateway/clinic/directory.py
        ],
        middleware=[metrics_middleware, cors_middleware],
        dependencies=DEPENDENCIES,
        exception_handlers=exception_handlers,
        request_class=GatewayRequest,
        lifespan=[lifespan],
        state=State({"settings": settings}),
        openapi_config=OpenAPIConfig(
            title="Booking gateway",
            version="1.0.0",
            description="Live slots, atomic holds and confirmed appointments for telehealth clinics.",
            components=Components(security_schemes={"bearer": SecurityScheme(type="http", scheme="bearer")}),
        ),
        debug=settings.debug,
        # Litestar's records go through the process's one handler (gateway/logs.py): it neither
        # replaces the root logger's handlers nor adds a format of its own.
        logging_config=LoggingConfig(
            configure_root_logger=False, loggers={"litestar": {"level": "INFO", "handlers": [], "propagate": True}}
        ),
    )
