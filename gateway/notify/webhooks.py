"""Webhooks: each message, signed per Standard Webhooks, to every subscription that wants it.

A message goes to every enabled subscription of its organisation whose event types include the
message's (one delivery each). An attempt POSTs ``{"type", "timestamp", "data"}`` with the
headers ``webhook-id`` (``msg_`` and the outbox row's message id: the same on every retry and
replay, so receivers deduplicate by it), ``webhook-timestamp`` and ``webhook-signature``, plus the
subscription's own headers. A 2xx answer within 15 s delivers it; anything else (a redirect
too: none is followed) is retried on :attr:`WebhookChannel.schedule`, about a day in all, then
the delivery is ``dead``.

A subscription failing without a break (``failing_since``, cleared by any success) for longer
than ``GATEWAY_WEBHOOK_DISABLE_AFTER_HOURS`` is disabled at its next failure, and its admins are
told (``webhook.disabled``). A ``410 Gone`` disables it at once: the receiver says the endpoint
will not come back. Deliveries of a disabled or deleted subscription end ``dead`` when next
attempted, without a request.
"""

from __future__ import annotations

import asyncio
import json
import logging
import math
import uuid
from datetime import UTC, datetime
from http import HTTPStatus
from typing import TYPE_CHECKING, Any, ClassVar

import httpx
from standardwebhooks import Webhook as Signer

from gateway.notify.worker import Channel, Outcome
from gateway.webhooks.service import INTERNAL_EVENTS, WebhookSecrets, message_id
from gateway.webhooks.ssrf import GuardedTransport, Resolver, UrlRefused, parse, system_resolver
from store import webhooks as repo
from store.outbox import Delivery, Message, Target
from store.types import Conn, Pool

if TYPE_CHECKING:
    from gateway.settings import Settings

logger = logging.getLogger("gateway.notify.webhooks")

TIMEOUT_SECONDS = 15.0
"""A receiver that has not answered (status line and headers) by then has failed this attempt."""
USER_AGENT = "booking-gateway-webhooks/1"
GONE_REASON = "the endpoint answered 410 Gone"


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def body(delivery: Delivery, public_url: str) -> bytes:
    """What a subscription receives: the message's data, the appointment with its gateway join link
    (never the room's address: design invariant 10)."""
    data: dict[str, Any] = dict(delivery.data)
    appointment = data.get("appointment")
    if isinstance(appointment, dict) and appointment.get("id"):
        shown = {k: v for k, v in appointment.items() if k != "meeting_url"}
        shown["join_url"] = f"{public_url.rstrip('/')}/v1/appointments/{appointment['id']}/join"
        data["appointment"] = shown
    message = {"type": delivery.event_type, "timestamp": _iso(delivery.occurred_at), "data": data}
    return json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode()


