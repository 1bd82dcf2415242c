"""Settings, read from the environment once.

Every field is documented where it is declared; the README lists the variables.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Annotated

import msgspec

from gateway.envconfig import Env, load
from gateway.logs import LogFormat

# Re-exported: the struct lives in store (a lower layer may not import this module).
from store.settings import DEFAULT_DATABASE_URL as DEFAULT_DATABASE_URL
from store.settings import DatabaseSettings as DatabaseSettings

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
# Used only when GATEWAY_SECRET_KEY is unset: tests and `GATEWAY_DEV=on`. It is public, so anyone
# could mint sessions with it: `gateway serve` refuses to start with it (or any short key) otherwise.
INSECURE_DEV_KEY = "dev-insecure-secret-key-change-me"
MIN_SECRET_KEY_BYTES = 32


class RedisSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Redis: holds, sequence numbers, the replay log and pub/sub."""

    url: Annotated[str, Env("REDIS_URL")] = DEFAULT_REDIS_URL
    """``REDIS_URL``: ``redis://host:port/db``."""
    prefix: Annotated[str, Env("GATEWAY_REDIS_PREFIX")] = "gw"
    """``GATEWAY_REDIS_PREFIX``: prefix of every key and channel. Pub/sub ignores the DB number,
    so two gateways sharing one Redis must differ here."""
    cluster: Annotated[bool, Env("GATEWAY_REDIS_CLUSTER")] = False
    """``GATEWAY_REDIS_CLUSTER``: ``on`` when ``REDIS_URL`` names a node of a Redis Cluster (any one:
    the others are discovered). Commands are sent to the node owning their slot, events go out on
    sharded pub/sub (``SPUBLISH``/``SSUBSCRIBE``) and the sweeper's deadline index is split into
    hash-tagged shards (see docs/design.md, "Redis Cluster")."""


class BookingSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The hold and confirm path."""

    confirm_grace_seconds: Annotated[int, Env("GATEWAY_CONFIRM_GRACE_SECONDS")] = 30
    """``GATEWAY_CONFIRM_GRACE_SECONDS``: how long a hold is kept while its confirm writes to Postgres."""
    hold_history_seconds: Annotated[int, Env("GATEWAY_HOLD_HISTORY_SECONDS")] = 86_400
    """``GATEWAY_HOLD_HISTORY_SECONDS``: how long a lapsed or finished hold is remembered
    (so a late confirm gets 410 ``hold_expired`` rather than 404)."""
    replay_log_size: Annotated[int, Env("GATEWAY_REPLAY_LOG_SIZE")] = 512
    """``GATEWAY_REPLAY_LOG_SIZE``: events kept per doctor for clients that resume."""
    max_slot_range_days: int = 62
    """The longest ``from``..``to`` range ``/slots`` accepts (contract: 62)."""
    schedule_cache_seconds: Annotated[float, Env("GATEWAY_SCHEDULE_CACHE_SECONDS", ge=0)] = 5.0
    """``GATEWAY_SCHEDULE_CACHE_SECONDS``: how long a process keeps a doctor's schedule (doctor, types,
    windows, overrides) at most; edits are forgotten at once everywhere through their ``resync``
    event, this is the safety net. ``0`` reads Postgres on every hold."""


class LiveSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Live events: Server-Sent Events and WebSocket streams of slot changes."""

    ping_seconds: Annotated[float, Env("GATEWAY_SSE_PING_SECONDS", gt=0)] = 15.0
    """``GATEWAY_SSE_PING_SECONDS``: how often an idle stream sends a keepalive (an SSE comment line,
    a ``{"type": "ping"}`` WebSocket frame), so proxies and load balancers keep it open."""
    client_queue_size: Annotated[int, Env("GATEWAY_CLIENT_QUEUE_SIZE")] = 256
    """``GATEWAY_CLIENT_QUEUE_SIZE``: events waiting for one client at most. A client that falls this far
    behind is dropped (it reconnects and resumes with ``Last-Event-ID``); memory stays bounded."""
    send_timeout_seconds: Annotated[float, Env("GATEWAY_LIVE_SEND_TIMEOUT_SECONDS", gt=0)] = 30.0
    """``GATEWAY_LIVE_SEND_TIMEOUT_SECONDS``: a stream whose socket accepts nothing for this long is closed."""
    max_doctors: Annotated[int, Env("GATEWAY_LIVE_MAX_DOCTORS")] = 50
    """``GATEWAY_LIVE_MAX_DOCTORS``: doctors one stream (``/v1/events``, one WebSocket) may follow."""
    streams_per_address: Annotated[int, Env("GATEWAY_LIVE_STREAMS_PER_ADDRESS")] = 20
    """``GATEWAY_LIVE_STREAMS_PER_ADDRESS``: live streams (SSE and WebSocket) one client address (an
    IPv6 client's /64) may hold open at once in one process; more is 429 ``too_many_streams``.
    ``GATEWAY_RATE_LIMITS=off`` lifts it (load tests open thousands from one address)."""
    subscribes_per_minute: Annotated[int, Env("GATEWAY_LIVE_SUBSCRIBES_PER_MINUTE")] = 120
    """``GATEWAY_LIVE_SUBSCRIBES_PER_MINUTE``: ``subscribe`` ops one WebSocket may send per minute
    (a burst of up to this many, refilled evenly); more get an error frame ``too_many_subscribes``
    and change nothing. Each subscribe costs a Postgres and a Redis read."""


