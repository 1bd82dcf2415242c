"""Opening the asyncpg pool."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from gateway.settings import DatabaseSettings


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def server_settings(settings: DatabaseSettings) -> dict[str, str]:
    """Session settings every connection gets: the schema first on the search path, and UTC."""
    return {"search_path": f'"{settings.schema}", public', "timezone": "UTC"}


async def open_pool(settings: DatabaseSettings) -> asyncpg.Pool[Any]:
    """Open a pool on ``settings.url`` with the schema on the search path."""
    pool = await asyncpg.create_pool(
        settings.url,
        min_size=settings.pool_min,
        max_size=settings.pool_max,
        server_settings=server_settings(settings),
        init=_init_connection,
        command_timeout=30,
    )
    assert pool is not None
    return pool
