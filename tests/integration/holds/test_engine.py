"""The hold engine against real Redis: atomic cells, lapse, exactly-once expiry, confirm hand-off."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta, tzinfo
from typing import cast

import pytest
from redis.asyncio import Redis

from holds.engine import BookedInterval, HoldEngine, NewHold
from holds.keys import Keys
from tests.support import no_bookings

START = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)


def engine_for(redis: Redis, keys: Keys) -> HoldEngine:
    return HoldEngine(redis, keys, no_bookings, log_max=50, history_ms=60_000)


async def take(
    engine: HoldEngine, doctor: uuid.UUID, start: datetime, minutes: int, ttl_ms: int = 60_000
) -> NewHold | None:
    end = start + timedelta(minutes=minutes)
    return await engine.hold(
        doctor_id=doctor,
        appointment_type_id=uuid.uuid4(),
        start=start,
        end=end,
        blocked_until=end,
        ttl_ms=ttl_ms,
    )


async def events(redis: Redis, keys: Keys, doctor: uuid.UUID) -> list[dict[str, object]]:
    raw = await redis.lrange(keys.log(doctor), 0, -1)
    return [json.loads(e) for e in reversed(raw)]


async def test_all_or_nothing_across_durations(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    assert await take(engine, doctor, START + timedelta(minutes=30), 30) is not None
    # a 60 minute hold covering 09:00-10:00 overlaps in 09:30-10:00 and takes nothing
    assert await take(engine, doctor, START, 60) is None
    held = (await engine.snapshot(doctor)).held
    assert len(held) == 1
    # 09:00-09:30 is untouched by the failed attempt
    assert await take(engine, doctor, START, 30) is not None


async def test_other_doctors_do_not_interfere(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    a, b = uuid.uuid4(), uuid.uuid4()
    assert await take(engine, a, START, 30) is not None
    assert await take(engine, b, START, 30) is not None


async def test_each_change_is_one_event_with_a_growing_seq(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    new = await take(engine, doctor, START, 30)
    assert new is not None
    state = await engine.state(doctor, new.hold_id)
    assert state is not None
    assert await engine.release(doctor, state.hold_id, new.token, state) == "ok"
    logged = await events(redis, keys, doctor)
    assert [(e["type"], e["seq"]) for e in logged] == [("slot.held", 1), ("slot.released", 2)]
    assert logged[0]["start"] == "2031-03-03T09:00:00Z" and logged[0]["end"] == "2031-03-03T09:30:00Z"
    assert all(isinstance(e["ts"], int) and e["ts"] > 1_700_000_000_000 for e in logged)
    assert (await engine.snapshot(doctor)).seq == 2


async def test_lapsed_hold_frees_cells_and_is_announced_once_by_racing_sweepers(redis: Redis, keys: Keys) -> None:
    engines = [engine_for(redis, keys) for _ in range(4)]  # four "processes"
    doctor = uuid.uuid4()
    assert await take(engines[0], doctor, START, 30, ttl_ms=200) is not None
    await asyncio.sleep(0.35)
    # the cells lapsed by themselves: the slot can be taken even before any sweep ...
    assert (await engines[0].snapshot(doctor)).held == []
    expired = await asyncio.gather(*(e.expire_due() for e in engines))
    assert sum(expired) == 1
    logged = await events(redis, keys, doctor)
    assert [e["type"] for e in logged] == ["slot.held", "slot.released"]
    assert await redis.zcard(keys.due) == 0


async def test_lapse_is_announced_before_the_next_hold_of_that_doctor(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    lapsed = await take(engine, doctor, START, 30, ttl_ms=100)
    assert lapsed is not None
    await asyncio.sleep(0.2)
    assert await take(engine, doctor, START, 30) is not None  # no sweep ran in between
    logged = await events(redis, keys, doctor)
    assert [(e["type"], e["seq"], e["start"], e["end"]) for e in logged] == [
        ("slot.held", 1, "2031-03-03T09:00:00Z", "2031-03-03T09:30:00Z"),
        ("slot.released", 2, "2031-03-03T09:00:00Z", "2031-03-03T09:30:00Z"),  # from the deadline index
        ("slot.held", 3, "2031-03-03T09:00:00Z", "2031-03-03T09:30:00Z"),
    ]
    # the new hold's script had only its own hold's hash in KEYS: the lapsed one is left to the sweeper
    hash_key = keys.hold(doctor, lapsed.hold_id)
    assert await redis.hget(hash_key, "status") == "held"
    assert await engine.expire_due() == 0  # already announced; the sweeper does not repeat it ...
    assert await redis.hget(hash_key, "status") == "expired"  # ... and marks the hash it has in KEYS
    assert [e["type"] for e in await events(redis, keys, doctor)] == ["slot.held", "slot.released", "slot.held"]


async def test_confirm_extends_the_hold_so_the_sweeper_leaves_it(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    new = await take(engine, doctor, START, 30, ttl_ms=300)
    assert new is not None
    state = await engine.state(doctor, new.hold_id)
    assert state is not None
    assert await engine.begin_confirm(state, new.token, 5_000) == ("ok", None)
    await asyncio.sleep(0.5)
    assert await engine.expire_due() == 0
    assert await take(engine, doctor, START, 30) is None  # still held while Postgres writes
    appointment_id = uuid.uuid4()
    await engine.end_confirm(state, "booked", appointment_id)
    assert await take(engine, doctor, START, 30) is None  # booked now
    assert await engine.begin_confirm(state, new.token, 5_000) == ("booked", str(appointment_id))
    logged = await events(redis, keys, doctor)
    assert [e["type"] for e in logged] == ["slot.held", "slot.booked"]


def skew_clock(monkeypatch: pytest.MonkeyPatch, offset: timedelta) -> None:
    """This "process"'s wall clock reads ``offset`` away from Redis's (a stepped or drifting clock)."""

    class Skewed(datetime):
        @classmethod
        def now(cls, tz: tzinfo | None = None) -> Skewed:
            real = datetime.now(tz) + offset
            return cls.fromtimestamp(real.timestamp(), tz)

    monkeypatch.setattr("holds.engine.datetime", Skewed)


@pytest.mark.parametrize("offset", [timedelta(minutes=10), timedelta(minutes=-10)], ids=["ahead", "behind"])
async def test_holds_lapse_on_redis_time_whatever_the_process_clock_says(
    redis: Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch, offset: timedelta
) -> None:
    # The fault suite's clock_jump: a gateway whose clock jumped 10 minutes ahead filed its holds in
    # the sweeper's index 10 minutes late, so they stayed "held" (and counted as live) that long.
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    skew_clock(monkeypatch, offset)
    held = await take(engine, doctor, START, 30, ttl_ms=200)
    confirming = await take(engine, doctor, START + timedelta(hours=1), 30)
    assert held is not None and confirming is not None
    state = await engine.state(doctor, confirming.hold_id)
    assert state is not None
    assert await engine.begin_confirm(state, confirming.token, 200) == ("ok", None)  # and its process dies
    filed = cast("list[tuple[str, float]]", await redis.zrange(keys.due, 0, -1, withscores=True))
    for entry, deadline in filed:
        hold = await redis.hgetall(keys.hold(doctor, entry.partition("|")[2]))
        assert deadline <= int(hold["deadline"]), "filed for the sweeper after the hold's deadline"
    await asyncio.sleep(0.4)
    assert await engine.expire_due() == 2
    for new in (held, confirming):
        assert await redis.hget(keys.hold(doctor, new.hold_id), "status") == "expired"


async def test_the_live_holds_listed_are_live_by_redis_time(
    redis: Redis, keys: Keys, monkeypatch: pytest.MonkeyPatch
) -> None:
    # the front desk's list: a process whose clock ran 10 minutes ahead listed no live hold at all
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    lapsing = await take(engine, doctor, START, 30, ttl_ms=100)
    live = await take(engine, doctor, START + timedelta(hours=1), 30)
    assert lapsing is not None and live is not None
    await asyncio.sleep(0.2)  # the first has lapsed; no sweep has run
    for offset in (timedelta(minutes=10), timedelta(minutes=-10)):
        skew_clock(monkeypatch, offset)
        assert [h.hold_id for h in await engine.live_holds([doctor])] == [live.hold_id]


async def test_cold_doctor_is_rewarmed_from_the_store_before_holding(redis: Redis, keys: Keys) -> None:
    doctor = uuid.uuid4()
    booked = [BookedInterval(uuid.uuid4(), START, START + timedelta(minutes=40))]
    calls: list[uuid.UUID] = []

    async def warmer(doctor_id: uuid.UUID) -> Sequence[BookedInterval]:
        calls.append(doctor_id)
        return booked

    engine = HoldEngine(redis, keys, warmer)
    assert await take(engine, doctor, START + timedelta(minutes=30), 30) is None  # inside the booked 40 min
    assert await take(engine, doctor, START + timedelta(minutes=40), 30) is not None
    assert calls == [doctor]  # warmed once, then the flag holds


async def test_stale_booked_cells_are_freed_by_the_first_hold_that_meets_them(redis: Redis, keys: Keys) -> None:
    doctor, cancelled, active = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    first, second = START, START + timedelta(minutes=60)
    asked: list[uuid.UUID] = []

    async def stale(appointment_id: uuid.UUID) -> tuple[datetime, datetime, datetime] | None:
        asked.append(appointment_id)
        if appointment_id == cancelled:  # Postgres says cancelled: its cells block nothing
            return first, first + timedelta(minutes=30), first + timedelta(minutes=30)
        return None

    engine = HoldEngine(redis, keys, no_bookings, stale=stale)
    # both appointments' cells as a confirm leaves them (a cancel whose `free` never reached Redis)
    await engine.warm(
        doctor,
        [
            BookedInterval(cancelled, first, first + timedelta(minutes=30)),
            BookedInterval(active, second, second + timedelta(minutes=30)),
        ],
    )

    assert await take(engine, doctor, first, 30) is not None
    assert await take(engine, doctor, second, 30) is None  # really booked: still refused
    assert asked == [cancelled, active]
    # the slot's release was announced before the new hold, in order
    assert [(e["type"], e["start"]) for e in await events(redis, keys, doctor)] == [
        ("slot.freed", "2031-03-03T09:00:00Z"),
        ("slot.held", "2031-03-03T09:00:00Z"),
    ]
    # a cell held by a live hold is never sent to Postgres to be checked
    assert await take(engine, doctor, first, 30) is None
    assert asked == [cancelled, active]


async def test_without_a_stale_check_booked_cells_refuse(redis: Redis, keys: Keys) -> None:
    doctor = uuid.uuid4()
    engine = engine_for(redis, keys)
    await engine.warm(doctor, [BookedInterval(uuid.uuid4(), START, START + timedelta(minutes=30))])
    assert await take(engine, doctor, START, 30) is None


async def test_every_script_call_survives_redis_forgetting_its_scripts(redis: Redis, keys: Keys) -> None:
    engine = engine_for(redis, keys)
    doctor = uuid.uuid4()
    await redis.script_flush()
    held = await take(engine, doctor, START, 30)
    assert held is not None
    await redis.script_flush()
    assert [h.hold_id for h in (await engine.snapshot(doctor)).held] == [str(held.hold_id)]
    await redis.script_flush()
    state = await engine.state(doctor, held.hold_id)
    assert state is not None and state.status == "held"
    assert await engine.release(doctor, held.hold_id, held.token, state) == "ok"
    await redis.script_flush()
    await engine.free(doctor, uuid.uuid4(), START, START + timedelta(minutes=30), START + timedelta(minutes=30))
    await redis.script_flush()
    await engine.resync(doctor)
    assert [e["type"] for e in await events(redis, keys, doctor)] == [
        "slot.held", "slot.released", "slot.freed", "resync",
    ]  # fmt: skip
