"""The interval index (``spans``): a snapshot for a range reads exactly the live holds that overlap
it, and every way a hold ends (release, expiry by the sweeper, confirm booked or refused) takes
it out of the index in the same Lua call."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from redis.asyncio import Redis

from holds.engine import HoldEngine, NewHold
from holds.keys import Keys
from tests.support import no_bookings

T0 = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)
"""The start of the range the snapshots ask for; it ends at :data:`T1`."""
T1 = T0 + timedelta(hours=3)


def engine_for(redis: Redis, keys: Keys) -> HoldEngine:
    return HoldEngine(redis, keys, no_bookings, log_max=50, history_ms=60_000)


async def take(engine: HoldEngine, doctor: uuid.UUID, start: datetime, minutes: int, ttl_ms: int = 60_000) -> NewHold:
    end = start + timedelta(minutes=minutes)
    new = await engine.hold(
        doctor_id=doctor, appointment_type_id=uuid.uuid4(), start=start, end=end, blocked_until=end, ttl_ms=ttl_ms
    )
    assert new is not None
    return new


async def in_range(engine: HoldEngine, doctor: uuid.UUID) -> set[str]:
    return {h.hold_id for h in (await engine.snapshot(doctor, T0, T1)).held}


async def indexed(redis: Redis, keys: Keys, doctor: uuid.UUID) -> tuple[int, int]:
    """How many holds each index of the doctor has: (deadline index, interval index)."""
    return await redis.zcard(keys.holds(doctor)), await redis.zcard(keys.spans(doctor))


@pytest.mark.parametrize(
    ("offset", "minutes", "overlaps"),
    [
        (timedelta(hours=1), 30, True),  # inside
        (timedelta(minutes=-30), 60, True),  # across the range's start
        (T1 - T0 - timedelta(minutes=30), 60, True),  # across the range's end
        (timedelta(hours=-10), 11 * 60, True),  # long: starts hours before, reaches in
        (timedelta(minutes=-30), 30, False),  # ends where the range starts
        (T1 - T0, 30, False),  # starts where the range ends
        (timedelta(days=-20), 30, False),  # far before
        (timedelta(days=40), 30, False),  # far after
    ],
    ids=["inside", "across-start", "across-end", "long", "ends-at-start", "starts-at-end", "before", "after"],
)
async def test_a_snapshot_reads_exactly_the_holds_that_overlap_the_range(
    redis: Redis, keys: Keys, offset: timedelta, minutes: int, overlaps: bool
) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    # neighbours that never meet the range, on both sides, and another doctor's hold inside it
    for days in (-5, -3, 3, 5):
        await take(engine, doctor, T0 + timedelta(days=days), 30)
    await take(engine, uuid.uuid4(), T0 + timedelta(hours=1), 30)
    held = await take(engine, doctor, T0 + offset, minutes)

    assert await in_range(engine, doctor) == ({str(held.hold_id)} if overlaps else set())
    # the interval comes back as held, and a snapshot without bounds still has every live hold
    if overlaps:
        (got,) = (await engine.snapshot(doctor, T0, T1)).held
        assert (got.start, got.blocked_until) == (T0 + offset, T0 + offset + timedelta(minutes=minutes))
    assert len((await engine.snapshot(doctor)).held) == 5


async def test_a_range_exactly_at_a_holds_edges(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    held = await take(engine, doctor, T0, 30)
    at = [(T0 - timedelta(minutes=30), T0), (T0 + timedelta(minutes=30), T1), (T0, T0 + timedelta(minutes=5))]
    seen = [[h.hold_id for h in (await engine.snapshot(doctor, a, b)).held] for a, b in at]
    # half-open: a range ending where the hold starts or starting where it ends does not meet it
    assert seen == [[], [], [str(held.hold_id)]]


async def test_release_and_refused_confirm_leave_the_index(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    released = await take(engine, doctor, T0, 30)
    refused = await take(engine, doctor, T0 + timedelta(hours=1), 30)
    assert await indexed(redis, keys, doctor) == (2, 2)

    state = await engine.state(doctor, released.hold_id)
    assert state is not None
    assert await engine.release(doctor, released.hold_id, released.token, state) == "ok"
    assert await in_range(engine, doctor) == {str(refused.hold_id)}

    state = await engine.state(doctor, refused.hold_id)
    assert state is not None
    assert (await engine.begin_confirm(state, refused.token, 30_000))[0] == "ok"
    assert await in_range(engine, doctor) == {str(refused.hold_id)}  # still held while confirming
    await engine.end_confirm(state, "refused")
    assert await in_range(engine, doctor) == set()
    assert await indexed(redis, keys, doctor) == (0, 0)


async def test_a_booked_hold_leaves_the_index_and_a_retry_stays(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    retried = await take(engine, doctor, T0, 30)
    booked = await take(engine, doctor, T0 + timedelta(hours=1), 30)
    for new in (retried, booked):
        state = await engine.state(doctor, new.hold_id)
        assert state is not None
        assert (await engine.begin_confirm(state, new.token, 30_000))[0] == "ok"
        if new is retried:
            await engine.end_confirm(state, "retry")
        else:
            await engine.end_confirm(state, "booked", uuid.uuid4())
    assert await in_range(engine, doctor) == {str(retried.hold_id)}
    assert await indexed(redis, keys, doctor) == (1, 1)


async def test_expiry_by_the_sweeper_and_by_a_later_hold_leaves_the_index(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    await take(engine, doctor, T0, 30, ttl_ms=150)
    await take(engine, doctor, T0 + timedelta(hours=1), 30, ttl_ms=150)
    lasting = await take(engine, doctor, T0 + timedelta(hours=2), 30)
    await asyncio.sleep(0.3)
    # lapsed holds are left out at once, before any sweep
    assert await in_range(engine, doctor) == {str(lasting.hold_id)}
    assert await indexed(redis, keys, doctor) == (3, 3)
    assert await engine.expire_due() == 2
    assert await indexed(redis, keys, doctor) == (1, 1)

    await take(engine, doctor, T0, 30, ttl_ms=150)
    await asyncio.sleep(0.3)
    # no sweep: the next hold of the doctor expires the lapsed one in its own script
    again = await take(engine, doctor, T0, 30)
    assert await in_range(engine, doctor) == {str(lasting.hold_id), str(again.hold_id)}
    assert await indexed(redis, keys, doctor) == (2, 2)


async def test_many_holds_outside_the_range_are_not_returned(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    for n in range(300):
        await take(engine, doctor, T1 + timedelta(hours=n), 30)
    inside = await take(engine, doctor, T0, 30)
    assert await in_range(engine, doctor) == {str(inside.hold_id)}
    assert len((await engine.snapshot(doctor)).held) == 301
