"""Helpers for the lifecycle tests."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.settings import Settings
from store.pool import server_settings
from tests.support import Clinic

Client = AsyncTestClient[Litestar]
PATIENT = {"name": "Pat Ient", "email": "pat@example.org"}


async def book(
    client: Client, clinic: Clinic, start: str, who: dict[str, str], type_id: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Hold and confirm; returns the appointment."""
    r = await client.post(
        "/v1/holds",
        json={"doctor_id": clinic.doctor_id, "appointment_type_id": type_id or clinic.type_30, "start": start},
        headers=who,
    )
    assert r.status_code == 201, r.text
    held = r.json()
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": PATIENT} | extra,
        headers={"X-Hold-Token": held["hold_token"], **who},
    )
    assert r.status_code == 201, r.text
    appointment: dict[str, Any] = r.json()["appointment"]
    return appointment


async def hold(client: Client, clinic: Clinic, start: str, who: dict[str, str], **extra: Any) -> Any:
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start} | extra
    return await client.post("/v1/holds", json=body, headers=who)


async def insert_past(settings: Settings, clinic: Clinic, ends_ago: timedelta, patient_ref: str | None = None) -> str:
    """An appointment that happened already (the API cannot book the past): time has passed."""
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        end = datetime.now().astimezone() - ends_ago
        start = end - timedelta(minutes=30)
        appointment_id: uuid.UUID = await conn.fetchval(
            "INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, patient_name, patient_email,"
            " patient_ref, starts_at, ends_at, blocked_until, status, meeting_url)"
            " VALUES ($1, $2, $3, 'Past', 'past@example.org', $4, $5, $6, $6, 'confirmed', 'https://meet.example/x')"
            " RETURNING id",
            uuid.UUID(clinic.organisation_id),
            uuid.UUID(clinic.doctor_id),
            uuid.UUID(clinic.type_30),
            patient_ref,
            start,
            end,
        )
        return str(appointment_id)
    finally:
        await conn.close()


async def events(redis_url: str, settings: Settings, doctor_id: str) -> list[dict[str, Any]]:
    """The doctor's replay log, oldest first."""
    import json

    from redis.asyncio import Redis

    redis = Redis.from_url(redis_url, decode_responses=True)
    try:
        raw = await redis.lrange(f"{settings.redis.prefix}:{{{doctor_id}}}:log", 0, -1)
    finally:
        await redis.aclose()
    return [json.loads(e) for e in reversed(raw)]
