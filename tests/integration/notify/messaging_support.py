"""Helpers for the email and SMS tests: a real SMTP server, a Twilio-style receiver, a worker to drive.

Both servers listen on 127.0.0.1 on a free port, in a thread of their own, and answer as a test
tells them (accept, refuse with a code, drop the connection); each keeps what it received.
"""

from __future__ import annotations

import asyncio
import base64
import email
import json
import threading
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, cast
from urllib.parse import parse_qs

import msgspec
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from litestar import Litestar
from litestar.testing import AsyncTestClient

from gateway.notify.worker import Worker
from gateway.settings import Settings
from store.pool import open_pool
from store.types import Pool
from tests.support import Clinic, free_port, notify_settings
from tests.support import sql as rows

Client = AsyncTestClient[Litestar]


@dataclass
class Mail:
    """One message the SMTP server accepted."""

    sender: str
    recipients: list[str]
    raw: bytes
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(cast("EmailMessage", part).get_content())

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return str(cast("EmailMessage", part).get_content())

    def attachments(self) -> list[EmailMessage]:
        return list(self.message.iter_attachments())


@dataclass
class Inbox:
    """What the SMTP server does with each attempt, and what it kept.

    ``rcpt_replies`` / ``data_replies`` are consumed one per attempt (an empty list: accept);
    ``"drop"`` closes the connection instead of answering.
    """

    rcpt_replies: list[str] = field(default_factory=list)
    data_replies: list[str] = field(default_factory=list)
    mails: list[Mail] = field(default_factory=list)
    rcpt_attempts: int = 0
    data_attempts: int = 0

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]
    ) -> str:
        self.rcpt_attempts += 1
        reply = self.rcpt_replies.pop(0) if self.rcpt_replies else "250 OK"
        if reply == "drop":
            assert server.transport is not None
            server.transport.close()
            return "250 OK"  # never reaches the client
        if reply.startswith("250"):
            envelope.rcpt_tos.append(address)
        return reply

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        self.data_attempts += 1
        reply = self.data_replies.pop(0) if self.data_replies else "250 Message accepted"
        if reply == "drop":  # mid-transaction: the message was sent, no answer comes
            assert server.transport is not None
            server.transport.close()
            return "250 OK"
        if reply.startswith("250"):
            raw = envelope.original_content or b""
            parsed = email.message_from_bytes(raw, policy=policy.default)
            self.mails.append(Mail(str(envelope.mail_from), list(envelope.rcpt_tos), raw, parsed))
        return reply

    def to(self, address: str) -> list[Mail]:
        return [m for m in self.mails if address in m.recipients]


@contextmanager
def smtp_server() -> Iterator[tuple[Inbox, str]]:
    """An aiosmtpd server on loopback; yields its inbox and its ``smtp://`` URL."""
    inbox = Inbox()
    for attempt in range(3):
        port = free_port()
        controller = Controller(inbox, hostname="127.0.0.1", port=port, ready_timeout=30)
        try:
            controller.start()
            break
        except OSError:  # the free port was taken meanwhile by a parallel test: another one
            if attempt == 2:
                raise
    try:
        yield inbox, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@dataclass
class SmsRequest:
    path: str
    auth: tuple[str, str] | None
    form: dict[str, str]


@dataclass
class SmsReceiver:
    """A Twilio-style Messages endpoint: answers each POST with the next of ``replies`` (default 201)."""

    url: str
    replies: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    requests: list[SmsRequest] = field(default_factory=list)


@contextmanager
def sms_receiver() -> Iterator[SmsReceiver]:
    port = free_port()
    receiver = SmsReceiver(f"http://127.0.0.1:{port}/2010-04-01/Accounts/AC123/Messages.json")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = {k: v[0] for k, v in parse_qs(self.rfile.read(length).decode()).items()}
            auth = None
            scheme, _, value = self.headers.get("Authorization", "").partition(" ")
            if scheme == "Basic":
                user, _, password = base64.b64decode(value).decode().partition(":")
                auth = (user, password)
            receiver.requests.append(SmsRequest(self.path, auth, form))
            status, body = receiver.replies.pop(0) if receiver.replies else (201, {"sid": f"SM{uuid.uuid4().hex}"})
            payload = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def with_notify(settings: Settings, **changes: Any) -> Settings:
    """``settings`` with the app's own worker off (tests drive theirs) and ``changes`` to ``notify``."""
    return msgspec.structs.replace(notify_settings(settings, **changes), public_url="https://booking.example")


async def deliveries(settings: Settings, channel: str) -> list[dict[str, Any]]:
    found = await rows(
        settings,
        "SELECT d.recipient, d.target, d.status, d.attempts, d.last_status_code, d.last_error, o.event_type"
        " FROM deliveries d JOIN outbox o ON o.id = d.outbox_id WHERE d.channel = $1 ORDER BY d.outbox_id, d.target",
        channel,
    )
    return [dict(r) for r in found]


async def settle(worker: Worker, settings: Settings, seconds: float = 30.0) -> None:
    """Run worker passes until the outbox is expanded and no delivery is pending (retries included)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    while loop.time() < deadline:
        await worker.pass_once()
        left = await rows(
            settings,
            "SELECT (SELECT count(*) FROM outbox WHERE expanded_at IS NULL)"
            " + (SELECT count(*) FROM deliveries WHERE status = 'pending')",
        )
        if left[0][0] == 0:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"deliveries still pending after {seconds} s")


@asynccontextmanager
async def pool(settings: Settings) -> AsyncIterator[Pool]:
    """A pool of the test's own for the workers it drives (closed afterwards)."""
    db = await open_pool(settings.database)
    try:
        yield db
    finally:
        await db.close()


async def confirm(
    client: Client, clinic: Clinic, start: str, who: dict[str, str], patient: dict[str, Any]
) -> dict[str, Any]:
    """Hold ``start`` with the 30-minute type and confirm it for ``patient``; the appointment."""
    body = {"doctor_id": clinic.doctor_id, "appointment_type_id": clinic.type_30, "start": start}
    r = await client.post("/v1/holds", json=body, headers=who)
    assert r.status_code == 201, r.text
    held = r.json()
    r = await client.post(
        f"/v1/holds/{held['hold_id']}/confirm",
        json={"patient": patient},
        headers={"X-Hold-Token": held["hold_token"], **who},
    )
    assert r.status_code == 201, r.text
    appointment: dict[str, Any] = r.json()["appointment"]
    return appointment
