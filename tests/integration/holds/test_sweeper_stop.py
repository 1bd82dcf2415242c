"""The sweeper stops promptly even when a Redis call swallows its cancellation."""

from __future__ import annotations

import asyncio
import time
import uuid

from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError

from holds.engine import BookedInterval, HoldEngine
from holds.keys import Keys
from holds.sweeper import Sweeper


async def no_bookings(_: uuid.UUID) -> list[BookedInterval]:
    return []


class SwallowingEngine(HoldEngine):
    """Real engine on real Redis, whose sweep turns a cancellation into a connection error the way
    redis-py can when a read is interrupted."""

    async def expire_due(self, limit: int = 500) -> int:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            raise RedisConnectionError("connection closed while reading") from None
        return await super().expire_due(limit)


async def test_stop_returns_even_if_the_cancellation_is_swallowed(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        sweeper = Sweeper(SwallowingEngine(redis, Keys(f"ts{uuid.uuid4().hex[:8]}"), no_bookings), interval=0.05)
        sweeper.start()
        await asyncio.sleep(0.1)
        began = time.monotonic()
        await sweeper.stop(grace=2.0)
        assert time.monotonic() - began < 1.0  # the task saw it was being cancelled and ended
    finally:
        await redis.aclose()


async def test_a_working_sweeper_expires_and_stops(redis_url: str) -> None:
    redis = Redis.from_url(redis_url, decode_responses=True)
    keys = Keys(f"ts{uuid.uuid4().hex[:8]}")
    try:
        engine = HoldEngine(redis, keys, no_bookings)
        sweeper = Sweeper(engine, interval=0.05)
        sweeper.start()
        from datetime import UTC, datetime, timedelta

        start = datetime(2031, 5, 5, 9, tzinfo=UTC)
        doctor = uuid.uuid4()
        end = start + timedelta(minutes=30)
        held = await engine.hold(
            doctor_id=doctor, appointment_type_id=uuid.uuid4(), start=start, end=end, blocked_until=end, ttl_ms=100
        )
        assert held is not None
        deadline = time.monotonic() + 2
        while (await engine.state(doctor, held.hold_id)).status != "expired":  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "the sweeper did not expire the hold"
            await asyncio.sleep(0.05)
        began = time.monotonic()
        await sweeper.stop()
        assert time.monotonic() - began < 1.0
    finally:
        found = [k async for k in redis.scan_iter(match=f"{keys.prefix}:*")]
        if found:
            await redis.delete(*found)
        await redis.aclose()
