"""After a swarm: did the gateway keep its promises? Reads Postgres and Redis directly.

    python -m loadtests.consistency [--holds holds.txt] [--settle 20]

Checks, on the stores named by ``DATABASE_URL``, ``GATEWAY_DB_SCHEMA``, ``REDIS_URL`` and
``GATEWAY_REDIS_PREFIX`` (the gateway's own settings):

1. no overlap: no two active (confirmed, pending approval) appointments of one doctor overlap
   in ``[starts_at, blocked_until)`` (what the EXCLUDE constraint promises);
2. every hold accounted for: each hold the swarm was given (a 201; ``doctor_id hold_id`` per
   line of ``--holds``) is booked (and its appointment exists in Postgres with that ``hold_id``),
   released, or expired; a hold still inside its deadline is waited for (``--settle`` seconds at
   most) and then counted as pending, which fails the check;
3. nothing outlives its deadline: no hold in any doctor's holds index, and no hold hash still
   ``held`` or ``confirming``, more than 1 s past its deadline (the sweeper announces lapses
   within a second).

Prints one line per check and a verdict line, ``consistency: OK`` or ``consistency: FAILED``;
exits 0 or 1.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, cast

import asyncpg
from redis.asyncio import Redis

from gateway.settings import Settings
from holds.keys import Keys
from store.pool import server_settings

GRACE_MS = 1000
"""How far past its deadline a hold may still be alive (design invariant 4: within 1 s)."""

OVERLAPS = """
SELECT a.doctor_id, a.id AS first, b.id AS second
FROM appointments a
JOIN appointments b
  ON a.doctor_id = b.doctor_id AND a.id < b.id
 AND tstzrange(a.starts_at, a.blocked_until) && tstzrange(b.starts_at, b.blocked_until)
WHERE a.status IN ('confirmed', 'pending_approval') AND b.status IN ('confirmed', 'pending_approval')
LIMIT 20
"""
BY_HOLD = "SELECT hold_id, id FROM appointments WHERE hold_id = ANY($1::uuid[])"


@dataclass
class Verdict:
    """What the checks found."""

    lines: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def report(self) -> str:
        """The lines to print, the verdict last."""
        out = [*self.lines, *(f"  problem: {p}" for p in self.problems[:20])]
        if len(self.problems) > 20:
            out.append(f"  ... and {len(self.problems) - 20} more")
        out.append("consistency: OK" if self.ok else f"consistency: FAILED ({len(self.problems)} problem(s))")
        return "\n".join(out)


async def _redis_now_ms(redis: Redis) -> int:
    seconds, micros = await redis.time()
    return int(seconds) * 1000 + int(micros) // 1000


async def check_overlaps(conn: asyncpg.Connection[Any], verdict: Verdict) -> None:
    rows = await conn.fetch(OVERLAPS)
    active = await conn.fetchval("SELECT count(*) FROM appointments WHERE status IN ('confirmed', 'pending_approval')")
    verdict.lines.append(f"overlaps: {len(rows)} among {active} active appointments")
    for row in rows:
        verdict.problems.append(f"doctor {row['doctor_id']}: appointments {row['first']} and {row['second']} overlap")


async def hold_states(redis: Redis, keys: Keys, holds: list[tuple[str, str]]) -> list[dict[str, str]]:
    """Each hold's hash (empty when Redis has forgotten it), in order."""
    states: list[dict[str, str]] = []
    for i in range(0, len(holds), 500):
        async with redis.pipeline(transaction=False) as pipe:
            for doctor, hold in holds[i : i + 500]:
                pipe.hgetall(keys.hold(doctor, hold))
            states += await pipe.execute()
    return states


