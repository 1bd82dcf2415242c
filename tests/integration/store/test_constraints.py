"""Postgres itself refuses what must never happen (design invariant 1)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from gateway.settings import Settings
from store.migrate import migrate, migrations
from store.pool import server_settings


async def _seed(conn: asyncpg.Connection[Any]) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    org = await conn.fetchval(
        "INSERT INTO organisations (name, slug) VALUES ('O', $1) RETURNING id", "o-" + uuid.uuid4().hex[:8]
    )
    doctor = await conn.fetchval(
        "INSERT INTO doctors (organisation_id, name, timezone) VALUES ($1, 'D', 'UTC') RETURNING id", org
    )
    type_id = await conn.fetchval(
        "INSERT INTO appointment_types (organisation_id, name, duration_minutes) VALUES ($1, 'T', 30) RETURNING id",
        org,
    )
    return org, doctor, type_id


INSERT = (
    "INSERT INTO appointments (organisation_id, doctor_id, appointment_type_id, patient_name, patient_email,"
    " starts_at, ends_at, blocked_until, status) VALUES ($1, $2, $3, 'P', 'p@example.org', $4, $5, $6, $7)"
)


async def test_overlapping_appointment_is_refused_by_postgres(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        org, doctor, type_id = await _seed(conn)
        start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        await conn.execute(
            INSERT,
            org,
            doctor,
            type_id,
            start,
            start + timedelta(minutes=30),
            start + timedelta(minutes=30),
            "confirmed",
        )
        # a 60-minute appointment starting 15 minutes in: overlaps
        with pytest.raises(asyncpg.ExclusionViolationError):
            await conn.execute(
                INSERT,
                org,
                doctor,
                type_id,
                start + timedelta(minutes=15),
                start + timedelta(minutes=75),
                start + timedelta(minutes=75),
                "pending_approval",
            )
        # touching end to start is not an overlap
        await conn.execute(
            INSERT,
            org,
            doctor,
            type_id,
            start + timedelta(minutes=30),
            start + timedelta(minutes=60),
            start + timedelta(minutes=60),
            "confirmed",
        )
        # a cancelled appointment no longer blocks
        await conn.execute(
            INSERT,
            org,
            doctor,
            type_id,
            start,
            start + timedelta(minutes=30),
            start + timedelta(minutes=30),
            "cancelled",
        )
        count = await conn.fetchval(
            "SELECT count(*) FROM appointments WHERE status IN ('confirmed', 'pending_approval')"
        )
        assert count == 2
    finally:
        await conn.close()


async def test_buffer_after_an_appointment_is_part_of_what_it_blocks(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        org, doctor, type_id = await _seed(conn)
        start = datetime(2030, 1, 7, 9, 0, tzinfo=UTC)
        # 09:00-09:30 with a 10 minute buffer blocks until 09:40
        await conn.execute(
            INSERT,
            org,
            doctor,
            type_id,
            start,
            start + timedelta(minutes=30),
            start + timedelta(minutes=40),
            "confirmed",
        )
        with pytest.raises(asyncpg.ExclusionViolationError):
            await conn.execute(
                INSERT,
                org,
                doctor,
                type_id,
                start + timedelta(minutes=35),
                start + timedelta(minutes=65),
                start + timedelta(minutes=65),
                "confirmed",
            )
    finally:
        await conn.close()


async def test_migrations_are_safe_to_run_again_and_concurrently(settings: Settings) -> None:
    import asyncio

    again = await asyncio.gather(migrate(settings.database), migrate(settings.database))
    assert list(again) == [[], []]
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        versions = await conn.fetch("SELECT version FROM schema_migrations")
        assert [r["version"] for r in versions] == [v for v, _ in migrations()]
        assert [r["version"] for r in versions][:2] == ["001_initial", "002_trust"]
    finally:
        await conn.close()


async def test_fresh_schema_migrates_concurrently_without_collision(database_url: str) -> None:
    import asyncio

    schema = f"t_{uuid.uuid4().hex[:12]}"
    db = Settings().database.__class__(url=database_url, schema=schema)
    try:
        results = await asyncio.gather(migrate(db), migrate(db), migrate(db))
        assert sorted(len(r) for r in results) == [0, 0, len(migrations())]
    finally:
        conn = await asyncpg.connect(database_url)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()
