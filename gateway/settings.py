"""Settings, read from the environment once.

Every field is documented where it is declared; the README lists the variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import msgspec

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/gateway"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Lets `make run` work out of the box; the gateway logs a warning at start while it is in use.
INSECURE_DEV_KEY = "dev-insecure-secret-key-change-me"


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


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Redis: holds, sequence numbers, the replay log and pub/sub."""

    url: str = DEFAULT_REDIS_URL
    """``REDIS_URL``: ``redis://host:port/db``."""
    prefix: str = "gw"
    """``GATEWAY_REDIS_PREFIX``: prefix of every key and channel. Pub/sub ignores the DB number,
    so two gateways sharing one Redis must differ here."""


class BookingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The hold and confirm path."""

    confirm_grace_seconds: int = 30
    """``GATEWAY_CONFIRM_GRACE_SECONDS``: how long a hold is kept while its confirm writes to Postgres."""
    hold_history_seconds: int = 86_400
    """``GATEWAY_HOLD_HISTORY_SECONDS``: how long a lapsed or finished hold is remembered
    (so a late confirm gets 410 ``hold_expired`` rather than 404)."""
    replay_log_size: int = 512
    """``GATEWAY_REPLAY_LOG_SIZE``: events kept per doctor for clients that resume."""
    max_slot_range_days: int = 62
    """The longest ``from``..``to`` range ``/slots`` accepts (contract: 62)."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """All settings of one gateway process."""

    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    booking: BookingSettings = msgspec.field(default_factory=BookingSettings)
    admin_token: str | None = None
    """``GATEWAY_ADMIN_TOKEN``: the platform operator's bearer token. Unset: admin routes refuse all."""
    secret_key: str = INSECURE_DEV_KEY
    """``GATEWAY_SECRET_KEY``: signs gateway-issued tokens and encrypts secrets at rest."""
    rate_limits: bool = True
    """``GATEWAY_RATE_LIMITS``: ``off`` turns rate limiting off (load tests on a trusted network)."""
    public_url: str = "http://127.0.0.1:8000"
    """``GATEWAY_PUBLIC_URL``: the base URL printed by ``gateway demo`` and used in links."""
    meeting_url_template: str = "https://meet.jit.si/clinic-{room}"
    """``GATEWAY_MEETING_URL_TEMPLATE``: each doctor's persistent meeting room; ``{room}`` is a stable,
    unguessable name derived from the doctor's id, ``{doctor_id}`` the id itself."""
    debug: bool = False
    """``GATEWAY_DEBUG``: Litestar debug mode (tracebacks in responses). Never in production."""

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``).

        Raises:
            ValueError: when a variable holds something that cannot be used.
        """
        e = os.environ if env is None else env

        def integer(name: str, default: int) -> int:
            raw = e.get(name)
            if raw is None or raw == "":
                return default
            try:
                return int(raw)
            except ValueError:
                raise ValueError(f"{name} must be a whole number, got {raw!r}") from None

        def flag(name: str, default: bool) -> bool:
            raw = e.get(name, "").strip().lower()
            if raw == "":
                return default
            if raw in {"1", "on", "true", "yes"}:
                return True
            if raw in {"0", "off", "false", "no"}:
                return False
            raise ValueError(f"{name} must be on or off, got {raw!r}")

        return cls(
            database=DatabaseSettings(
                url=e.get("DATABASE_URL") or DEFAULT_DATABASE_URL,
                schema=e.get("GATEWAY_DB_SCHEMA") or "public",
                pool_min=integer("GATEWAY_DB_POOL_MIN", 2),
                pool_max=integer("GATEWAY_DB_POOL_MAX", 20),
            ),
            redis=RedisSettings(
                url=e.get("REDIS_URL") or DEFAULT_REDIS_URL,
                prefix=e.get("GATEWAY_REDIS_PREFIX") or "gw",
            ),
            booking=BookingSettings(
                confirm_grace_seconds=integer("GATEWAY_CONFIRM_GRACE_SECONDS", 30),
                hold_history_seconds=integer("GATEWAY_HOLD_HISTORY_SECONDS", 86_400),
                replay_log_size=integer("GATEWAY_REPLAY_LOG_SIZE", 512),
            ),
            admin_token=e.get("GATEWAY_ADMIN_TOKEN") or None,
            secret_key=e.get("GATEWAY_SECRET_KEY") or INSECURE_DEV_KEY,
            rate_limits=flag("GATEWAY_RATE_LIMITS", True),
            public_url=(e.get("GATEWAY_PUBLIC_URL") or "http://127.0.0.1:8000").rstrip("/"),
            meeting_url_template=e.get("GATEWAY_MEETING_URL_TEMPLATE") or "https://meet.jit.si/clinic-{room}",
            debug=flag("GATEWAY_DEBUG", False),
        )
