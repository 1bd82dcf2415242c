"""Abuse limits on the booking path, counted in Redis so every process shares them.

* Live holds per patient (``GATEWAY_LIVE_HOLDS_PER_PATIENT``, 2): 429 ``too_many_holds``. One
  sorted set per patient holds their live holds scored by deadline, so lapsed holds stop
  counting by themselves; a reservation is taken atomically before the hold (two racing holds of
  one patient cannot both slip under the limit) and settled or given back after it.
* Confirms from anonymous sessions per client address or IPv6 /64 (429 ``too_many_bookings``) and
  per organisation (429 ``rate_limited``, logged and counted for an alert): a fresh session per
  booking is free, so sessions alone must not be what limits a patient.

``GATEWAY_RATE_LIMITS=off`` lifts them all.
"""

from __future__ import annotations

import logging
import uuid
from typing import Any

import msgspec
from litestar.connection import ASGIConnection

from gateway import metrics
from gateway.auth import Principal
from gateway.errors import RateLimited
from gateway.ratelimit import Limiter, client_network
from gateway.settings import Settings
from holds.batch import AnyRedis, Batcher
from holds.scripts import Script

logger = logging.getLogger("gateway.abuse")


class ReserveArgs(msgspec.Struct, array_like=True, frozen=True):
    limit: int
    member: str
    ttl_ms: int


RESERVE = Script("gateway", "live_holds_reserve", ReserveArgs, lambda reply: bool(reply))
"""Whether the place was taken (``False``: the patient is at the limit)."""


class LiveHolds:
    """How many live holds each patient has.

    Args:
        redis: the shared Redis.
        prefix: the deployment's key prefix.
        limit: live holds per patient at most.
        enabled: ``GATEWAY_RATE_LIMITS``.
        batcher: sends the reservation with the other Redis commands of the moment.
    """

    def __init__(self, redis: AnyRedis, prefix: str, limit: int, enabled: bool, batcher: Batcher | None = None) -> None:
        self.redis = redis
        self.batcher = batcher or Batcher(redis)
        self.prefix = prefix
        self.limit = limit
        self.enabled = enabled

    def _key(self, organisation_id: uuid.UUID | None, patient_ref: str) -> str:
        return f"{self.prefix}:lh:{organisation_id}:{patient_ref}"

    async def reserve(self, who: Principal, ttl_ms: int) -> str | None:
        """Take a place for one more hold of ``who``, for ``ttl_ms`` at most (Redis's clock); returns
        its reservation (``None``: not counted).

        Raises:
            RateLimited: ``too_many_holds``.
        """
        if not self.enabled or who.patient_ref is None:
            return None
        member = f"pending:{uuid.uuid4()}"
        key = self._key(who.organisation_id, who.patient_ref)
        args = ReserveArgs(limit=self.limit, member=member, ttl_ms=ttl_ms)
        if not await self.batcher.run(RESERVE.call([key], args)):
            raise RateLimited(
                f"You already hold {self.limit} slot(s); confirm or release one first.",
                code="too_many_holds",
                retry_after=5,
            )
        return member

    async def settle(
        self, who: Principal, reservation: str | None, hold_id: uuid.UUID | None, deadline_ms: int
    ) -> None:
        """Turn a reservation into the hold it became (or give it back when ``hold_id`` is ``None``)."""
        if reservation is None or who.patient_ref is None:
            return
        key = self._key(who.organisation_id, who.patient_ref)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.zrem(key, reservation)
            if hold_id is not None:
                pipe.zadd(key, {str(hold_id): deadline_ms})
            await pipe.execute()

    async def forget(self, organisation_id: uuid.UUID, patient_ref: str, hold_id: uuid.UUID) -> None:
        """A hold was released or booked: it no longer counts."""
        if self.enabled and patient_ref:
            await self.redis.zrem(self._key(organisation_id, patient_ref), str(hold_id))


async def check_anonymous_confirm(
    limiter: Limiter, settings: Settings, connection: ASGIConnection[Any, Any, Any, Any], who: Principal
) -> None:
    """Budgets of confirms from anonymous sessions: per address (or /64) and per organisation.

    Raises:
        RateLimited: ``too_many_bookings`` (this address), or ``rate_limited`` (the organisation).
    """
    if who.patient is None or who.patient.via != "session":
        return
    trust = settings.trust
    try:
        await limiter.check_all(
            [
                ("anon-bookings:address", client_network(connection), trust.anonymous_bookings_per_address),
                ("anon-confirms:org", str(who.organisation_id), trust.anonymous_confirms_per_organisation),
            ],
            codes={"anon-bookings:address": "too_many_bookings"},
        )
    except RateLimited as exc:
        limit = (
            "anonymous_bookings_per_address"
            if exc.code == "too_many_bookings"
            else "anonymous_confirms_per_organisation"
        )
        metrics.ABUSE_LIMITS.labels(limit).inc()
        if limit == "anonymous_confirms_per_organisation":
            logger.warning(
                "organisation %s crossed %s anonymous confirms per %s s: someone may be booking out its calendar",
                who.organisation_id, trust.anonymous_confirms_per_organisation.count,
                trust.anonymous_confirms_per_organisation.seconds,
            )  # fmt: skip
        raise
