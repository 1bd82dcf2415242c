"""Rate limits kept in Redis, so every gateway process counts against the same budget."""

from __future__ import annotations

import ipaddress
import math
from typing import Any, NamedTuple

import msgspec
from litestar.connection import ASGIConnection

from gateway.errors import RateLimited
from gateway.settings import Rate
from holds.batch import AnyRedis, Batcher
from holds.scripts import Script


class RateCountArgs(msgspec.Struct, array_like=True, frozen=True):
    window_ms: int


class Count(NamedTuple):
    used: int
    """Requests counted in this window, this one included."""
    ttl_ms: int
    """What the window has left."""


RATE_COUNT = Script("gateway", "rate_count", RateCountArgs, lambda reply: Count(int(reply[0]), int(reply[1])))


def client_address(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address (uvicorn has already applied X-Forwarded-For from trusted proxies)."""
    client = connection.client
    return client.host if client else "unknown"


def client_network(connection: ASGIConnection[Any, Any, Any, Any]) -> str:
    """The client's address, or its /64 for IPv6: one subscriber commonly holds a whole /64, so
    counting single IPv6 addresses would give one client 2**64 budgets."""
    host = client_address(connection)
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.IPv6Network((address, 64), strict=False))
    return str(address)


class Limiter:
    """Fixed windows: the first request of a window starts it; ``count`` requests fit in it.

    Args:
        redis: the shared Redis.
        prefix: the deployment's key prefix.
        enabled: ``GATEWAY_RATE_LIMITS``; off turns every check into a no-op.
        batcher: sends the counts with the other requests' Redis commands of the moment (a hold
            counts twice, per patient and per address: one script call each, one round trip).
    """

    def __init__(self, redis: AnyRedis, prefix: str, enabled: bool, batcher: Batcher | None = None) -> None:
        self.redis = redis
        self.prefix = prefix
        self.enabled = enabled
        self.batcher = batcher or Batcher(redis)

    async def check(self, scope: str, ident: str, rate: Rate) -> None:
        """Count one request of ``ident`` against ``rate``.

        Raises:
            RateLimited: 429 with ``retry_after`` (also sent as the ``Retry-After`` header).
        """
        await self.check_all([(scope, ident, rate)])

    async def check_all(self, checks: list[tuple[str, str, Rate]], codes: dict[str, str] | None = None) -> None:
        """Count one request against each ``(scope, ident, rate)``, in order, in one round trip.

        As if checked one after another: a request the first budget refuses does not count
        against the ones after it (their counts are taken back; refusals are the rare path).

        Args:
            checks: the budgets.
            codes: the error code of a scope whose refusal is not plain ``rate_limited``.

        Raises:
            RateLimited: for the first budget exceeded.
        """
        if not self.enabled or not checks:
            return
        keys = [f"{self.prefix}:rl:{scope}:{ident}" for scope, ident, _ in checks]
        counts = await self.batcher.run_all(
            [
                RATE_COUNT.call([key], RateCountArgs(rate.seconds * 1000))
                for key, (_, _, rate) in zip(keys, checks, strict=True)
            ]
        )
        for n, ((scope, _, rate), (used, ttl_ms)) in enumerate(zip(checks, counts, strict=True)):
            if used > rate.count:
                later = [("DECR", key) for key in keys[n + 1 :]]
                if later:
                    await self.batcher.execute(*later)
                retry_after = max(1, math.ceil(ttl_ms / 1000))
                raise RateLimited(
                    f"Too many requests: at most {rate.count} per {rate.seconds} s. Try again in {retry_after} s.",
                    code=(codes or {}).get(scope),
                    retry_after=retry_after,
                    limit=scope,
                )


class StreamQuota:
    """Live streams open per client address (an IPv6 client's /64) in this process.

    One page needs one stream; a client holding dozens is a scraper or a leak, and each stream
    costs the process memory and a share of every event's fan-out. Counted in memory: a stream
    lives in one process, and counting there needs no Redis round trip nor cleanup after a crash.

    Args:
        limit: streams one address may hold open at once; ``None`` for no limit.
    """

    def __init__(self, limit: int | None) -> None:
        self.limit = limit
        self._open: dict[str, int] = {}

    def take(self, address: str) -> None:
        """Count one more open stream of ``address``.

        Raises:
            RateLimited: ``too_many_streams`` when it already holds ``limit``.
        """
        held = self._open.get(address, 0)
        if self.limit is not None and held >= self.limit:
            raise RateLimited(
                f"This address already holds {held} live streams; close one first.",
                code="too_many_streams",
                retry_after=5,
            )
        self._open[address] = held + 1

    def give_back(self, address: str) -> None:
        """One stream of ``address`` ended."""
        held = self._open.get(address, 0) - 1
        if held > 0:
            self._open[address] = held
        else:
            self._open.pop(address, None)
