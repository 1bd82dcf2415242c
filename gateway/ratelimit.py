"""Rate limits kept in Redis, so every gateway process counts against the same budget."""

from __future__ import annotations

import math
from typing import Any

from litestar.connection import ASGIConnection
from redis.asyncio import Redis

from gateway.errors import RateLimited
from gateway.settings import Rate


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address (uvicorn has already applied X-Forwarded-For from trusted proxies)."""
    client = connection.client
    return client.host if client else "unknown"


class Limiter:
    """Fixed windows: the first request of a window starts it; ``count`` requests fit in it.

    Args:
        redis: the shared Redis.
        prefix: the deployment's key prefix.
        enabled: ``GATEWAY_RATE_LIMITS``; off turns every check into a no-op.
    """

    def __init__(self, redis: Redis, prefix: str, enabled: bool) -> None:
        self.redis = redis
        self.prefix = prefix
        self.enabled = enabled

    async def check(self, scope: str, ident: str, rate: Rate) -> None:
        """Count one request of ``ident`` against ``rate``.

        Raises:
            RateLimited: 429 with ``retry_after`` (also sent as the ``Retry-After`` header).
        """
        if not self.enabled:
            return
        key = f"{self.prefix}:rl:{scope}:{ident}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(key, 0, px=rate.seconds * 1000, nx=True)
            pipe.incr(key)
            pipe.pttl(key)
            _, count, ttl_ms = await pipe.execute()
        if int(count) > rate.count:
            retry_after = max(1, math.ceil(int(ttl_ms) / 1000))
            raise RateLimited(
                f"Too many requests: at most {rate.count} per {rate.seconds} s. Try again in {retry_after} s.",
                retry_after=retry_after,
            )