class Rate(msgspec.Struct, frozen=True):
    """At most ``count`` requests per ``seconds``."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, name: str, raw: str) -> Rate:
        count, _, seconds = raw.partition("/")
        try:
            rate = cls(int(count), int(seconds or "60"))
        except ValueError:
            raise ValueError(f"{name} must look like 30/60 (requests per seconds), got {raw!r}") from None
        if rate.count < 1 or rate.seconds < 1:
            raise ValueError(f"{name} must be positive, got {raw!r}")
        return rate


class TrustSettings(msgspec.Struct, frozen=True, kw_only=True):
    """Tokens and abuse limits."""

    session_ttl_seconds: Annotated[int, Env("GATEWAY_SESSION_TTL_SECONDS")] = 7200
    """``GATEWAY_SESSION_TTL_SECONDS``: lifetime of an anonymous patient session token."""
    partner_token_max_lifetime_seconds: Annotated[int, Env("GATEWAY_PARTNER_TOKEN_MAX_LIFETIME_SECONDS")] = 900
    """``GATEWAY_PARTNER_TOKEN_MAX_LIFETIME_SECONDS``: partner booking tokens living longer
    (``exp`` - ``iat``, or ``exp`` - now without ``iat``) are refused."""
    token_leeway_seconds: Annotated[int, Env("GATEWAY_TOKEN_LEEWAY_SECONDS")] = 10
    """``GATEWAY_TOKEN_LEEWAY_SECONDS``: clock skew forgiven on ``exp``, ``nbf`` and ``iat``."""
    holds_per_patient: Annotated[Rate, Env("GATEWAY_RATE_HOLDS_PER_PATIENT")] = Rate(20, 60)
    """``GATEWAY_RATE_HOLDS_PER_PATIENT``: holds one patient token may make (``count/seconds``)."""
    holds_per_address: Annotated[Rate, Env("GATEWAY_RATE_HOLDS_PER_ADDRESS")] = Rate(300, 60)
    """``GATEWAY_RATE_HOLDS_PER_ADDRESS``: holds from one client address (a clinic's front desk NAT)."""
    confirms_per_patient: Annotated[Rate, Env("GATEWAY_RATE_CONFIRMS_PER_PATIENT")] = Rate(20, 60)
    """``GATEWAY_RATE_CONFIRMS_PER_PATIENT``: confirms one patient token may make."""
    confirms_per_address: Annotated[Rate, Env("GATEWAY_RATE_CONFIRMS_PER_ADDRESS")] = Rate(300, 60)
    """``GATEWAY_RATE_CONFIRMS_PER_ADDRESS``: confirms from one client address."""
    sessions_per_address: Annotated[Rate, Env("GATEWAY_RATE_SESSIONS_PER_ADDRESS")] = Rate(60, 60)
    """``GATEWAY_RATE_SESSIONS_PER_ADDRESS``: anonymous sessions one client address (an IPv6 client's /64) may open."""
    live_holds_per_patient: Annotated[int, Env("GATEWAY_LIVE_HOLDS_PER_PATIENT")] = 2
    """``GATEWAY_LIVE_HOLDS_PER_PATIENT``: live holds one patient (session or partner reference) may have
    at once; one more is 429 ``too_many_holds``. Staff are not limited."""
    anonymous_bookings_per_address: Annotated[Rate, Env("GATEWAY_RATE_ANONYMOUS_BOOKINGS_PER_ADDRESS")] = Rate(6, 3600)
    """``GATEWAY_RATE_ANONYMOUS_BOOKINGS_PER_ADDRESS``: confirms from anonymous sessions per client address
    (an IPv6 client's /64); more is 429 ``too_many_bookings``. A fresh session per booking does not
    reset it, so one address cannot book out a calendar."""
    anonymous_confirms_per_organisation: Annotated[Rate, Env("GATEWAY_RATE_ANONYMOUS_CONFIRMS_PER_ORGANISATION")] = (
        Rate(60, 60)
    )
    """``GATEWAY_RATE_ANONYMOUS_CONFIRMS_PER_ORGANISATION``: confirms from anonymous sessions per
    organisation, from all addresses together; crossing it is 429, logged as a warning and counted in
    ``gateway_abuse_limit_total{limit="anonymous_confirms_per_organisation"}`` (an alert to set)."""


class NotifySettings(msgspec.Struct, frozen=True, kw_only=True):
    """Notifications: the outbox worker, email, SMS and webhooks."""

    worker: Annotated[bool, Env("GATEWAY_NOTIFY_WORKER")] = True
    """``GATEWAY_NOTIFY_WORKER``: ``off`` keeps this process from delivering the outbox (``gateway serve
    --no-worker`` sets it; run ``gateway worker`` elsewhere then)."""
    poll_seconds: Annotated[float, Env("GATEWAY_NOTIFY_POLL_SECONDS", gt=0)] = 5.0
    """``GATEWAY_NOTIFY_POLL_SECONDS``: how often a worker looks for work when no notification woke it."""
    reminder_seconds: Annotated[float, Env("GATEWAY_REMINDER_SECONDS", gt=0)] = 60.0
    """``GATEWAY_REMINDER_SECONDS``: how often a worker claims due reminders (at most a minute late)."""
    lease_seconds: Annotated[float, Env("GATEWAY_NOTIFY_LEASE_SECONDS", gt=0)] = 120.0
    """``GATEWAY_NOTIFY_LEASE_SECONDS``: a claimed delivery is another worker's to retry after this long
    (its worker died mid-send); longer than any one attempt may take."""
    smtp_url: Annotated[str | None, Env("GATEWAY_SMTP_URL")] = None
    """``GATEWAY_SMTP_URL``: ``smtp://[user:pass@]host:port`` (STARTTLS when offered) or ``smtps://…``.
    Unset: no email is sent."""
    mail_from: Annotated[str, Env("GATEWAY_MAIL_FROM")] = "Booking <no-reply@booking.invalid>"
    """``GATEWAY_MAIL_FROM``: the sender of every email."""
    sms_url: Annotated[str | None, Env("GATEWAY_SMS_URL")] = None
    """``GATEWAY_SMS_URL``: an SMS provider's Twilio-compatible Messages endpoint, e.g.
    ``https://api.twilio.com/2010-04-01/Accounts/AC…/Messages.json``. Unset: no SMS is sent."""
    sms_token: Annotated[str | None, Env("GATEWAY_SMS_TOKEN")] = None
    """``GATEWAY_SMS_TOKEN``: the provider's credentials, ``account_sid:auth_token`` (HTTP basic auth)."""
    sms_from: Annotated[str | None, Env("GATEWAY_SMS_FROM")] = None
    """``GATEWAY_SMS_FROM``: the sending number (E.164) or messaging service id."""
    webhook_allow_private: Annotated[bool, Env("GATEWAY_WEBHOOK_ALLOW_PRIVATE")] = False
    """``GATEWAY_WEBHOOK_ALLOW_PRIVATE``: ``on`` lets webhooks reach loopback and private addresses
    (refused by default: a subscription must not turn the gateway into a probe of its own network)."""
    webhook_disable_after_hours: Annotated[float, Env("GATEWAY_WEBHOOK_DISABLE_AFTER_HOURS", gt=0)] = 72.0
    """``GATEWAY_WEBHOOK_DISABLE_AFTER_HOURS``: a subscription whose deliveries have all failed for this
    long is disabled at its next failure, and the organisation's admins are emailed."""


class Settings(msgspec.Struct, frozen=True, kw_only=True):
    """All settings of one gateway process."""

    database: DatabaseSettings = msgspec.field(default_factory=DatabaseSettings)
    redis: RedisSettings = msgspec.field(default_factory=RedisSettings)
    booking: BookingSettings = msgspec.field(default_factory=BookingSettings)
    live: LiveSettings = msgspec.field(default_factory=LiveSettings)
    trust: TrustSettings = msgspec.field(default_factory=TrustSettings)
    notify: NotifySettings = msgspec.field(default_factory=NotifySettings)
    admin_token: Annotated[str | None, Env("GATEWAY_ADMIN_TOKEN")] = None
    """``GATEWAY_ADMIN_TOKEN``: the platform operator's bearer token. Unset: admin routes refuse all."""
    secret_key: Annotated[str, Env("GATEWAY_SECRET_KEY")] = INSECURE_DEV_KEY
    """``GATEWAY_SECRET_KEY``: signs gateway-issued tokens and encrypts secrets at rest (each use with a
    key of its own, derived with HKDF). At least 32 bytes; ``gateway serve`` refuses to start otherwise."""
    dev: Annotated[bool, Env("GATEWAY_DEV")] = False
    """``GATEWAY_DEV``: ``on`` lets ``gateway serve`` start with the insecure development key (or a short one)."""
    rate_limits: Annotated[bool, Env("GATEWAY_RATE_LIMITS")] = True
    """``GATEWAY_RATE_LIMITS``: ``off`` turns rate limiting off (load tests on a trusted network)."""
    public_url: Annotated[str, Env("GATEWAY_PUBLIC_URL")] = "http://127.0.0.1:8000"
    """``GATEWAY_PUBLIC_URL``: the base URL printed by ``gateway demo`` and used in links."""
    meeting_url_template: Annotated[str, Env("GATEWAY_MEETING_URL_TEMPLATE")] = "https://meet.jit.si/clinic-{room}"
    """``GATEWAY_MEETING_URL_TEMPLATE``: each doctor's persistent meeting room; ``{room}`` is a stable,
    unguessable name derived from the doctor's id, ``{doctor_id}`` the id itself. Handed out by
    ``/join`` only."""
    metrics_token: Annotated[str | None, Env("GATEWAY_METRICS_TOKEN")] = None
    """``GATEWAY_METRICS_TOKEN``: when set, ``/metrics`` answers only this bearer token and loopback
    clients (403 otherwise); unset, it is open to every client that reaches the gateway."""
    jitsi_app_id: Annotated[str | None, Env("GATEWAY_JITSI_APP_ID")] = None
    """``GATEWAY_JITSI_APP_ID``: the Jitsi deployment's app id (token authentication); see ``jitsi_app_secret``."""
    jitsi_app_secret: Annotated[str | None, Env("GATEWAY_JITSI_APP_SECRET")] = None
    """``GATEWAY_JITSI_APP_SECRET``: with ``jitsi_app_id``, ``/join`` hands out room addresses carrying a
    signed room token (room, user, moderator for the doctor, expiry at the join window's close)."""
    log_format: Annotated[LogFormat, Env("GATEWAY_LOG_FORMAT")] = "json"
    """``GATEWAY_LOG_FORMAT``: ``json`` (one object per line, the default) or ``text`` (a readable line for a
    terminal); either way every line a request causes carries its request id (see ``gateway/logs.py``)."""
    payment_page_url: Annotated[str | None, Env("GATEWAY_PAYMENT_PAGE_URL")] = None
    """``GATEWAY_PAYMENT_PAGE_URL``: the booking page's payment hook, for appointment types that ask for a
    payment, for organisations without their own ``payment_page_url``: the clinic's payment page
    (``{organisation_slug}`` is replaced), opened in a window with ``hold_id``, ``amount`` (minor units),
    ``currency``, ``mode`` and ``origin``; it answers the page by ``postMessage`` (see the README,
    "Faces"). Unset (and no page of the organisation's own): the booking page cannot take paid bookings."""
    debug: Annotated[bool, Env("GATEWAY_DEBUG")] = False
    """``GATEWAY_DEBUG``: Litestar debug mode (tracebacks in responses). Never in production."""

    def secret_key_problem(self) -> str | None:
        """Why ``secret_key`` must not serve requests (``None`` when it may, or in development)."""
        if self.dev:
            return None
        if self.secret_key == INSECURE_DEV_KEY:
            return "GATEWAY_SECRET_KEY is not set (GATEWAY_DEV=on allows the insecure development key)"
        if len(self.secret_key.encode()) < MIN_SECRET_KEY_BYTES:
            return f"GATEWAY_SECRET_KEY must be at least {MIN_SECRET_KEY_BYTES} bytes (e.g. openssl rand -base64 48)"
        return None

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Read the settings from ``env`` (default: ``os.environ``): each field's variable, where set.

        Raises:
            ValueError: naming the variable whose value cannot be used.
        """
        settings = load(cls, os.environ if env is None else env)
        if settings.public_url.endswith("/"):
            settings = msgspec.structs.replace(settings, public_url=settings.public_url.rstrip("/"))
        return settings
