"""The long-lived objects of one gateway process, opened and closed in the app's lifespan."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import asyncpg
from redis.asyncio import Redis

from gateway.booking.service import BookingService
from gateway.settings import Settings
from holds.engine import HoldEngine
from holds.keys import Keys
from holds.sweeper import Sweeper
from store.pool import open_pool


@dataclass
class Services:
    settings: Settings
    db: asyncpg.Pool[Any]
    redis: Redis
    keys: Keys
    engine: HoldEngine
    booking: BookingService
    sweeper: Sweeper

    @classmethod
    async def open(cls, settings: Settings) -> Services:
        db = await open_pool(settings.database)
        redis = Redis.from_url(settings.redis.url, decode_responses=True, health_check_interval=30)
        keys = Keys(settings.redis.prefix)
        booking: BookingService | None = None

        async def warmer(doctor_id: Any) -> Any:
            assert booking is not None
            return await booking.booked(doctor_id)

        engine = HoldEngine(
            redis,
            keys,
            warmer,
            log_max=settings.booking.replay_log_size,
            history_ms=settings.booking.hold_history_seconds * 1000,
        )
        booking = BookingService(db, engine, settings)
        return cls(settings, db, redis, keys, engine, booking, Sweeper(engine))

    async def close(self) -> None:
        await self.sweeper.stop()
        await self.redis.aclose()
        await self.db.close()
