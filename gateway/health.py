"""``GET /healthz``: 200 when Postgres and Redis answer, 503 naming the one that does not."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from typing import Any

from litestar import Request, Response, get

from gateway.state import services_of
from store.pool import ping

logger = logging.getLogger("gateway.health")


async def _check(name: str, probe: Awaitable[Any]) -> tuple[str, str]:
    try:
        async with asyncio.timeout(2):
            await probe
    except Exception as exc:  # any failure means "not healthy"
        # The exception's text can carry host names, users and paths: the log gets it, the
        # (unauthenticated) answer only says which dependency failed.
        logger.warning("health check: %s failed: %s: %s", name, type(exc).__name__, exc)
        return name, "unavailable"
    return name, "ok"


@get("/healthz", tags=["ops"])
async def healthz(request: Request[Any, Any, Any]) -> Response[dict[str, Any]]:
    """Whether this process reaches Postgres and Redis."""
    services = services_of(request)
    results = dict(
        await asyncio.gather(
            _check("postgres", ping(services.db)),
            _check("redis", services.redis.ping()),
        )
    )
    healthy = all(v == "ok" for v in results.values())
    body: dict[str, Any] = {"status": "ok" if healthy else "unavailable", "checks": results}
    if not healthy:
        body["code"] = "unavailable"
        body["detail"] = "; ".join(f"{k} does not answer" for k, v in results.items() if v != "ok")
    return Response(body, status_code=200 if healthy else 503)
