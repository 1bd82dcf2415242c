"""A small swarm for the fault suite: patients holding, confirming and releasing while things break.

Each worker loops: hold a random slot of a random doctor; on a 201 confirm it (most of the time)
or release it. A confirm answered 503 (Postgres away) is tried again after its ``Retry-After``
with the same hold token, for as long as the hold lives: the gateway promises to keep the hold.
Every answer is counted by (operation, status); every hold the swarm was given is kept for the
consistency check.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import timedelta

import httpx

from loadtests.harness import DAY0, BenchClinic, iso


@dataclass
class Tally:
    """What the swarm saw."""

    answers: Counter[tuple[str, int]] = field(default_factory=Counter)
    holds: list[tuple[str, str, float]] = field(default_factory=list)
    """``(doctor_id, hold_id, monotonic time it was given)``."""
    booked: int = 0
    retried_confirms: int = 0
    """Confirms that got a 503 first and were tried again."""
    retry_after_missing: int = 0
    kept_after_503: int = 0
    """Confirms that got a 503, then a 201 for the same hold."""
    errors: Counter[str] = field(default_factory=Counter)

    def server_errors(self) -> dict[str, int]:
        """Answers 500 and above other than 503 (the only one the gateway may give)."""
        return {f"{op} {status}": n for (op, status), n in self.answers.items() if status >= 500 and status != 503}

    def summary(self) -> str:
        parts = [f"{op} {status}: {n}" for (op, status), n in sorted(self.answers.items())]
        errors = [f"{kind}: {n}" for kind, n in sorted(self.errors.items())]
        return ", ".join(parts + errors)


def slot_starts(count: int, minutes: int = 30) -> list[str]:
    """``count`` slot starts from tomorrow on, every ``minutes`` (the clinic is open around the clock)."""
    return [iso(DAY0 + timedelta(minutes=minutes * n)) for n in range(count)]


async def _confirm(
    http: httpx.AsyncClient, tally: Tally, session: dict[str, str], hold: dict[str, str], give_up: float
) -> None:
    headers = session | {"X-Hold-Token": hold["hold_token"]}
    body = {"patient": {"name": "Swarm Patient", "email": "swarm@example.org"}}
    refused = False
    while True:
        try:
            r = await http.post(f"/v1/holds/{hold['hold_id']}/confirm", json=body, headers=headers)
        except httpx.HTTPError as exc:
            tally.errors[f"confirm {type(exc).__name__}"] += 1
            if time.monotonic() > give_up:
                return
            await asyncio.sleep(0.5)
            continue
        tally.answers[("confirm", r.status_code)] += 1
        if r.status_code == 201:
            tally.booked += 1
            tally.kept_after_503 += refused
            return
        if r.status_code != 503 or time.monotonic() > give_up:
            return
        if not refused:
            tally.retried_confirms += 1
            refused = True
        wait = r.headers.get("retry-after")
        if wait is None:
            tally.retry_after_missing += 1
        await asyncio.sleep(min(float(wait or 1), 2.0))


async def _worker(
    http: httpx.AsyncClient,
    clinic: BenchClinic,
    starts: list[str],
    session: dict[str, str],
    tally: Tally,
    stop: asyncio.Event,
    confirm_share: float,
    patience: float,
) -> None:
    rng = random.Random()
    while not stop.is_set():
        doctor = rng.choice(clinic.doctor_ids)
        body = {"doctor_id": doctor, "appointment_type_id": clinic.type_id, "start": rng.choice(starts)}
        try:
            r = await http.post("/v1/holds", json=body, headers=session)
        except httpx.HTTPError as exc:
            tally.errors[f"hold {type(exc).__name__}"] += 1
            await asyncio.sleep(0.2)
            continue
        tally.answers[("hold", r.status_code)] += 1
        if r.status_code == 503:
            await asyncio.sleep(min(float(r.headers.get("retry-after", 1)), 2.0))
            continue
        if r.status_code != 201:
            continue
        hold = r.json()
        tally.holds.append((doctor, hold["hold_id"], time.monotonic()))
        if rng.random() < confirm_share:
            await _confirm(http, tally, session, hold, time.monotonic() + patience)
        else:
            try:
                d = await http.delete(
                    f"/v1/holds/{hold['hold_id']}", headers=session | {"X-Hold-Token": hold["hold_token"]}
                )
                tally.answers[("release", d.status_code)] += 1
            except httpx.HTTPError as exc:
                tally.errors[f"release {type(exc).__name__}"] += 1


async def swarm(
    url: str,
    clinic: BenchClinic,
    sessions: list[dict[str, str]],
    stop: asyncio.Event,
    *,
    slots: int = 3000,
    confirm_share: float = 0.6,
    patience: float = 40.0,
) -> Tally:
    """Run one worker per session until ``stop`` is set; returns what they saw."""
    tally = Tally()
    starts = slot_starts(slots)
    limits = httpx.Limits(max_connections=len(sessions), max_keepalive_connections=len(sessions))
    async with httpx.AsyncClient(base_url=url, timeout=15, limits=limits) as http:
        await asyncio.gather(
            *(_worker(http, clinic, starts, s, tally, stop, confirm_share, patience) for s in sessions)
        )
    return tally
