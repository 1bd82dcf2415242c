"""Auto-pipelining: the commands of concurrent callers share pipelines, and each caller gets its
own replies, its own refusals and the connection's failures."""

from __future__ import annotations

import asyncio

import pytest
from redis.asyncio import Redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError, ResponseError

from gateway.ratelimit import RATE_COUNT, Count, RateCountArgs
from holds.batch import Batcher
from holds.keys import Keys


class CountingBatcher(Batcher):
    """A batcher that counts the pipelines it sends."""

    pipelines = 0

    async def _send(self, batch: list) -> None:  # type: ignore[type-arg]
        self.pipelines += 1
        await super()._send(batch)


async def test_concurrent_callers_share_a_pipeline_and_get_their_own_replies(redis: Redis, keys: Keys) -> None:
    batcher = CountingBatcher(redis)

    async def caller(n: int) -> list[object]:
        key = f"{keys.prefix}:b:{n}"
        return await batcher.execute(("SET", key, str(n), "NX", "PX", 60_000), ("GET", key), ("INCR", key))

    replies = await asyncio.gather(*(caller(n) for n in range(100)))

    for n, (was_set, value, incremented) in enumerate(replies):
        assert was_set is True
        assert value == str(n)
        assert incremented == n + 1
    # 100 callers (300 commands) in one turn of the loop: one pipeline, not 100
    assert batcher.pipelines == 1


async def test_a_long_queue_is_split_at_max_batch(redis: Redis, keys: Keys) -> None:
    batcher = CountingBatcher(redis, max_batch=10)
    replies = await asyncio.gather(*(batcher.execute(("INCR", f"{keys.prefix}:n")) for _ in range(35)))
    assert sorted(r[0] for r in replies) == list(range(1, 36))
    assert batcher.pipelines == 4


async def test_a_refused_command_is_that_callers_reply_only(redis: Redis, keys: Keys) -> None:
    batcher = Batcher(redis)
    good = batcher.execute(("SET", f"{keys.prefix}:ok", "1"))
    missing_script = batcher.execute(("EVALSHA", "0" * 40, 0))
    wrong_type = batcher.execute(("SET", f"{keys.prefix}:s", "x"), ("INCR", f"{keys.prefix}:s"))

    ok, noscript, typed = await asyncio.gather(good, missing_script, wrong_type)

    assert ok == [True]
    assert isinstance(noscript[0], NoScriptError)
    assert typed[0] is True
    assert isinstance(typed[1], ResponseError)


async def test_a_dead_connection_fails_every_caller_of_the_batch(keys: Keys) -> None:
    dead = Redis(host="127.0.0.1", port=1, socket_connect_timeout=0.5)  # nothing listens on port 1
    batcher = Batcher(dead)
    results = await asyncio.gather(
        *(batcher.execute(("GET", f"{keys.prefix}:{n}")) for n in range(5)), return_exceptions=True
    )
    assert len(results) == 5
    assert all(isinstance(r, RedisConnectionError) for r in results), results
    await dead.aclose()


async def test_a_cancelled_caller_leaves_the_others_their_replies(redis: Redis, keys: Keys) -> None:
    batcher = Batcher(redis)
    doomed = asyncio.ensure_future(batcher.execute(("SET", f"{keys.prefix}:c1", "1")))
    kept = asyncio.ensure_future(batcher.execute(("SET", f"{keys.prefix}:c2", "2"), ("GET", f"{keys.prefix}:c2")))
    await asyncio.sleep(0)
    doomed.cancel()
    assert await kept == [True, "2"]
    with pytest.raises(asyncio.CancelledError):
        await doomed
    await batcher.drain()


async def test_a_script_redis_forgot_is_loaded_and_sent_again(redis: Redis, keys: Keys) -> None:
    batcher = CountingBatcher(redis)
    window = RateCountArgs(window_ms=60_000)
    first, second = RATE_COUNT.call([f"{keys.prefix}:s1"], window), RATE_COUNT.call([f"{keys.prefix}:s2"], window)
    await redis.script_flush()
    replies = await asyncio.gather(
        batcher.execute(first.command(), ("SET", f"{keys.prefix}:plain", "1")),
        batcher.execute(second.command()),
    )
    assert [first.result(replies[0][0]).used, replies[0][1], second.result(replies[1][0]).used] == [1, True, 1]
    assert await redis.script_exists(RATE_COUNT.sha) == [True]


async def test_script_calls_answer_their_typed_results(redis: Redis, keys: Keys) -> None:
    batcher = Batcher(redis)
    key = f"{keys.prefix}:typed"
    one = await batcher.run(RATE_COUNT.call([key], RateCountArgs(window_ms=60_000)))
    assert type(one) is Count
    assert one.used == 1 and 0 < one.ttl_ms <= 60_000
    both = await batcher.run_all([RATE_COUNT.call([key], RateCountArgs(window_ms=60_000))] * 2)
    assert [c.used for c in both] == [2, 3]
    await redis.set(f"{keys.prefix}:text", "not a number")
    with pytest.raises(ResponseError):  # an error Redis answers is raised where the result is read
        await batcher.run(RATE_COUNT.call([f"{keys.prefix}:text"], RateCountArgs(window_ms=60_000)))
