"""Email over SMTP (``aiosmtplib``): one connection per message, one recipient per delivery.

``GATEWAY_SMTP_URL`` is ``smtp://[user:pass@]host[:port]`` (port 25 by default; STARTTLS whenever
the server offers it) or ``smtps://…`` (TLS from the first byte; port 465 by default).

What an attempt comes to:

* the server accepts the message (2xx): delivered;
* it refuses the recipient, or the message, with a 5xx: permanent, never tried again;
* a 4xx (greylisting, a full mailbox, "try later"), a refused or dropped connection, a timeout,
  and refusals that are about the gateway rather than the message (authentication, sender):
  tried again per :attr:`EmailChannel.schedule`, then ``failed``.

Each message carries a ``Message-ID`` made of the outbox message id and the recipient, so a repeat
(after a lost answer, a lapsed lease) is the same message to the reader's mail system.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from email.message import EmailMessage
from email.utils import format_datetime, formataddr, parseaddr
from typing import TYPE_CHECKING, ClassVar
from urllib.parse import unquote, urlsplit

import aiosmtplib

from gateway.appointments.calendar import ics
from gateway.notify import recipients, render
from gateway.notify.facts import Gathered, gather
from gateway.notify.links import ManageLinks
from gateway.notify.worker import Channel, Outcome
from store.outbox import Delivery, Message, Target
from store.types import Conn, Pool

if TYPE_CHECKING:
    from gateway.settings import Settings

CALENDAR_EVENTS = frozenset(
    {"appointment.booked", "appointment.approved", "appointment.rescheduled", "appointment.cancelled"}
)
"""Emails that carry the appointment's ``.ics`` (a cancellation's says CANCELLED: calendars drop it)."""


@dataclass(frozen=True)
class SmtpServer:
    """Where and how mail is handed over, from ``GATEWAY_SMTP_URL``."""

    hostname: str
    port: int
    implicit_tls: bool
    username: str | None = None
    password: str | None = None

    @classmethod
    def parse(cls, url: str) -> SmtpServer:
        """Read ``smtp://[user:pass@]host[:port]`` or ``smtps://…``.

        Raises:
            ValueError: another scheme, or no host.
        """
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"GATEWAY_SMTP_URL must be smtp://[user:pass@]host:port or smtps://…, not {url!r}")
        implicit = parts.scheme == "smtps"
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            implicit_tls=implicit,
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )


def _header(text: str) -> str:
    """A header value from free text (names come from forms: no line breaks may reach a header)."""
    return " ".join(text.split())


def message_id(outbox_message_id: uuid.UUID, target: str, domain: str) -> str:
    """The same ``Message-ID`` for every attempt of one message to one address."""
    who = hashlib.sha256(target.casefold().encode()).hexdigest()[:16]  # not the address itself
    return f"<{outbox_message_id}.{who}@{domain}>"


def _refused(code: int, message: str, what: str) -> Outcome:
    return Outcome(False, status_code=code, error=f"{what}: {code} {message}"[:1000], permanent=code >= 500)


class EmailChannel(Channel):
    """Tells patients, doctors and admins by email (see ``gateway/notify/recipients.py`` for who)."""

    name: ClassVar[str] = "email"
    schedule: ClassVar[tuple[float, ...]] = (60.0, 300.0, 900.0, 1800.0, 3600.0)
    """A minute, 5, 15, 30, then an hour: about two hours in all, then ``failed``."""

    def __init__(
        self,
        db: Pool,
        *,
        smtp_url: str,
        mail_from: str,
        links: ManageLinks,
        public_url: str,
        timeout: float = 30.0,
    ) -> None:
        self.db = db
        self.server = SmtpServer.parse(smtp_url)
        self.mail_from = _header(mail_from)
        self.sender = parseaddr(self.mail_from)[1] or self.mail_from
        self.domain = self.sender.rpartition("@")[2] or "booking.invalid"
        self.links = links
        self.public_url = public_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_settings(cls, settings: Settings, db: Pool) -> EmailChannel:
        assert settings.notify.smtp_url is not None
        links = ManageLinks(settings.secret_key, settings.public_url.rstrip("/"))
        return cls(
            db, smtp_url=settings.notify.smtp_url, mail_from=settings.notify.mail_from, links=links,
            public_url=settings.public_url,
        )  # fmt: skip

    async def targets(self, db: Conn, message: Message) -> list[Target]:
        return await recipients.targets(db, message, "email")

    async def send(self, delivery: Delivery) -> Outcome:
        gathered = await gather(self.db, delivery, self.links, self.public_url)
        letter = render.email(gathered.facts)
        if letter is None:
            nothing = f"no email for {delivery.event_type} to the {delivery.recipient}"
            return Outcome(False, error=nothing, permanent=True)
        try:
            message = self.compose(delivery, gathered, letter)
        except ValueError as exc:  # an address or name the email library cannot write: no retry helps
            return Outcome(False, error=f"cannot write the message: {exc}"[:1000], permanent=True)
        return await self.transmit(message, delivery.target)

    def compose(self, delivery: Delivery, gathered: Gathered, letter: render.Letter) -> EmailMessage:
        """The MIME message: text and HTML alternatives, and the ``.ics`` where the event has one."""
        facts = gathered.facts
        name = {"patient": facts.patient.get("name"), "doctor": facts.doctor.name if facts.doctor else None}
        message = EmailMessage()
        message["Subject"] = _header(letter.subject)
        message["From"] = self.mail_from
        message["To"] = formataddr((_header(name.get(delivery.recipient) or ""), delivery.target))
        message["Date"] = format_datetime(delivery.occurred_at)
        message["Message-ID"] = message_id(delivery.message_id, delivery.target, self.domain)
        if delivery.appointment_id is not None:  # mail readers thread one appointment's messages
            message["References"] = f"<appointment.{delivery.appointment_id}@{self.domain}>"
        message["Auto-Submitted"] = "auto-generated"  # RFC 3834: no out-of-office replies
        message["X-Booking-Event"] = delivery.event_type
        message.set_content(letter.text())
        message.add_alternative(letter.html(), subtype="html")
        a, doctor, kind = gathered.appointment, gathered.doctor, gathered.appointment_type
        if delivery.event_type in CALENDAR_EVENTS and delivery.recipient != "admins" and a and doctor and kind:
            message.add_attachment(
                ics(a, doctor, kind, self.public_url),
                maintype="text",
                subtype="calendar",
                filename=f"appointment-{render.reference(a.id)}.ics",
                params={"method": "PUBLISH", "charset": "utf-8"},
            )
        return message

    async def transmit(self, message: EmailMessage, recipient: str) -> Outcome:
        """Hand ``message`` to the SMTP server for ``recipient`` alone; what the server said."""
        server = self.server
        try:
            await aiosmtplib.send(
                message,
                sender=self.sender,
                recipients=[recipient],
                hostname=server.hostname,
                port=server.port,
                username=server.username,
                password=server.password,
                use_tls=server.implicit_tls,
                start_tls=False if server.implicit_tls else None,  # None: when the server offers it
                timeout=self.timeout,
            )
        except aiosmtplib.SMTPRecipientsRefused as exc:
            first = exc.recipients[0] if exc.recipients else None
            if first is None:
                return Outcome(False, error="recipient refused")
            return _refused(first.code, first.message, "recipient refused")
        except aiosmtplib.SMTPRecipientRefused as exc:
            return _refused(exc.code, exc.message, "recipient refused")
        except aiosmtplib.SMTPDataError as exc:
            return _refused(exc.code, exc.message, "message refused")
        except aiosmtplib.SMTPResponseException as exc:
            # authentication, sender, greeting: about the gateway's set-up, not this message; an
            # operator may fix it, so the message waits its retries
            return Outcome(False, status_code=exc.code, error=f"{type(exc).__name__}: {exc.code} {exc.message}"[:1000])
        except aiosmtplib.SMTPNotSupported as exc:  # e.g. an address that needs SMTPUTF8
            return Outcome(False, error=f"not supported by the server: {exc.message}"[:1000], permanent=True)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as exc:
            return Outcome(False, error=f"{type(exc).__name__}: {exc}"[:1000])
        return Outcome(True, status_code=250)
