"""SMS through a provider speaking Twilio's Messages API (Twilio itself, or any compatible gateway).

One attempt is one ``POST`` of the form ``To``, ``From`` (or ``MessagingServiceSid`` when
``GATEWAY_SMS_FROM`` is a messaging service id, ``MG…``) and ``Body`` to ``GATEWAY_SMS_URL``, with
HTTP basic auth from ``GATEWAY_SMS_TOKEN`` (``account_sid:auth_token``), within 15 s.

* 200 or 201: delivered (the provider has it; its own delivery reports are not followed);
* 429, 5xx, no answer: tried again per :attr:`SmsChannel.schedule`, then ``failed``;
* any other 4xx (a number the provider refuses, a bad sender): permanent; the provider's error
  code and message are kept in the delivery's ``last_error``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, ClassVar

import httpx

from gateway.notify import recipients, render
from gateway.notify.facts import gather
from gateway.notify.links import ManageLinks
from gateway.notify.worker import Channel, Outcome
from store.outbox import Delivery, Message, Target
from store.types import Conn, Pool

if TYPE_CHECKING:
    from gateway.settings import Settings

logger = logging.getLogger("gateway.notify")

TIMEOUT_SECONDS = 15.0


def _provider_error(response: httpx.Response) -> str:
    """``<status>: <code> <message>`` from a Twilio-style error body, else the body's start."""
    try:
        body: Any = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and ("code" in body or "message" in body):
        return f"{response.status_code}: {body.get('code', '')} {body.get('message', '')}".strip()[:1000]
    return f"{response.status_code}: {response.text[:300]}"


class SmsChannel(Channel):
    """Sends reminders by SMS to the rule's recipient (see ``gateway/notify/recipients.py``)."""

    name: ClassVar[str] = "sms"
    schedule: ClassVar[tuple[float, ...]] = (60.0, 300.0, 900.0, 1800.0)
    """A minute, 5, 15, then 30: a reminder that comes later than that has missed its moment."""

    def __init__(
        self,
        db: Pool,
        *,
        url: str,
        token: str | None,
        sender: str | None,
        links: ManageLinks,
        public_url: str,
        timeout: float = TIMEOUT_SECONDS,
    ) -> None:
        parsed = httpx.URL(url)
        if parsed.scheme not in ("http", "https") or not parsed.host:
            raise ValueError(f"GATEWAY_SMS_URL must be an http(s) URL, not {url!r}")
        self.db = db
        self.url = url
        self.auth = httpx.BasicAuth(*token.split(":", 1)) if token and ":" in token else None
        if token and self.auth is None:
            raise ValueError("GATEWAY_SMS_TOKEN must be account_sid:auth_token")
        self.sender = sender
        if not sender:
            logger.warning("GATEWAY_SMS_FROM is not set: the SMS provider must have a default sender")
        self.links = links
        self.public_url = public_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, db: Pool) -> SmsChannel:
        notify = settings.notify
        assert notify.sms_url is not None
        links = ManageLinks(settings.secret_key, settings.public_url.rstrip("/"))
        return cls(
            db, url=notify.sms_url, token=notify.sms_token, sender=notify.sms_from, links=links,
            public_url=settings.public_url,
        )  # fmt: skip

    async def targets(self, db: Conn, message: Message) -> list[Target]:
        return await recipients.targets(db, message, "sms")

    def form(self, to: str, body: str) -> dict[str, str]:
        """The Messages API's form fields."""
        fields = {"To": to, "Body": body}
        if self.sender:
            fields["MessagingServiceSid" if self.sender.startswith("MG") else "From"] = self.sender
        return fields

    async def send(self, delivery: Delivery) -> Outcome:
        gathered = await gather(self.db, delivery, self.links, self.public_url)
        body = render.sms(gathered.facts)
        if body is None:
            return Outcome(False, error=f"no SMS for {delivery.event_type} to the {delivery.recipient}", permanent=True)
        try:
            async with httpx.AsyncClient(timeout=self.timeout) as client:
                form = self.form(delivery.target, body)
                response = await client.post(self.url, data=form, auth=self.auth or httpx.USE_CLIENT_DEFAULT)
        except httpx.HTTPError as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        status = response.status_code
        if status in (200, 201):
            return Outcome(True, status_code=status)
        permanent = 400 <= status < 500 and status != 429
        return Outcome(False, status_code=status, error=_provider_error(response), permanent=permanent)
