"""The benchmark's crowded-slots phase: ``/slots`` of a doctor with thousands of live holds.

A popular doctor can have many holds open at once (a launch, a campaign, a swarm), most of them
outside the few weeks a booking page asks for. ``/slots`` must stay as fast for that doctor as
for a quiet one: it should read the holds that overlap the range asked, not every hold.
"""

from __future__ import annotations

import asyncio
import statistics
from datetime import UTC, datetime, timedelta

import httpx

from loadtests.harness import (
    DAY0,
    LocalGateway,
    RawHTTP,
    address,
    body,
    iso,
    make_clinic,
    percentile,
    sessions,
    time_slots,
)

WEEK = [(d, 480, 720) for d in range(1, 6)] + [(d, 780, 1080) for d in range(1, 6)] + [(6, 540, 780)]
"""The working week of the slots phase: Mon-Fri 08-12 and 13-18, Sat 09-13 (UTC)."""


def every_other_slot(count: int, minutes: int = 30) -> list[datetime]:
    """``count`` slot starts of :data:`WEEK` from tomorrow on, every other one (so half stay free)."""
    starts: list[datetime] = []
    day = DAY0
    while len(starts) < count * 2:
        for weekday, first, last in WEEK:
            if day.isoweekday() == weekday:
                starts += [day + timedelta(minutes=m) for m in range(first, last - minutes + 1, minutes)]
        day += timedelta(days=1)
    return sorted(starts)[: count * 2 : 2]


async def crowded_slots_phase(
    gw: LocalGateway, holds: int, requests: int, days: int = 31, concurrency: int = 32
) -> dict[str, float]:
    """Place ``holds`` live holds on one doctor (every other slot of its working week, about
    ``holds / 49`` weeks ahead), then ask its free slots for ``days`` days ``requests`` times,
    one request at a time.

    Raises:
        RuntimeError: when a hold or a slots request fails.
    """
    async with httpx.AsyncClient(base_url=gw.url, timeout=30) as http:
        clinic = await make_clinic(
            http, gw.admin_token, windows=WEEK, name="Crowded", type_rules={"max_advance_days": 730}
        )
    doctor = clinic.doctor_ids[0]
    # two holds per patient: the most a patient may keep when per-caller limits are on
    patients = await sessions(gw.url, clinic.slug, max(1, -(-holds // 2)))
    starts = every_other_slot(holds)
    host, port = address(gw.url)
    queue = iter(enumerate(starts))

    async def place(conn: RawHTTP) -> None:
        for n, start in queue:
            payload = body({"doctor_id": doctor, "appointment_type_id": clinic.type_id, "start": iso(start)})
            status, raw = await conn.request("POST", "/v1/holds", payload, patients[n // 2])
            if status != 201:
                raise RuntimeError(f"crowding hold answered {status}: {raw[:300]!r}")
        await conn.close()

    await asyncio.gather(*(place(RawHTTP(host, port)) for _ in range(concurrency)))
    frm = datetime.now(UTC)
    query = (
        f"/v1/doctors/{doctor}/slots?appointment_type_id={clinic.type_id}"
        f"&from={iso(frm)}&to={iso(frm + timedelta(days=days))}"
    )
    latencies, slots = await time_slots(host, port, query, requests, "crowded slots")
    in_range = sum(frm <= s < frm + timedelta(days=days) for s in starts)
    return {
        "slots_crowded_p50_ms": statistics.median(latencies),
        "slots_crowded_p99_ms": percentile(latencies, 0.99),
        "slots_crowded_holds": float(holds),
        "slots_crowded_holds_in_range": float(in_range),
        "slots_crowded_returned": float(slots),
    }