def signed_headers(secret: str, msg_id: str, payload: bytes, now: datetime) -> dict[str, str]:
    """The Standard Webhooks headers of one attempt."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(math.floor(now.timestamp())),
        "webhook-signature": Signer(secret).sign(msg_id, now, payload),
    }


def _answer(response: httpx.Response) -> Outcome:
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(True, status_code=code)
    try:
        phrase = HTTPStatus(code).phrase
    except ValueError:
        phrase = "unknown status"
    error = f"HTTP {code} {phrase}"
    if 300 <= code < 400:
        error += f": redirects are not followed (Location: {response.headers.get('location', '-')[:300]})"
    if code == HTTPStatus.GONE:
        return Outcome(False, status_code=code, error=f"{error}: the subscription is disabled", permanent=True)
    return Outcome(False, status_code=code, error=error)


class WebhookChannel(Channel):
    """Standard Webhooks deliveries, one per subscription and message."""

    name: ClassVar[str] = "webhook"
    gave_up: ClassVar[str] = "dead"
    schedule: ClassVar[tuple[float, ...]] = (5.0, 300.0, 1800.0, 7200.0, 18000.0, 36000.0, 36000.0)
    """5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h (±20 % jitter): eight attempts over about 27 hours."""

    def __init__(
        self,
        db: Pool,
        *,
        secret_key: str,
        public_url: str,
        allow_private: bool,
        disable_after_hours: float,
        resolve: Resolver = system_resolver,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        self.db = db
        self.secrets = WebhookSecrets(secret_key)
        self.public_url = public_url
        self.allow_private = allow_private
        self.disable_after_hours = disable_after_hours
        self.resolve = resolve
        self.timeout = timeout
        self.ssl_context = httpx.create_ssl_context()

    async def targets(self, db: Conn, message: Message) -> list[Target]:
        if message.event_type in INTERNAL_EVENTS:
            return []
        found = await repo.targets(db, message.organisation_id, message.event_type)
        return [Target("webhook", "subscriber", str(webhook_id), webhook_id) for webhook_id in found]

    async def send(self, delivery: Delivery) -> Outcome:
        webhook_id = delivery.webhook_id or uuid.UUID(delivery.target)
        hook = await repo.for_send(self.db, webhook_id)
        if hook is None or hook.deleted_at is not None:
            return Outcome(False, error="the subscription was deleted", permanent=True)
        if not hook.enabled:
            return Outcome(False, error=f"the subscription is disabled: {hook.disabled_reason}", permanent=True)
        try:
            secret = self.secrets.open(hook.id, hook.secret_ciphertext)
            parse(hook.url, allow_private=self.allow_private)
        except UrlRefused as exc:
            return Outcome(False, error=f"URL refused: {exc}")
        except ValueError as exc:
            logger.error("%s; delete the subscription and make a new one", exc)
            return Outcome(False, error="the signing secret cannot be decrypted (GATEWAY_SECRET_KEY changed)")
        payload = body(delivery, self.public_url)
        headers = {
            **hook.headers,
            "content-type": "application/json",
            "user-agent": USER_AGENT,
            **signed_headers(secret, message_id(delivery.message_id), payload, datetime.now(UTC)),
        }
        return await self.post(hook.url, payload, headers)

    async def post(self, url: str, payload: bytes, headers: dict[str, str]) -> Outcome:
        """One POST through the address guard; the answer's body is not read."""
        transport = GuardedTransport(self.ssl_context, allow_private=self.allow_private, resolve=self.resolve)
        try:
            # one deadline for the whole exchange: httpx's timeouts are per read, and a receiver
            # trickling a byte at a time would otherwise hold a sender for as long as it likes
            async with (
                asyncio.timeout(self.timeout),
                httpx.AsyncClient(transport=transport, follow_redirects=False, timeout=self.timeout) as client,
                client.stream("POST", url, content=payload, headers=headers) as response,
            ):
                return _answer(response)
        except UrlRefused as exc:
            return Outcome(False, error=f"URL refused: {exc}")
        except (TimeoutError, httpx.TimeoutException):
            return Outcome(False, error=f"no answer within {self.timeout:g} s")
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:300])

    async def settled(self, db: Conn, delivery: Delivery, outcome: Outcome, final_status: str) -> None:
        """Keep the subscription's failure record, disable it when it has failed for too long (or
        answered 410), and let a replay asked for during the attempt follow it."""
        webhook_id = delivery.webhook_id or uuid.UUID(delivery.target)
        if outcome.delivered:
            await repo.succeeded(db, webhook_id)
        else:
            since = await repo.failed(db, webhook_id)  # None: disabled or deleted already
            if since is not None and outcome.status_code == HTTPStatus.GONE:
                await repo.disable(db, webhook_id, GONE_REASON)
            elif since is not None:
                hours = self.disable_after_hours
                reason = f"every delivery failed since {since:%Y-%m-%d %H:%M} UTC (more than {hours:g} hours)"
                if await repo.disable(db, webhook_id, reason, failing_for=hours * 3600):
                    logger.warning("webhook %s disabled: %s", webhook_id, reason)
        await repo.settle_replay(db, delivery.id)


def webhook_channel(settings: Settings, db: Pool) -> WebhookChannel:
    """The channel as this process's settings make it."""
    return WebhookChannel(
        db,
        secret_key=settings.secret_key,
        public_url=settings.public_url,
        allow_private=settings.notify.webhook_allow_private,
        disable_after_hours=settings.notify.webhook_disable_after_hours,
    )