async def check_holds(
    conn: asyncpg.Connection[Any],
    redis: Redis,
    keys: Keys,
    holds: list[tuple[str, str]],
    settle: float,
    verdict: Verdict,
) -> None:
    states = await hold_states(redis, keys, holds)
    # Holds still inside their deadline are legitimately alive: wait until they lapse or end.
    deadline = time.monotonic() + settle
    while time.monotonic() < deadline:
        live = [int(s["deadline"]) for s in states if s.get("status") in ("held", "confirming")]
        if not live:
            break
        now = await _redis_now_ms(redis)
        await asyncio.sleep(min(max(0.2, (max(live) - now + GRACE_MS) / 1000), deadline - time.monotonic(), 2.0))
        states = await hold_states(redis, keys, holds)
    counts: dict[str, int] = {}
    booked: dict[str, str] = {}
    for (doctor, hold), state in zip(holds, states, strict=True):
        status = state.get("status", "forgotten")
        counts[status] = counts.get(status, 0) + 1
        if status == "booked":
            booked[hold] = state.get("appointment_id", "")
        elif status not in ("released", "expired"):
            verdict.problems.append(f"hold {hold} of doctor {doctor} is {status}, not booked, released or expired")
    found = {str(r["hold_id"]): str(r["id"]) for r in await conn.fetch(BY_HOLD, [uuid.UUID(h) for h in booked])}
    for hold, appointment in booked.items():
        if found.get(hold) != appointment:
            verdict.problems.append(f"hold {hold} is booked in Redis, but Postgres has {found.get(hold)!r}")
    summary = ", ".join(f"{n} {status}" for status, n in sorted(counts.items()))
    verdict.lines.append(f"holds: {len(holds)} made by the swarm: {summary or 'none'}")


async def check_deadlines(redis: Redis, keys: Keys, verdict: Verdict) -> None:
    now = await _redis_now_ms(redis)
    late = 0
    indexes = 0
    async for key in redis.scan_iter(match=f"{keys.prefix}:{{*}}:holds", count=1000):
        indexes += 1
        due = cast("list[tuple[str, float]]", await redis.zrangebyscore(key, "-inf", now - GRACE_MS, withscores=True))
        for member, score in due:
            late += 1
            verdict.problems.append(f"{key}: {member} is still held {now - int(score)} ms past its deadline")
    hashes = 0
    async for key in redis.scan_iter(match=f"{keys.prefix}:{{*}}:hold:*", count=1000):
        hashes += 1
        status, deadline = cast("list[str | None]", await redis.hmget(key, ["status", "deadline"]))
        if status in ("held", "confirming") and deadline is not None and int(deadline) < now - GRACE_MS:
            late += 1
            verdict.problems.append(f"{key} is {status} {now - int(deadline)} ms past its deadline")
    verdict.lines.append(f"deadlines: {late} hold(s) alive past deadline + 1 s ({indexes} indexes, {hashes} holds)")


def read_holds(path: str | None) -> list[tuple[str, str]]:
    """``(doctor_id, hold_id)`` pairs, one ``doctor_id hold_id`` per line."""
    if not path:
        return []
    with open(path, encoding="utf-8") as f:
        return [(parts[0], parts[1]) for line in f if len(parts := line.split()) == 2]


async def check(settings: Settings, holds: list[tuple[str, str]], settle: float = 20.0) -> Verdict:
    """Run every check against the stores ``settings`` name."""
    verdict = Verdict()
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    redis = Redis.from_url(settings.redis.url, decode_responses=True)
    keys = Keys(settings.redis.prefix)
    try:
        await check_holds(conn, redis, keys, holds, settle, verdict)
        await check_overlaps(conn, verdict)
        await check_deadlines(redis, keys, verdict)
    finally:
        await conn.close()
        await redis.aclose()
    return verdict


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--holds", help="file of 'doctor_id hold_id' lines: the holds the swarm was given")
    parser.add_argument("--settle", type=float, default=20.0, help="seconds to wait for live holds to end")
    args = parser.parse_args(argv)
    verdict = asyncio.run(check(Settings.from_env(), read_holds(args.holds), args.settle))
    print(verdict.report())
    return 0 if verdict.ok else 1


if __name__ == "__main__":
    sys.exit(main())
