"""The long-lived objects of one gateway process, opened and closed in the app's lifespan."""

from __future__ import annotations

import asyncio
import functools
import logging
from dataclasses import dataclass
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.cluster import RedisCluster

from broadcast.hub import Hub
from broadcast.replay import ReplayLog
from gateway.abuse import LiveHolds
from gateway.appointments.rooms import Rooms
from gateway.appointments.service import AppointmentService
from gateway.auth import Authenticator
from gateway.booking import truth
from gateway.booking.service import BookingService
from gateway.cors import OriginPolicy
from gateway.notify.assembly import build_worker
from gateway.notify.links import ManageLinks
from gateway.notify.worker import Worker
from gateway.ratelimit import Limiter, StreamQuota
from gateway.settings import Settings
from gateway.trust.tokens import TokenVerifier
from holds.batch import AnyRedis
from holds.engine import HoldEngine
from holds.keys import CLUSTER_DUE_SHARDS, Keys
from holds.sweeper import Sweeper
from store.pool import open_pool
from store.types import Pool

logger = logging.getLogger("gateway.services")


@dataclass
class Services:
    settings: Settings
    db: Pool
    redis: Any
    """The Redis client, a :data:`holds.batch.AnyRedis` (one Redis or a cluster). Typed ``Any``
    here because handlers take this object as a dependency and Litestar's signature model
    (msgspec) refuses a union of two classes."""
    keys: Keys
    engine: HoldEngine
    booking: BookingService
    sweeper: Sweeper
    hub: Hub
    replay: ReplayLog
    verifier: TokenVerifier
    auth: Authenticator
    limiter: Limiter
    origins: OriginPolicy
    appointments: AppointmentService
    live_holds: LiveHolds
    streams: StreamQuota
    worker: Worker | None
    links: ManageLinks
    """Mints and checks "manage my booking" links (``mng_…`` bearer tokens)."""

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        db = await open_pool(settings.database)
        redis: AnyRedis
        if settings.redis.cluster:
            # Any node's address will do: the client reads the slot map and connects to each
            # primary as needed (the batcher cuts its batches by node, holds/batch.py).
            redis = RedisCluster.from_url(settings.redis.url, decode_responses=True, health_check_interval=30)
        else:
            # A blocking pool: a burst of holds (1,000 racing for one slot) waits a moment for a free
            # connection instead of failing with "Too many connections" (503) once 100 are in use.
            pool = BlockingConnectionPool.from_url(
                settings.redis.url, decode_responses=True, health_check_interval=30, max_connections=100, timeout=10
            )
            redis = Redis.from_pool(pool)  # the client owns the pool: aclose() closes it
        keys = Keys(settings.redis.prefix, due_shards=CLUSTER_DUE_SHARDS if settings.redis.cluster else 1)
        engine = HoldEngine(
            redis,
            keys,
            functools.partial(truth.booked_intervals, db),
            stale=functools.partial(truth.stale_interval, db),
            log_max=settings.booking.replay_log_size,
            history_ms=settings.booking.hold_history_seconds * 1000,
        )
        booking = BookingService(db, engine, settings)
        hub = Hub(
            settings.redis.url,
            keys,
            queue_size=settings.live.client_queue_size,
            ping_seconds=settings.live.ping_seconds,
            send_timeout_seconds=settings.live.send_timeout_seconds,
            cluster=settings.redis.cluster,
        )
        # schedule edits: forgotten here at once, in every other process when their hub sees the resync
        engine.on_resync.append(booking.cache.forget)
        hub.on_resync.append(booking.cache.forget)
        trust = settings.trust
        verifier = TokenVerifier(
            settings.secret_key,
            session_ttl=trust.session_ttl_seconds,
            max_lifetime=trust.partner_token_max_lifetime_seconds,
            leeway=trust.token_leeway_seconds,
        )
        links = ManageLinks(settings.secret_key, settings.public_url)
        return cls(
            settings=settings,
            db=db,
            redis=redis,
            keys=keys,
            engine=engine,
            booking=booking,
            sweeper=Sweeper(engine),
            hub=hub,
            replay=ReplayLog(redis, keys, engine.batcher),
            verifier=verifier,
            auth=Authenticator(db, settings.admin_token, verifier, links),
            limiter=Limiter(redis, keys.prefix, settings.rate_limits, engine.batcher),
            live_holds=LiveHolds(
                redis, keys.prefix, trust.live_holds_per_patient, settings.rate_limits, engine.batcher
            ),
            streams=StreamQuota(settings.live.streams_per_address if settings.rate_limits else None),
            origins=OriginPolicy(db),
            worker=build_worker(settings, db) if settings.notify.worker else None,
            links=links,
            appointments=AppointmentService(
                db,
                booking,
                Rooms(
                    settings.secret_key,
                    settings.meeting_url_template,
                    settings.jitsi_app_id,
                    settings.jitsi_app_secret,
                ),
            ),
        )

    async def close(self, pool_grace_seconds: float = 2.0) -> None:
        """Stop the background work, then close Redis and Postgres; never hangs on a leaked connection."""
        # side by side: each stop is bounded (about 2 s when a call swallows its cancellation), so
        # SIGTERM drains within the contract's 5 s even when every one of them is slow
        stops = [self.hub.stop(), self.sweeper.stop()]
        if self.worker is not None:
            stops.append(self.worker.stop())
        await asyncio.gather(*stops)
        await self.engine.batcher.drain()  # a batch on its way gets its answers before Redis closes
        await self.redis.aclose()
        try:
            # asyncpg waits for every connection to come back; a task that never returns one must
            # not hold the shutdown: past the bound the pool is terminated (asyncpg does so itself)
            async with asyncio.timeout(pool_grace_seconds):
                await self.db.close()
        except TimeoutError:
            logger.warning("the Postgres pool did not close within %.0f s; connections cut", pool_grace_seconds)
