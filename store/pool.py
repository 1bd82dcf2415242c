"""Opening the asyncpg pool."""

from __future__ import annotations

import json
import logging
from typing import Any

import asyncpg

from store.settings import DatabaseSettings


async def _init_connection(conn: asyncpg.Connection[Any]) -> None:
    await conn.set_type_codec("jsonb", encoder=json.dumps, decoder=json.loads, schema="pg_catalog")


def server_settings(settings: DatabaseSettings) -> dict[str, str]:
    """Session settings every connection gets: the schema first on the search path, and UTC."""
    return {"search_path": f'"{settings.schema}", public', "timezone": "UTC"}


logger = logging.getLogger("store.pool")


async def _connect(*args: Any, **kwargs: Any) -> Any:
    """``asyncpg.connect``, with "nothing answers" reported as asyncpg's connection failure.

    A refused or timed-out connection surfaces from asyncpg as a bare ``OSError`` or
    ``TimeoutError``; as ``ConnectionFailureError`` the API maps it to 503 naming Postgres
    (gateway/errors.py) like every other lost connection, never to a 500.
    """
    try:
        return await asyncpg.connect(*args, **kwargs)
    except (OSError, TimeoutError) as exc:
        raise asyncpg.ConnectionFailureError(f"Postgres does not answer: {exc}") from exc


async def open_pool(settings: DatabaseSettings) -> asyncpg.Pool[Any]:
    """Open a pool on ``settings.url`` with the schema on the search path.

    When Postgres does not answer yet (it starts after the gateway, or is failing over), the pool
    opens empty instead of failing the start: requests that need Postgres answer 503 (and
    ``/healthz`` names it) until it answers, then connections are made as they are needed. A
    refusal that waiting will not cure (wrong database, password) still fails the start; "too many
    clients" and "starting up" are waited out the same way.
    """
    options: dict[str, Any] = {
        "connect": _connect,
        "max_size": settings.pool_max,
        "server_settings": server_settings(settings),
        "init": _init_connection,
        "command_timeout": 30,
    }
    try:
        pool = await asyncpg.create_pool(settings.url, min_size=settings.pool_min, **options)
    except (
        asyncpg.ConnectionFailureError,
        asyncpg.exceptions.InsufficientResourcesError,  # "too many clients" for now
        asyncpg.exceptions.CannotConnectNowError,  # starting up or shutting down
    ) as exc:
        logger.warning("Postgres does not answer (%s); serving 503 until it does", exc)
        pool = await asyncpg.create_pool(settings.url, min_size=0, **options)
    assert pool is not None
    return pool


async def connect_one(settings: DatabaseSettings) -> asyncpg.Connection[Any]:
    """One connection of its own, outside the pool (a ``LISTEN`` needs one that stays put)."""
    conn: asyncpg.Connection[Any] = await _connect(settings.url, server_settings=server_settings(settings))
    try:
        await _init_connection(conn)
    except BaseException:  # cancelled or failed half-way: never leave an open connection to the GC
        conn.terminate()
        raise
    return conn


async def ping(db: asyncpg.Pool[Any]) -> None:
    """A round trip to Postgres (health checks)."""
    await db.fetchval("SELECT 1")
