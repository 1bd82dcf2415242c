"""Postgres refuses an appointment tied to another organisation's doctor or type, and overlong text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from gateway.settings import Settings
from store.pool import server_settings
from tests.integration.store.test_constraints import INSERT, _seed


async def test_an_appointment_cannot_cross_organisations(settings: Settings) -> None:
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        org, doctor, type_id = await _seed(conn)
        other_org, other_doctor, other_type = await _seed(conn)
        start = datetime(2030, 1, 7, 9, tzinfo=UTC)
        end = start + timedelta(minutes=30)
        # the attack: organisation A's appointment with organisation B's doctor, or B's type
        for values in ((org, other_doctor, type_id), (org, doctor, other_type), (other_org, doctor, type_id)):
            with pytest.raises(asyncpg.ForeignKeyViolationError):
                await conn.execute(INSERT, *values, start, end, end, "confirmed")
        await conn.execute(INSERT, org, doctor, type_id, start, end, end, "confirmed")  # its own: fine
        await conn.execute(INSERT, other_org, other_doctor, other_type, start, end, end, "confirmed")
    finally:
        await conn.close()


@pytest.mark.parametrize(
    ("column", "value"),
    [("patient_name", "n" * 201), ("patient_email", "e" * 250 + "@x.io"), ("patient_ref", "r" * 301)],
)
async def test_text_columns_have_length_limits(settings: Settings, column: str, value: str) -> None:
    conn = await asyncpg.connect(settings.database.url, server_settings=server_settings(settings.database))
    try:
        org, doctor, type_id = await _seed(conn)
        start = datetime(2030, 1, 7, 9, tzinfo=UTC)
        end = start + timedelta(minutes=30)
        await conn.execute(INSERT, org, doctor, type_id, start, end, end, "confirmed")
        with pytest.raises(asyncpg.CheckViolationError):
            await conn.execute(f"UPDATE appointments SET {column} = $1", value)  # noqa: S608 - a test's own column names
    finally:
        await conn.close()
