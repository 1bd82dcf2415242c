"""Hold and confirm latency against a running gateway (numbers to read, not assertions).

    python -m loadtests.bench_holds --url http://127.0.0.1:8000 --admin-token TOKEN [-n 500] [-c 1]

It creates a throw-away organisation whose doctor is open around the clock with one
type (30 minutes by default), then holds ``n`` distinct slots (``c`` at a time) and confirms half of them.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
import uuid
from datetime import UTC, datetime, timedelta

import httpx


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


async def make_clinic(http: httpx.AsyncClient, admin: dict[str, str], minutes: int) -> tuple[str, str, str]:
    slug = f"bench-{uuid.uuid4().hex[:8]}"
    org = (await http.post("/v1/admin/organisations", json={"name": "Bench", "slug": slug}, headers=admin)).json()["id"]
    doctor = (
        await http.post(
            "/v1/admin/doctors", json={"organisation_id": org, "name": "Dr. Bench", "timezone": "UTC"}, headers=admin
        )
    ).json()["id"]
    for weekday in range(1, 8):
        await http.post(
            f"/v1/doctors/{doctor}/availability-windows",
            json={"weekday": weekday, "start_minute": 0, "end_minute": 1440},
            headers=admin,
        )
    type_id = (
        await http.post(
            "/v1/admin/appointment-types",
            json={
                "organisation_id": org,
                "name": f"{minutes} min",
                "duration_minutes": minutes,
                "max_advance_days": 365,
            },
            headers=admin,
        )
    ).json()["id"]
    return slug, doctor, type_id


async def run(url: str, admin_token: str, n: int, concurrency: int, minutes: int = 30) -> dict[str, float]:
    admin = {"Authorization": f"Bearer {admin_token}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:
        slug, doctor, type_id = await make_clinic(http, admin, minutes)
        # one anonymous patient session per request in flight, as a page would have
        sessions = []
        for _ in range(concurrency):
            r = await http.post("/v1/sessions", json={"organisation_slug": slug})
            sessions.append({"Authorization": f"Bearer {r.json()['token']}"})
        first = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)
        starts = [(first + timedelta(minutes=minutes * i)).strftime("%Y-%m-%dT%H:%M:%SZ") for i in range(n)]
        hold_ms: list[float] = []
        confirm_ms: list[float] = []
        held: list[tuple[dict[str, str], dict[str, str]]] = []
        gate = asyncio.Semaphore(concurrency)

        async def hold(n: int, start: str) -> None:
            session = sessions[n % len(sessions)]
            async with gate:
                began = time.perf_counter()
                r = await http.post(
                    "/v1/holds",
                    json={"doctor_id": doctor, "appointment_type_id": type_id, "start": start},
                    headers=session,
                )
                hold_ms.append((time.perf_counter() - began) * 1000)
                r.raise_for_status()
                held.append((session, r.json()))

        async def confirm(session: dict[str, str], h: dict[str, str]) -> None:
            async with gate:
                began = time.perf_counter()
                r = await http.post(
                    f"/v1/holds/{h['hold_id']}/confirm",
                    json={"patient": {"name": "Bench", "email": "bench@example.org"}},
                    headers={"X-Hold-Token": h["hold_token"], **session},
                )
                confirm_ms.append((time.perf_counter() - began) * 1000)
                r.raise_for_status()

        began = time.perf_counter()
        await asyncio.gather(*(hold(n, s) for n, s in enumerate(starts)))
        hold_seconds = time.perf_counter() - began
        await asyncio.gather(*(confirm(session, h) for session, h in held[: n // 2]))
    return {
        "holds": len(hold_ms),
        "holds_per_s": len(hold_ms) / hold_seconds,
        "hold_p50_ms": statistics.median(hold_ms),
        "hold_p99_ms": percentile(hold_ms, 0.99),
        "confirms": len(confirm_ms),
        "confirm_p50_ms": statistics.median(confirm_ms),
        "confirm_p99_ms": percentile(confirm_ms, 0.99),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", default="http://127.0.0.1:8000")
    parser.add_argument("--admin-token", required=True)
    parser.add_argument("-n", type=int, default=500, help="holds to make")
    parser.add_argument("-c", type=int, default=1, help="requests in flight at once")
    parser.add_argument("--minutes", type=int, default=30, help="appointment type duration")
    args = parser.parse_args()
    result = asyncio.run(run(args.url, args.admin_token, args.n, args.c, args.minutes))
    for key, value in result.items():
        print(f"{key:>16}: {value:,.2f}")


if __name__ == "__main__":
    main()
