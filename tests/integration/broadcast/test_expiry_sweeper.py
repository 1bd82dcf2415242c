"""The expiry sweeper on its own: lapses announced without requests, whatever else sits in the index."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis

from holds.engine import HoldEngine, to_ms
from holds.keys import Keys
from holds.sweeper import Sweeper
from tests.support import no_bookings
from tests.support_live import eventually

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


async def test_a_foreign_entry_in_the_deadline_index_does_not_stall_expiry(redis: Redis, keys: Keys) -> None:
    await redis.zadd(keys.due, {"not-a-doctor|x": 0})  # sorts first, and names no doctor
    engine = HoldEngine(redis, keys, no_bookings)
    doctor = uuid.uuid4()
    end = START + timedelta(minutes=30)
    new = await engine.hold(
        doctor_id=doctor, appointment_type_id=uuid.uuid4(), start=START, end=end, blocked_until=end, ttl_ms=200
    )
    assert new is not None
    sweeper = Sweeper(engine, interval=0.05)
    sweeper.start()
    try:

        async def released() -> bool:
            return len(await redis.lrange(keys.log(doctor), 0, -1)) == 2

        await eventually(released)
    finally:
        await sweeper.stop()
    latest = json.loads((await redis.lrange(keys.log(doctor), 0, 0))[0])
    assert (latest["type"], latest["seq"]) == ("slot.released", 2)
    assert 0 <= latest["ts"] - to_ms(new.expires_at) < 1500
    assert await redis.zcard(keys.due) == 0
