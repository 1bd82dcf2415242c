"""Apply the numbered ``.sql`` migrations in order, once each, under an advisory lock."""

from __future__ import annotations

import contextlib
import hashlib
import logging
import re
from importlib import resources
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import asyncpg

from store.pool import server_settings
from store.settings import DatabaseSettings

logger = logging.getLogger("store.migrate")

_NAME = re.compile(r"^(\d{3,})_[a-z0-9_]+\.sql$")


def migrations() -> list[tuple[str, str]]:
    """Every migration as ``(version, sql)``, in order."""
    found = []
    for entry in resources.files("store.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append((entry.name.removesuffix(".sql"), entry.read_text(encoding="utf-8")))
    return sorted(found)


def _lock_key(schema: str) -> int:
    # One lock per schema, so tests migrating their own schemas don't wait on each other.
    digest = hashlib.sha256(f"gateway-migrate:{schema}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def ensure_database(url: str) -> None:
    """Create the database named in ``url`` when it does not exist yet."""
    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    if not name:
        return
    try:
        conn = await asyncpg.connect(url)
    except asyncpg.InvalidCatalogNameError:
        admin = urlunsplit(parts._replace(path="/postgres"))
        conn = await asyncpg.connect(admin)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        except (asyncpg.DuplicateDatabaseError, asyncpg.UniqueViolationError):
            # created by another process in the meantime: two racing CREATE DATABASE may also
            # collide on the catalog's unique index rather than on the name check
            pass
        finally:
            await conn.close()
        return
    await conn.close()


async def _ensure_extensions(conn: asyncpg.Connection[Any]) -> None:
    # Extensions are per database, not per schema; creating one can race with another process.
    with contextlib.suppress(asyncpg.UniqueViolationError):
        await conn.execute("CREATE EXTENSION IF NOT EXISTS btree_gist WITH SCHEMA public")


async def migrate(settings: DatabaseSettings) -> list[str]:
    """Apply every pending migration; safe to run twice and from two processes at once.

    Returns:
        The versions applied by this call (empty when the schema was up to date).
    """
    await ensure_database(settings.url)
    conn = await asyncpg.connect(settings.url, server_settings=server_settings(settings))
    applied: list[str] = []
    try:
        # Lock first: even CREATE SCHEMA IF NOT EXISTS collides when two processes race.
        await conn.execute("SELECT pg_advisory_lock($1)", _lock_key(settings.schema))
        try:
            await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{settings.schema}"')
            # Set the search path again now that the schema exists: a connection opened before
            # another process created it may keep resolving names without it, and would then
            # create and fill schema_migrations (and every table) in public.
            await conn.execute("SELECT set_config('search_path', $1, false)", server_settings(settings)["search_path"])
            await _ensure_extensions(conn)
            await conn.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations ("
                " version text PRIMARY KEY, applied_at timestamptz NOT NULL DEFAULT now())"
            )
            done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
            for version, sql in migrations():
                if version in done:
                    continue
                async with conn.transaction():
                    await conn.execute(sql)
                    await conn.execute("INSERT INTO schema_migrations (version) VALUES ($1)", version)
                logger.info("applied migration %s", version)
                applied.append(version)
        finally:
            await conn.execute("SELECT pg_advisory_unlock($1)", _lock_key(settings.schema))
    finally:
        await conn.close()
    return applied
