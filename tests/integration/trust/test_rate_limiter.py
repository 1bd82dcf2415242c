"""The Redis rate limiter: fixed windows shared by processes, counted in one round trip."""

from __future__ import annotations

import pytest
from redis.asyncio import Redis

from gateway.errors import RateLimited
from gateway.ratelimit import Limiter
from gateway.settings import Rate
from holds.keys import Keys


async def test_a_window_lets_count_requests_through_then_answers_429_with_retry_after(redis: Redis, keys: Keys) -> None:
    limiter = Limiter(redis, keys.prefix, enabled=True)
    rate = Rate(count=3, seconds=60)
    for _ in range(3):
        await limiter.check("holds:address", "10.0.0.1", rate)
    with pytest.raises(RateLimited) as refused:
        await limiter.check("holds:address", "10.0.0.1", rate)
    assert 1 <= refused.value.extra["retry_after"] <= 60
    await limiter.check("holds:address", "10.0.0.2", rate)  # another address has its own window


async def test_budgets_are_checked_in_order_and_a_refusal_does_not_count_against_the_later_ones(
    redis: Redis, keys: Keys
) -> None:
    limiter = Limiter(redis, keys.prefix, enabled=True)
    patient, address = Rate(count=2, seconds=60), Rate(count=10, seconds=60)
    checks = [("holds:patient", "org:p1", patient), ("holds:address", "10.0.0.1", address)]
    await limiter.check_all(checks)
    await limiter.check_all(checks)
    with pytest.raises(RateLimited):
        await limiter.check_all(checks)
    assert await redis.get(f"{keys.prefix}:rl:holds:patient:org:p1") == "3"
    assert await redis.get(f"{keys.prefix}:rl:holds:address:10.0.0.1") == "2"  # the refused one taken back
    assert 0 < await redis.pttl(f"{keys.prefix}:rl:holds:address:10.0.0.1") <= 60_000
    # the address budget refusing: the patient's count (earlier in the order) stands
    with pytest.raises(RateLimited):
        await limiter.check_all([("holds:patient", "org:p2", patient), ("holds:address", "10.0.0.1", Rate(2, 60))])
    assert await redis.get(f"{keys.prefix}:rl:holds:patient:org:p2") == "1"


async def test_the_count_survives_redis_forgetting_its_scripts(redis: Redis, keys: Keys) -> None:
    limiter = Limiter(redis, keys.prefix, enabled=True)
    rate = Rate(count=2, seconds=60)
    await limiter.check("sessions", "10.0.0.9", rate)
    await redis.script_flush()
    await limiter.check("sessions", "10.0.0.9", rate)
    with pytest.raises(RateLimited):
        await limiter.check("sessions", "10.0.0.9", rate)


async def test_off_counts_nothing(redis: Redis, keys: Keys) -> None:
    limiter = Limiter(redis, keys.prefix, enabled=False)
    for _ in range(5):
        await limiter.check("holds:address", "10.0.0.1", Rate(count=1, seconds=60))
    assert await redis.exists(f"{keys.prefix}:rl:holds:address:10.0.0.1") == 0
