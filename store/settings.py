"""The database settings struct, owned here so that ``store`` needs nothing from ``gateway``.

``gateway.settings.Settings`` composes it as ``Settings.database`` and fills it from the
environment; ``store`` only reads it.
"""

from __future__ import annotations

import msgspec

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/gateway"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Postgres, the source of truth."""

    url: str = DEFAULT_DATABASE_URL
    """``DATABASE_URL``: the asyncpg DSN."""
    schema: str = "public"
    """``GATEWAY_DB_SCHEMA``: the schema the tables live in (tests give each test its own)."""
    pool_min: int = 2
    """``GATEWAY_DB_POOL_MIN``: connections kept open."""
    pool_max: int = 20
    """``GATEWAY_DB_POOL_MAX``: connections at most, per process."""
