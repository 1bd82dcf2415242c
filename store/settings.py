"""The database settings struct, owned here so that ``store`` needs nothing from ``gateway``.

``gateway.settings.Settings`` composes it as ``Settings.database`` and fills it from the
environment (each field names its variable in its metadata, as ``gateway/envconfig.py`` reads
it); ``store`` only reads it.
"""

from __future__ import annotations

from typing import Annotated

import msgspec

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/gateway"


class DatabaseSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Postgres, the source of truth."""

    url: Annotated[str, msgspec.Meta(extra={"env": "DATABASE_URL"})] = DEFAULT_DATABASE_URL
    """``DATABASE_URL``: the asyncpg DSN."""
    schema: Annotated[str, msgspec.Meta(extra={"env": "GATEWAY_DB_SCHEMA"})] = "public"
    """``GATEWAY_DB_SCHEMA``: the schema the tables live in (tests give each test its own)."""
    pool_min: Annotated[int, msgspec.Meta(extra={"env": "GATEWAY_DB_POOL_MIN"})] = 2
    """``GATEWAY_DB_POOL_MIN``: connections kept open."""
    pool_max: Annotated[int, msgspec.Meta(extra={"env": "GATEWAY_DB_POOL_MAX"})] = 20
    """``GATEWAY_DB_POOL_MAX``: connections at most, per process."""
